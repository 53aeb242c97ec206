"""PA-Net multi-base layers: M weight bases x N activation bases, AND-popcount, phi-weighted.

PA-Net eq. 15-19: weights ``W ≈ sum_i alpha_i T_i`` and activations ``A ≈ sum_j beta_j V_j`` with
binary bases ``T_i, V_j`` in {0, 1}, so ``Conv(W, A) ≈ sum_ij phi_ij * Conv(T_i, V_j)`` with the
merged scale ``phi_ij = alpha_i * beta_j``. Each ``Conv(T_i, V_j)`` is an AND-popcount. Here
``phi`` is fixed point: signed int16 raw values with ``F`` fractional bits, so the layer output
``y = sum_ij phi_ij * popcount(T_i AND V_j)`` is an exact integer in units of ``2**-F``.

Activation bases (PA-Net eq. 18) are piece indicators: ``V_j = (e_j <= y < e_(j+1))`` for
``j < N-1`` and ``V_(N-1) = (y >= e_(N-1))`` for non-decreasing integer endpoints ``e`` (equal
endpoints make an empty piece, as folding a batch norm into the endpoints can); a value below
``e_0`` has all bases 0.
"""

import numpy as np

from ._check import as_bits, as_int, check_ndim, check_range
from ._window import conv_geometry
from .binary import binary_conv2d, binary_dense
from .fixed import INT16

__all__ = ["panet_conv2d", "panet_dense", "panet_activation_bases"]


def _phi(phi, weight_bases, activation_bases):
    if weight_bases < 1 or activation_bases < 1:
        raise ValueError(
            f"phi: a multi-base layer needs M >= 1 weight and N >= 1 activation bases, "
            f"got M={weight_bases}, N={activation_bases}")
    phi = as_int(phi, "phi")
    check_range(phi, *INT16, "phi")
    if phi.shape != (weight_bases, activation_bases):
        raise ValueError(
            f"phi: expected shape (M, N) = ({weight_bases}, {activation_bases}), got {phi.shape}")
    return phi


def _combine(popcount_of, phi):
    total = 0
    for i, row in enumerate(phi):
        for j, scale in enumerate(row):
            total = total + int(scale) * popcount_of(i, j)
    return total


def panet_conv2d(v, t, phi, *, stride=1, padding=0, groups=1):
    """Multi-base convolution ``sum_ij phi[i, j] * AND-conv(V_j, T_i)``.

    The border is 0 in every base (the value 0; PA-Net's convolution pads with zeros).

    Parameters
    ----------
    v : bits ``(N, B, C_in, H, W)``, the N activation bases
    t : bits ``(M, C_out, C_in/groups, K_h, K_w)``, the M weight bases
    phi : int16 ``(M, N)``, fixed-point merged scales
    """
    v, t = as_bits(v, "v"), as_bits(t, "t")
    check_ndim(v, 5, "v", "N, B, C_in, H, W")
    check_ndim(t, 5, "t", "M, C_out, C_in/groups, K_h, K_w")
    phi = _phi(phi, t.shape[0], v.shape[0])
    conv_geometry(v[0], t[0], stride=stride, padding=padding, groups=groups,
                  x_name="v", w_name="t")
    return _combine(lambda i, j: binary_conv2d(
        v[j], t[i], stride=stride, padding=padding, pad_value=-1, groups=groups, op="and"),
        phi)


def panet_dense(v, t, phi):
    """Multi-base dense layer: ``v (N, B, C_in)``, ``t (M, C_out, C_in)``, ``phi (M, N)``."""
    v, t = as_bits(v, "v"), as_bits(t, "t")
    check_ndim(v, 3, "v", "N, B, C_in")
    check_ndim(t, 3, "t", "M, C_out, C_in")
    phi = _phi(phi, t.shape[0], v.shape[0])
    if v.shape[2] != t.shape[2]:
        raise ValueError(f"t: bases expect {t.shape[2]} inputs but v has {v.shape[2]}")
    return _combine(lambda i, j: binary_dense(v[j], t[i], op="and"), phi)


def panet_activation_bases(y, endpoints):
    """Activation bases ``(N, B, C, ...)`` of integers ``y (B, C, ...)``.

    ``endpoints`` is int ``(N, C)`` (or ``(N,)`` shared by all channels), non-decreasing along
    axis 0.
    """
    y = as_int(y, "y")
    endpoints = as_int(endpoints, "endpoints")
    if y.ndim < 2:
        raise ValueError(f"y: expected shape (B, C, ...), got {y.shape}")
    if endpoints.ndim == 1:
        endpoints = np.repeat(endpoints[:, None], y.shape[1], axis=1)
    if endpoints.ndim != 2 or endpoints.shape[1] != y.shape[1] or endpoints.shape[0] < 1:
        raise ValueError(
            f"endpoints: expected shape (N, {y.shape[1]}) or (N,), got {endpoints.shape}")
    if (endpoints[1:] < endpoints[:-1]).any():
        raise ValueError("endpoints: must be non-decreasing along the base axis")
    e = endpoints.reshape(endpoints.shape + (1,) * (y.ndim - 2))[:, None]
    above = (y[None] >= e).astype(np.uint8)  # (N, B, C, ...): y >= e_j
    upper = np.concatenate([above[1:], np.zeros_like(above[:1])], axis=0)
    return above - upper
