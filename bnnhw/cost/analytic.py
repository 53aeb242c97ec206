"""Analytic layer lists: a network described by its layer shapes and number formats only.

:class:`NetBuilder` turns ``conv`` / ``dense`` / pooling / element-wise steps into
:class:`~bnnhw.cost.report.LayerCost` rows, computing output shapes with the usual
``(H + 2*pad - K) // stride + 1`` and, per MAC layer,

    MACs        = C_out * H_out * W_out * (C_in / groups) * K_h * K_w      (dense: in * out)
    param bits  = C_out * (C_in / groups) * K_h * K_w * weight bits         (biases not counted)
    in  bits    = C_in * H_in * W_in * activation bits of the MAC format
    out bits    = C_out * H_out * W_out * ``out_bits`` (default: the network's feature width)

Element-wise steps (batch norm, activations, residual additions, SE scaling, pooling) carry no
MACs: the PokeBNN paper's Table 2 counts convolution and dense MACs only (its reference code
keeps element-wise "sops" in a separate appendix tally). They appear as rows only where they
change a shape or hold a feature map.
"""

from ..params import pair
from .precision import precision
from .report import CostReport, LayerCost

__all__ = ["NetBuilder"]


def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


class NetBuilder:
    """Collects the layers of one analytically described network.

    ``feature_bits`` is the width at which the network stores feature maps between layers
    (32 for fp32 networks, 16 for bf16 flows, 1 for binary-only flows).
    """

    def __init__(self, name, input_shape, *, feature_bits, input_bits_per_value=8,
                 description=""):
        self.name = name
        self.input_shape = tuple(input_shape)
        self.feature_bits = feature_bits
        self.input_bits = _prod(input_shape) * input_bits_per_value
        self.description = description
        self.layers = []
        self.notes = []

    def _add(self, layer):
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"{self.name}: duplicate layer name {layer.name!r}")
        self.layers.append(layer)

    def conv(self, name, x, out_channels, kernel, *, fmt, stride=1, padding=None, groups=1,
             out_bits=None, note=""):
        """A convolution of input shape ``x = (C, H, W)``; returns the output shape.

        ``padding`` defaults to ``K // 2`` ("same" for odd kernels at stride 1).
        """
        cin, h, w = x
        kh, kw = pair(kernel, "kernel", 1)
        sh, sw = pair(stride, "stride", 1)
        ph, pw = (kh // 2, kw // 2) if padding is None else pair(padding, "padding", 0)
        if cin % groups or out_channels % groups:
            raise ValueError(f"{self.name}: {name}: groups {groups} must divide C_in {cin} "
                             f"and C_out {out_channels}")
        ho, wo = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
        fan_in = cin // groups * kh * kw
        p = precision(fmt)
        out = (out_channels, ho, wo)
        self._add(LayerCost(
            name, "conv", out, {p.name: out_channels * ho * wo * fan_in},
            param_bits=out_channels * fan_in * p.weight_bits,
            in_fmap_bits=cin * h * w * p.act_bits,
            out_fmap_bits=_prod(out) * (self.feature_bits if out_bits is None else out_bits),
            note=note or f"{kh}x{kw}/{sh}" + (f", groups {groups}" if groups > 1 else "")))
        return out

    def dense(self, name, in_features, out_features, *, fmt, out_bits=None, note=""):
        """A dense layer (also a 1x1 projection of a pooled vector, e.g. SE); returns its shape."""
        p = precision(fmt)
        out = (out_features, 1, 1)
        self._add(LayerCost(
            name, "dense", out, {p.name: in_features * out_features},
            param_bits=in_features * out_features * p.weight_bits,
            in_fmap_bits=in_features * p.act_bits,
            out_fmap_bits=out_features * (self.feature_bits if out_bits is None else out_bits),
            note=note))
        return out

    def pool(self, name, x, kernel, *, stride=None, padding=0, kind="maxpool", out_bits=None):
        """Spatial pooling (no MACs); ``kernel=None`` pools globally. Returns the shape."""
        c, h, w = x
        if kernel is None:
            out = (c, 1, 1)
        else:
            stride = kernel if stride is None else stride
            out = (c, _out_size(h, kernel, stride, padding), _out_size(w, kernel, stride, padding))
        self._add(LayerCost(name, kind, out, out_fmap_bits=_prod(out) * (
            self.feature_bits if out_bits is None else out_bits)))
        return out

    def feature(self, name, x, *, op="add", out_bits=None, stores_output=True, note=""):
        """An element-wise step that holds a feature map of shape ``x`` (no MACs).

        ``stores_output=False`` for wiring (a concatenation of tensors already counted).
        """
        self._add(LayerCost(name, op, tuple(x), out_fmap_bits=_prod(x) * (
            self.feature_bits if out_bits is None else out_bits), stores_output=stores_output,
            note=note))
        return tuple(x)

    def note(self, text):
        self.notes.append(text)

    def report(self):
        return CostReport(self.name, "built-in", tuple(self.layers), self.description,
                          self.input_shape, self.input_bits, tuple(self.notes))


def _prod(shape):
    result = 1
    for d in shape:
        result *= d
    return result
