"""Real-valued trained parameters to the fixed-point integers the hardware uses.

Each conversion picks the most fractional bits that fit the target width and states its error
bound; when the real value is exactly representable the conversion is exact, and the compiled
network then equals the float model bit for bit.
"""

import math

import numpy as np
from ..errors import BnnhwError

__all__ = ["requant_params", "fixed_point", "ConversionError"]

MULTIPLIER_BITS = 16
MAX_SHIFT = 48


class ConversionError(BnnhwError, ValueError):
    """A real parameter that cannot be represented in the target fixed-point format."""


def _round_half_up(x):
    return np.floor(x + 0.5).astype(np.int64)


def requant_params(scale):
    """``(multiplier, shift, max_relative_error)`` with ``multiplier / 2**shift ≈ scale``.

    One shift per layer (the largest that keeps every ``|M| < 2**16``), per-channel ``M``. Exact
    when each scale is ``M / 2**shift`` for such an ``M``; otherwise each scale is off by at most
    ``2**-(shift+1)``, i.e. a relative error below ``2**-(shift+1) / scale``.
    """
    scale = np.asarray(scale, dtype=np.float64)
    largest = float(scale.max())
    limit = (1 << MULTIPLIER_BITS) - 1
    if largest * 1 > limit:
        raise ConversionError(f"scale: {largest!r} is too large for a {MULTIPLIER_BITS}-bit "
                              "multiplier")
    shift = min(MAX_SHIFT, int(math.floor(math.log2(limit / largest))))
    while shift > 0 and _round_half_up(largest * 2.0 ** shift) > limit:
        shift -= 1
    multiplier = _round_half_up(scale * 2.0 ** shift)
    if (multiplier == 0).any():
        smallest = float(scale[multiplier == 0][0])
        raise ConversionError(f"scale: {smallest!r} rounds to 0 with shift {shift} (the layer's "
                              f"largest scale is {largest!r}); scales span too wide a range")
    error = np.abs(multiplier / 2.0 ** shift - scale) / scale
    return multiplier, shift, float(error.max())


def fixed_point(values, *, bits=16, max_frac_bits=15):
    """``(raw, frac_bits, max_abs_error)``: signed ``bits``-bit raws with the most fraction bits.

    ``raw = round_half_up(value * 2**F)`` for the largest ``F <= max_frac_bits`` with every raw in
    range; ``|raw / 2**F - value| <= 2**-(F+1)``, and 0 when the values are representable.
    """
    values = np.asarray(values, dtype=np.float64)
    limit = (1 << (bits - 1)) - 1
    for frac_bits in range(max_frac_bits, -1, -1):
        rounded = np.floor(values * 2.0 ** frac_bits + 0.5)    # float: no int64 wrap-around
        if np.abs(rounded).max(initial=0.0) <= limit:
            raw = rounded.astype(np.int64)
            error = np.abs(raw / 2.0 ** frac_bits - values).max(initial=0.0)
            return raw, frac_bits, float(error)
    raise ConversionError(f"values: {float(np.abs(values).max())!r} does not fit {bits} bits")
