"""Streaming fixed-point post-accumulator units: quantized BN, requantize, DPReLU, saturating add.

Each unit computes one rule of ``docs/numerics.md`` §8 bit-exactly (``bnnhw.golden.fixed`` is the
reference; the tests connect the two):

- ``round_shift(x, F) = (x + 2**(F-1)) >> F`` with an arithmetic shift (round half up);
  ``F = 0`` is the identity.
- 8-bit results are clipped to the symmetric ``[-127, 127]``; -128 is never produced.

Conventions (``docs/hw-conventions.md``): every unit is a :class:`wiring.Component` with an input
stream ``i`` and an output stream ``o`` (:mod:`amaranth.lib.stream`), clocked by ``sync`` with its
synchronous active-high reset. Per-channel parameters live in a ROM (:class:`Memory` with
``init``) of ``C`` words; the unit keeps its own **channel counter** that starts at 0 after reset
and advances (wrapping at ``C``) on every accepted input transfer, so input transfer ``j`` belongs
to channel ``j mod C`` — the order a folded engine produces (position-major, channel-minor).

Pipelines use one global stall: every stage register advances unless the output holds data the
consumer does not take (``stall = o.valid & ~o.ready``); ``i.ready = ~stall``. ``o.valid`` is a
register, so it never depends on ``o.ready``; the payload is held while stalled. Throughput is one
transfer per cycle; *latency* below counts clock edges from the edge that accepts an input to the
first cycle its result is presented on ``o`` (without stalls).

A bad parameter raises :class:`bnnhw.params.ParameterError` (``<name>: expected ..., got ...``;
a ``ValueError``).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..params import int_param, int_vector

__all__ = ["INT8_MAX", "QuantizedBN", "Requantize", "DPReLU", "SaturatingAdd"]

#: Largest magnitude of symmetric 8-bit data.
INT8_MAX = 127

_INT8 = (-128, 127)
_INT16 = (-(1 << 15), (1 << 15) - 1)


def _round_shift(value, shift):
    """``(value + 2**(shift-1)) >> shift`` on a signed Amaranth value (exact, widened)."""
    if shift == 0:
        return value
    return (value + (1 << (shift - 1))) >> shift


def _clip(value, bound):
    """``value`` clipped to ``[-bound, bound]``."""
    return Mux(value > bound, bound, Mux(value < -bound, -bound, value))


class _ChannelPipeline(wiring.Component):
    """Base of the per-channel units: ROM of parameters, channel counter, globally stalled stages.

    Subclasses set ``_in_shape``, ``_out_shape`` and implement ``_rom_layout()``, ``_rom_init()``
    (one word per channel) and ``_datapath(m, x, params)``, which returns the output value from
    the registered input ``x`` and the ROM word ``params`` (both valid in stage 1), adding any
    further pipeline stages with ``self._stage``; ``_extra_stages`` is how many it adds.
    """

    _extra_stages = 0

    def __init__(self, in_shape, out_shape, channels):
        self._channels = channels
        super().__init__({
            "i": In(stream.Signature(in_shape)),
            "o": Out(stream.Signature(out_shape)),
        })

    @property
    def channels(self):
        """Number of channels ``C`` (ROM depth; the channel counter wraps at ``C``)."""
        return self._channels

    @property
    def latency(self):
        """Clock edges from accepting an input to presenting its result (no stalls)."""
        return 2 + self._extra_stages

    def elaborate(self, platform):
        m = Module()
        rom = Memory(shape=self._rom_layout(), depth=self._channels, init=self._rom_init())
        m.submodules.rom = rom
        read = rom.read_port()

        channel = Signal(range(self._channels))
        stall = Signal()
        self._stall = stall
        m.d.comb += [
            stall.eq(self.o.valid & ~self.o.ready),
            self.i.ready.eq(~stall),
            read.en.eq(~stall),
            read.addr.eq(channel),
        ]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += channel.eq(Mux(channel == self._channels - 1, 0, channel + 1))

        # Stage 1: the input register; the ROM word of its channel arrives in the same cycle.
        x1 = Signal.like(self.i.payload, name="x1")
        valid = Signal(name="valid1")
        with m.If(~stall):
            m.d.sync += [valid.eq(self.i.valid), x1.eq(self.i.payload)]
        self._valids = [valid]
        result = self._datapath(m, x1, read.data)
        with m.If(~stall):
            m.d.sync += [self.o.valid.eq(self._valids[-1]), self.o.payload.eq(result)]
        return m

    def _stage(self, m, **values):
        """Add one pipeline stage registering ``values`` (name=value); return the registers."""
        regs = [Signal(value.shape(), name=name) for name, value in values.items()]
        valid = Signal(name=f"{next(iter(values))}_valid")
        with m.If(~self._stall):
            m.d.sync += [reg.eq(value) for reg, value in zip(regs, values.values())]
            m.d.sync += valid.eq(self._valids[-1])
        self._valids.append(valid)
        return regs


class QuantizedBN(_ChannelPipeline):
    """ResNet-style 8-bit batch norm: ``y = clip(round_shift(s*S + B, F), -127, 127)``.

    The 8-bit data-flow rule of ``docs/numerics.md`` §8 (``golden.quantized_bn``), with per-channel
    int16 scale ``S`` and bias ``B`` from a ROM and ``F = frac_bits`` fractional bits.

    Latency 3 (input register + ROM read, ``s*S + B`` register, output register); throughput one
    value per cycle.

    Parameters
    ----------
    scale : sequence of int
        ``S`` per channel, int16; its length is the channel count ``C``.
    bias : sequence of int
        ``B`` per channel, int16, length ``C``.
    frac_bits : int
        ``F`` in ``[0, 15]``.

    Members
    -------
    i : In(stream.Signature(signed(8)))
        ``s``, the clipped accumulator in ``[-127, 127]``; transfer ``j`` is channel ``j mod C``.
    o : Out(stream.Signature(signed(8)))
        ``y`` in ``[-127, 127]``, in input order.

    Raises
    ------
    ParameterError
        A parameter is out of range or ``bias`` has a different length from ``scale``.
    """

    _extra_stages = 1

    def __init__(self, *, scale, bias, frac_bits):
        self._scale = int_vector(scale, "scale", *_INT16)
        self._bias = int_vector(bias, "bias", *_INT16, length=len(self._scale))
        self._frac_bits = int_param(frac_bits, "frac_bits", 0, 15)
        super().__init__(signed(8), signed(8), len(self._scale))

    scale = property(lambda self: self._scale, doc="Per-channel int16 scale ``S``.")
    bias = property(lambda self: self._bias, doc="Per-channel int16 bias ``B``.")
    frac_bits = property(lambda self: self._frac_bits, doc="Fractional bits ``F``.")

    def _rom_layout(self):
        return data.StructLayout({"scale": signed(16), "bias": signed(16)})

    def _rom_init(self):
        return [{"scale": s, "bias": b} for s, b in zip(self._scale, self._bias)]

    def _datapath(self, m, x, params):
        total, = self._stage(m, total=x * params.scale + params.bias)  # 25 bits
        return _clip(_round_shift(total, self._frac_bits), INT8_MAX)


class Requantize(_ChannelPipeline):
    """int32 accumulator to int8: ``y = clip(round_shift(acc*M, shift), -127, 127)``.

    The PokeInit requantization of ``docs/numerics.md`` §8 (``golden.requantize``), with a
    per-channel multiplier ``M`` (``|M| < 2**16``) from a ROM and one ``shift`` for the layer.

    Latency 3 (input register + ROM read, 49-bit product register, output register); throughput
    one value per cycle.

    Parameters
    ----------
    multiplier : sequence of int
        ``M`` per channel in ``[-(2**16 - 1), 2**16 - 1]``; its length is the channel count ``C``.
    shift : int
        In ``[0, 48]``.

    Members
    -------
    i : In(stream.Signature(signed(32)))
        ``acc``; transfer ``j`` is channel ``j mod C``.
    o : Out(stream.Signature(signed(8)))
        ``y`` in ``[-127, 127]``, in input order.

    Raises
    ------
    ParameterError
        A parameter is out of range.
    """

    _extra_stages = 1

    def __init__(self, *, multiplier, shift):
        limit = (1 << 16) - 1
        self._multiplier = int_vector(multiplier, "multiplier", -limit, limit)
        self._shift = int_param(shift, "shift", 0, 48)
        super().__init__(signed(32), signed(8), len(self._multiplier))

    multiplier = property(lambda self: self._multiplier, doc="Per-channel multiplier ``M``.")
    shift = property(lambda self: self._shift, doc="Right shift (with rounding) after ``acc*M``.")

    def _rom_layout(self):
        return signed(17)

    def _rom_init(self):
        return list(self._multiplier)

    def _datapath(self, m, x, params):
        product, = self._stage(m, product=x * params)  # 49 bits
        return _clip(_round_shift(product, self._shift), INT8_MAX)


class DPReLU(_ChannelPipeline):
    """Fixed-point DPReLU (PokeBNN eq. 4), exactly ``golden.dprelu``.

    ``d = x - alpha``; ``y = clip(round_shift(d*eta if d > 0 else d*gamma, F) - beta, -127, 127)``
    with per-channel int8 ``alpha``, ``beta`` and int16 ``eta``, ``gamma`` from a ROM. One
    multiplier: the coefficient is chosen from the sign of ``d`` before the product.

    Latency 3 (input register + ROM read, ``d*coef`` register, output register); throughput one
    value per cycle.

    Parameters
    ----------
    alpha, beta : sequence of int
        Per-channel int8 (``[-128, 127]``); ``len(alpha)`` is the channel count ``C``.
    eta, gamma : sequence of int
        Per-channel int16 slopes for ``d > 0`` and ``d <= 0``, ``F`` fractional bits.
    frac_bits : int
        ``F`` in ``[0, 15]``.

    Members
    -------
    i : In(stream.Signature(signed(8)))
        ``x``, any int8; transfer ``j`` is channel ``j mod C``.
    o : Out(stream.Signature(signed(8)))
        ``y`` in ``[-127, 127]``, in input order.

    Raises
    ------
    ParameterError
        A parameter is out of range or the per-channel lengths differ.
    """

    _extra_stages = 1

    def __init__(self, *, alpha, beta, eta, gamma, frac_bits):
        self._alpha = int_vector(alpha, "alpha", *_INT8)
        channels = len(self._alpha)
        self._beta = int_vector(beta, "beta", *_INT8, length=channels)
        self._eta = int_vector(eta, "eta", *_INT16, length=channels)
        self._gamma = int_vector(gamma, "gamma", *_INT16, length=channels)
        self._frac_bits = int_param(frac_bits, "frac_bits", 0, 15)
        super().__init__(signed(8), signed(8), channels)

    alpha = property(lambda self: self._alpha, doc="Per-channel int8 input offset.")
    beta = property(lambda self: self._beta, doc="Per-channel int8 output offset.")
    eta = property(lambda self: self._eta, doc="Per-channel int16 slope for ``d > 0``.")
    gamma = property(lambda self: self._gamma, doc="Per-channel int16 slope for ``d <= 0``.")
    frac_bits = property(lambda self: self._frac_bits, doc="Fractional bits ``F``.")

    def _rom_layout(self):
        return data.StructLayout({
            "alpha": signed(8), "beta": signed(8), "eta": signed(16), "gamma": signed(16)})

    def _rom_init(self):
        return [{"alpha": a, "beta": b, "eta": e, "gamma": g}
                for a, b, e, g in zip(self._alpha, self._beta, self._eta, self._gamma)]

    def _datapath(self, m, x, params):
        d = Signal(signed(9))
        m.d.comb += d.eq(x - params.alpha)
        product, beta = self._stage(  # product: 25 bits
            m, product=d * Mux(d > 0, params.eta, params.gamma), beta=params.beta)
        return _clip(_round_shift(product, self._frac_bits) - beta, INT8_MAX)


class SaturatingAdd(wiring.Component):
    """Saturating residual add: ``y = clip(x + r, -bound, bound)`` (``golden.saturating_add``).

    The pair arrives in one transfer. Latency 1 (output register); throughput one value per cycle.

    Parameters
    ----------
    bound : int
        Clip bound in ``[1, 127]``; default 127 (symmetric 8-bit data).

    Members
    -------
    i : In(stream.Signature(PAIR_LAYOUT))
        ``{"x": signed(8), "r": signed(8)}``; the contract has both in ``[-bound, bound]``, any
        int8 pair gives the clipped exact sum.
    o : Out(stream.Signature(signed(8)))
        ``y`` in ``[-bound, bound]``.

    Raises
    ------
    ParameterError
        ``bound`` is out of range.
    """

    #: Payload layout of the input stream (``x`` in bits 0-7, ``r`` in bits 8-15).
    PAIR_LAYOUT = data.StructLayout({"x": signed(8), "r": signed(8)})

    def __init__(self, *, bound=INT8_MAX):
        self._bound = int_param(bound, "bound", 1, INT8_MAX)
        super().__init__({
            "i": In(stream.Signature(self.PAIR_LAYOUT)),
            "o": Out(stream.Signature(signed(8))),
        })

    bound = property(lambda self: self._bound, doc="Clip bound.")
    latency = property(lambda self: 1, doc="Clock edges from input to output (no stalls).")

    def elaborate(self, platform):
        m = Module()
        stall = Signal()
        m.d.comb += [stall.eq(self.o.valid & ~self.o.ready), self.i.ready.eq(~stall)]
        with m.If(~stall):
            m.d.sync += [
                self.o.valid.eq(self.i.valid),
                self.o.payload.eq(_clip(self.i.payload.x + self.i.payload.r, self._bound)),
            ]
        return m
