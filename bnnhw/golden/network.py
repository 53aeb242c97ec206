"""Execute a compiled network: a list of integer-only layers, each one golden function.

The compiler (:mod:`bnnhw.compiler`) lowers a model file to :class:`IntLayer` s whose parameters
are exactly what the hardware ROMs hold; :func:`run` evaluates them on whole batches, so hardware
tests compare against the compiled form rather than the float model. Ops and their ``params``:

=================  =========================================================================
``binary_conv2d``  ``weight`` bits, ``stride``, ``padding``, ``pad_value`` (0: zero padding,
                   zero-padded counts for XNOR), ``groups``, ``dot``
``binary_dense``   ``weight`` bits ``(C_out, N)``, ``dot`` (input flattened NCHW)
``int8_conv2d``    ``weight``, ``bias``, ``stride``, ``padding``, ``groups``
``int8_dense``     ``weight``, ``bias``
``clip``           ``bound``: the 8-bit flow's saturating accumulator on XNOR popcounts,
                   giving ``clip(2p - N, -B, B)``; ``fan_in``; ``dot`` (optional): on
                   zero-padded XNOR counts (``ZERO_PADDED_XNOR``, ``fan_in = 2N``)
                   ``clip(u - N, -B, B)``
``threshold``      ``thresholds`` (a :class:`SignThreshold` over ``x - offset``), ``offset``;
                   1-D thresholds give a sign, 2-D a slice-major multi-slice sign
``requantize``     ``multiplier``, ``shift``
``quantized_bn``   ``scale``, ``bias``, ``frac_bits``
``dprelu``         ``alpha``, ``beta``, ``eta``, ``gamma``, ``frac_bits``
``add``            two inputs, saturating
``maxpool``        ``kernel``, ``stride``
``global_pool``    popcount per channel, output ``(B, C, 1, 1)``
``permute``        ``order``: output channel ``i`` is input channel ``order[i]``
``concat``         inputs in order
``pa_bases``       ``endpoints`` int ``(N, C)``: base-major bits ``(B, N*C, H, W)``
``panet_conv2d``   ``weight_bases``, ``phi`` (int16), ``stride``, ``padding``, ``groups``,
                   ``activation_bases`` (N; input channels are base-major)
=================  =========================================================================

Every tensor is NCHW with a batch axis; dense outputs are ``(B, C, 1, 1)``.
"""

from dataclasses import dataclass, field

import numpy as np

from .binary import ZERO_PADDED_XNOR, binary_conv2d, binary_dense
from .channels import channel_concat
from .classify import argmax
from .fixed import dprelu, quantized_bn, requantize, saturate, saturating_add
from .int8 import int8_conv2d, int8_dense
from .panet import panet_activation_bases, panet_conv2d
from .pool import binary_maxpool2d, global_popcount_pool
from .threshold import multi_slice_sign, sign_threshold

__all__ = ["IntLayer", "run", "classify"]


@dataclass(frozen=True)
class IntLayer:
    """One compiled layer: ``op`` on the outputs of ``inputs`` with integer ``params``."""

    name: str
    op: str
    inputs: tuple
    params: dict = field(default_factory=dict)


def _flat(x):
    return x.reshape(x.shape[0], -1)


def _as_map(y):
    return y.reshape(y.shape[0], -1, 1, 1)


def _threshold(x, p):
    t = p["thresholds"]
    shifted = x - p["offset"]
    return sign_threshold(shifted, t) if t.threshold.ndim == 1 else multi_slice_sign(shifted, t)


def _pa_bases(x, p):
    bases = panet_activation_bases(x, p["endpoints"])  # (N, B, C, H, W)
    n, b, c, h, w = bases.shape
    return bases.transpose(1, 0, 2, 3, 4).reshape(b, n * c, h, w)


def _panet(x, p):
    n = p["activation_bases"]
    b, nc, h, w = x.shape
    v = x.reshape(b, n, nc // n, h, w).transpose(1, 0, 2, 3, 4)
    return panet_conv2d(v, p["weight_bases"], p["phi"], stride=p["stride"],
                        padding=p["padding"], groups=p["groups"])


_OPS = {
    "binary_conv2d": lambda xs, p: binary_conv2d(
        xs[0], p["weight"], stride=p["stride"], padding=p["padding"], pad_value=p["pad_value"],
        groups=p["groups"], op=p["dot"]),
    "binary_dense": lambda xs, p: _as_map(binary_dense(_flat(xs[0]), p["weight"], op=p["dot"])),
    "int8_conv2d": lambda xs, p: int8_conv2d(
        xs[0], p["weight"], p["bias"], stride=p["stride"], padding=p["padding"],
        groups=p["groups"]),
    "int8_dense": lambda xs, p: _as_map(int8_dense(_flat(xs[0]), p["weight"], p["bias"])),
    "clip": lambda xs, p: saturate(
        xs[0] - p["fan_in"] // 2 if p.get("dot") == ZERO_PADDED_XNOR else 2 * xs[0] - p["fan_in"],
        p["bound"]),
    "threshold": lambda xs, p: _threshold(xs[0], p),
    "requantize": lambda xs, p: requantize(xs[0], p["multiplier"], p["shift"]),
    "quantized_bn": lambda xs, p: quantized_bn(xs[0], p["scale"], p["bias"], p["frac_bits"]),
    "dprelu": lambda xs, p: dprelu(xs[0], p["alpha"], p["beta"], p["eta"], p["gamma"],
                                   p["frac_bits"]),
    "add": lambda xs, p: saturating_add(xs[0], xs[1]),
    "maxpool": lambda xs, p: binary_maxpool2d(xs[0], p["kernel"], p["stride"]),
    "global_pool": lambda xs, p: _as_map(global_popcount_pool(xs[0])),
    "permute": lambda xs, p: xs[0][:, np.asarray(p["order"])],
    "concat": lambda xs, p: channel_concat(xs),
    "pa_bases": lambda xs, p: _pa_bases(xs[0], p),
    "panet_conv2d": lambda xs, p: _panet(xs[0], p),
}

#: Ops :func:`run` understands.
OPS = tuple(_OPS)


def run(layers, x, *, keep=False):
    """Evaluate compiled ``layers`` on a batch ``x`` (NCHW); return the last layer's output.

    With ``keep=True`` return a dict of every layer's output (and ``"input"``) instead.
    """
    values = {"input": np.asarray(x)}
    for layer in layers:
        if layer.op not in _OPS:
            raise ValueError(f"layers: {layer.name!r} has unknown op {layer.op!r}")
        values[layer.name] = _OPS[layer.op]([values[name] for name in layer.inputs],
                                            layer.params)
    return values if keep else values[layers[-1].name]


def classify(layers, x):
    """Class per image: argmax of the last layer's logits, lowest index on ties."""
    return argmax(run(layers, x).reshape(len(x), -1))
