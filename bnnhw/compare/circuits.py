"""Circuits of the micro-comparisons: product gates alone, and accumulator + batch-norm lanes.

- :class:`ProductGates`: ``width`` two-input product gates side by side, ``y = XNOR(a, w)`` or
  ``y = AND(a, w)``, nothing else. PA-Net's Table 2 compares exactly these gates.
- The whole processing element is :class:`bnnhw.hw.XnorPopcount` / :class:`bnnhw.hw.AndPopcount`
  with streamed weights (the gates plus the popcount tree).
- :class:`AccumulatorBN`: one PE lane after its popcount tree: it accumulates the partial
  popcounts of a folded dot product (``fan_in / simd`` chunks of ``simd`` bits) and applies the
  batch norm when the last chunk arrives, in one of two data flows:

  ``flow="int32"`` (the flow the 8-bit data-flow paper starts from: 32-bit accumulator, 32-bit
  batch norm): a 32-bit wrapping accumulator; ``bn="threshold"`` compares it with a 32-bit
  threshold (batch norm folded into the sign, on 32-bit data); ``bn="affine"`` computes
  ``y = ((2*acc - N) * scale + bias) >> F`` on 32-bit ``scale`` and ``bias`` and keeps 32 bits
  (a 32-bit float batch norm approximated by a 32-bit integer multiply-add).

  ``flow="int8"`` (the paper's 8-bit flow, with the arithmetic of our blocks): an 8-bit counter
  saturating at 255 (the saturating accumulator of :class:`bnnhw.hw.BinaryMVAU`; exact for the
  clip of ``docs/numerics.md`` §7 while ``(N + 127) / 2 <= 255``); ``bn="threshold"`` is
  :class:`bnnhw.hw.ThresholdUnit`'s ``(p >= T) XOR invert`` on 8 bits; ``bn="affine"`` is the
  clip to ``[-127, 127]`` followed by :class:`bnnhw.hw.QuantizedBN`'s datapath
  ``clip(round_shift(s*S + B, F), -127, 127)`` with int16 ``S`` and ``B``.

The parameters (threshold, invert, scale, bias) enter through ports, as if read from a
parameter memory each cycle: a synthesis tool cannot shrink the datapath by looking at constant
values, so both flows are priced for what their widths allow. The memory that would hold the
parameters is not in the circuit (:attr:`AccumulatorBN.param_bits` says how many bits a channel
needs).

Timing (both flows alike): on a cycle with ``valid``, the accumulator takes ``count`` (restarting
at ``first``); with ``last`` the batch-normed value of the complete sum is registered into ``y``.
The combinational ``total`` feeds the batch norm directly, as in ``BinaryMVAU``.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..hw.fixed import INT8_MAX, _clip, _round_shift

__all__ = ["ProductGates", "AccumulatorBN", "FLOWS", "BN_KINDS", "INT8_SATURATE_AT",
           "INT32_FRAC_BITS"]

FLOWS = ("int32", "int8")
BN_KINDS = ("threshold", "affine")
#: The 8-bit flow's counter saturates at the largest 8-bit value.
INT8_SATURATE_AT = 255
#: Fractional bits of the 32-bit affine batch norm (scale and bias are Q16.16).
INT32_FRAC_BITS = 16


class ProductGates(wiring.Component):
    """``width`` product gates: ``y[i] = XNOR(a[i], w[i])`` (``op="xnor"``) or ``AND``.

    Members: ``a``, ``w`` ``In(width)``; ``y`` ``Out(width)``. Purely combinational.
    """

    def __init__(self, width, *, op):
        if op not in ("xnor", "and"):
            raise ValueError(f"op: expected 'xnor' or 'and', got {op!r}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width: expected an integer >= 1, got {width!r}")
        self.op, self.width = op, width
        super().__init__({"a": In(width), "w": In(width), "y": Out(width)})

    def elaborate(self, platform):
        m = Module()
        if self.op == "xnor":
            m.d.comb += self.y.eq(~(self.a ^ self.w))
        else:
            m.d.comb += self.y.eq(self.a & self.w)
        return m


class AccumulatorBN(wiring.Component):
    """One PE lane's accumulator and batch norm, 32-bit or 8-bit flow (module docstring).

    Parameters
    ----------
    flow : {"int32", "int8"}
    bn : {"threshold", "affine"}
    fan_in : int
        ``N``, bits of the whole dot product; ``simd`` must divide it. The 8-bit flow needs
        ``(N + 127) / 2 <= 255`` (``N <= 383``) for its saturating counter to be exact.
    simd : int
        Bits per chunk: ``count`` is a popcount of ``simd`` bits.
    frac_bits : int
        ``F`` of the affine batch norm (default 16 for int32, 8 for int8).

    Members
    -------
    valid, first, last : In(1)
        A chunk's count is on ``count``; it is the dot product's first / last chunk.
    count : In(ceil_log2(simd + 1))
        The chunk's popcount.
    threshold : In(acc_width), invert : In(1)
        ``bn="threshold"``: the output bit is ``(total >= threshold) XOR invert``.
    scale, bias : In(signed(32)) (int32) or In(signed(16)) (int8)
        ``bn="affine"``.
    y : Out(1) for ``threshold``; Out(signed(32)) / Out(signed(8)) for ``affine``
        Registered on the last chunk.
    """

    def __init__(self, *, flow, bn, fan_in=256, simd=32, frac_bits=None):
        if flow not in FLOWS:
            raise ValueError(f"flow: expected one of {FLOWS}, got {flow!r}")
        if bn not in BN_KINDS:
            raise ValueError(f"bn: expected one of {BN_KINDS}, got {bn!r}")
        if not isinstance(fan_in, int) or not isinstance(simd, int) or simd < 1 \
                or fan_in < simd or fan_in % simd:
            raise ValueError(f"simd: expected a divisor of fan_in, got simd={simd!r}, "
                             f"fan_in={fan_in!r}")
        if flow == "int8" and fan_in + INT8_MAX > 2 * INT8_SATURATE_AT:
            raise ValueError(f"fan_in: {fan_in} is too large for an exact 8-bit saturating "
                             f"accumulator (at most {2 * INT8_SATURATE_AT - INT8_MAX})")
        self.flow, self.bn, self.fan_in, self.simd = flow, bn, fan_in, simd
        self.frac_bits = (INT32_FRAC_BITS if flow == "int32" else 8) if frac_bits is None \
            else frac_bits
        self.acc_width = 32 if flow == "int32" else 8
        self.param_width = 32 if flow == "int32" else 16
        ports = {"valid": In(1), "first": In(1), "last": In(1),
                 "count": In(ceil_log2(simd + 1))}
        if bn == "threshold":
            ports.update(threshold=In(self.acc_width), invert=In(1), y=Out(1))
        else:
            ports.update(scale=In(signed(self.param_width)), bias=In(signed(self.param_width)),
                         y=Out(signed(32 if flow == "int32" else 8)))
        super().__init__(ports)

    @property
    def param_bits(self):
        """Parameter bits per channel: threshold + invert, or scale + bias."""
        if self.bn == "threshold":
            return self.acc_width + 1
        return 2 * self.param_width

    def elaborate(self, platform):
        m = Module()
        width = self.acc_width
        acc = Signal(width)
        total = Signal(width)
        started = Mux(self.first, 0, acc)
        if self.flow == "int32":
            m.d.comb += total.eq(started + self.count)          # wraps at 2**32
        else:
            wide = started + self.count
            m.d.comb += total.eq(Mux(wide > INT8_SATURATE_AT,
                                     Const(INT8_SATURATE_AT, width), wide))
        with m.If(self.valid):
            m.d.sync += acc.eq(total)
        if self.bn == "threshold":
            value = (total >= self.threshold) ^ self.invert
        elif self.flow == "int32":
            dot = Signal(signed(32))
            m.d.comb += dot.eq((total << 1) - self.fan_in)          # wraps at 2**32
            value = (dot * self.scale + self.bias) >> self.frac_bits    # kept to 32 bits by y
        else:
            dot = Signal(signed(10))
            m.d.comb += dot.eq((total << 1) - self.fan_in)          # -N .. 510 - N
            s = Signal(signed(8))
            m.d.comb += s.eq(_clip(dot, INT8_MAX))
            value = _clip(_round_shift(s * self.scale + self.bias, self.frac_bits), INT8_MAX)
        with m.If(self.valid & self.last):
            m.d.sync += self.y.eq(value)
        return m


def accumulator_bn_reference(flow, bn, counts, *, fan_in, frac_bits=None, threshold=0,
                             invert=0, scale=0, bias=0):
    """What :class:`AccumulatorBN` registers for one dot product of chunk popcounts ``counts``.

    Plain Python on the arithmetic of ``docs/numerics.md`` (int8 affine: ``golden``'s
    ``saturate`` then ``quantized_bn``), for the tests.
    """
    from .. import golden

    total = sum(int(c) for c in counts)
    if flow == "int32":
        total %= 1 << 32
        frac_bits = INT32_FRAC_BITS if frac_bits is None else frac_bits
        if bn == "threshold":
            return int((total >= threshold) ^ bool(invert))
        dot = ((2 * total - fan_in + (1 << 31)) % (1 << 32)) - (1 << 31)
        value = (dot * scale + bias) >> frac_bits
        return ((value + (1 << 31)) % (1 << 32)) - (1 << 31)
    total = min(total, INT8_SATURATE_AT)
    if bn == "threshold":
        return int((total >= threshold) ^ bool(invert))
    frac_bits = 8 if frac_bits is None else frac_bits
    s = int(golden.saturate(2 * total - fan_in))
    return int(golden.quantized_bn(s, scale, bias, frac_bits))


def product_bits(op, a, w, width):
    """``XNOR``/``AND`` of two ``width``-bit integers (the reference of :class:`ProductGates`)."""
    mask = (1 << width) - 1
    return (~(a ^ w)) & mask if op == "xnor" else a & w

