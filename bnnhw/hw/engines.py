"""Layer engines of the streaming network: pixel-vector streams in, pixel-vector streams out.

Between engines every feature map travels as **pixel vectors**: one transfer per pixel, raster
order, images back to back, payload ``unsigned(C * w)`` with channel ``c`` at bits
``c*w .. c*w + w-1`` (:class:`PixelFormat`; ``w = 1`` for bit maps, two's complement for signed
integer maps). Channel permutations, slices and concatenations are then wiring, and an engine
is free to fold its work internally:

The network top (:mod:`.network`) builds its engines from these parts:

- matrix engines: sliding-window unit -> ``BinaryMVAU`` / ``BinaryMVTU`` / ``Int8MAC`` /
  ``PANetMVU`` -> :class:`~.streams.Deserializer` (the ``PE`` lanes of ``NF`` folds back into one
  pixel), for convolutions and dense layers (a dense layer is a convolution whose kernel is the
  whole map).
- channel engines: a per-channel unit (threshold, requantize, quantized BN, DPReLU,
  global pool) serialised to ``L`` channel lanes (:class:`LaneArray`).
- :class:`PixelMap`: stateless per-element arithmetic on whole pixels (clip, saturating add,
  re-packing, permutations), one register stage.
- max-pool engines: sliding window -> ``BinaryMaxPool`` over all channels of a pixel.

Each engine is a :class:`Chain` of stream components joined by payload adapters; its latency
does not matter to the network (streams carry the timing), its cycles per image do.
"""

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Shape, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import ParameterError

__all__ = ["PixelFormat", "Chain", "LaneArray", "PixelMap", "element", "convert", "permute_bits"]


@dataclass(frozen=True)
class PixelFormat:
    """``elements`` channels of ``shape`` per pixel (a pixel-vector stream's payload)."""

    elements: int
    shape: Shape

    @property
    def width(self):
        return self.shape.width

    @property
    def bits(self):
        return self.elements * self.shape.width

    @classmethod
    def for_range(cls, elements, lo, hi):
        """Smallest element shape holding ``[lo, hi]`` (``unsigned(1)`` for bits), at least one
        bit wide (a constant ``[0, 0]`` still travels as one bit per element)."""
        shape = Shape.cast(range(int(lo), int(hi) + 1))
        return cls(elements, shape if shape.width else unsigned(1))


def element(payload, fmt, index):
    """Element ``index`` of a pixel-vector ``payload`` as a value of ``fmt.shape``."""
    bits = payload[index * fmt.width:(index + 1) * fmt.width]
    return bits.as_signed() if fmt.shape.signed else bits


def permute_bits(value, order):
    """Wiring: bit ``i`` of the result is bit ``order[i]`` of ``value``."""
    return Cat(*(value[j] for j in order))


class Chain(wiring.Component):
    """Stream components in series; ``adapters[k]`` maps stage ``k``'s output payload to stage
    ``k+1``'s input payload (wiring or combinational logic; ``None`` = the same bits).

    ``i`` is the first stage's input (``in_shape``), ``o`` the last stage's output mapped by
    ``output`` (``out_shape``). Latency and throughput are the stages'.
    """

    def __init__(self, stages, *, in_shape, out_shape, adapters=None, input=None, output=None):
        self._stages = list(stages)
        if not self._stages:
            raise ParameterError("stages", "expected at least one stage", "none")
        self._adapters = list(adapters or [None] * (len(self._stages) - 1))
        if len(self._adapters) != len(self._stages) - 1:
            raise ParameterError("adapters", f"expected {len(self._stages) - 1} (one per "
                                             f"connection between stages)", len(self._adapters))
        self._input, self._output = input, output
        super().__init__({"i": In(stream.Signature(in_shape)),
                          "o": Out(stream.Signature(out_shape))})

    stages = property(lambda self: tuple(self._stages))

    def elaborate(self, platform):
        m = Module()
        for k, stage in enumerate(self._stages):
            m.submodules[f"s{k}_{type(stage).__name__.lower()}"] = stage
        first, last = self._stages[0], self._stages[-1]
        payload = self.i.payload if self._input is None else self._input(self.i.payload)
        m.d.comb += [first.i.valid.eq(self.i.valid), first.i.payload.eq(payload),
                     self.i.ready.eq(first.i.ready)]
        for k, adapter in enumerate(self._adapters):
            src, dst = self._stages[k].o, self._stages[k + 1].i
            value = src.payload if adapter is None else adapter(src.payload)
            m.d.comb += [dst.valid.eq(src.valid), dst.payload.eq(value),
                         src.ready.eq(dst.ready)]
        value = last.o.payload if self._output is None else self._output(last.o.payload)
        m.d.comb += [self.o.valid.eq(last.o.valid), self.o.payload.eq(value),
                     last.o.ready.eq(self.o.ready)]
        return m


class LaneArray(wiring.Component):
    """``L`` identical per-channel units side by side: transfer ``t`` carries channels
    ``t*L .. t*L + L-1``, lane ``l`` to unit ``l`` (which therefore sees channels ``l, l+L, ..``
    and must be built with those channels' parameters).

    The units share valid/ready: blocks following the one-global-stall convention
    (docs/hw-conventions.md) of one class and configuration shape run in lockstep, so unit 0's
    handshake stands for all. ``pre(value, lane)`` maps an input element (``in_width`` bits) to
    the unit's input payload. Output lane ``l`` = unit ``l``'s payload (``out_width`` bits).
    Latency and throughput: the units'.
    """

    def __init__(self, units, *, in_width, out_width, pre=None):
        self._units = list(units)
        if not self._units:
            raise ParameterError("units", "expected at least one lane", "none")
        if len({type(u) for u in self._units}) != 1:
            raise ParameterError("units", "expected lanes of one class (they run in lockstep)",
                                 sorted({type(u).__name__ for u in self._units}))
        self._in_width, self._out_width, self._pre = in_width, out_width, pre
        lanes = len(self._units)
        super().__init__({"i": In(stream.Signature(unsigned(lanes * in_width))),
                          "o": Out(stream.Signature(unsigned(lanes * out_width)))})

    lanes = property(lambda self: len(self._units))

    def elaborate(self, platform):
        m = Module()
        outs = []
        for lane, unit in enumerate(self._units):
            m.submodules[f"lane{lane}"] = unit
            value = self.i.payload[lane * self._in_width:(lane + 1) * self._in_width]
            if self._pre is not None:
                value = self._pre(value, lane)
            m.d.comb += [unit.i.valid.eq(self.i.valid), unit.i.payload.eq(value),
                         unit.o.ready.eq(self.o.ready)]
            raw = unit.o.payload
            raw = raw.as_value() if hasattr(raw, "as_value") else raw
            outs.append(raw[:self._out_width])
        m.d.comb += [self.i.ready.eq(self._units[0].i.ready),
                     self.o.valid.eq(self._units[0].o.valid),
                     self.o.payload.eq(Cat(*outs))]
        return m


class PixelMap(wiring.Component):
    """``o = fn(i)`` on whole pixel vectors, one pixel per cycle.

    ``fn(payload)`` returns the output payload (a value of ``out_bits`` bits; wiring or
    combinational logic). ``registered=True`` (default): one register stage, latency 1.
    ``registered=False``: no register at all (latency 0; ``o.valid = i.valid``, ``i.ready =
    o.ready``), for maps that are pure wiring (permutations, slices, concatenations), which would
    otherwise spend a flip-flop per bit on nothing.
    """

    def __init__(self, fn, *, in_bits, out_bits, registered=True):
        self._fn, self._registered = fn, bool(registered)
        super().__init__({"i": In(stream.Signature(unsigned(in_bits))),
                          "o": Out(stream.Signature(unsigned(out_bits)))})

    latency = property(lambda self: int(self._registered))

    def elaborate(self, platform):
        m = Module()
        if not self._registered:
            m.d.comb += [self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready),
                         self.o.payload.eq(self._fn(self.i.payload))]
            return m
        take = Signal()
        m.d.comb += [self.i.ready.eq(~self.o.valid | self.o.ready),
                     take.eq(self.i.valid & self.i.ready)]
        with m.If(self.i.ready):
            m.d.sync += self.o.valid.eq(self.i.valid)
        with m.If(take):
            m.d.sync += self.o.payload.eq(self._fn(self.i.payload))
        return m


def convert(value, from_shape, to_shape):
    """``value`` (bits of ``from_shape``) re-expressed in ``to_shape``: sign- or zero-extended
    when widening, truncated when narrowing (exact whenever the number fits ``to_shape``)."""
    from_shape, to_shape = Shape.cast(from_shape), Shape.cast(to_shape)
    value = value.as_value() if hasattr(value, "as_value") else value
    width = to_shape.width
    if len(value) >= width:
        return value[:width]
    fill = value[-1] if from_shape.signed else Const(0, 1)
    return Cat(value, *([fill] * (width - len(value))))
