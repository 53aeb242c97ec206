"""int8 convolution (dense, grouped, depthwise) and dense layers with an int32 accumulator.

PokeInit (PokeBNN §4.3): a 4x4 stride-4 int8 convolution followed by a 3x3 depthwise one, each
requantized to int8 by :func:`bnnhw.golden.fixed.requantize`. The border is zero (int8 layers
carry real zeros, unlike binary layers). ``acc = sum(x*w) + bias`` must fit int32 for **every**
int8 input, which bounds the fan-in; that is checked from the shapes and weights, not the data.
"""

import numpy as np

from ._check import as_int, check_ndim, check_range
from ._window import conv_geometry, from_grouped, grouped_weights, patches
from .fixed import INT8, INT32

__all__ = ["int8_conv2d", "int8_dense"]


def _operands(x, w, bias, channels_out):
    x, w = as_int(x, "x"), as_int(w, "w")
    check_range(x, *INT8, "x")
    check_range(w, *INT8, "w")
    if bias is None:
        bias = np.zeros(channels_out, dtype=np.int64)
    bias = as_int(bias, "bias")
    check_range(bias, *INT32, "bias")
    if bias.shape != (channels_out,):
        raise ValueError(f"bias: expected shape ({channels_out},), got {bias.shape}")
    return x, w, bias


def _check_accumulator(w, bias):
    """Worst case ``|acc|`` over all int8 inputs must fit int32."""
    per_output = np.abs(w.reshape(w.shape[0], -1)).sum(axis=1) * 128 + np.abs(bias)
    if per_output.size and per_output.max() > INT32[1]:
        channel = int(per_output.argmax())
        raise ValueError(
            f"w: output channel {channel} can reach |acc| = {int(per_output[channel])}, "
            f"which overflows the int32 accumulator")


def int8_conv2d(x, w, bias=None, *, stride=1, padding=0, groups=1):
    """int32 accumulators of an int8 2-D convolution (NCHW, zero border).

    Parameters
    ----------
    x : int array ``(B, C_in, H, W)`` in ``[-128, 127]``
    w : int array ``(C_out, C_in/groups, K_h, K_w)`` in ``[-128, 127]``
    bias : int array ``(C_out,)`` in int32, optional
    stride, padding, groups : as :func:`bnnhw.golden.binary.binary_conv2d`;
        ``groups == C_in == C_out`` is a depthwise convolution.
    """
    x, w, bias = _operands(x, w, bias, np.shape(w)[0] if np.ndim(w) else 0)
    stride, padding, groups, out_size = conv_geometry(
        x, w, stride=stride, padding=padding, groups=groups)
    _check_accumulator(w, bias)
    cols = patches(x, w.shape[2:], stride=stride, padding=padding, groups=groups, fill=0)
    acc = from_grouped(cols @ grouped_weights(w, groups), x.shape[0], out_size)
    return acc + bias.reshape(1, -1, 1, 1)


def int8_dense(x, w, bias=None):
    """int32 accumulators ``x @ w.T + bias`` of an int8 dense layer, ``x (B, N)``, ``w (C, N)``."""
    x, w, bias = _operands(x, w, bias, np.shape(w)[0] if np.ndim(w) else 0)
    check_ndim(x, 2, "x", "B, N")
    check_ndim(w, 2, "w", "C_out, N")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"w: expects {w.shape[1]} inputs but x has {x.shape[1]}")
    _check_accumulator(w, bias)
    acc = x.astype(np.float64) @ w.T.astype(np.float64)
    return np.rint(acc).astype(np.int64) + bias
