"""Streaming pooling of binary maps and the classifier's argmax.

Rules (``docs/numerics.md`` §10; references ``golden.binary_maxpool2d``,
``golden.global_popcount_pool``, ``golden.argmax``):

- max-pool of bits is the OR over the window (bit 1 = +1 is the max);
- global pooling of bits is the count of ones per channel over all ``H*W`` positions;
- argmax over integer logits, the lowest index winning ties.

Conventions (``docs/hw-conventions.md``): :class:`wiring.Component`, input stream ``i``, output
stream ``o`` (:mod:`amaranth.lib.stream`), domain ``sync`` with synchronous active-high reset, one
global stall (``stall = o.valid & ~o.ready``, ``i.ready = ~stall``) so ``o.valid`` is a register
that never depends on ``o.ready``. Stream orders are those of a folded engine: position-major,
channel-minor; units that need the position keep their own counters, zero after reset.
"""

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..params import ParameterError, bool_param, int_param, pair

__all__ = ["BinaryMaxPool", "StreamingMaxPool", "GlobalPopcountPool", "Argmax"]


def _stall(m, component):
    """Drive the global stall of a one-register unit; return ``~stall`` (the advance enable)."""
    advance = Signal()
    m.d.comb += [
        advance.eq(~component.o.valid | component.o.ready),
        component.i.ready.eq(advance),
    ]
    return advance


class BinaryMaxPool(wiring.Component):
    """OR over a pooling window, ``lanes`` windows (channels) per transfer.

    The window itself comes from the sliding-window unit upstream: input transfer bit
    ``l*K + w`` is element ``w`` of lane ``l``'s window (``K = kernel_h * kernel_w``, the window
    in row-major order); output bit ``l`` is the OR of lane ``l``'s ``K`` bits, i.e.
    ``golden.binary_maxpool2d`` for one output position of one channel per lane.

    Latency 1 (output register); throughput one transfer per cycle.

    Parameters
    ----------
    kernel : int or (int, int)
        Window ``(kernel_h, kernel_w)``, each ``>= 1``.
    lanes : int
        Windows per transfer, ``>= 1``; default 1.

    Members
    -------
    i : In(stream.Signature(unsigned(lanes * kernel_h * kernel_w)))
    o : Out(stream.Signature(unsigned(lanes)))

    Raises
    ------
    ParameterError
        ``kernel`` or ``lanes`` is not a positive integer (pair).
    """

    def __init__(self, *, kernel, lanes=1):
        kernel = pair(kernel, "kernel", 1)
        self._kernel = kernel
        self._lanes = int_param(lanes, "lanes", 1)
        super().__init__({
            "i": In(stream.Signature(unsigned(self._lanes * self.window))),
            "o": Out(stream.Signature(unsigned(self._lanes))),
        })

    kernel = property(lambda self: self._kernel, doc="Window ``(kernel_h, kernel_w)``.")
    lanes = property(lambda self: self._lanes, doc="Windows per transfer.")
    window = property(lambda self: self._kernel[0] * self._kernel[1], doc="Bits per window.")
    latency = property(lambda self: 1, doc="Clock edges from input to output (no stalls).")

    def elaborate(self, platform):
        m = Module()
        advance = _stall(m, self)
        k = self.window
        with m.If(advance):
            m.d.sync += self.o.valid.eq(self.i.valid)
            for lane in range(self._lanes):
                m.d.sync += self.o.payload[lane].eq(self.i.payload[lane * k:(lane + 1) * k].any())
        return m


class StreamingMaxPool(wiring.Component):
    """Max-pool (OR) of a bit map streamed one pixel per transfer, windows that tile the map.

    For ``kernel == stride`` ``(kh, kw)`` dividing ``(H, W)`` and no padding (the usual 2x2 / 2
    pool): input ``i`` carries one pixel of ``channels`` bits per transfer in raster order, images
    back to back; output ``o`` one pooled pixel per window, raster order, bit ``c`` = the OR of
    channel ``c`` over the window (``golden.binary_maxpool2d``).

    It keeps only partial ORs, never a window: ``h`` for the window row being read (``kw``
    pixels), and a queue of ``W / kw`` pixels holding each window's OR over the rows read so
    far. Windows of one output row finish in order and the next window row reads them in the
    same order, so the queue is a shift register: no address, no multiplexer, ``W / kw *
    channels`` flip-flops (instead of line buffers of ``kh`` rows and a window register).

    Latency 1 (output register, behind the window's last pixel); one input pixel per cycle
    (``i.ready = ~o.valid | o.ready``). ``registered=False``: no output register; the window's
    last pixel and its result transfer together (latency 0; ``i.ready`` then waits for
    ``o.ready``).

    Members
    -------
    i : In(stream.Signature(unsigned(channels)))
    o : Out(stream.Signature(unsigned(channels)))
    """

    def __init__(self, *, channels, height, width, kernel, registered=True):
        self._registered = bool_param(registered, "registered")
        self._channels = int_param(channels, "channels", 1)
        self._height = int_param(height, "height", 1)
        self._width = int_param(width, "width", 1)
        kernel = pair(kernel, "kernel", 1)
        if self._height % kernel[0] or self._width % kernel[1]:
            raise ParameterError("kernel", f"expected a kernel that tiles the {self._height} x "
                                           f"{self._width} map", kernel)
        self._kernel = kernel
        super().__init__({
            "i": In(stream.Signature(unsigned(self._channels))),
            "o": Out(stream.Signature(unsigned(self._channels))),
        })

    latency = property(lambda self: int(self._registered))

    def elaborate(self, platform):
        m = Module()
        (kh, kw), c = self._kernel, self._channels
        x = Signal(range(self._width))
        kx, ky = Signal(range(kw)), Signal(range(kh))
        h = Signal(c)
        queue = [Signal(c, name=f"queue{k}") for k in range(self._width // kw)]
        row = Mux(kx == 0, 0, h) | self.i.payload          # OR over this window row so far
        window = Mux(ky == 0, 0, queue[0]) | row            # ... and over the rows above
        if self._registered:
            advance = _stall(m, self)
            with m.If(advance):
                m.d.sync += self.o.valid.eq(0)
        else:       # the window's last pixel goes out with its result
            ends = (kx == kw - 1) & (ky == kh - 1)
            advance = ~ends | self.o.ready
            m.d.comb += [self.i.ready.eq(advance), self.o.valid.eq(self.i.valid & ends),
                         self.o.payload.eq(window)]
        take = self.i.valid & advance
        with m.If(take):
            m.d.sync += [h.eq(row), x.eq(x + 1), kx.eq(kx + 1)]
            with m.If(kx == kw - 1):
                m.d.sync += kx.eq(0)
                m.d.sync += [a.eq(b) for a, b in zip(queue, queue[1:])]
                m.d.sync += queue[-1].eq(window)
                if self._registered:
                    with m.If(ky == kh - 1):
                        m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(window)]
            with m.If(x == self._width - 1):      # H % kh == 0: images start at ky == 0
                m.d.sync += [x.eq(0), ky.eq(ky + 1)]
                with m.If(ky == kh - 1):
                    m.d.sync += ky.eq(0)
        return m


class GlobalPopcountPool(wiring.Component):
    """Count of ones per channel over all positions of a binary map (global pooling).

    Input: one bit per transfer in position-major, channel-minor order (transfer
    ``j = pos*C + c`` is channel ``c`` at position ``pos``; the order a threshold unit with a
    channel counter emits), ``positions = H*W`` positions per image. The unit keeps one counter
    per channel; during the **last** position the transfer of channel ``c`` emits that channel's
    count (``golden.global_popcount_pool``) and clears its counter, so images follow each other
    without a gap and the output is ``C`` counts per image in channel order.

    Latency 1 from the last-position transfer of a channel to its count; throughput one input
    bit per cycle, ``C`` outputs per ``positions*C`` inputs.

    Parameters
    ----------
    channels : int
        ``C >= 1``.
    positions : int
        ``H*W >= 1``.

    Members
    -------
    i : In(stream.Signature(unsigned(1)))
    o : Out(stream.Signature(unsigned(ceil_log2(positions + 1))))

    Raises
    ------
    ParameterError
        ``channels`` or ``positions`` is not a positive integer.
    """

    def __init__(self, *, channels, positions):
        self._channels = int_param(channels, "channels", 1)
        self._positions = int_param(positions, "positions", 1)
        super().__init__({
            "i": In(stream.Signature(unsigned(1))),
            "o": Out(stream.Signature(unsigned(self.count_width))),
        })

    channels = property(lambda self: self._channels, doc="Channels ``C``.")
    positions = property(lambda self: self._positions, doc="Positions ``H*W`` per image.")
    count_width = property(lambda self: ceil_log2(self._positions + 1), doc="Output bits.")
    latency = property(lambda self: 1, doc="Clock edges from input to output (no stalls).")

    def elaborate(self, platform):
        m = Module()
        advance = _stall(m, self)
        channels, positions = self._channels, self._positions
        counts = Array(Signal(self.count_width, name=f"count{c}") for c in range(channels))
        channel = Signal(range(channels))
        position = Signal(range(positions))
        last_channel = channel == channels - 1
        last_position = position == positions - 1
        total = counts[channel] + self.i.payload

        with m.If(advance):
            m.d.sync += self.o.valid.eq(self.i.valid & last_position)
        with m.If(self.i.valid & advance):
            m.d.sync += [
                counts[channel].eq(Mux(last_position, 0, total)),
                channel.eq(Mux(last_channel, 0, channel + 1)),
                self.o.payload.eq(total),
            ]
            with m.If(last_channel):
                m.d.sync += position.eq(Mux(last_position, 0, position + 1))
        return m


class Argmax(wiring.Component):
    """Index of the largest of ``classes`` signed logits; the lowest index wins ties.

    Input: ``classes`` logits per inference, class 0 first (a class counter, zero after reset,
    tracks the position). The unit keeps the running maximum and its index, replacing it only on
    a strictly greater logit, and emits the index on the last logit (``golden.argmax``).

    Latency 1 from the last logit to the index; throughput one logit per cycle, one index per
    ``classes`` logits, back to back.

    Parameters
    ----------
    classes : int
        Logits per inference, ``>= 1``.
    width : int
        Bits of a signed logit, ``>= 1``.

    Members
    -------
    i : In(stream.Signature(signed(width)))
    o : Out(stream.Signature(unsigned(max(1, ceil_log2(classes)))))

    Raises
    ------
    ParameterError
        ``classes`` or ``width`` is not a positive integer.
    """

    def __init__(self, *, classes, width):
        self._classes = int_param(classes, "classes", 1)
        self._width = int_param(width, "width", 1)
        super().__init__({
            "i": In(stream.Signature(signed(self._width))),
            "o": Out(stream.Signature(unsigned(self.index_width))),
        })

    classes = property(lambda self: self._classes, doc="Logits per inference.")
    width = property(lambda self: self._width, doc="Bits of a signed logit.")
    index_width = property(
        lambda self: max(1, ceil_log2(self._classes)), doc="Bits of the output index.")
    latency = property(lambda self: 1, doc="Clock edges from input to output (no stalls).")

    def elaborate(self, platform):
        m = Module()
        advance = _stall(m, self)
        index = Signal(range(self._classes))
        best = Signal(signed(self._width))
        best_index = Signal(self.index_width)
        first = index == 0
        take = first | (self.i.payload > best)
        new_best_index = Mux(take, index, best_index)

        with m.If(advance):
            m.d.sync += self.o.valid.eq(self.i.valid & (index == self._classes - 1))
        with m.If(self.i.valid & advance):
            m.d.sync += [
                best.eq(Mux(take, self.i.payload, best)),
                best_index.eq(new_best_index),
                self.o.payload.eq(new_best_index),
                index.eq(Mux(index == self._classes - 1, 0, index + 1)),
            ]
        return m
