"""Shared pieces of the board tests: a stub network and Amaranth-simulator UART drivers.

:class:`StubNetwork` stands in for a :class:`~bnnhw.hw.network.StreamingNetwork` (same streams
and description attributes) with a result that is easy to compute: the sum ``s`` of an image's
elements; label ``s mod classes``, logit ``k`` = ``s - 7k`` (signed). It stalls its input with a
pseudo-random pattern, presents each result ``delay`` cycles after the last pixel and, like the
real network, takes no new pixel while a result waits. With ``hang_first`` it swallows the first
image after power-up without a result (a register without reset, so the board's watchdog reset
cures it).

The UART drivers bit-bang a line from a testbench: :func:`uart_bits` turns bytes into the line
level per clock cycle (optionally with a baud-rate error, fractional bit lengths accumulate), and
:class:`LineMonitor` decodes a line the way a host's UART would (mid-bit sampling).
"""

from amaranth.hdl import Cat, Module, Shape, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from bnnhw.hw.engines import PixelFormat

__all__ = ["StubNetwork", "stub_result", "uart_bits", "decode_line"]


class StubNetwork(wiring.Component):
    def __init__(self, *, channels=2, height=2, width=3, lo=0, hi=16, classes=5,
                 logit_width=10, stall_mask=0b1011, delay=5, hang_first=False):
        self.input_shape = (channels, height, width)
        self.input_range = (lo, hi)
        self.input_format = PixelFormat(channels, Shape.cast(range(lo, hi + 1)))
        self.logits_format = PixelFormat(classes, signed(logit_width))
        self.classes = classes
        self.label_width = max(1, ceil_log2(classes))
        self.cycles_per_inference = height * width
        self._stall_mask, self._delay, self._hang_first = stall_mask, delay, hang_first
        super().__init__({
            "i": In(stream.Signature(self.input_format.bits)),
            "o": Out(stream.Signature(self.label_width + self.logits_format.bits)),
        })

    def elaborate(self, platform):
        m = Module()
        fmt = self.input_format
        pixels = self.cycles_per_inference
        lfsr = Signal(8, init=0x5A)
        m.d.sync += lfsr.eq(Cat(lfsr[7] ^ lfsr[5] ^ lfsr[4] ^ lfsr[3], lfsr[:7]))
        stalled = (lfsr & self._stall_mask) == self._stall_mask
        total = Signal(signed(16))
        count = Signal(range(pixels + 1))
        timer = Signal(range(self._delay + 2))
        waiting = Signal()
        hung_once = Signal(reset_less=True)
        m.d.comb += self.i.ready.eq(~stalled & ~waiting & ~self.o.valid)
        with m.If(self.i.valid & self.i.ready):
            elements = [self.i.payload[c * fmt.width:(c + 1) * fmt.width] for c in
                        range(fmt.elements)]
            if fmt.shape.signed:
                elements = [e.as_signed() for e in elements]
            step = elements[0]
            for e in elements[1:]:
                step = step + e
            with m.If(count == pixels - 1):
                m.d.sync += [count.eq(0), total.eq(total + step), timer.eq(self._delay),
                             waiting.eq(1)]
            with m.Else():
                m.d.sync += [count.eq(count + 1), total.eq(total + step)]
        with m.If(waiting):
            with m.If(timer == 0):
                m.d.sync += [waiting.eq(0), total.eq(0)]
                if self._hang_first:
                    with m.If(~hung_once):
                        m.d.sync += hung_once.eq(1)
                    with m.Else():
                        m.d.sync += self.o.valid.eq(1)
                else:
                    m.d.sync += self.o.valid.eq(1)
                label = total % self.classes
                logits = [(total - 7 * k)[:self.logits_format.width]
                          for k in range(self.classes)]
                m.d.sync += self.o.payload.eq(Cat(label[:self.label_width], *logits))
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


def stub_result(image, classes=5):
    """``(label, logits)`` the stub network gives for ``image`` ``(C, H, W)``."""
    total = int(sum(int(v) for v in image.reshape(-1)))
    return total % classes, [total - 7 * k for k in range(classes)]


def uart_bits(data, divisor, *, error=0.0, stop_bits=None, gap=0):
    """Line level per clock cycle for sending ``data`` (8N1, LSB first) at ``divisor`` cycles
    per bit, the sender's bit ``(1 + error)`` times as long. ``stop_bits[k]`` (default 1) is
    byte ``k``'s stop bit level; ``gap`` idle cycles follow each byte."""
    levels = []
    bit_length = divisor * (1 + error)
    for k, byte in enumerate(bytes(data)):
        stop = 1 if stop_bits is None else stop_bits[k]
        frame = [0] + [(byte >> b) & 1 for b in range(8)] + [stop]
        start = len(levels)
        for n, level in enumerate(frame):
            end = start + round((n + 1) * bit_length)
            levels += [level] * (end - len(levels))
        levels += [1] * gap
    return levels


def decode_line(levels, divisor):
    """Bytes a mid-bit-sampling receiver reads from ``levels`` (per cycle), as
    ``[(byte, stop_ok, start_cycle)]``."""
    out = []
    t = 0
    while t < len(levels):
        if levels[t] == 0:
            centre = t + divisor // 2
            if centre + 9 * divisor >= len(levels):
                break
            bits = [levels[centre + (b + 1) * divisor] for b in range(8)]
            stop = levels[centre + 9 * divisor]
            out.append((sum(bit << b for b, bit in enumerate(bits)), stop == 1, t))
            t = centre + 9 * divisor
            while t < len(levels) and levels[t] == 0:
                t += 1
        else:
            t += 1
    return out
