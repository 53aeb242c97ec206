"""The network's small stages: clipped dots, saturating sums, PA-Net piece indicators, the
argmax head and the join engine (FIFOs in front of a :class:`~bnnhw.hw.streams.Join`)."""

import numpy as np
from amaranth.hdl import Array, Cat, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..engines import convert, element
from ..streams import StreamFIFO

__all__ = ["ArgmaxHead", "JoinEngine", "clip_dot", "clip_width", "piece_indicators",
           "saturating_sum"]


def clip_width(fan_in, bound):
    """Bits of :func:`clip_dot`'s result: a signed value holding ``[-min(N, B), min(N, B)]``."""
    return Shape.cast(range(-min(fan_in, bound), min(fan_in, bound) + 1)).width


def clip_dot(p, shape, fan_in, bound, *, zero_padded=False):
    """``clip(2p - N, -B, B)`` of a popcount ``p`` (a value of ``shape``, in ``[0, N]``), as a
    ``signed(clip_width(N, B))`` value (golden's ``clip`` layer). With ``zero_padded``, ``p`` is
    a zero-padded count ``u`` in ``[0, fan_in]`` (``fan_in = 2N``) and the result
    ``clip(u - N, -B, B)``, ``signed(clip_width(N, B))``.

    ``2p - N`` is formed in a signed width that holds both ``2p <= 2N`` and ``-N`` (one bit
    more than ``N`` itself needs, plus the sign), so it never wraps, whatever ``N`` and ``p``'s
    shape: Amaranth's ``as_signed`` on ``p << 1`` alone would read ``p >= 2**(w-1)`` as negative.
    """
    shape = Shape.cast(shape)
    wide = signed(max(shape.width, int(fan_in).bit_length()) + 2)
    if zero_padded:
        d = convert(p, shape, wide).as_signed() - int(fan_in) // 2
        top = int(fan_in) // 2
    else:
        d = (convert(p, shape, wide).as_signed() << 1) - int(fan_in)
        top = fan_in
    y = Mux(d > bound, bound, Mux(d < -bound, -bound, d))
    return convert(y, signed(len(y)), signed(clip_width(top, bound))).as_signed()


def saturating_sum(x, y, bound=127):
    """``clip(x + y, -B, B)`` of two elements (any shapes; Amaranth's sum is exact) as a
    ``signed(8)`` value, ``B <= 127`` (golden's saturating ``add``)."""
    total = x + y
    clipped = Mux(total > bound, bound, Mux(total < -bound, -bound, total))
    return convert(clipped, clipped.shape(), signed(8)).as_signed()


def piece_indicators(values, endpoints):
    """PA-Net bases of one pixel: ``values`` (one element per channel, any shapes) against the
    integer ``endpoints`` ``(N, C)``: bit ``j*C + c`` is ``e[j, c] <= v[c] < e[j+1, c]`` (the
    last piece unbounded above). Comparisons are exact for any endpoint, also outside the
    element's range (below 0 for an unsigned element, or above its maximum)."""
    endpoints = np.asarray(endpoints, np.int64)
    n, c = endpoints.shape
    above = [[values[ch] >= int(endpoints[j, ch]) for ch in range(c)] for j in range(n)]
    return Cat(*(above[j][ch] & ~above[j + 1][ch] if j + 1 < n else above[j][ch]
                 for j in range(n) for ch in range(c)))


class ArgmaxHead(wiring.Component):
    """The network's output stage: a logits pixel vector in, ``{label, logits}`` out.

    Compares one class of the input's logits per cycle against the best so far (strictly greater
    wins, so ties go to the lowest index, as ``numpy.argmax``), then presents the label in the low
    ``label_width`` bits with the input's logits above; the input and the output transfer
    together (``o.valid = i.valid & done``, ``i.ready = done & o.ready``). It keeps no copy of
    the logits: the stream rule holds the producer's payload until it transfers, so only the
    best value, its index and a counter are registers. Takes ``classes`` cycles per image before
    ``o.valid``, ``classes + 1`` with the transfer (``FoldingPlan.head_cycles``: the interval of
    a network whose other stages are faster, e.g. no matrix layer and many classes).
    """

    def __init__(self, fmt, label_width):
        self._fmt, self._label_width = fmt, label_width
        super().__init__({
            "i": In(stream.Signature(unsigned(fmt.bits))),
            "o": Out(stream.Signature(unsigned(label_width + fmt.bits))),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, classes = self._fmt, self._fmt.elements
        done = Signal()
        index = Signal(range(max(2, classes)))
        best = Signal(fmt.shape)
        best_index = Signal(self._label_width)
        current = Signal(fmt.shape)
        m.d.comb += current.eq(Array(element(self.i.payload, fmt, e)
                                     for e in range(classes))[index])
        m.d.comb += [self.o.valid.eq(self.i.valid & done),
                     self.i.ready.eq(done & self.o.ready),
                     self.o.payload.eq(Cat(best_index, self.i.payload))]
        with m.If(self.i.valid & ~done):
            with m.If((index == 0) | (current > best)):
                m.d.sync += [best.eq(current), best_index.eq(index)]
            m.d.sync += index.eq(index + 1)
            with m.If(index == classes - 1):
                m.d.sync += done.eq(1)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [done.eq(0), index.eq(0)]
        return m


class JoinEngine(wiring.Component):
    """FIFO per input -> :class:`~bnnhw.hw.streams.Join` -> :class:`~bnnhw.hw.engines.PixelMap`:
    inputs ``i0, i1, ..``, output ``o``."""

    def __init__(self, join, mapper, in_bits, out_bits, *, depth):
        self._join, self._mapper = join, mapper
        self._fifos = [StreamFIFO(shape=unsigned(bits), depth=depth) for bits in in_bits]
        members = {f"i{k}": In(stream.Signature(unsigned(bits))) for k, bits in enumerate(in_bits)}
        members["o"] = Out(stream.Signature(unsigned(out_bits)))
        super().__init__(members)

    fifo_depth = property(lambda self: self._fifos[0].depth if self._fifos else 0)

    def elaborate(self, platform):
        m = Module()
        m.submodules.join = self._join
        m.submodules.map = self._mapper
        for k, fifo in enumerate(self._fifos):
            m.submodules[f"fifo{k}"] = fifo
            wiring.connect(m, wiring.flipped(getattr(self, f"i{k}")), fifo.i)
            wiring.connect(m, fifo.o, getattr(self._join, f"i{k}"))
        wiring.connect(m, self._join.o, self._mapper.i)
        wiring.connect(m, self._mapper.o, wiring.flipped(self.o))
        return m
