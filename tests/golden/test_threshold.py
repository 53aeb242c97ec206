"""Golden model: batch norm folded into sign (integer thresholds) and multi-slice sign.

The reference here is written with plain Python floats (IEEE double, one rounding per operation,
no fused multiply-add) and ``math.sqrt`` (correctly rounded), independent of NumPy:

    a = gamma / sqrt(var + eps)      b = beta - a*mean
    bit(p) = ((a*v + b) + bias) >= 0      v = 2p - N (xnor) or p (and), optionally clip(v, -B, B)

Every folded threshold is compared with it for **every** popcount ``p in [0, N]``.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnhw.golden import (
    SignThreshold, bn_affine, fold_multi_slice, fold_sign_threshold, multi_slice_sign,
    sign_threshold,
)

# --------------------------------------------------------------------------------------------
# Independent float64 reference (plain Python floats)
# --------------------------------------------------------------------------------------------


def ref_affine(gamma, beta, mean, var, eps):
    a = float(gamma) / math.sqrt(float(var) + float(eps))
    b = float(beta) - a * float(mean)
    return a, b


def ref_values(n, op="xnor", clip=None):
    values = [2 * p - n if op == "xnor" else p for p in range(n + 1)]
    if clip is not None:
        values = [max(-clip, min(clip, v)) for v in values]
    return values


def ref_bit(a, b, v, bias=0.0):
    y = float(a) * float(v)
    y = y + float(b)
    y = y + float(bias)
    return 1 if y >= 0 else 0


def ref_table(a_list, b_list, n, op="xnor", clip=None, bias=0.0):
    """``(N+1, C)`` bits: row ``p``, column channel."""
    values = ref_values(n, op, clip)
    return np.array([[ref_bit(a, b, v, bias) for a, b in zip(a_list, b_list)] for v in values],
                    dtype=np.uint8)


def popcount_rows(n, channels):
    """Popcounts ``(N+1, C)`` with row ``p`` holding ``p`` in every channel (batch axis = p)."""
    return np.repeat(np.arange(n + 1, dtype=np.int64)[:, None], channels, axis=1)


def check_fold(a_list, b_list, n, *, op="xnor", clip=None, bias=0.0):
    """Fold, then compare against the reference for every p; check the canonical form."""
    a_list = [float(a) for a in a_list]
    b_list = [float(b) for b in b_list]
    channels = len(a_list)
    kwargs = dict(fan_in=n, op=op, clip=clip)
    if bias != 0.0:
        kwargs["bias"] = bias
    t = fold_sign_threshold(np.array(a_list), np.array(b_list), **kwargs)
    ref = ref_table(a_list, b_list, n, op, clip, bias)

    assert isinstance(t, SignThreshold)
    assert t.fan_in == n
    assert t.threshold.shape == (channels,) and t.invert.shape == (channels,)
    assert t.threshold.dtype == np.int64 and t.invert.dtype == bool

    bits = sign_threshold(popcount_rows(n, channels), t)
    assert bits.shape == (n + 1, channels)
    np.testing.assert_array_equal(bits, ref, err_msg=f"a={a_list} b={b_list} N={n} op={op} "
                                                     f"clip={clip} bias={bias!r}")

    # The stored form itself: bit = (p >= T) XOR invert.
    p = np.arange(n + 1)[:, None]
    np.testing.assert_array_equal(((p >= t.threshold[None]) != t.invert[None]).astype(np.uint8),
                                  ref)

    # Canonical form.
    assert (t.threshold >= 0).all() and (t.threshold <= n).all()
    for c in range(channels):
        column = ref[:, c]
        constant = bool((column == column[0]).all())
        if constant:
            assert t.threshold[c] == 0, (c, a_list[c], b_list[c])
            assert bool(t.invert[c]) == (column[0] == 0)
        else:
            assert 1 <= t.threshold[c] <= n
            assert bool(t.invert[c]) == (a_list[c] < 0)
    assert t.width == n.bit_length()
    return t, ref


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

FAN_INS = st.one_of(st.integers(1, 12), st.integers(1, 600), st.sampled_from([253, 254, 255,
                                                                             256, 599, 600]))
MODERATE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def bn_params(draw, channels):
    params = []
    for _ in range(channels):
        gamma = draw(st.one_of(MODERATE, st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300])))
        beta = draw(st.one_of(MODERATE, st.sampled_from([0.0, 1e300, -1e300, 0.5, -0.5])))
        mean = draw(st.one_of(MODERATE, st.sampled_from([0.0, 1e300, -1e300])))
        var = draw(st.one_of(st.floats(0, 1e3), st.sampled_from([0.0, 1e-300, 5e-324, 1.0])))
        eps = draw(st.sampled_from([0.0, 1e-5, 1e-3, 1e-300, 5e-324]))
        if var + eps == 0.0:
            eps = 1e-5
        a, _ = ref_affine(gamma, beta, mean, var, eps)
        if abs(a * mean) > 1e307:
            mean = 1.0  # keep b finite (bn_affine overflow is tested separately)
        params.append((gamma, beta, mean, var, eps))
    return params


@st.composite
def near_tie(draw, n, op, clip=None):
    """(a, b) with ``a*v0 + b`` at or within a few ulps of 0 for a reachable ``v0``."""
    a = draw(st.one_of(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
                       st.sampled_from([0.1, -0.1, 0.3, 1 / 3, -2.0, 2.0, 1e-200, -1e-200,
                                        7.0, 0.7])))
    v0 = draw(st.sampled_from(ref_values(n, op, clip)))
    b = -(a * v0)
    for _ in range(draw(st.integers(-3, 3))):
        b = math.nextafter(b, math.inf)
    if draw(st.booleans()):
        for _ in range(draw(st.integers(0, 3))):
            b = math.nextafter(b, -math.inf)
    return a, b


# --------------------------------------------------------------------------------------------
# bn_affine
# --------------------------------------------------------------------------------------------

@settings(max_examples=80)
@given(data=st.data(), channels=st.integers(1, 4))
def test_bn_affine_matches_float_formula(data, channels):
    params = data.draw(bn_params(channels), label="params")
    gamma, beta, mean, var, eps = (np.array(column) for column in zip(*params))
    a, b = bn_affine(gamma, beta, mean, var, eps)
    assert a.shape == (channels,) and b.shape == (channels,)
    assert a.dtype == np.float64 and b.dtype == np.float64
    for c, row in enumerate(params):
        ra, rb = ref_affine(*row)
        # bitwise equality (also distinguishes -0.0 from 0.0)
        assert math.copysign(1, a[c]) == math.copysign(1, ra)
        assert float(a[c]) == ra and float(b[c]) == rb, (row, a[c], b[c], ra, rb)


def test_bn_affine_scalars_broadcast():
    a, b = bn_affine([1.0, -2.0, 0.0], 0.5, [1.0, 2.0, 3.0], 4.0, 0.0)
    np.testing.assert_array_equal(a, [0.5, -1.0, 0.0])
    np.testing.assert_array_equal(b, [0.0, 2.5, 0.5])
    a, b = bn_affine(2.0, 1.0, 3.0, 0.0, 1e-5)
    ra, rb = ref_affine(2.0, 1.0, 3.0, 0.0, 1e-5)
    assert a.shape == (1,) and float(a[0]) == ra and float(b[0]) == rb


GOOD_BN = dict(gamma=[1.0, 2.0, 3.0], beta=[0.0, 1.0, 2.0], mean=[0.5, 0.5, 0.5],
               var=[1.0, 1.0, 1.0], eps=1e-5)
BAD_BN = {
    "var negative": (dict(var=[1.0, -1e-9, 1.0]), "var"),
    "eps negative": (dict(eps=-1e-5), "eps"),
    "var + eps == 0": (dict(var=[1.0, 0.0, 1.0], eps=0.0), "var"),
    "var + eps == 0 (scalar)": (dict(var=0.0, eps=0.0), "var"),
    "gamma nan": (dict(gamma=[1.0, math.nan, 1.0]), "gamma"),
    "gamma inf": (dict(gamma=[1.0, math.inf, 1.0]), "gamma"),
    "beta nan": (dict(beta=[math.nan, 1.0, 1.0]), "beta"),
    "beta -inf": (dict(beta=[-math.inf, 1.0, 1.0]), "beta"),
    "mean nan": (dict(mean=[0.0, 0.0, math.nan]), "mean"),
    "mean inf": (dict(mean=math.inf), "mean"),
    "var nan": (dict(var=[math.nan, 1.0, 1.0]), "var"),
    "var inf": (dict(var=[math.inf, 1.0, 1.0]), "var"),
    "eps nan": (dict(eps=math.nan), "eps"),
    "eps inf": (dict(eps=math.inf), "eps"),
    "gamma channels": (dict(gamma=[1.0, 2.0]), "gamma"),
    "beta channels": (dict(beta=[1.0, 2.0]), "beta"),
    "mean channels": (dict(mean=[1.0, 2.0]), "mean"),
    "var channels": (dict(var=[1.0, 2.0]), "var"),
    "eps channels": (dict(eps=[1e-5, 1e-5]), "eps"),
    "gamma 2-D": (dict(gamma=[[1.0, 2.0, 3.0]]), "gamma"),
    "gamma strings": (dict(gamma=["1", "2", "3"]), "gamma"),
    "var bool": (dict(var=[True, True, True]), "var"),
}


@pytest.mark.parametrize("change,name", BAD_BN.values(), ids=BAD_BN.keys())
def test_bn_affine_rejects(change, name):
    args = dict(GOOD_BN)
    args.update(change)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        bn_affine(**args)


@pytest.mark.parametrize("gamma,beta,mean,var,eps", [
    (1e300, 0.0, 1.0, 1e-300, 0.0),      # a = 1e450 overflows
    (1.0, 1e308, -1e308, 1.0, 0.0),      # b = beta - a*mean overflows in the subtraction
    (-2.0, 1e308, 1e308, 1.0, 0.0),      # a*mean overflows
])
def test_bn_affine_overflow_is_a_clear_error(gamma, beta, mean, var, eps):
    """Finite inputs whose folded a or b is not a finite float64 must stop with a ValueError
    naming a BN field (DESIGN §7), not return inf (which fold_sign_threshold then rejects as
    ``a``/``b``) or raise NumPy's RuntimeWarning (an error under this project's pytest config)."""
    with pytest.raises(ValueError, match=r"^(gamma|beta|mean|var|eps)\b"):
        bn_affine(gamma, beta, mean, var, eps)


# --------------------------------------------------------------------------------------------
# Fold: random BN parameters, exhaustive over p
# --------------------------------------------------------------------------------------------

@settings(max_examples=120)
@given(data=st.data(), n=FAN_INS, channels=st.integers(1, 4),
       op=st.sampled_from(["xnor", "xnor", "and"]),
       clip=st.sampled_from([None, None, None, 127, 5]))
def test_fold_random_bn_exhaustive(data, n, channels, op, clip):
    params = data.draw(bn_params(channels), label="params")
    a, b = bn_affine(*(np.array(column) for column in zip(*params)))
    ref_ab = [ref_affine(*row) for row in params]
    assert [(float(x), float(y)) for x, y in zip(a, b)] == ref_ab
    check_fold([x for x, _ in ref_ab], [y for _, y in ref_ab], n, op=op, clip=clip)


@settings(max_examples=150)
@given(data=st.data(), n=FAN_INS, channels=st.integers(1, 4),
       op=st.sampled_from(["xnor", "xnor", "and"]),
       clip=st.sampled_from([None, None, 127, 3]))
def test_fold_near_ties_exhaustive(data, n, channels, op, clip):
    pairs = [data.draw(near_tie(n, op, clip), label=f"channel {c}") for c in range(channels)]
    check_fold([a for a, _ in pairs], [b for _, b in pairs], n, op=op, clip=clip)


@settings(max_examples=80)
@given(data=st.data(), n=FAN_INS, op=st.sampled_from(["xnor", "and"]))
def test_fold_with_bias_exhaustive(data, n, op):
    a, b = data.draw(near_tie(n, op), label="a, b")
    bias = data.draw(st.one_of(st.floats(-50, 50), st.sampled_from([0.5, -0.5, 1e-17])),
                     label="bias")
    check_fold([a], [b], n, op=op, bias=bias)


# --------------------------------------------------------------------------------------------
# Fold: adversarial parameters
# --------------------------------------------------------------------------------------------

SMALL_AND_ODD = [1, 2, 3, 4, 5, 8, 9, 64, 127, 128, 255, 256, 599, 600]


@pytest.mark.parametrize("n", SMALL_AND_ODD)
@pytest.mark.parametrize("op", ["xnor", "and"])
def test_fold_exact_integer_ties(n, op):
    """a*s0 + b == 0 exactly (no rounding) at every reachable s0: bit 1 at s0, both signs of a."""
    values = ref_values(n, op)  # values[p] is the dot value of popcount p
    a_list, b_list, rows = [], [], []
    for row, s0 in enumerate(values):
        for a in (2.0, -2.0, 0.5, -3.0):
            b = -a * s0
            assert a * s0 + b == 0.0
            a_list.append(a)
            b_list.append(b)
            rows.append(row)
    t, ref = check_fold(a_list, b_list, n, op=op)
    bits = sign_threshold(popcount_rows(n, len(a_list)), t)
    for c, (a, row) in enumerate(zip(a_list, rows)):
        assert ref[row, c] == 1 and bits[row, c] == 1
        # the tie is the boundary: the neighbour on the "wrong" side is 0
        if a > 0:
            assert t.threshold[c] == row and not t.invert[c]
            if row > 0:
                assert bits[row - 1, c] == 0
        else:
            if row < n:
                assert bits[row + 1, c] == 0
                assert t.threshold[c] == row + 1 and t.invert[c]
            else:
                assert t.threshold[c] == 0 and not t.invert[c]  # 1 everywhere: constant


@pytest.mark.parametrize("n", [3, 5, 7, 9, 11, 15, 31, 101, 599])
def test_fold_ties_after_rounding(n):
    """Ties that hold only after float rounding, e.g. 0.1*3 + (-0.30000000000000004) == 0."""
    assert 0.1 * 3 + -0.30000000000000004 == 0.0
    a_list, b_list = [], []
    for a in (0.1, -0.1, 0.7, 1 / 3, -1 / 3, 0.3, 1.1, math.pi):
        for v0 in (1, 3, 5, -3, -7, n, -n):
            if abs(v0) > n or v0 % 2 != n % 2:
                continue
            b = -(a * v0)
            assert a * v0 + b == 0.0
            a_list.append(a)
            b_list.append(b)
    a_list += [0.1, 0.1, -0.1]
    b_list += [-0.30000000000000004, -0.3, 0.30000000000000004]
    t, ref = check_fold(a_list, b_list, n)
    # 0.1*3 - 0.30000000000000004 == 0 -> bit 1 at s = 3 (p = (n+3)/2)
    p3 = (n + 3) // 2
    assert ref[p3, len(a_list) - 3] == 1
    bits = sign_threshold(popcount_rows(n, len(a_list)), t)
    assert bits[p3, len(a_list) - 3] == 1
    # with b = -0.3 (0.1*3 rounds above 0.3) the rule is also 1 at s = 3
    assert bits[p3, len(a_list) - 2] == (1 if 0.1 * 3 - 0.3 >= 0 else 0)


def test_fold_tie_only_after_rounding_and_op():
    # 0.1*3 = 0.30000000000000004; 0.30000000000000004 - 0.30000000000000004 = 0 -> bit 1 at p=3
    t, ref = check_fold([0.1], [-0.30000000000000004], 10, op="and")
    np.testing.assert_array_equal(ref[:, 0], [0, 0, 0] + [1] * 8)
    assert t.threshold[0] == 3 and not t.invert[0]
    # one ulp more negative: p = 3 no longer reaches 0
    t, ref = check_fold([0.1], [math.nextafter(-0.30000000000000004, -math.inf)], 10, op="and")
    assert t.threshold[0] == 4


@pytest.mark.parametrize("n", [1, 2, 3, 10, 255, 600])
@pytest.mark.parametrize("op", ["xnor", "and"])
def test_fold_constant_channels(n, op):
    """gamma == 0 (a == 0): bit is 1 iff b >= 0; b == 0 and b == -0.0 give 1."""
    a_list = [0.0, 0.0, 0.0, 0.0, -0.0, -0.0, 0.0]
    b_list = [1.0, -1.0, 0.0, -0.0, 0.0, -5e-324, 5e-324]
    t, ref = check_fold(a_list, b_list, n, op=op)
    expected = [1, 0, 1, 1, 1, 0, 1]
    np.testing.assert_array_equal(t.threshold, 0)
    np.testing.assert_array_equal(t.invert, [e == 0 for e in expected])
    np.testing.assert_array_equal(ref, np.tile(expected, (n + 1, 1)))
    # and via bn_affine with gamma == 0 (both signs of beta, beta == 0)
    a, b = bn_affine([0.0, 0.0, 0.0, -0.0], [2.0, -2.0, 0.0, 0.0], [3.0, -3.0, 1e300, 1.0],
                     [1.0, 0.0, 1e-300, 4.0], 1e-5)
    t, ref = check_fold(list(a), list(b), n, op=op)
    np.testing.assert_array_equal(t.threshold, 0)
    np.testing.assert_array_equal(ref[0], [1, 0, 1, 1])
    # constant for other reasons: beta huge
    t, _ = check_fold([1.0, -1.0, 1.0, -1.0], [1e300, 1e300, -1e300, -1e300], n, op=op)
    np.testing.assert_array_equal(t.threshold, 0)
    np.testing.assert_array_equal(t.invert, [False, False, True, True])


@pytest.mark.parametrize("n", [1, 2, 7, 64, 601])
def test_fold_adversarial_bn(n):
    cases = [
        # gamma, beta, mean, var, eps
        (-1.0, 0.3, 0.2, 1.0, 1e-5),          # gamma < 0
        (-0.5, -2.0, -1.0, 0.25, 0.0),
        (1.0, 0.0, 0.5, 1e-300, 0.0),         # var tiny: a = 1e150
        (-1.0, 0.0, -0.5, 1e-300, 0.0),
        (1.0, 0.25, 0.0, 0.0, 1e-5),          # var 0, eps 1e-5
        (3.0, -0.1, 0.0, 0.0, 5e-324),        # var 0, eps subnormal
        (1.0, 1e300, 0.0, 1.0, 0.0),          # beta huge
        (1.0, -1e300, 0.0, 1.0, 0.0),
        (-1.0, 1e300, 0.0, 1.0, 1e-5),
        (1.0, 0.0, 1e300, 1.0, 0.0),          # mean huge
        (1.0, 0.0, -1e300, 1.0, 0.0),
        (1e-300, 1.0, 1e300, 1.0, 0.0),       # mean huge, a tiny: b = 1 - 1 = 0
        (1e-300, 0.5, 1e299, 1.0, 0.0),
        (1e-300, 0.0, 0.0, 1e300, 0.0),       # a underflows to 0
        (2.0, 0.0, 0.5, 1.0, 0.0),            # a*v + b == 2v - 1: tie-free, odd boundary
        (1.0, 0.0, 0.0, 1.0, 0.0),            # b == 0: tie at s == 0
        (-1.0, 0.0, 0.0, 1.0, 0.0),
    ]
    params = list(zip(*cases))
    a, b = bn_affine(*(np.array(column) for column in params))
    ref_ab = [ref_affine(*row) for row in cases]
    assert [(float(x), float(y)) for x, y in zip(a, b)] == ref_ab
    for op in ("xnor", "and"):
        for clip in (None, 127, 1):
            check_fold(list(a), list(b), n, op=op, clip=clip)


@pytest.mark.parametrize("n", [255, 256, 300, 599, 600, 1001])
def test_fold_saturating_accumulator(n):
    """clip=127 with N > 254: v = clip(2p - N, -127, 127) is what the BN sees."""
    a_list = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 0.5, -0.5, 1.0]
    b_list = [-127.0, -127.5, -126.5, 127.0, -127.0, 127.0, 128.0, -63.5, 63.5, -200.0]
    t, ref = check_fold(a_list, b_list, n, clip=127)
    p = np.arange(n + 1)
    v = np.clip(2 * p - n, -127, 127)
    np.testing.assert_array_equal(ref[:, 0], v >= 127)                  # tie at the clip: 1
    np.testing.assert_array_equal(ref[:, 1], np.zeros(n + 1))           # unreachable: constant 0
    np.testing.assert_array_equal(ref[:, 6], np.ones(n + 1))            # always 1
    np.testing.assert_array_equal(ref[:, 9], np.zeros(n + 1))           # beyond the clip
    assert t.threshold[1] == 0 and t.invert[1]
    assert t.threshold[9] == 0 and t.invert[9]
    assert t.threshold[6] == 0 and not t.invert[6]
    # without the clip, the rule would differ for channel 9 (v can reach 200 when N >= 200)
    unclipped = ref_table(a_list, b_list, n)
    assert unclipped[:, 9].any() != ref[:, 9].any()
    # the AND domain with a clip: v = min(p, 127)
    check_fold(a_list, b_list, n, op="and", clip=127)


def test_fold_clip_larger_than_reach_is_identity():
    a_list, b_list = [1.0, -0.75, 0.3], [-3.0, 1.5, 0.0]
    t1, r1 = check_fold(a_list, b_list, 100, clip=127)
    t2, r2 = check_fold(a_list, b_list, 100)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(t1.threshold, t2.threshold)
    np.testing.assert_array_equal(t1.invert, t2.invert)


@pytest.mark.parametrize("n", list(range(1, 40)) + [127, 128, 253, 254, 255, 256, 511, 512, 600])
def test_fold_every_threshold_position(n):
    """Thresholds at every p (both polarities): a = ±1, b placed between and on grid points."""
    values = ref_values(n)
    a_list, b_list = [], []
    for v in values:
        for a, b in ((1.0, -v), (1.0, -v + 0.5), (-1.0, v), (-1.0, v - 0.5)):
            a_list.append(a)
            b_list.append(float(b))
    t, ref = check_fold(a_list, b_list, n)
    # (1.0, -v) at v = 2p - N: threshold p (p = 0 is the constant-1 channel)
    for p in range(n + 1):
        c = 4 * p
        assert t.threshold[c] == p and not t.invert[c]


def test_fold_a_scalar_b_per_channel():
    """Per-channel parameters may be scalars (docs/numerics.md §1), for ``a`` as well as ``b``."""
    t = fold_sign_threshold(1.0, [-1.0, 1.0, 0.0], fan_in=3)
    ref = ref_table([1.0] * 3, [-1.0, 1.0, 0.0], 3)
    np.testing.assert_array_equal(sign_threshold(popcount_rows(3, 3), t), ref)


def test_fold_b_scalar_a_per_channel():
    t = fold_sign_threshold([1.0, -1.0, 0.0], 0.5, fan_in=3)
    ref = ref_table([1.0, -1.0, 0.0], [0.5] * 3, 3)
    np.testing.assert_array_equal(sign_threshold(popcount_rows(3, 3), t), ref)


@pytest.mark.parametrize("a,b,bias", [
    (1e306, 0.0, 0.0),           # a*v overflows to ±inf: bits still well defined
    (-1e306, 1.0, 0.0),
    (1e300, 1.7e308, 1.7e308),   # (a*v + b) + bias overflows in the second addition
    (2e305, 1.7e308, 0.0),       # a*v + b overflows in the first addition (p = N)
])
def test_fold_float_overflow_follows_ieee(a, b, bias):
    """Finite a, b, bias whose intermediate overflows: IEEE gives ±inf, and the bit is defined
    (inf >= 0). Folding must not raise (NumPy RuntimeWarning is an error under this project's
    pytest config)."""
    check_fold([a], [b], 600, bias=bias)


# --------------------------------------------------------------------------------------------
# SignThreshold: canonical form, width, validation
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", list(range(1, 70)) + [127, 128, 255, 256, 600, 1023, 1024, 4095])
def test_width_is_bits_for_n(n):
    st_ = SignThreshold(np.array([0, n]), np.array([False, True]), n)
    width = 0
    while (1 << width) < n + 1:
        width += 1
    assert st_.width == width
    assert n < (1 << st_.width)


def test_sign_threshold_direct():
    t = SignThreshold(np.array([0, 0, 2, 2, 4]), np.array([False, True, False, True, False]), 4)
    p = popcount_rows(4, 5)
    out = sign_threshold(p, t)
    expected = np.array([
        [1, 0, 0, 1, 0],
        [1, 0, 0, 1, 0],
        [1, 0, 1, 0, 0],
        [1, 0, 1, 0, 0],
        [1, 0, 1, 0, 1],
    ], dtype=np.uint8)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(t.constant, [True, True, False, False, False])


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), channels=st.integers(1, 5),
       spatial=st.lists(st.integers(1, 4), min_size=0, max_size=2))
def test_sign_threshold_nchw_broadcast(seed, n, channels, spatial):
    rng = np.random.default_rng(seed)
    threshold = rng.integers(0, n + 1, channels)
    invert = rng.integers(0, 2, channels).astype(bool)
    t = SignThreshold(threshold, invert, n)
    p = rng.integers(0, n + 1, (2, channels, *spatial))
    out = sign_threshold(p, t)
    assert out.shape == p.shape
    for idx in np.ndindex(*p.shape):
        c = idx[1]
        assert out[idx] == int((p[idx] >= threshold[c]) != invert[c])


BAD_SIGN_THRESHOLD = {
    "threshold > fan_in": (lambda: SignThreshold(np.array([5]), np.array([False]), 4),
                           "threshold"),
    "threshold < 0": (lambda: SignThreshold(np.array([-1]), np.array([False]), 4), "threshold"),
    "threshold float": (lambda: SignThreshold(np.array([1.0]), np.array([False]), 4),
                        "threshold"),
    "invert int": (lambda: SignThreshold(np.array([1]), np.array([1]), 4), "invert"),
    "invert float": (lambda: SignThreshold(np.array([1]), np.array([0.0]), 4), "invert"),
    "shape mismatch": (lambda: SignThreshold(np.array([1, 2]), np.array([False]), 4),
                       "(invert|threshold)"),
    "3-D": (lambda: SignThreshold(np.zeros((1, 1, 1), np.int64), np.zeros((1, 1, 1), bool), 4),
            "(invert|threshold)"),
    "fan_in 0": (lambda: SignThreshold(np.array([0]), np.array([False]), 0), "fan_in"),
    "fan_in float": (lambda: SignThreshold(np.array([0]), np.array([False]), 4.0), "fan_in"),
}


@pytest.mark.parametrize("call,name", BAD_SIGN_THRESHOLD.values(), ids=BAD_SIGN_THRESHOLD.keys())
def test_sign_threshold_class_rejects(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


T3 = SignThreshold(np.array([1, 2, 3]), np.array([False, True, False]), 4)
T23 = SignThreshold(np.array([[1, 2, 3], [0, 4, 2]]), np.array([[False, True, False]] * 2), 4)
BAD_POPCOUNTS = {
    "above fan_in": (lambda: sign_threshold(np.array([[0, 5, 1]]), T3), "popcounts"),
    "negative": (lambda: sign_threshold(np.array([[0, -1, 1]]), T3), "popcounts"),
    "wrong channels": (lambda: sign_threshold(np.array([[0, 1]]), T3), "popcounts"),
    "wrong channels NCHW": (lambda: sign_threshold(np.zeros((1, 4, 2, 2), np.int64), T3),
                            "popcounts"),
    "1-D": (lambda: sign_threshold(np.array([0, 1, 2]), T3), "popcounts"),
    "float": (lambda: sign_threshold(np.array([[0.0, 1.0, 2.0]]), T3), "popcounts"),
    "multi above fan_in": (lambda: multi_slice_sign(np.array([[0, 5, 1]]), T23), "popcounts"),
    "multi wrong channels": (lambda: multi_slice_sign(np.array([[0, 1]]), T23), "popcounts"),
    "multi negative": (lambda: multi_slice_sign(np.array([[0, 1, -2]]), T23), "popcounts"),
}


@pytest.mark.parametrize("call,name", BAD_POPCOUNTS.values(), ids=BAD_POPCOUNTS.keys())
def test_popcounts_rejected(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_wrong_threshold_rank_rejected():
    with pytest.raises(ValueError):
        sign_threshold(np.zeros((1, 3), np.int64), T23)
    with pytest.raises(ValueError):
        multi_slice_sign(np.zeros((1, 3), np.int64), T3)


BAD_FOLD = {
    "a nan": (lambda: fold_sign_threshold([math.nan], [0.0], fan_in=4), "a"),
    "b inf": (lambda: fold_sign_threshold([1.0], [math.inf], fan_in=4), "b"),
    "b channels": (lambda: fold_sign_threshold([1.0, 2.0], [0.0, 1.0, 2.0], fan_in=4), "b"),
    "fan_in 0": (lambda: fold_sign_threshold([1.0], [0.0], fan_in=0), "fan_in"),
    "fan_in float": (lambda: fold_sign_threshold([1.0], [0.0], fan_in=4.0), "fan_in"),
    "op or": (lambda: fold_sign_threshold([1.0], [0.0], fan_in=4, op="or"), "op"),
    "clip 0": (lambda: fold_sign_threshold([1.0], [0.0], fan_in=4, clip=0), "clip"),
    "bias nan": (lambda: fold_sign_threshold([1.0], [0.0], fan_in=4, bias=math.nan), "bias"),
    "bias vector": (lambda: fold_sign_threshold([1.0], [0.0], fan_in=4, bias=[0.0, 1.0]),
                    "bias"),
}


@pytest.mark.parametrize("call,name", BAD_FOLD.values(), ids=BAD_FOLD.keys())
def test_fold_rejects(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


# --------------------------------------------------------------------------------------------
# Multi-slice sign
# --------------------------------------------------------------------------------------------

def check_multi_slice(a_list, b_list, biases, n, *, op="xnor", clip=None, spatial=(2, 3),
                      seed=0):
    channels, k = len(a_list), len(biases)
    t = fold_multi_slice(np.array(a_list), np.array(b_list), np.array(biases), fan_in=n, k=k,
                         op=op, clip=clip)
    assert t.threshold.shape == (k, channels) and t.invert.shape == (k, channels)
    assert t.fan_in == n
    assert (t.threshold >= 0).all() and (t.threshold <= n).all()

    # exhaustive over p: row p, output channel n*C + c
    out = multi_slice_sign(popcount_rows(n, channels), t)
    assert out.shape == (n + 1, k * channels) and out.dtype == np.uint8
    for s, bias in enumerate(biases):
        ref = ref_table(a_list, b_list, n, op, clip, bias)
        np.testing.assert_array_equal(out[:, s * channels:(s + 1) * channels], ref,
                                      err_msg=f"slice {s} bias {bias!r}")
        # canonical form per slice
        for c in range(channels):
            column = ref[:, c]
            if (column == column[0]).all():
                assert t.threshold[s, c] == 0 and bool(t.invert[s, c]) == (column[0] == 0)
            else:
                assert t.threshold[s, c] >= 1 and bool(t.invert[s, c]) == (a_list[c] < 0)
        # each slice is its own single fold
        single = fold_sign_threshold(np.array(a_list), np.array(b_list), fan_in=n, op=op,
                                     clip=clip, bias=bias)
        np.testing.assert_array_equal(t.threshold[s], single.threshold)
        np.testing.assert_array_equal(t.invert[s], single.invert)

    # NCHW layout: out[:, s*C + c] is slice s of channel c
    rng = np.random.default_rng(seed)
    p = rng.integers(0, n + 1, (2, channels, *spatial))
    out = multi_slice_sign(p, t)
    assert out.shape == (2, k * channels, *spatial)
    values = np.array(ref_values(n, op, clip))
    for s, bias in enumerate(biases):
        for c in range(channels):
            table = np.array([ref_bit(a_list[c], b_list[c], v, bias) for v in values])
            np.testing.assert_array_equal(out[:, s * channels + c], table[p[:, c]])
    return t


@settings(max_examples=60)
@given(data=st.data(), n=FAN_INS, channels=st.integers(1, 3), k=st.integers(1, 8),
       op=st.sampled_from(["xnor", "xnor", "and"]), clip=st.sampled_from([None, None, 127]))
def test_multi_slice_exhaustive(data, n, channels, k, op, clip):
    pairs = [data.draw(near_tie(n, op, clip), label=f"channel {c}") for c in range(channels)]
    a_list, b_list = [a for a, _ in pairs], [b for _, b in pairs]
    biases = []
    for s in range(k):
        kind = data.draw(st.sampled_from(["random", "boolnet", "tie"]), label=f"bias {s} kind")
        if kind == "random":
            bias = data.draw(st.floats(-100, 100), label=f"bias {s}")
        elif kind == "boolnet":
            bias = (2.0 * s - (k - 1)) / k
        else:
            c = data.draw(st.integers(0, channels - 1), label=f"tie channel {s}")
            v = data.draw(st.sampled_from(ref_values(n, op, clip)), label=f"tie value {s}")
            bias = -(a_list[c] * v + b_list[c])  # (a*v + b) + bias == 0 exactly
        biases.append(bias)
    check_multi_slice(a_list, b_list, biases, n, op=op, clip=clip, seed=len(biases))


@pytest.mark.parametrize("k", range(1, 9))
@pytest.mark.parametrize("n", [1, 2, 9, 64, 255])
def test_multi_slice_boolnet_biases(k, n):
    biases = [2.0 * s / k for s in range(k)]
    a_list = [0.3, -0.7, 0.0, 1.0, 0.1]
    b_list = [-0.30000000000000004, 0.2, -0.5, 0.0, 0.0]
    check_multi_slice(a_list, b_list, biases, n)
    check_multi_slice(a_list, b_list, [-x for x in biases], n, op="and")


def test_multi_slice_tie_biases():
    # (a*v + b) + bias == 0 exactly -> bit 1 at that v
    a, b, n = 0.1, 0.0, 11
    biases = [-(a * v + b) for v in (-11, -3, 1, 3, 11)]
    t = check_multi_slice([a], [b], biases, n)
    out = multi_slice_sign(popcount_rows(n, 1), t)
    for s, v in enumerate((-11, -3, 1, 3, 11)):
        p = (v + n) // 2
        assert out[p, s] == 1
        if p > 0:
            assert out[p - 1, s] == 0


def test_multi_slice_k1_equals_sign_threshold():
    rng = np.random.default_rng(3)
    a = np.array([0.5, -1.25, 0.0, 2.0])
    b = np.array([1.0, -3.0, -1.0, 0.0])
    p = rng.integers(0, 31, (3, 4, 5, 5))
    for bias in (0.0, 0.75, -2.5):
        multi = fold_multi_slice(a, b, [bias], fan_in=30, k=1)
        single = fold_sign_threshold(a, b, fan_in=30, bias=bias)
        np.testing.assert_array_equal(multi_slice_sign(p, multi), sign_threshold(p, single))
    # bias 0 is the plain sign
    multi = fold_multi_slice(a, b, [0.0], fan_in=30)
    np.testing.assert_array_equal(multi_slice_sign(p, multi),
                                  sign_threshold(p, fold_sign_threshold(a, b, fan_in=30)))


def test_multi_slice_layout_is_slice_major():
    # channel c has threshold c+1; slice s is inverted iff s is odd
    t = SignThreshold(np.array([[1, 2, 3]] * 4), np.array([[s % 2 == 1] * 3 for s in range(4)]),
                      3)
    p = np.array([[1, 2, 3]])  # channel c has popcount c+1: every comparison is true
    out = multi_slice_sign(p, t)
    np.testing.assert_array_equal(out, [[1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]])
    p = np.array([[3, 0, 0]])  # only channel 0 reaches its threshold
    out = multi_slice_sign(p, t)
    np.testing.assert_array_equal(out, [[1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1]])


BAD_MULTI = {
    "k > len(biases)": (lambda: fold_multi_slice([1.0], [0.0], [0.0, 1.0], fan_in=4, k=3),
                        "biases"),
    "k < len(biases)": (lambda: fold_multi_slice([1.0], [0.0], [0.0, 1.0], fan_in=4, k=1),
                        "biases"),
    "biases empty": (lambda: fold_multi_slice([1.0], [0.0], [], fan_in=4), "biases"),
    "biases empty with k": (lambda: fold_multi_slice([1.0], [0.0], [], fan_in=4, k=1),
                            "(biases|k)"),
    "biases 2-D": (lambda: fold_multi_slice([1.0], [0.0], [[0.0, 1.0]], fan_in=4), "biases"),
    "biases nan": (lambda: fold_multi_slice([1.0], [0.0], [0.0, math.nan], fan_in=4), "biases"),
    "k 0": (lambda: fold_multi_slice([1.0], [0.0], [0.0], fan_in=4, k=0), "k"),
}


@pytest.mark.parametrize("call,name", BAD_MULTI.values(), ids=BAD_MULTI.keys())
def test_multi_slice_rejects(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
