"""Per-layer costs and their network totals: :class:`LayerCost`, :class:`CostReport`.

A :class:`LayerCost` holds what one layer does per inference: its multiply-accumulates by number
format (``macs``, the only input of ACE and CPU64), the bits of its parameters and of the feature
maps it reads and writes, and (for compiled networks) the element-wise operations around the MACs
in the vocabulary of the BNN energy appendix (``../shared/papers/000_*`` Sec. 6.1: XNORs, counts,
comparators, fixed-point multiplications, additions). :class:`CostReport` sums them.

Totals:

- ``ace``: PokeBNN eq. (1) over all MACs, fp32 MACs at bf16 cost (Table 2 caption);
  ``ace_strict``: the same with fp32 at 32 x 32 (Table 1);
- ``cpu64``: PokeBNN Sec. 3 ``FLOPs + BOPs/64`` with int8 at 1/8 and int4 at 1/16 per MAC;
- ``bops``: 1-bit x 1-bit MACs (XNOR- or AND-popcount products); ``flops``: floating-point MACs
  (fp32, bf16, fp16), one per multiply-accumulate as in the CPU64 literature;
- ``param_bits``: stored parameter bits; ``fmap_bits``: the input plus every tensor a layer
  produces, each counted once (wiring such as slices and concatenations adds nothing);
- ``ace_elementwise``: eq. (1) applied to the element-wise multiplies (requantization, quantized
  BN, DPReLU), reported apart because Table 2's ACE counts convolution and dense MACs only.
"""

from collections import Counter
from dataclasses import dataclass, field

from .precision import FLOAT_NAMES, ace_per_mac, cpu64_per_mac, precision, sort_key

__all__ = ["LayerCost", "CostReport", "OP_KINDS"]

#: Element-wise operation kinds counted per layer (paper 000 Sec. 6.1 vocabulary).
OP_KINDS = ("xnor", "and", "popcount", "compare", "or", "add")


def _sorted(counts):
    return {k: counts[k] for k in sorted(counts, key=sort_key) if counts[k]}


def _sum_dicts(dicts):
    total = Counter()
    for d in dicts:
        total.update(d)
    return total


def _ace(macs, fp32_as_bf16=True):
    return sum(n * ace_per_mac(fmt, fp32_as_bf16=fp32_as_bf16) for fmt, n in macs.items())


def _cpu64(macs):
    return sum((n * cpu64_per_mac(fmt) for fmt, n in macs.items()), start=0)


class _MacMetrics:
    """ACE and CPU64 of whatever ``macs`` (format -> count) the class holds."""

    @property
    def ace(self):
        return _ace(self.macs)

    @property
    def ace_strict(self):
        return _ace(self.macs, fp32_as_bf16=False)

    @property
    def cpu64(self):
        """Exact (a :class:`fractions.Fraction`); ``float()`` it for display."""
        return _cpu64(self.macs)


@dataclass(frozen=True)
class LayerCost(_MacMetrics):
    """Work and storage of one layer for one inference.

    ``macs`` maps a MAC format name (:func:`bnnhw.cost.precision.precision`) to a count;
    ``ops`` maps an :data:`OP_KINDS` entry to a count; ``elementwise_muls`` maps a format to the
    number of element-wise fixed-point multiplies. ``shape`` is the output ``(C, H, W)``.
    """

    name: str
    op: str
    shape: tuple
    macs: dict = field(default_factory=dict)
    param_bits: int = 0
    in_fmap_bits: int = 0
    out_fmap_bits: int = 0
    stores_output: bool = True
    ops: dict = field(default_factory=dict)
    elementwise_muls: dict = field(default_factory=dict)
    note: str = ""

    def __post_init__(self):
        for fmt in list(self.macs) + list(self.elementwise_muls):
            precision(fmt)
        unknown = set(self.ops) - set(OP_KINDS)
        if unknown:
            raise ValueError(f"layer {self.name!r}: ops: unknown kinds {sorted(unknown)}")

    @property
    def bops(self):
        return sum(n for fmt, n in self.macs.items() if precision(fmt).is_binary)

    @property
    def flops(self):
        return sum(n for fmt, n in self.macs.items() if fmt in FLOAT_NAMES)

    def to_dict(self):
        return {"name": self.name, "op": self.op, "shape": list(self.shape),
                "macs": _sorted(self.macs), "ace": self.ace, "cpu64": float(self.cpu64),
                "bops": self.bops, "flops": self.flops, "param_bits": self.param_bits,
                "in_fmap_bits": self.in_fmap_bits, "out_fmap_bits": self.out_fmap_bits,
                "ops": {k: self.ops[k] for k in OP_KINDS if self.ops.get(k)},
                "elementwise_muls": _sorted(self.elementwise_muls),
                **({"note": self.note} if self.note else {})}


@dataclass(frozen=True)
class CostReport(_MacMetrics):
    """The costs of one network: its layers and their totals (see the module docstring)."""

    name: str
    source: str
    layers: tuple
    description: str = ""
    input_shape: tuple = ()
    input_bits: int = 0
    notes: tuple = ()

    @property
    def macs(self):
        """MACs per format, Table 2's column order first."""
        return _sorted(_sum_dicts(layer.macs for layer in self.layers))

    @property
    def macs_total(self):
        return sum(self.macs.values())

    @property
    def bops(self):
        return sum(layer.bops for layer in self.layers)

    @property
    def flops(self):
        return sum(layer.flops for layer in self.layers)

    @property
    def param_bits(self):
        return sum(layer.param_bits for layer in self.layers)

    @property
    def fmap_bits(self):
        return self.input_bits + sum(layer.out_fmap_bits for layer in self.layers
                                     if layer.stores_output)

    @property
    def ops(self):
        total = _sum_dicts(layer.ops for layer in self.layers)
        return {k: total[k] for k in OP_KINDS if total[k]}

    @property
    def elementwise_muls(self):
        return _sorted(_sum_dicts(layer.elementwise_muls for layer in self.layers))

    @property
    def ace_elementwise(self):
        return _ace(self.elementwise_muls)

    def to_dict(self, *, layers=True):
        """One JSON-able object: totals, then (``layers=True``) one row per layer."""
        result = {
            "name": self.name, "source": self.source, "description": self.description,
            "input_shape": list(self.input_shape),
            "ace": self.ace, "ace_strict": self.ace_strict, "cpu64": float(self.cpu64),
            "bops": self.bops, "flops": self.flops, "macs": self.macs,
            "macs_total": self.macs_total, "param_bits": self.param_bits,
            "fmap_bits": self.fmap_bits, "input_bits": self.input_bits, "ops": self.ops,
            "elementwise_muls": self.elementwise_muls, "ace_elementwise": self.ace_elementwise,
            "notes": list(self.notes),
        }
        if layers:
            result["layers"] = [layer.to_dict() for layer in self.layers]
        return result

    def format_text(self, *, layers=True):
        """A readable per-layer table (``layers=True``) followed by the totals."""
        return _format(self, layers)


def _si(value):
    """``1234567`` -> ``1.235M``; small values as plain numbers."""
    value = float(value)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.4g}"


def _macs_text(macs):
    return " + ".join(f"{_si(n)} {fmt}" for fmt, n in _sorted(macs).items()) or "-"


def _scaled(value, exponent):
    """``1234567, 6`` -> ``1,234,567 (1.235 x 10^6)``; the suffix only for large values."""
    value = float(value)
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    if abs(value) >= 10 ** exponent / 10:
        text += f" ({value / 10 ** exponent:.5g} x 10^{exponent})"
    return text


def _format(report, layers=True):
    header = ("layer", "op", "out C x H x W", "MACs", "ACE", "CPU64", "param bits", "out bits")
    rows = []
    for layer in report.layers:
        rows.append((layer.name, layer.op, " x ".join(str(d) for d in layer.shape),
                     _macs_text(layer.macs), _si(layer.ace) if layer.macs else "-",
                     _si(layer.cpu64) if layer.macs else "-",
                     _si(layer.param_bits) if layer.param_bits else "-",
                     _si(layer.out_fmap_bits) if layer.stores_output else "(view)"))
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
              for i in range(len(header))]
    right = {4, 5, 6, 7}

    def line(cells):
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    out = [f"{report.name} ({report.source})"]
    if report.description:
        out.append(report.description)
    if layers:
        out += ["", line(header), line(["-" * w for w in widths])]
        out += [line(r) for r in rows]
    out += ["", "totals per inference:"]
    summary = [
        ("MACs", "; ".join(f"{fmt} {_scaled(n, 6)}" for fmt, n in report.macs.items()) or "0"),
        ("ACE", f"{_scaled(report.ace, 9)}  [PokeBNN eq. 1; fp32 MACs as bf16, Table 2]"),
        ("CPU64", f"{_scaled(float(report.cpu64), 6)}  [FLOPs + BOPs/64; int8 /8, int4 /16]"),
        ("BOPs", _scaled(report.bops, 9)),
        ("FLOPs", _scaled(report.flops, 9)),
        ("parameter bits", _scaled(report.param_bits, 6)),
        ("feature-map bits", f"{_scaled(report.fmap_bits, 6)}  [input + every produced "
                             "tensor once]"),
    ]
    if report.ace_strict != report.ace:
        summary.insert(2, ("ACE, fp32 32x32", f"{_scaled(report.ace_strict, 9)}  [Table 1]"))
    if report.ops:
        summary.append(("element-wise ops", ", ".join(f"{k} {n:,}"
                                                      for k, n in report.ops.items())))
    if report.elementwise_muls:
        summary.append(("element-wise muls", ", ".join(
            f"{fmt} {n:,}" for fmt, n in report.elementwise_muls.items())
            + f" (ACE {report.ace_elementwise:,}, not in ACE above)"))
    width = max(len(k) for k, _ in summary)
    out += [f"  {k.ljust(width)}  {v}" for k, v in summary]
    out += [f"  note: {n}" for n in report.notes]
    return "\n".join(out)
