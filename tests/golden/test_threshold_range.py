"""fold_sign_range (bisection over wide integer ranges) and fold_table against enumeration."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnhw.golden import SignThreshold, fold_sign_range, fold_table, sign_rule, sign_threshold


def _apply(thresholds, values, lo):
    shifted = (values - lo)[:, None].repeat(len(thresholds.threshold), axis=1)
    return sign_threshold(shifted, thresholds).T  # (C, len(values))


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(a=st.lists(finite, min_size=1, max_size=4), b_scale=finite,
       lo=st.integers(-70000, 0), span=st.integers(1, 140000),
       bias=st.sampled_from([0.0, 0.5, -1.25]), tie=st.integers(-100, 100))
def test_bisection_equals_enumeration(a, b_scale, lo, span, bias, tie):
    a = np.array(a)
    b = np.full_like(a, b_scale)
    b[0] = -a[0] * tie - bias  # a tie exactly on an integer when exact in float64
    hi = lo + span
    folded = fold_sign_range(a, b, lo=lo, hi=hi, bias=bias)
    values = np.arange(lo, hi + 1)
    expected = sign_rule(values[None, :], a[:, None], b[:, None], bias)
    assert np.array_equal(_apply(folded, values, lo), expected)
    assert ((folded.threshold == 0) | ~np.all(expected == expected[:, :1], axis=1)).all()


def test_constant_and_inverted_channels():
    folded = fold_sign_range([0.0, 0.0, -1.0, 2.0], [1.0, -1.0, 0.0, -1.0], lo=-5, hi=5)
    assert folded.threshold.tolist() == [0, 0, 6, 6]  # x <= 0 and x >= 1 (x - lo = 6)
    assert folded.invert.tolist() == [False, True, True, False]


def test_range_errors_name_the_argument():
    with pytest.raises(ValueError, match="^hi:"):
        fold_sign_range([1.0], [0.0], lo=3, hi=3)
    with pytest.raises(ValueError, match="^bias:"):
        fold_sign_range([1.0], [0.0], lo=0, hi=3, bias=[0.0, 1.0])


def test_fold_table_canonical_and_rejects_non_monotonic():
    table = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    threshold, invert = fold_table(table)
    assert threshold.tolist() == [2, 2, 0, 0]
    assert invert.tolist() == [False, True, False, True]
    assert np.array_equal(
        sign_threshold(np.arange(4)[:, None].repeat(4, 1), SignThreshold(threshold, invert, 3)).T,
        table.astype(np.uint8))
    with pytest.raises(ValueError, match="^rule: channel 0"):
        fold_table(np.array([[0, 1, 0]], dtype=bool))
