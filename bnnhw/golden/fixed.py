"""Fixed-point integer datapaths: saturation, quantized BN, int8 requantization, DPReLU.

All values are exact integers (int64 internally, far wider than any hardware path). Shared rules
(docs/numerics.md):

- ``round_shift(x, F) = (x + 2**(F-1)) >> F`` with ``>>`` the arithmetic (floor) shift, i.e.
  rounding half up (towards +inf); ``F = 0`` is the identity.
- 8-bit data is symmetric: results are clipped to ``[-127, 127]`` (8-bit data-flow paper, note 1:
  the symmetric interval, -128 is never produced).
- Per-channel parameters are 1-D ``(C,)`` (or scalars) and apply along axis 1 of NCHW / (B, C).
"""

import numpy as np

from ._check import as_int, check_range, int_param

__all__ = [
    "INT8_MAX", "round_shift", "saturate", "saturating_add", "quantized_bn", "requantize",
    "dprelu",
]

#: Largest magnitude of symmetric 8-bit data.
INT8_MAX = 127

INT8 = (-128, 127)
INT16 = (-(1 << 15), (1 << 15) - 1)
INT32 = (-(1 << 31), (1 << 31) - 1)


def _ints(value, name, bounds):
    array = as_int(value, name)
    check_range(array, *bounds, name)
    return array


def _per_channel(value, name, bounds, x):
    """A scalar or ``(C,)`` parameter shaped to broadcast along axis 1 of ``x``."""
    array = _ints(value, name, bounds)
    if array.ndim == 0:
        return array
    if array.ndim != 1 or x.ndim < 2 or array.shape[0] not in (1, x.shape[1]):
        channels = x.shape[1] if x.ndim >= 2 else "?"
        raise ValueError(
            f"{name}: expected a scalar or one value per channel ({channels}), "
            f"got shape {array.shape} for input of shape {x.shape}")
    return array.reshape(array.shape + (1,) * (x.ndim - 2))


def round_shift(x, shift):
    """``(x + 2**(shift-1)) >> shift``: arithmetic right shift rounding half up."""
    shift = int_param(shift, "shift", 0, 62)
    if shift == 0:
        return as_int(x, "x")
    x = _ints(x, "x", (-(1 << 62), (1 << 62) - 1))  # room for the rounding term in int64
    return (x + (1 << (shift - 1))) >> shift


def saturate(x, bound=INT8_MAX):
    """Clip to ``[-bound, bound]`` (the 8-bit data-flow clip block uses ``bound = 127``)."""
    bound = int_param(bound, "bound", 1)
    return np.clip(as_int(x, "x"), -bound, bound)


def saturating_add(x, y, bound=INT8_MAX):
    """``saturate(x + y)`` for residual additions of symmetric 8-bit data."""
    x, y = _ints(x, "x", (-bound, bound)), _ints(y, "y", (-bound, bound))
    if x.shape != y.shape:
        raise ValueError(f"y: shape {y.shape} must equal x's {x.shape}")
    return saturate(x + y, bound)


def quantized_bn(s, scale, bias, frac_bits):
    """ResNet-style 8-bit batch norm: ``clip((s*S + B + 2**(F-1)) >> F, -127, 127)``.

    ``s`` is the clipped popcount accumulation in ``[-127, 127]``, ``scale`` (S) and ``bias`` (B)
    are per-channel int16 with ``F = frac_bits`` in ``[0, 15]`` fractional bits (8-bit data-flow
    paper, Fig. 3b and Algorithm 2). ``s*S + B`` needs 25 bits; the result is int8.
    """
    s = _ints(s, "s", (-INT8_MAX, INT8_MAX))
    frac_bits = int_param(frac_bits, "frac_bits", 0, 15)
    scale = _per_channel(scale, "scale", INT16, s)
    bias = _per_channel(bias, "bias", INT16, s)
    return saturate(round_shift(s * scale + bias, frac_bits))


def requantize(acc, multiplier, shift):
    """int32 accumulator to int8: ``clip((acc*M + 2**(shift-1)) >> shift, -127, 127)``.

    ``multiplier`` (M) is per-channel with ``|M| < 2**16``; ``shift`` in ``[0, 48]``. The product
    needs 48 bits plus sign.
    """
    acc = _ints(acc, "acc", INT32)
    shift = int_param(shift, "shift", 0, 48)
    multiplier = _per_channel(multiplier, "multiplier", (-(1 << 16) + 1, (1 << 16) - 1), acc)
    return saturate(round_shift(acc * multiplier, shift))


def dprelu(x, alpha, beta, eta, gamma, frac_bits):
    """Fixed-point DPReLU (PokeBNN eq. 4) on int8 data.

    ``d = x - alpha``; ``y = round_shift(d*eta if d > 0 else d*gamma, F) - beta``, clipped to
    ``[-127, 127]``. ``alpha``, ``beta`` are int8 and ``eta``, ``gamma`` int16 with ``F`` in
    ``[0, 15]`` fractional bits, all per channel. ``d`` needs 9 bits, ``d*eta`` 25 bits.
    """
    x = _ints(x, "x", INT8)
    frac_bits = int_param(frac_bits, "frac_bits", 0, 15)
    alpha = _per_channel(alpha, "alpha", INT8, x)
    beta = _per_channel(beta, "beta", INT8, x)
    eta = _per_channel(eta, "eta", INT16, x)
    gamma = _per_channel(gamma, "gamma", INT16, x)
    d = x - alpha
    scaled = np.where(d > 0, d * eta, d * gamma)
    return saturate(round_shift(scaled, frac_bits) - beta)
