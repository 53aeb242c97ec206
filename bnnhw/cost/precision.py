"""Number formats of a multiply-accumulate and their cost per MAC under ACE and CPU64.

Both metrics are from the PokeBNN paper (``../shared/papers/001_*``), Sec. 3:

- **ACE** (arithmetic computation effort), eq. (1): ``ACE = sum_{i,j} n_ij * i * j`` where
  ``n_ij`` is the number of MACs between an ``i``-bit and a ``j``-bit number. One MAC of an
  ``i``-bit activation and a ``j``-bit weight therefore costs ``i * j`` (Table 1, "MAC ACE":
  float32 1024, float16 and bfloat16 256, int8 64, int4 16, int2 4, binary 1). Floating-point
  formats are *not* special-cased ("We therefore choose to not special-case the ACE formula for
  MAC cost on floating-point formats", Sec. 3): their storage width is the bit width.
  Table 2's caption adds one convention: "When calculating ACE for FP32 operations, we assume
  they can be cast to BF16 without accuracy loss", i.e. an fp32 MAC costs 16 * 16 = 256 there.
  :func:`ace_per_mac` applies that convention by default (``fp32_as_bf16=True``) so that our
  ``ace`` is comparable with Table 2; ``fp32_as_bf16=False`` gives the literal 32 * 32 = 1024.
- **CPU64**, Sec. 3 "CPU64 metric": ``FLOPs + BOPs / 64`` ("one 64-bit CPU register can do 64
  BOPs in one cycle, compared to one float64 operation per cycle"), extended by the paper to
  int4 and int8 with coefficients 1/16 and 1/8 (Table 1, "MAC CPU64": float32 1, float16 1,
  int8 1/8, int4 1/16, int2 1/32, binary 1/64). A MAC counts as one operation (the FLOPs of
  [33-35, 42] count multiply-accumulates), so a floating-point MAC costs 1 and a ``b``-bit
  integer MAC ``b / 64``. bfloat16 has "-" in Table 1, but Table 2 charges the BF16 ResNet-50
  1 per MAC (CPU64 4089.2 for 4089.2 M BF16 MACs), as we do.

Our extensions, for formats the paper does not tabulate (documented in docs/cost.md): an integer
MAC of mixed widths ``a x w`` (e.g. PA-Net's popcount times an int16 ``phi``) costs ``a * w``
ACE, exactly eq. (1), and ``max(a, w) / 64`` CPU64 (the wider operand sets how many lanes fit a
64-bit register); int16 and int32 MACs cost ``16/64`` and ``32/64`` CPU64 by the same rule.
"""

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Precision", "precision", "mixed", "ace_per_mac", "cpu64_per_mac", "sort_key",
           "BINARY", "INT2", "INT4", "INT8", "INT16", "INT32", "BF16", "FP16", "FP32",
           "FLOAT_NAMES", "ORDER"]


@dataclass(frozen=True)
class Precision:
    """Operand formats of one MAC: ``act_bits``-bit activation times ``weight_bits``-bit weight."""

    name: str
    act_bits: int
    weight_bits: int
    is_float: bool = False

    @property
    def is_binary(self):
        return not self.is_float and self.act_bits == 1 and self.weight_bits == 1


BINARY = Precision("binary", 1, 1)
INT2 = Precision("int2", 2, 2)
INT4 = Precision("int4", 4, 4)
INT8 = Precision("int8", 8, 8)
INT16 = Precision("int16", 16, 16)
INT32 = Precision("int32", 32, 32)
BF16 = Precision("bf16", 16, 16, True)
FP16 = Precision("fp16", 16, 16, True)
FP32 = Precision("fp32", 32, 32, True)

_NAMED = {p.name: p for p in (BINARY, INT2, INT4, INT8, INT16, INT32, BF16, FP16, FP32)}
FLOAT_NAMES = ("fp32", "bf16", "fp16")
#: Display order of the formats in tables (Table 2's column order, then the rest).
ORDER = ("fp32", "bf16", "fp16", "int32", "int16", "int8", "int4", "int2", "binary")

_INT = re.compile(r"int(\d+)$")
_MIXED = re.compile(r"int(\d+)xint(\d+)$")


def precision(name):
    """The :class:`Precision` called ``name``.

    ``binary``, ``intB``, ``bf16``, ``fp16``, ``fp32``, or ``intAxintW`` for an integer MAC of an
    ``A``-bit activation (first) and a ``W``-bit weight (second).
    """
    if isinstance(name, Precision):
        return name
    if name in _NAMED:
        return _NAMED[name]
    match = _INT.match(name)
    if match and int(match.group(1)) >= 1:
        bits = int(match.group(1))
        return BINARY if bits == 1 else Precision(name, bits, bits)
    match = _MIXED.match(name)
    if match and int(match.group(1)) >= 1 and int(match.group(2)) >= 1:
        a, w = int(match.group(1)), int(match.group(2))
        return Precision(name, a, w)
    raise ValueError(f"precision: unknown MAC format {name!r} (expected binary, intB, bf16, "
                     "fp16, fp32 or intAxintW)")


def mixed(act_bits, weight_bits):
    """The integer MAC format of an ``act_bits``-bit activation and a ``weight_bits`` weight."""
    if act_bits == weight_bits:
        return precision(f"int{act_bits}")
    return precision(f"int{act_bits}xint{weight_bits}")


def ace_per_mac(fmt, *, fp32_as_bf16=True):
    """ACE of one MAC, PokeBNN eq. (1): ``i * j`` for an ``i``-bit by ``j``-bit MAC.

    ``fp32_as_bf16`` applies Table 2's caption (fp32 MACs cast to bf16: 256 instead of 1024).
    """
    p = precision(fmt)
    if fp32_as_bf16 and p.name == "fp32":
        p = BF16
    return p.act_bits * p.weight_bits


def cpu64_per_mac(fmt):
    """CPU64 of one MAC (PokeBNN Sec. 3, Table 1): 1 if floating point, else ``bits / 64``.

    Exact as a :class:`fractions.Fraction`; binary gives 1/64, int4 1/16, int8 1/8.
    """
    p = precision(fmt)
    if p.is_float:
        return Fraction(1)
    return Fraction(max(p.act_bits, p.weight_bits), 64)


def sort_key(name):
    """Table order of a format name: Table 2's columns first, then mixed formats by width."""
    if name in ORDER:
        return (ORDER.index(name), 0, 0)
    p = precision(name)
    return (len(ORDER), -p.act_bits * p.weight_bits, p.act_bits)
