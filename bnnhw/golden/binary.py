"""XNOR- and AND-popcount dot products, binary dense and binary conv2d.

XNOR domain (bit 1 = +1, bit 0 = -1): for N-bit vectors ``a`` and ``w`` the popcount is
``p = popcount(XNOR(a, w))`` and the ±1 dot product is ``s = 2*p - N`` (XNOR-Net, Rastegari et
al.; BoolNet eq. 4). AND domain (PA-Net eq. 19, bases in {0, 1}): ``p = popcount(AND(a, w))`` is
the dot product itself.

The layer functions return the popcount ``p`` for both domains, because that is what the hardware
accumulates; :func:`xnor_dot` turns an XNOR popcount into ``s``. ``fan_in`` of a layer is the ``N``
of each output: ``C_in/groups * K_h * K_w`` for a convolution, the input width for a dense layer.

**Zero padding** (``pad_value = 0``, docs/numerics.md §4): a border tap adds 0 to the dot
product. In the AND domain that is the pad bit 0. In the XNOR domain no bit does it; an XNOR
convolution with zero padding returns the **zero-padded count** ``u = 2*p_valid + P``
(``p_valid`` the XNOR matches over the real taps, ``P`` the border taps of that output position),
which is ``v + N`` for the dot value ``v = sum x*w`` over the real taps: ``u`` in ``[0, 2N]``,
``v = u - N`` (:func:`zero_padded_dot`). The hardware accumulates ``u`` directly: ``2*popcount``
per chunk of real taps, ``SIMD`` per chunk of border taps.
"""

import numpy as np

from ._check import as_bits, as_int, check_ndim, int_param
from ._window import conv_geometry, from_grouped, grouped_weights, patches

__all__ = [
    "OPS", "popcount", "xnor_popcount", "and_popcount", "xnor_dot", "pad_bit",
    "binary_dense", "binary_conv2d", "conv_fan_in", "ZERO_PADDED_XNOR", "DOTS",
    "zero_padded_dot", "count_top",
]

#: Binary dot-product operators: ``"xnor"`` (±1 values) and ``"and"`` ({0, 1} values).
OPS = ("xnor", "and")

#: The dot kind of an XNOR convolution with zero padding: its integers are zero-padded counts
#: ``u = v + N`` in ``[0, 2N]`` (module docstring).
ZERO_PADDED_XNOR = "xnor-zero-pad"

#: Every dot kind a binary layer's integers can have: the two operators, and the zero-padded
#: XNOR count.
DOTS = OPS + (ZERO_PADDED_XNOR,)


def count_top(fan_in, dot):
    """The largest integer a binary layer of fan-in ``N`` and dot kind ``dot`` outputs: ``N``,
    or ``2N`` for a zero-padded XNOR count."""
    return 2 * fan_in if dot == ZERO_PADDED_XNOR else fan_in


def zero_padded_dot(counts, fan_in):
    """The dot value ``v = u - N`` of zero-padded XNOR counts ``u`` in ``[0, 2N]``."""
    fan_in = int_param(fan_in, "fan_in", 0)
    u = as_int(counts, "counts")
    if u.size and (u.min() < 0 or u.max() > 2 * fan_in):
        raise ValueError(f"counts: values must lie in [0, 2*fan_in={2 * fan_in}]")
    return u - fan_in


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


def _pad_value(pad_value):
    integral = isinstance(pad_value, (int, np.integer)) and not isinstance(
        pad_value, (bool, np.bool_))
    if not integral or pad_value not in (1, -1, 0):
        raise ValueError(f"pad_value: expected +1, -1 or 0 (zero padding), got {pad_value!r}")
    return int(pad_value)


def pad_bit(pad_value, op="xnor"):
    """The bit a border is filled with: pad value +1 -> bit 1, -1 -> bit 0; 0 (zero padding)
    -> bit 0 in the AND domain (the value 0). An XNOR border of zeros has no bit (ValueError):
    :func:`binary_conv2d` counts it as ``u`` instead (module docstring)."""
    pad_value = _pad_value(pad_value)
    if pad_value == 0:
        if _check_op(op) == "xnor":
            raise ValueError("pad_value: zero padding of an XNOR layer has no pad bit (a border "
                             "tap adds 0, neither +1 nor -1)")
        return 0
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
    pad_value : +1, -1 or 0
        Border value: +1 / -1 stored as bit 1 / bit 0 (in the AND domain the value 1 or 0); 0 is
        zero padding (a border tap adds 0: the pad bit 0 for AND, the zero-padded count for
        XNOR).
    groups : int
        Input channel group ``g`` feeds output channel group ``g`` (PyTorch convention).
    op : ``"xnor"`` or ``"and"``

    Returns
    -------
    ``int64`` array ``(B, C_out, H_out, W_out)`` of popcounts in ``[0, conv_fan_in(w)]``; for
    XNOR with zero padding and ``padding > 0``, zero-padded counts ``u = v + N`` in ``[0, 2N]``.
    """
    op = _check_op(op)
    pad_value = _pad_value(pad_value)
    x, w = as_bits(x, "x"), as_bits(w, "w")
    stride, padding, groups, out_size = conv_geometry(
        x, w, stride=stride, padding=padding, groups=groups)
    if pad_value == 0 and op == "xnor" and max(padding) > 0:
        # ±1 values with a border of real zeros: v = sum x*w, then u = v + N (exact in float64)
        values = 2.0 * x.astype(np.float64) - 1.0
        cols = patches(values, w.shape[2:], stride=stride, padding=padding, groups=groups,
                       fill=0.0)
        dots = cols @ (2.0 * grouped_weights(w, groups) - 1.0)
        return from_grouped(dots, x.shape[0], out_size) + conv_fan_in(w)
    fill = 0 if pad_value == 0 else pad_bit(pad_value)
    cols = patches(x, w.shape[2:], stride=stride, padding=padding, groups=groups, fill=fill)
    return from_grouped(_binary_products(cols, grouped_weights(w, groups), op),
                        x.shape[0], out_size)
