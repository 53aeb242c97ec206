"""XNOR- and AND-popcount dot products, binary dense and binary conv2d.

XNOR domain (bit 1 = +1, bit 0 = -1): for N-bit vectors ``a`` and ``w`` the popcount is
``p = popcount(XNOR(a, w))`` and the ±1 dot product is ``s = 2*p - N`` (XNOR-Net, Rastegari et
al.; BoolNet eq. 4). AND domain (PA-Net eq. 19, bases in {0, 1}): ``p = popcount(AND(a, w))`` is
the dot product itself.

The layer functions return the popcount ``p`` for both domains, because that is what the hardware
accumulates; :func:`xnor_dot` turns an XNOR popcount into ``s``. ``fan_in`` of a layer is the ``N``
of each output: ``C_in/groups * K_h * K_w`` for a convolution, the input width for a dense layer.
"""

import numpy as np

from ._check import as_bits, as_int, check_ndim, int_param
from ._window import conv_geometry, from_grouped, grouped_weights, patches

__all__ = [
    "OPS", "popcount", "xnor_popcount", "and_popcount", "xnor_dot", "pad_bit",
    "binary_dense", "binary_conv2d", "conv_fan_in",
]

#: Binary dot-product operators: ``"xnor"`` (±1 values) and ``"and"`` ({0, 1} values).
OPS = ("xnor", "and")


def _check_op(op):
    if op not in OPS:
        raise ValueError(f"op: expected one of {OPS}, got {op!r}")
    return op


def popcount(bits, axis=-1):
    """Number of ones along ``axis``, as ``int64``."""
    return as_bits(bits, "bits").sum(axis=axis, dtype=np.int64)


def _vector_pair(a, w):
    a, w = as_bits(a, "a"), as_bits(w, "w")
    if a.ndim == 0 or w.ndim == 0:
        raise ValueError("a, w: expected bit vectors along the last axis, got scalars")
    if a.shape[-1] != w.shape[-1]:
        raise ValueError(f"w: last axis has {w.shape[-1]} bits but a has {a.shape[-1]}")
    try:
        np.broadcast_shapes(a.shape, w.shape)
    except ValueError:
        raise ValueError(f"w: shape {w.shape} does not broadcast with a's {a.shape}") from None
    return a, w


def xnor_popcount(a, w):
    """``popcount(XNOR(a, w))`` along the last axis (shapes broadcast)."""
    a, w = _vector_pair(a, w)
    return np.sum(a == w, axis=-1, dtype=np.int64)


def and_popcount(a, w):
    """``popcount(AND(a, w))`` along the last axis (shapes broadcast)."""
    a, w = _vector_pair(a, w)
    return np.sum(a & w, axis=-1, dtype=np.int64)


def xnor_dot(popcounts, fan_in):
    """The ±1 dot product ``s = 2*p - N`` of XNOR popcounts ``p`` over ``N = fan_in`` bits."""
    fan_in = int_param(fan_in, "fan_in", 0)
    p = as_int(popcounts, "popcounts")
    if p.size and (p.min() < 0 or p.max() > fan_in):
        raise ValueError(f"popcounts: values must lie in [0, fan_in={fan_in}]")
    return 2 * p - fan_in


def pad_bit(pad_value):
    """The bit a border is filled with: pad value +1 -> bit 1, -1 -> bit 0 (no third value)."""
    integral = isinstance(pad_value, (int, np.integer)) and not isinstance(
        pad_value, (bool, np.bool_))
    if not integral or pad_value not in (1, -1):
        raise ValueError(f"pad_value: expected +1 or -1, got {pad_value!r}")
    return 1 if pad_value == 1 else 0


def _binary_products(a, w, op):
    """Popcounts of grouped operands ``a (G, P, K)`` and ``w (G, K, O)`` in float64 (exact)."""
    if op == "and":
        return a @ w
    return a @ w + (1.0 - a) @ (1.0 - w)


def binary_dense(x, w, *, op="xnor"):
    """Popcounts of a binary dense layer.

    Parameters
    ----------
    x : array of bits, shape ``(B, N)``
    w : array of bits, shape ``(C_out, N)``
    op : ``"xnor"`` or ``"and"``

    Returns
    -------
    ``int64`` array ``(B, C_out)`` of popcounts in ``[0, N]``.
    """
    op = _check_op(op)
    x, w = as_bits(x, "x"), as_bits(w, "w")
    check_ndim(x, 2, "x", "B, N")
    check_ndim(w, 2, "w", "C_out, N")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"w: expects {w.shape[1]} inputs but x has {x.shape[1]}")
    result = _binary_products(x[None].astype(np.float64), w.T[None].astype(np.float64), op)
    return np.rint(result[0]).astype(np.int64)


def conv_fan_in(w):
    """Bits per output of a convolution with weights ``(C_out, C_in/groups, K_h, K_w)``."""
    shape = np.shape(w)
    if len(shape) != 4:
        raise ValueError(f"w: expected 4 dimensions, got shape {shape}")
    return shape[1] * shape[2] * shape[3]


def binary_conv2d(x, w, *, stride=1, padding=0, pad_value=1, groups=1, op="xnor"):
    """Popcounts of a binary 2-D convolution (NCHW).

    Parameters
    ----------
    x : array of bits, shape ``(B, C_in, H, W)``
    w : array of bits, shape ``(C_out, C_in/groups, K_h, K_w)``
    stride, padding : int or (int, int)
        Padding is symmetric; the border holds ``pad_value``.
    pad_value : +1 or -1
        Border value, stored as bit 1 or bit 0 (in the AND domain that is the value 1 or 0).
    groups : int
        Input channel group ``g`` feeds output channel group ``g`` (PyTorch convention).
    op : ``"xnor"`` or ``"and"``

    Returns
    -------
    ``int64`` array ``(B, C_out, H_out, W_out)`` of popcounts in ``[0, conv_fan_in(w)]``.
    """
    op = _check_op(op)
    fill = pad_bit(pad_value)
    x, w = as_bits(x, "x"), as_bits(w, "w")
    stride, padding, groups, out_size = conv_geometry(
        x, w, stride=stride, padding=padding, groups=groups)
    cols = patches(x, w.shape[2:], stride=stride, padding=padding, groups=groups, fill=fill)
    return from_grouped(_binary_products(cols, grouped_weights(w, groups), op),
                        x.shape[0], out_size)
