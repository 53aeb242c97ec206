"""Pooling of binary feature maps: max-pool is OR, global pooling is a popcount."""

import numpy as np

from ._check import as_bits, check_ndim
from ._window import pair

__all__ = ["binary_maxpool2d", "global_popcount_pool"]


def binary_maxpool2d(x, kernel, stride=None):
    """Max-pool of bits ``(B, C, H, W)``: OR over each ``kernel`` window (bit 1 = +1 is the max).

    ``stride`` defaults to ``kernel``; no padding, output size floors like PyTorch's.
    """
    x = as_bits(x, "x")
    check_ndim(x, 4, "x", "NCHW")
    kernel = pair(kernel, "kernel", 1)
    stride = kernel if stride is None else pair(stride, "stride", 1)
    if kernel[0] > x.shape[2] or kernel[1] > x.shape[3]:
        raise ValueError(f"kernel: {kernel} is larger than the input {x.shape[2:]}")
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return windows[:, :, ::stride[0], ::stride[1]].max(axis=(4, 5))


def global_popcount_pool(x):
    """Global pooling of bits ``(B, C, H, W)``: the count of ones per channel, ``(B, C)``."""
    x = as_bits(x, "x")
    check_ndim(x, 4, "x", "NCHW")
    return x.sum(axis=(2, 3), dtype=np.int64)
