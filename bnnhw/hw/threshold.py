"""Streaming threshold / sign unit: batch norm folded into a popcount comparison (one or k slices).

The folded rule of ``docs/numerics.md`` §5-6 (``golden.SignThreshold``): for channel ``c`` and
slice ``n`` the output bit is

    bit_n = (p >= T[n, c]) XOR invert[n, c]

on the channel's popcount ``p``. ``T == 0`` is a constant channel (``p >= 0`` always holds, so the
bit is ``NOT invert``) and needs no special case. Thresholds and invert flags sit in a ROM
(:class:`Memory` with ``init``) of one word per channel holding all ``k`` slices.

Conventions (``docs/hw-conventions.md``): :class:`wiring.Component`, input stream ``i``, output
stream ``o`` (:mod:`amaranth.lib.stream`), domain ``sync`` with synchronous active-high reset. The
unit keeps its own **channel counter**, 0 after reset, advancing (wrapping at ``C``) on every
accepted input, so input transfer ``j`` is channel ``j mod C`` — the order a folded MVTU emits.
One global stall (``stall = o.valid & ~o.ready``, ``i.ready = ~stall``): ``o.valid`` is a
register and never depends on ``o.ready``.

``bnnhw.hw`` does not import ``bnnhw.golden``: :meth:`ThresholdUnit.from_sign_threshold` reads any
object with ``threshold``, ``invert`` and ``fan_in`` attributes (a ``golden.SignThreshold``).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..params import ParameterError, int_param, int_vector, is_bool

__all__ = ["ThresholdUnit"]


def _rows(value, name):
    """``value`` as a list of rows: ``(C,)`` gives one row, ``(k, C)`` gives ``k`` rows."""
    if hasattr(value, "tolist"):
        if len(getattr(value, "shape", ())) == 2:
            return value.tolist(), True
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(name, "expected shape (C,) or (k, C)", repr(value))
    value = list(value)
    if value and all(hasattr(row, "__iter__") for row in value):
        return [list(row) for row in value], True
    if any(hasattr(row, "__iter__") for row in value):
        raise ParameterError(name, "expected shape (C,) or (k, C)", "a ragged sequence")
    return [value], False


#: ROMs of at most this many words are read combinationally (LUTs) instead of through a register.
ASYNC_ROM_DEPTH = 16


class ThresholdUnit(wiring.Component):
    """Folded batch-norm sign on a stream of popcounts; ``k`` bits per channel (multi-slice).

    Computes ``bit_n = (p >= threshold[n][c]) XOR invert[n][c]`` for ``n = 0..k-1`` in one cycle,
    exactly ``golden.sign_threshold`` (``k = 1``, 1-D parameters) or ``golden.multi_slice_sign``
    (``(k, C)`` parameters; the hardware emits the ``k`` bits of a channel together, bit ``n`` =
    slice ``n``, which the golden model places at output channel ``n*C + c``).

    Latency 2 (input register + ROM read, output register); throughput one channel per cycle.

    Parameters
    ----------
    fan_in : int
        ``N``, the number of bits summed into each popcount (``>= 1``); popcounts are
        ``0..N``.
    threshold : sequence of int, shape ``(C,)`` or ``(k, C)``
        ``T`` in ``[0, N]`` per channel (and slice); ``0`` marks a constant channel.
    invert : sequence of bool, same shape
        Invert flag per channel (and slice).
    width : int, optional
        Width of the popcount input and of each stored threshold; default and minimum
        ``ceil(log2(N + 1))`` (``SignThreshold.width``).

    Members
    -------
    i : In(stream.Signature(unsigned(width)))
        The popcount ``p`` of channel ``j mod C`` on transfer ``j``.
    o : Out(stream.Signature(unsigned(k)))
        Bit ``n`` is slice ``n`` of that channel, in input order.

    Raises
    ------
    ParameterError
        ``fan_in < 1``; ``width`` too small for ``fan_in``; no slice (``k < 1``) or no channel;
        a threshold outside ``[0, fan_in]``; ``invert`` not bools of the same shape.
    """

    def __init__(self, *, fan_in, threshold, invert, width=None):
        self._fan_in = int_param(fan_in, "fan_in", 1)
        needed = self._fan_in.bit_length()
        self._width = needed if width is None else int_param(width, "width", 1)
        if self._width < needed:
            raise ParameterError("width", f"expected at least {needed} bits to hold popcounts up "
                                          f"to fan_in={self._fan_in}", self._width)

        rows, two_d = _rows(threshold, "threshold")
        if not rows:
            raise ParameterError("threshold", "expected k >= 1 slices", 0)
        self._threshold = tuple(
            int_vector(row, "threshold", 0, self._fan_in, length=len(rows[0])) for row in rows)
        inv_rows, inv_two_d = _rows(invert, "invert")
        if inv_two_d != two_d or len(inv_rows) != len(rows):
            raise ParameterError("invert", f"expected threshold's shape ({len(rows)} x "
                                           f"{len(rows[0])})", repr(invert))
        for row in inv_rows:
            for flag in row:
                if not is_bool(flag):
                    raise ParameterError("invert", "expected bools", repr(flag))
        self._invert = tuple(
            tuple(bool(flag) for flag in row) for row in inv_rows)
        for row in self._invert:
            if len(row) != len(rows[0]):
                raise ParameterError("invert", f"expected {len(rows[0])} channels", len(row))
        self._two_d = two_d

        super().__init__({
            "i": In(stream.Signature(unsigned(self._width))),
            "o": Out(stream.Signature(unsigned(self.slices))),
        })

    @classmethod
    def from_sign_threshold(cls, thresholds, *, width=None):
        """Build from a ``golden.SignThreshold`` (or anything with the same three attributes)."""
        for attr in ("threshold", "invert", "fan_in"):
            if not hasattr(thresholds, attr):
                raise ParameterError("thresholds", f"expected a {attr!r} attribute",
                                     repr(thresholds))
        return cls(fan_in=thresholds.fan_in, threshold=thresholds.threshold,
                   invert=thresholds.invert, width=width)

    fan_in = property(lambda self: self._fan_in, doc="Popcount range ``0..fan_in``.")
    width = property(lambda self: self._width, doc="Bits of the popcount input and thresholds.")
    channels = property(lambda self: len(self._threshold[0]), doc="Channels ``C`` (ROM depth).")
    slices = property(lambda self: len(self._threshold), doc="Bits per channel ``k``.")
    latency = property(lambda self: 2, doc="Clock edges from input to output (no stalls).")

    @property
    def threshold(self):
        """Thresholds as given: a tuple ``(C,)`` or a tuple of ``k`` tuples ``(k, C)``."""
        return self._threshold if self._two_d else self._threshold[0]

    @property
    def invert(self):
        """Invert flags, same shape as :attr:`threshold`."""
        return self._invert if self._two_d else self._invert[0]

    def elaborate(self, platform):
        m = Module()
        channels, slices = self.channels, self.slices
        entry = data.StructLayout({"threshold": unsigned(self._width), "invert": unsigned(1)})
        rom = Memory(
            shape=data.ArrayLayout(entry, slices), depth=channels,
            init=[[{"threshold": self._threshold[n][c], "invert": int(self._invert[n][c])}
                   for n in range(slices)] for c in range(channels)])
        m.submodules.rom = rom
        stall = Signal()
        m.d.comb += [
            stall.eq(self.o.valid & ~self.o.ready),
            self.i.ready.eq(~stall),
        ]
        channel = Signal(range(channels))
        if channels <= ASYNC_ROM_DEPTH:
            # A ROM of at most 16 words is one LUT4 per bit: read it combinationally from the
            # channel of the registered popcount (no read register, no block RAM).
            read = rom.read_port(domain="comb")
            current = Signal(range(channels))
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += current.eq(channel)
            m.d.comb += read.addr.eq(current)
        else:
            read = rom.read_port()
            m.d.comb += [read.en.eq(~stall), read.addr.eq(channel)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += channel.eq(Mux(channel == channels - 1, 0, channel + 1))

        # Stage 1: the popcount register; its channel's ROM word arrives in the same cycle.
        popcount = Signal(self._width)
        valid = Signal()
        with m.If(~stall):
            m.d.sync += [
                valid.eq(self.i.valid),
                popcount.eq(self.i.payload),
                self.o.valid.eq(valid),
                self.o.payload.eq(Cat(
                    (popcount >= read.data[n].threshold) ^ read.data[n].invert
                    for n in range(slices))),
            ]
        return m
