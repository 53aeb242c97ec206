"""Real-valued trained parameters to the fixed-point integers the hardware uses.

Each conversion picks the most fractional bits that fit the target width and states its error
bound; when the real value is exactly representable the conversion is exact, and the compiled
network then equals the float model bit for bit.
"""

import math

import numpy as np
from ..errors import BnnhwError

__all__ = ["requant_params", "fixed_point", "ConversionError", "requant_disagreements",
           "dprelu_disagreements"]

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


def _float_rule(x, scale):
    """The model's real rule (docs/model-format.md, ``model.reference``): ``clip(floor(x*scale
    + 0.5), -127, 127)`` in float64."""
    return np.clip(_round_half_up(np.asarray(x, np.float64) * scale), -127, 127)


def _step_points(rule, approx, lo, hi):
    """Per output step ``k`` (``rule`` reaching ``-126 + k``), the smallest integer in
    ``[lo, hi]`` where the non-decreasing ``rule`` reaches it (``hi + 1`` if it does not within
    the range), found from ``approx`` (within 2 of the true point). ``rule`` is only evaluated
    inside ``[lo, hi]``."""
    base = np.floor(np.clip(approx, lo - 8, hi + 8)).astype(np.int64) - 3
    window = np.clip(base.reshape(-1, 1) + np.arange(8), lo, hi)
    levels = np.arange(-126, 128).reshape(-1, 1)
    reached = rule(window) >= levels
    first = window[np.arange(len(window)), np.argmax(reached, axis=1)]
    return np.where(reached.any(axis=1), first, hi + 1)


def requant_disagreements(scale, multiplier, shift, lo, hi):
    """Accumulators in ``[lo, hi]`` where the fixed-point requantization differs from the float
    rule: ``(count, example)``, ``example = (channel, acc, float_value, fixed_value)`` or None.

    Both rules are non-decreasing step functions of ``acc`` from -127 to 127: each is given by
    its 254 step points (the first ``acc`` reaching each output), and the two differ exactly on
    the ``acc`` where fewer steps of one than of the other lie at or below it. Counting over the
    merged step points is exact and costs the same for any range.
    """
    from ..golden import fixed as golden_fixed

    scale = np.asarray(scale, np.float64).ravel()
    multiplier = np.asarray(multiplier, np.int64).ravel()
    half_steps = np.arange(-127, 127) + 0.5
    count, example = 0, None
    for channel, (s, m) in enumerate(zip(scale, multiplier)):
        want = _step_points(lambda a: _float_rule(a, s), half_steps / s, lo, hi)
        got = _step_points(
            lambda a: golden_fixed.requantize(a.reshape(1, -1), [m], shift).reshape(a.shape),
            half_steps * 2.0 ** shift / m, lo, hi)
        points = np.unique(np.clip(np.concatenate([want, got, [lo]]), lo, hi + 1))
        points = points[points <= hi]
        ends = np.append(points[1:], hi + 1)
        levels_want = np.searchsorted(want, points, side="right")
        levels_got = np.searchsorted(got, points, side="right")
        differ = levels_want != levels_got
        count += int((ends - points)[differ].sum())
        if differ.any() and example is None:
            acc = int(points[np.argmax(differ)])
            example = (channel, acc, int(-127 + levels_want[np.argmax(differ)]),
                       int(-127 + levels_got[np.argmax(differ)]))
    return count, example


def dprelu_disagreements(alpha, beta, eta, gamma, raw_eta, raw_gamma, frac_bits, lo, hi):
    """Inputs ``x`` in ``[lo, hi]`` (int8) where the fixed-point DPReLU differs from the float
    rule ``clip(floor(d*slope + 0.5) - beta, -127, 127)``: ``(count, example)`` as
    :func:`requant_disagreements` (``example = (channel, x, float_value, fixed_value)``);
    exhaustive over the at most 255 inputs of each channel."""
    from ..golden import fixed as golden_fixed

    x = np.arange(lo, hi + 1, dtype=np.int64)
    channels = len(np.ravel(alpha))
    grid = np.broadcast_to(x.reshape(-1, 1), (len(x), channels))
    alpha, beta = (np.asarray(v, np.int64).reshape(1, -1) for v in (alpha, beta))
    eta, gamma = (np.asarray(v, np.float64).reshape(1, -1) for v in (eta, gamma))
    d = grid - alpha
    slope = np.where(d > 0, eta, gamma)
    want = np.clip(_round_half_up(d * slope) - beta, -127, 127)
    got = golden_fixed.dprelu(grid, alpha.ravel(), beta.ravel(), np.ravel(raw_eta),
                              np.ravel(raw_gamma), frac_bits)
    differ = np.argwhere(want != got)
    if not len(differ):
        return 0, None
    i, c = differ[0]
    return len(differ), (int(c), int(x[i]), int(want[i, c]), int(got[i, c]))
