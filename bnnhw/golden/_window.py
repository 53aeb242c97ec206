"""Sliding-window (im2col) view shared by the binary, int8 and PA-Net convolutions.

Tensors are NCHW; weights are ``(C_out, C_in // groups, K_h, K_w)``. Output size per axis is
``(H + 2*pad - K) // stride + 1`` (floor), the same as PyTorch's ``conv2d``. The kernel / stride /
padding parser :func:`pair` is the shared one of :mod:`bnnhw.params`, re-exported here.
"""

import numpy as np

from ..params import int_param, pair
from ._check import check_ndim

__all__ = ["pair", "conv_geometry", "patches", "grouped_weights", "from_grouped"]


def conv_geometry(x, w, *, stride, padding, groups, x_name="x", w_name="w"):
    """Validate a convolution's shapes and return ``(stride, padding, groups, (H_out, W_out))``."""
    check_ndim(x, 4, x_name, "NCHW")
    check_ndim(w, 4, w_name, "C_out, C_in/groups, K_h, K_w")
    stride = pair(stride, "stride", 1)
    padding = pair(padding, "padding", 0)
    groups = int_param(groups, "groups", 1)
    c_in, c_out = x.shape[1], w.shape[0]
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups: {groups} must divide input channels ({c_in}) and output channels ({c_out})"
        )
    if w.shape[1] * groups != c_in:
        raise ValueError(
            f"{w_name}: expected {c_in // groups} input channels per group "
            f"({c_in} channels / {groups} groups), got shape {w.shape}"
        )
    out = []
    for axis, (size, kernel, s, p) in enumerate(zip(x.shape[2:], w.shape[2:], stride, padding)):
        if kernel < 1 or kernel > size + 2 * p:
            raise ValueError(
                f"{w_name}: kernel size {kernel} on axis {axis} does not fit the padded input "
                f"({size} + 2*{p})"
            )
        out.append((size + 2 * p - kernel) // s + 1)
    return stride, padding, groups, tuple(out)


def patches(x, kernel, *, stride, padding, groups, fill):
    """Windows of ``x`` as a ``(groups, B*H_out*W_out, C_in/groups*K_h*K_w)`` float64 array.

    ``fill`` is the value the border is padded with. Float64 lets the products use BLAS and is
    exact for every integer sum below 2**53.
    """
    (sh, sw), (ph, pw) = stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw]  # (B, C, H_out, W_out, K_h, K_w)
    batch, channels, h_out, w_out = windows.shape[:4]
    per_group = channels // groups
    windows = windows.reshape(batch, groups, per_group, h_out, w_out, *kernel)
    windows = windows.transpose(1, 0, 3, 4, 2, 5, 6)  # (G, B, H_out, W_out, C/G, K_h, K_w)
    return windows.reshape(groups, batch * h_out * w_out, -1).astype(np.float64)


def grouped_weights(w, groups):
    """Weights as a ``(groups, C_in/groups*K_h*K_w, C_out/groups)`` float64 array."""
    c_out = w.shape[0]
    return w.reshape(groups, c_out // groups, -1).transpose(0, 2, 1).astype(np.float64)


def from_grouped(result, batch, out_size):
    """``(groups, B*H_out*W_out, C_out/groups)`` products back to exact int64 NCHW."""
    groups, _, per_group = result.shape
    h_out, w_out = out_size
    result = result.reshape(groups, batch, h_out, w_out, per_group)
    result = result.transpose(1, 0, 4, 2, 3).reshape(batch, groups * per_group, h_out, w_out)
    return np.rint(result).astype(np.int64)
