"""Batch norm folded into the sign function: integer popcount thresholds and multi-slice sign.

The contract (docs/numerics.md, "BN folded into sign"): a binary layer's dot value ``v`` (the ±1
dot ``s = 2p - N`` for XNOR, the popcount ``p`` for AND, after the optional clip to ``[-B, B]`` of
the 8-bit data-flow paper) becomes the bit ``((a*v + b) + bias) >= 0``, evaluated in float64 with
one rounding per operation (no fused multiply-add), where ``a = gamma / sqrt(var + eps)`` and
``b = beta - a*mean`` (BoolNet eq. 1-2). ``bias`` is 0 for a plain sign and ``b_n`` for slice
``n`` of a multi-slice sign (BoolNet eq. 5).

Folding evaluates that rule for **every** reachable popcount ``p in [0, N]`` and stores the result
as a :class:`SignThreshold`: ``bit = (p >= T) XOR invert``. This is exact by construction, ties
included. Because float64 rounding is monotonic, the rule is monotonic in ``p`` (non-decreasing for
``a > 0``, non-increasing for ``a < 0``, constant for ``a == 0``), so one threshold always suffices
(BoolNet eq. 3-4: ``Sign(a*(x + c)) = XNOR(Sign(a), Sign(x + c))``).

Canonical form: ``T in [0, N]``. ``T == 0`` marks a constant channel whose bit is ``not invert``;
``T in [1, N]`` is a real comparison, inverted when ``a < 0``. A threshold therefore needs
``ceil(log2(N + 1))`` bits.
"""

from dataclasses import dataclass

import numpy as np

from ._check import as_float, as_int, int_param
from .binary import DOTS, ZERO_PADDED_XNOR

__all__ = [
    "bn_affine", "sign_rule", "dot_values", "SignThreshold", "fold_sign_threshold",
    "fold_multi_slice", "fold_sign_range", "fold_table", "sign_threshold", "multi_slice_sign",
]


def _channel_vector(value, name):
    array = np.atleast_1d(as_float(value, name))
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one value per channel, got shape {array.shape}")
    return array


def _channel_vectors(**named):
    """Per-channel float64 vectors, scalars broadcast; a length mismatch names the odd field."""
    vectors = {name: _channel_vector(value, name) for name, value in named.items()}
    lengths = [len(v) for v in vectors.values() if len(v) != 1]
    channels = max(set(lengths), key=lengths.count) if lengths else 1
    for name, vector in vectors.items():
        if len(vector) not in (1, channels):
            raise ValueError(f"{name}: expected {channels} channels, got {len(vector)}")
    return [np.broadcast_to(v, (channels,)).copy() for v in vectors.values()]


def bn_affine(gamma, beta, mean, var, eps):
    """Inference batch norm as ``y = a*x + b`` (float64, per channel; BoolNet eq. 1-2).

    ``a = gamma / sqrt(var + eps)`` and ``b = beta - a*mean``, each operation rounded once.
    ``var`` must be ``>= 0``, ``var + eps > 0``, and ``a``, ``b`` must be finite.
    """
    gamma, beta, mean, var, eps = _channel_vectors(
        gamma=gamma, beta=beta, mean=mean, var=var, eps=eps)
    if (var < 0).any():
        raise ValueError(f"var: variance must be >= 0, found {var[var < 0][0]!r}")
    if (eps < 0).any():
        raise ValueError(f"eps: must be >= 0, found {eps[eps < 0][0]!r}")
    denominator = np.sqrt(var + eps)
    if (denominator == 0).any():
        raise ValueError("var: var + eps is 0, batch norm scale is undefined")
    with np.errstate(over="ignore", invalid="ignore"):
        a = gamma / denominator
        if not np.isfinite(a).all():
            channel = int(np.argmin(np.isfinite(a)))
            raise ValueError(
                f"gamma: gamma / sqrt(var + eps) overflows float64 in channel {channel}")
        b = beta - a * mean
        if not np.isfinite(b).all():
            channel = int(np.argmin(np.isfinite(b)))
            raise ValueError(f"beta: beta - a*mean overflows float64 in channel {channel}")
    return a, b


def sign_rule(values, a, b, bias=0.0):
    """The float64 reference rule ``((a*v + b) + bias) >= 0`` as bits (shapes broadcast)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):  # IEEE overflow to ±inf is part of the rule
        y = np.asarray(a, dtype=np.float64) * values + np.asarray(b, dtype=np.float64)
        y = y + np.asarray(bias, dtype=np.float64)
    return (y >= 0).astype(np.uint8)


def dot_values(fan_in, *, op="xnor", clip=None):
    """The dot value ``v`` the rule sees for each popcount ``p = 0 .. fan_in``.

    ``2p - N`` for XNOR, ``p`` for AND, ``p - fan_in/2`` for zero-padded XNOR counts
    (``op = ZERO_PADDED_XNOR``, ``fan_in`` = their top ``2N``: every integer in ``[-N, N]``),
    then clipped to ``[-clip, clip]`` if ``clip`` is given (the 8-bit saturating accumulator uses
    ``clip=127``).
    """
    fan_in = int_param(fan_in, "fan_in", 1)
    if op not in DOTS:
        raise ValueError(f"op: expected one of {DOTS}, got {op!r}")
    if op == ZERO_PADDED_XNOR and fan_in % 2:
        raise ValueError(f"fan_in: zero-padded counts have an even top 2N, got {fan_in}")
    p = np.arange(fan_in + 1, dtype=np.int64)
    values = 2 * p - fan_in if op == "xnor" else p - fan_in // 2 if op == ZERO_PADDED_XNOR \
        else p
    if clip is not None:
        clip = int_param(clip, "clip", 1)
        values = np.clip(values, -clip, clip)
    return values


@dataclass(frozen=True)
class SignThreshold:
    """Folded sign: ``bit = (popcount >= threshold) XOR invert`` per channel (and slice).

    Members
    -------
    threshold : int64 array, shape ``(C,)`` or ``(k, C)``, values in ``[0, fan_in]``
        ``0`` marks a constant channel (bit = ``not invert``).
    invert : bool array, same shape
    fan_in : int
        Number of bits ``N`` summed into each popcount.
    """

    threshold: np.ndarray
    invert: np.ndarray
    fan_in: int

    def __post_init__(self):
        fan_in = int_param(self.fan_in, "fan_in", 1)
        threshold = as_int(self.threshold, "threshold")
        invert = np.asarray(self.invert)
        if invert.dtype != bool:
            raise ValueError(f"invert: expected bools, got dtype {invert.dtype}")
        if threshold.shape != invert.shape or threshold.ndim not in (1, 2):
            raise ValueError(
                f"invert: shape {invert.shape} must equal threshold's {threshold.shape} "
                "and be (C,) or (k, C)")
        if threshold.size and (threshold.min() < 0 or threshold.max() > fan_in):
            raise ValueError(f"threshold: values must lie in [0, fan_in={fan_in}]")
        threshold.setflags(write=False)
        invert = invert.copy()
        invert.setflags(write=False)
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "invert", invert)
        object.__setattr__(self, "fan_in", fan_in)

    @property
    def constant(self):
        """Mask of constant channels (their bit is ``~invert``)."""
        return self.threshold == 0

    @property
    def width(self):
        """Bits needed to store one threshold: ``ceil(log2(fan_in + 1))``."""
        return int(self.fan_in).bit_length()


def fold_table(rule):
    """Canonical ``(threshold, invert)`` of a monotonic ``(C, N+1)`` bit table (bit per ``p``).

    Raises ValueError if a row is not monotonic (no single threshold can express it).
    """
    count = rule.sum(axis=1, dtype=np.int64)
    columns = rule.shape[1]
    p = np.arange(columns)
    rising = rule == (p[None, :] >= (columns - count)[:, None])
    falling = rule == (p[None, :] < count[:, None])
    rising, falling = rising.all(axis=1), falling.all(axis=1)
    if not (rising | falling).all():
        channel = int(np.argmin(rising | falling))
        raise ValueError(f"rule: channel {channel} is not monotonic in the popcount")
    constant = (count == 0) | (count == columns)
    threshold = np.where(constant, 0, np.where(rising, columns - count, count))
    invert = np.where(constant, count == 0, ~rising)
    return threshold.astype(np.int64), invert.astype(bool)


def fold_sign_threshold(a, b, *, fan_in, op="xnor", clip=None, bias=0.0):
    """Fold ``((a*v + b) + bias) >= 0`` into a :class:`SignThreshold` of shape ``(C,)``.

    ``a`` and ``b`` are per-channel float64 (see :func:`bn_affine`); ``fan_in`` is the popcount
    width ``N`` (the top ``2N`` of zero-padded XNOR counts); ``op`` and ``clip`` define ``v`` as
    in :func:`dot_values`. Exact for every reachable popcount.
    """
    a, b = _channel_vectors(a=a, b=b)
    bias = as_float(bias, "bias")
    if bias.ndim != 0:
        raise ValueError(f"bias: expected one number (the slice bias), got shape {bias.shape}")
    values = dot_values(fan_in, op=op, clip=clip)
    rule = sign_rule(values[None, :], a[:, None], b[:, None], bias).astype(bool)
    threshold, invert = fold_table(rule)
    return SignThreshold(threshold, invert, int(fan_in))


def fold_multi_slice(a, b, biases, *, fan_in, op="xnor", clip=None, k=None):
    """Fold a multi-slice sign (BoolNet eq. 5): slice ``n`` is ``((a*v + b) + biases[n]) >= 0``.

    Returns a :class:`SignThreshold` of shape ``(k, C)``. ``k``, if given, must equal
    ``len(biases)``.
    """
    biases = np.atleast_1d(as_float(biases, "biases"))
    if biases.ndim != 1 or biases.size == 0:
        raise ValueError(f"biases: expected a non-empty list of k slice biases, got {biases!r}")
    if k is not None:
        k = int_param(k, "k", 1)
        if k != biases.size:
            raise ValueError(f"biases: k={k} slices need {k} biases, got {biases.size}")
    slices = [fold_sign_threshold(a, b, fan_in=fan_in, op=op, clip=clip, bias=bias)
              for bias in biases]
    return SignThreshold(np.stack([s.threshold for s in slices]),
                         np.stack([s.invert for s in slices]), slices[0].fan_in)


def _check_popcounts(popcounts, thresholds, expect_ndim):
    p = as_int(popcounts, "popcounts")
    if thresholds.threshold.ndim != expect_ndim:
        raise ValueError(
            f"thresholds: expected shape with {expect_ndim} dimension(s), "
            f"got {thresholds.threshold.shape}")
    channels = thresholds.threshold.shape[-1]
    if p.ndim < 2 or p.shape[1] != channels:
        raise ValueError(
            f"popcounts: expected shape (B, {channels}, ...) to match the thresholds, "
            f"got {p.shape}")
    if p.size and (p.min() < 0 or p.max() > thresholds.fan_in):
        raise ValueError(f"popcounts: values must lie in [0, fan_in={thresholds.fan_in}]")
    return p


def _per_channel_axis(array, ndim):
    return array.reshape(array.shape + (1,) * (ndim - 2))


def sign_threshold(popcounts, thresholds):
    """Sign bits of ``popcounts (B, C, ...)`` under a ``(C,)`` :class:`SignThreshold`."""
    p = _check_popcounts(popcounts, thresholds, 1)
    t = _per_channel_axis(thresholds.threshold, p.ndim)
    inv = _per_channel_axis(thresholds.invert, p.ndim)
    return ((p >= t) != inv).astype(np.uint8)


def multi_slice_sign(popcounts, thresholds):
    """Multi-slice sign bits ``(B, k*C, ...)`` of ``popcounts (B, C, ...)``, slice-major.

    Output channel ``n*C + c`` is slice ``n`` of channel ``c``, so a consumer convolution with
    ``groups = k`` sees slice ``n`` of every channel in group ``n`` (BoolNet MS-BConv).
    """
    p = _check_popcounts(popcounts, thresholds, 2)
    slices = [
        sign_threshold(p, SignThreshold(t, inv, thresholds.fan_in))
        for t, inv in zip(thresholds.threshold, thresholds.invert)
    ]
    return np.concatenate(slices, axis=1)


def fold_sign_range(a, b, *, lo, hi, bias=0.0):
    """Fold ``((a*x + b) + bias) >= 0`` over every integer ``x in [lo, hi]``.

    For integer inputs that are not popcounts (int8 data, int32 accumulators, PA-Net sums). The
    result is a :class:`SignThreshold` over ``x - lo`` (``fan_in = hi - lo``), found by bisection
    on the monotonic float64 rule, so it is exact like :func:`fold_sign_threshold` without
    enumerating wide ranges.
    """
    lo, hi = int_param(lo, "lo"), int_param(hi, "hi")
    if hi <= lo:
        raise ValueError(f"hi: expected hi > lo, got [{lo}, {hi}]")
    a, b = _channel_vectors(a=a, b=b)
    bias = as_float(bias, "bias")
    if bias.ndim != 0:
        raise ValueError(f"bias: expected one number (the slice bias), got shape {bias.shape}")

    def rule(index):
        return sign_rule(lo + index, a, b, bias).astype(bool)

    span = hi - lo
    first, last = rule(np.zeros_like(a, dtype=np.int64)), rule(np.full(a.shape, span))
    rising = ~first & last
    # smallest index whose rule differs from index 0, on channels where the ends differ
    low, high = np.zeros(a.shape, np.int64), np.full(a.shape, span)
    while (high - low > 1).any():
        middle = (low + high) // 2
        same = rule(middle) == first
        low = np.where(same, middle, low)
        high = np.where(same, high, middle)
    constant = first == last
    threshold = np.where(constant, 0, high)
    invert = np.where(constant, ~first, ~rising)
    return SignThreshold(threshold.astype(np.int64), invert.astype(bool), span)
