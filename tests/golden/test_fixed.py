"""bnnhw.golden.fixed against an exact rational model of the numeric contract (DESIGN.md §4).

The reference never shifts: it evaluates ``floor(v / 2**F + 1/2)`` with :class:`fractions.Fraction`
(round half up, towards +inf, so -2.5 -> -2) and clips to the symmetric ``[-127, 127]``.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnhw.golden import (
    INT8_MAX, dprelu, quantized_bn, requantize, round_shift, saturate, saturating_add,
)

# Derandomization comes from the "ci" profile in tests/conftest.py (HYPOTHESIS_PROFILE=dev for
# fresh examples); per-module settings only bound the example count.
SETTINGS = settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

INT8 = (-128, 127)
INT16 = (-(1 << 15), (1 << 15) - 1)
INT32 = (-(1 << 31), (1 << 31) - 1)
MULT = (-(1 << 16) + 1, (1 << 16) - 1)


# --- exact reference model -------------------------------------------------------------------

def ref_round(value, frac_bits):
    """floor(value / 2**F + 1/2), exactly."""
    return math.floor(Fraction(int(value), 1 << frac_bits) + Fraction(1, 2))


def ref_clip(value, bound=127):
    return max(-bound, min(bound, int(value)))


def ref_quantized_bn(s, scale, bias, frac_bits):
    return ref_clip(ref_round(int(s) * int(scale) + int(bias), frac_bits))


def ref_requantize(acc, multiplier, shift):
    return ref_clip(ref_round(int(acc) * int(multiplier), shift))


def ref_dprelu(x, alpha, beta, eta, gamma, frac_bits):
    d = int(x) - int(alpha)
    c = int(eta) if d > 0 else int(gamma)
    return ref_clip(ref_round(c * d, frac_bits) - int(beta))


def channel_value(param, index):
    """Per-channel parameter for the element at ``index`` (channel axis 1), or the scalar."""
    param = np.asarray(param)
    return int(param) if param.ndim == 0 else int(param[index[1]])


def elementwise(ref, x, *params, frac_bits):
    """Apply the scalar reference element by element, parameters broadcast along axis 1."""
    x = np.asarray(x)
    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(x.shape):
        values = [channel_value(p, index) for p in params]
        out[index] = ref(int(x[index]), *values, frac_bits)
    return out


def assert_exact(got, expected):
    got = np.asarray(got)
    assert got.dtype == np.int64
    assert got.shape == np.shape(expected)
    assert got.tolist() == np.asarray(expected, dtype=object).tolist()


def ints(bounds, shape):
    return hnp.arrays(np.int64, shape, elements=st.integers(*bounds))


small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@st.composite
def channel_tensor(draw, bounds):
    """``(B, C, H, W)`` or ``(B, C)`` integer tensor and its channel count."""
    four_d = draw(st.booleans())
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 4))
    spatial = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if four_d else ()
    shape = (batch, channels) + spatial
    return draw(ints(bounds, shape)), channels


def per_channel(bounds, channels):
    """A scalar (python int) or a ``(C,)`` vector within ``bounds``."""
    return st.one_of(st.integers(*bounds), ints(bounds, (channels,)))


# --- round_shift ---------------------------------------------------------------------------------

@SETTINGS
@given(x=ints((-(1 << 62), 1 << 62), small_shapes), shift=st.integers(0, 62))
def test_round_shift_matches_rational_rounding(x, shift):
    got = round_shift(x, shift)
    assert_exact(got, np.vectorize(lambda v: ref_round(v, shift), otypes=[object])(x))


@SETTINGS
@given(x=st.integers(-(1 << 40), 1 << 40), shift=st.integers(0, 48))
def test_round_shift_then_saturate_is_clipped_rounding(x, shift):
    assert int(saturate(round_shift(x, shift))) == ref_clip(ref_round(x, shift))


@pytest.mark.parametrize("x, shift, expected", [
    (5, 1, 3), (-5, 1, -2), (3, 1, 2), (-3, 1, -1), (1, 1, 1), (-1, 1, 0),
    (6, 2, 2), (-6, 2, -1), (2, 2, 1), (-2, 2, 0), (-10, 2, -2), (10, 2, 3),
    (-7, 2, -2), (7, 2, 2), (-9, 2, -2), (9, 2, 2),
    ((1 << 47), 48, 1), (-(1 << 47), 48, 0), (-(1 << 47) - 1, 48, -1),
])
def test_round_shift_half_ties_go_up(x, shift, expected):
    assert int(round_shift(x, shift)) == expected


@pytest.mark.parametrize("x", [0, 1, -1, 127, -128, 1 << 40, -(1 << 62), (1 << 63) - 1])
def test_round_shift_zero_is_identity(x):
    assert int(round_shift(x, 0)) == x


def test_round_shift_keeps_shape():
    x = np.arange(-12, 12).reshape(2, 3, 4)
    assert round_shift(x, 3).shape == (2, 3, 4)
    assert_exact(round_shift(x, 3), np.vectorize(lambda v: ref_round(v, 3), otypes=[object])(x))


def test_round_shift_does_not_wrap_near_int64_max():
    # x + 2**(shift-1) must not silently wrap around in int64: either the exact answer or a
    # ValueError naming x is acceptable, a negative result for a huge positive x is not.
    x = (1 << 63) - 1
    for shift in (1, 2, 62):
        try:
            got = int(round_shift(x, shift))
        except ValueError as error:
            assert str(error).startswith("x:")
        else:
            assert got == ref_round(x, shift), (shift, got)


@pytest.mark.parametrize("shift", [-1, 63, 1.0, True, "1", None])
def test_round_shift_bad_shift(shift):
    with pytest.raises(ValueError, match=r"^shift:"):
        round_shift(4, shift)


@pytest.mark.parametrize("x", [1.5, np.array([1.0, 2.0]), np.array([True]), "7"])
def test_round_shift_bad_x(x):
    with pytest.raises(ValueError, match=r"^x:"):
        round_shift(x, 1)


# --- saturate / saturating_add -------------------------------------------------------------------

@SETTINGS
@given(x=ints((-(1 << 40), 1 << 40), small_shapes),
       bound=st.one_of(st.none(), st.integers(1, 1 << 20)))
def test_saturate_is_symmetric_clip(x, bound):
    got = saturate(x) if bound is None else saturate(x, bound)
    b = 127 if bound is None else bound
    assert_exact(got, np.vectorize(lambda v: ref_clip(v, b), otypes=[object])(x))


@pytest.mark.parametrize("x, expected", [
    (127, 127), (-127, -127), (128, 127), (-128, -127), (126, 126), (-126, -126),
    (0, 0), (10**12, 127), (-(10**12), -127), ((1 << 63) - 1, 127), (-(1 << 63), -127),
])
def test_saturate_ends(x, expected):
    assert INT8_MAX == 127
    assert int(saturate(x)) == expected


@pytest.mark.parametrize("bound", [0, -1, 1.5, True])
def test_saturate_bad_bound(bound):
    with pytest.raises(ValueError, match=r"^bound:"):
        saturate(3, bound)


def test_saturate_bad_x():
    with pytest.raises(ValueError, match=r"^x:"):
        saturate(np.array([1.0]))


@SETTINGS
@given(data=st.data())
def test_saturating_add_matches_clipped_sum(data):
    shape = data.draw(small_shapes)
    x = data.draw(ints((-127, 127), shape))
    y = data.draw(ints((-127, 127), shape))
    assert_exact(saturating_add(x, y),
                 np.vectorize(lambda a, b: ref_clip(a + b), otypes=[object])(x, y))


@pytest.mark.parametrize("x, y, expected", [
    (127, 127, 127), (-127, -127, -127), (127, -127, 0), (100, 27, 127), (100, 28, 127),
    (-100, -27, -127), (-100, -28, -127), (126, 0, 126), (0, 0, 0),
])
def test_saturating_add_ends(x, y, expected):
    assert int(saturating_add(x, y)) == expected


def test_saturating_add_custom_bound():
    assert int(saturating_add(1000, 1000, bound=1500)) == 1500
    assert int(saturating_add(-1000, -1000, bound=1500)) == -1500


@pytest.mark.parametrize("x, y, name", [
    (128, 0, "x"), (-128, 0, "x"), (0, 128, "y"), (0, -128, "y"),
    (1.0, 0, "x"), (0, np.float64(1.0), "y"),
    (np.zeros(3, int), np.zeros(4, int), "y"), (np.zeros((2, 3), int), np.zeros(3, int), "y"),
])
def test_saturating_add_bad_input(x, y, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        saturating_add(x, y)


# --- quantized_bn --------------------------------------------------------------------------------

@SETTINGS
@given(s=ints((-127, 127), small_shapes), scale=st.integers(*INT16), bias=st.integers(*INT16),
       frac_bits=st.integers(0, 15))
def test_quantized_bn_scalar_params(s, scale, bias, frac_bits):
    assert_exact(quantized_bn(s, scale, bias, frac_bits),
                 elementwise(ref_quantized_bn, s, scale, bias, frac_bits=frac_bits))


@SETTINGS
@given(data=st.data(), frac_bits=st.integers(0, 15))
def test_quantized_bn_per_channel(data, frac_bits):
    s, channels = data.draw(channel_tensor((-127, 127)))
    scale = data.draw(per_channel(INT16, channels))
    bias = data.draw(per_channel(INT16, channels))
    assert_exact(quantized_bn(s, scale, bias, frac_bits),
                 elementwise(ref_quantized_bn, s, scale, bias, frac_bits=frac_bits))


def test_quantized_bn_per_channel_axis_is_1():
    s = np.ones((2, 3, 2, 2), dtype=np.int64)
    y = quantized_bn(s, np.array([1, 2, 3]), np.array([10, 20, 30]), 0)
    assert y.shape == (2, 3, 2, 2)
    for c, value in enumerate([11, 22, 33]):
        assert (y[:, c] == value).all()
    y2 = quantized_bn(np.ones((4, 3), dtype=np.int64), np.array([1, 2, 3]), 0, 0)
    assert y2.tolist() == [[1, 2, 3]] * 4


@pytest.mark.parametrize("s, scale, bias, frac_bits, expected", [
    # exactly at the ends, one past them, far beyond
    (127, 1, 0, 0, 127), (-127, 1, 0, 0, -127), (127, 1, 1, 0, 127), (-127, 1, -1, 0, -127),
    (126, 1, 1, 0, 127), (-126, 1, -1, 0, -127),
    (127, 32767, 32767, 0, 127), (-127, 32767, -32768, 0, -127), (127, -32768, -32768, 0, -127),
    (-127, -32768, 32767, 0, 127),
    # ties (F = 1): 2.5 -> 3, -2.5 -> -2, -0.5 -> 0, 0.5 -> 1
    (5, 1, 0, 1, 3), (-5, 1, 0, 1, -2), (-1, 1, 0, 1, 0), (1, 1, 0, 1, 1),
    (0, 1, 5, 1, 3), (0, 1, -5, 1, -2),
    # ties at the clip points: 127.5 -> 128 -> 127, -127.5 -> -127, -128.5 -> -128 -> -127
    (127, 2, 1, 1, 127), (-127, 2, -1, 1, -127), (-127, 2, -3, 1, -127),
    (127, 1, 0, 1, 64), (-127, 1, 0, 1, -63),
    # F = 15 extremes
    (-127, -32768, -32768, 15, 126), (127, 32767, 32767, 15, 127),
    (1, 1, 0, 15, 0), (1, 16384, 0, 15, 1), (-1, 16384, 0, 15, 0), (-3, 16384, 0, 15, -1),
])
def test_quantized_bn_explicit(s, scale, bias, frac_bits, expected):
    assert ref_quantized_bn(s, scale, bias, frac_bits) == expected  # reference sanity
    assert int(quantized_bn(s, scale, bias, frac_bits)) == expected


def test_quantized_bn_accepts_narrow_dtypes_without_wrapping():
    s = np.array([127, -127], dtype=np.int8)
    y = quantized_bn(s, np.int16(32767), np.int16(32767), 0)
    assert y.tolist() == [127, -127]
    y = quantized_bn(s, np.int16(300), np.int16(-32768), 8)
    assert y.tolist() == [ref_quantized_bn(127, 300, -32768, 8),
                          ref_quantized_bn(-127, 300, -32768, 8)]


@pytest.mark.parametrize("kwargs, name", [
    (dict(s=128), "s"), (dict(s=-128), "s"), (dict(s=np.array([0, 200])), "s"),
    (dict(s=1.0), "s"), (dict(s=np.array([1.0])), "s"),
    (dict(scale=32768), "scale"), (dict(scale=-32769), "scale"), (dict(scale=0.5), "scale"),
    (dict(bias=32768), "bias"), (dict(bias=-32769), "bias"), (dict(bias=1.0), "bias"),
    (dict(frac_bits=16), "frac_bits"), (dict(frac_bits=-1), "frac_bits"),
    (dict(frac_bits=1.0), "frac_bits"),
    (dict(scale=np.array([1, 2])), "scale"), (dict(bias=np.array([1, 2, 3, 4])), "bias"),
    (dict(scale=np.ones((3, 1), int)), "scale"),
])
def test_quantized_bn_bad_input(kwargs, name):
    args = dict(s=np.zeros((2, 3, 2, 2), int), scale=1, bias=0, frac_bits=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}:"):
        quantized_bn(args["s"], args["scale"], args["bias"], args["frac_bits"])


def test_quantized_bn_per_channel_needs_channel_axis():
    with pytest.raises(ValueError, match=r"^scale:"):
        quantized_bn(np.zeros(3, int), np.array([1, 2, 3]), 0, 0)


# --- requantize ----------------------------------------------------------------------------------

@SETTINGS
@given(acc=ints(INT32, small_shapes), multiplier=st.integers(*MULT), shift=st.integers(0, 48))
def test_requantize_scalar_params(acc, multiplier, shift):
    assert_exact(requantize(acc, multiplier, shift),
                 elementwise(ref_requantize, acc, multiplier, frac_bits=shift))


@SETTINGS
@given(data=st.data(), shift=st.integers(0, 48))
def test_requantize_per_channel(data, shift):
    acc, channels = data.draw(channel_tensor(INT32))
    multiplier = data.draw(per_channel(MULT, channels))
    assert_exact(requantize(acc, multiplier, shift),
                 elementwise(ref_requantize, acc, multiplier, frac_bits=shift))


@SETTINGS
@given(acc=st.integers(-(1 << 20), 1 << 20), shift=st.integers(0, 48),
       multiplier=st.integers(*MULT))
def test_requantize_near_unity_scales(acc, shift, multiplier):
    # small results (not saturated) are where rounding matters most
    got = int(requantize(acc, multiplier, shift))
    assert got == ref_requantize(acc, multiplier, shift)


@pytest.mark.parametrize("acc, multiplier, shift, expected", [
    (127, 1, 0, 127), (-127, 1, 0, -127), (128, 1, 0, 127), (-128, 1, 0, -127),
    (INT32[1], 1, 0, 127), (INT32[0], 1, 0, -127), (INT32[0], MULT[1], 0, -127),
    (INT32[0], MULT[0], 0, 127),
    (5, 1, 1, 3), (-5, 1, 1, -2), (1, 1, 1, 1), (-1, 1, 1, 0), (5, -1, 1, -2), (-5, -1, 1, 3),
    (255, 1, 1, 127), (-255, 1, 1, -127), (-257, 1, 1, -127), (253, 1, 1, 127), (-253, 1, 1, -126),
    # ties deep in the fraction: 2**45 / 2**46 = 0.5 -> 1, -0.5 -> 0, just below -0.5 -> -1
    (1 << 30, 1 << 15, 46, 1), (-(1 << 30), 1 << 15, 46, 0), (-(1 << 30) - 1, 1 << 15, 46, -1),
    ((1 << 30) - 1, 1 << 15, 46, 0), (1 << 30, 1 << 15, 47, 0), (-3 << 29, 1 << 15, 46, -1),
    (1 << 15, 1 << 15, 48, 0), (-(1 << 30), -(1 << 15), 46, 1),
    (INT32[1], MULT[1], 48, ref_requantize(INT32[1], MULT[1], 48)),
    (INT32[0], MULT[0], 48, ref_requantize(INT32[0], MULT[0], 48)),
    (INT32[0], MULT[1], 40, -127), (INT32[1], MULT[1], 40, 127),
])
def test_requantize_explicit(acc, multiplier, shift, expected):
    assert ref_requantize(acc, multiplier, shift) == expected
    assert int(requantize(acc, multiplier, shift)) == expected


@pytest.mark.parametrize("kwargs, name", [
    (dict(multiplier=65536), "multiplier"), (dict(multiplier=-65536), "multiplier"),
    (dict(multiplier=np.array([1, 65536, 1])), "multiplier"), (dict(multiplier=1.0), "multiplier"),
    (dict(multiplier=np.array([1, 2])), "multiplier"),
    (dict(shift=49), "shift"), (dict(shift=-1), "shift"), (dict(shift=2.0), "shift"),
    (dict(acc=1 << 31), "acc"), (dict(acc=-(1 << 31) - 1), "acc"),
    (dict(acc=np.array([[0, 0, 1 << 31]])), "acc"), (dict(acc=np.array([[1.0, 2.0, 3.0]])), "acc"),
])
def test_requantize_bad_input(kwargs, name):
    args = dict(acc=np.zeros((1, 3), int), multiplier=1, shift=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}:"):
        requantize(args["acc"], args["multiplier"], args["shift"])


# --- dprelu --------------------------------------------------------------------------------------

@SETTINGS
@given(x=ints(INT8, small_shapes), alpha=st.integers(*INT8), beta=st.integers(*INT8),
       eta=st.integers(*INT16), gamma=st.integers(*INT16), frac_bits=st.integers(0, 15))
def test_dprelu_scalar_params(x, alpha, beta, eta, gamma, frac_bits):
    assert_exact(dprelu(x, alpha, beta, eta, gamma, frac_bits),
                 elementwise(ref_dprelu, x, alpha, beta, eta, gamma, frac_bits=frac_bits))


@SETTINGS
@given(data=st.data(), frac_bits=st.integers(0, 15))
def test_dprelu_per_channel(data, frac_bits):
    x, channels = data.draw(channel_tensor(INT8))
    alpha = data.draw(per_channel(INT8, channels))
    beta = data.draw(per_channel(INT8, channels))
    eta = data.draw(per_channel(INT16, channels))
    gamma = data.draw(per_channel(INT16, channels))
    assert_exact(dprelu(x, alpha, beta, eta, gamma, frac_bits),
                 elementwise(ref_dprelu, x, alpha, beta, eta, gamma, frac_bits=frac_bits))


@SETTINGS
@given(x=ints(INT8, (2, 3)), alpha=st.integers(-8, 8), beta=st.integers(-8, 8),
       eta=st.integers(-64, 64), gamma=st.integers(-64, 64), frac_bits=st.integers(0, 6))
def test_dprelu_small_params(x, alpha, beta, eta, gamma, frac_bits):
    # unsaturated region, where rounding and branch selection are visible
    assert_exact(dprelu(x, alpha, beta, eta, gamma, frac_bits),
                 elementwise(ref_dprelu, x, alpha, beta, eta, gamma, frac_bits=frac_bits))


@pytest.mark.parametrize("x, alpha, beta, eta, gamma, frac_bits, expected", [
    # d == 0 takes the gamma branch: 0 * gamma = 0, y = -beta whatever eta is
    (5, 5, 7, 32767, 0, 0, -7), (5, 5, -7, -32768, 3, 4, 7),
    # branch selection: d > 0 -> eta, d <= 0 -> gamma
    (3, 0, 0, 2, 5, 0, 6), (-3, 0, 0, 2, 5, 0, -15), (1, 0, 0, 1, -1, 0, 1),
    (-1, 0, 0, 1, -1, 0, 1),
    # ties with F = 1: 2.5 -> 3, -2.5 -> -2, -0.5 -> 0
    (5, 0, 0, 1, 1, 1, 3), (-5, 0, 0, 1, 1, 1, -2), (-1, 0, 0, 1, 1, 1, 0), (0, 1, 0, 7, 1, 1, 0),
    (1, 0, 0, 1, 1, 1, 1), (-5, 0, 0, 9, -1, 1, 3),
    # saturation at both ends and exactly at them
    (127, 0, 0, 1, 1, 0, 127), (-127, 0, 0, 1, 1, 0, -127), (-128, 0, 0, 1, 1, 0, -127),
    (127, -1, 0, 1, 1, 0, 127), (127, -128, 0, 1, 1, 0, 127), (-128, 127, 0, 1, 1, 0, -127),
    (127, 0, -128, 1, 1, 0, 127), (-128, 127, 127, 1, 1, 0, -127), (0, 0, -128, 1, 1, 0, 127),
    (0, 0, 127, 1, 1, 0, -127), (0, 1, 127, 1, 1, 0, -127), (0, -1, -128, 1, 1, 0, 127),
    (127, -128, 0, 32767, 1, 0, 127), (-128, 127, 0, 1, 32767, 0, -127),
    (-128, 127, 0, 1, -32768, 0, 127), (127, -128, 0, -32768, 1, 0, -127),
    # clip happens once, after subtracting beta: d*eta = 227 is not clipped to 127 first
    (127, -100, 100, 1, 1, 0, 127), (127, -100, 127, 1, 1, 0, 100),
    (-128, 100, -101, 1, 1, 0, -127), (-128, 100, -128, 1, 1, 0, -100),
    (-128, 127, -128, 1, 1, 0, -127),
    # F = 15 with int16 extremes
    (127, -128, 0, 32767, 0, 15, 127), (127, -128, 0, 16384, 0, 15, 127),
    (64, 0, 0, 16384, 0, 15, 32),
    (-5, 0, 0, 0, 16384, 15, -2), (5, 0, 0, 16384, 0, 15, 3),
    (-128, 127, 0, 0, -32768, 15, 127), (-128, 127, -128, 0, 32767, 15, -127),
])
def test_dprelu_explicit(x, alpha, beta, eta, gamma, frac_bits, expected):
    assert ref_dprelu(x, alpha, beta, eta, gamma, frac_bits) == expected
    assert int(dprelu(x, alpha, beta, eta, gamma, frac_bits)) == expected


def test_dprelu_accepts_int8_arrays_without_wrapping():
    x = np.array([[-128, 127]], dtype=np.int8)
    alpha = np.array([127, -128], dtype=np.int8)
    beta = np.array([0, 0], dtype=np.int8)
    eta = np.array([1, 1], dtype=np.int16)
    gamma = np.array([1, 1], dtype=np.int16)
    y = dprelu(x, alpha, beta, eta, gamma, 1)
    # d = -255 -> -127.5 -> -127 ; d = 255 -> 127.5 -> 128 -> 127
    assert y.tolist() == [[-127, 127]]
    assert int(dprelu(np.int8(-128), np.int8(127), np.int8(0), np.int16(1), np.int16(1), 2)) == -64


def test_dprelu_per_channel_axis_is_1():
    x = np.zeros((2, 3, 2, 2), dtype=np.int64)
    y = dprelu(x, np.array([-1, -2, -3]), np.array([0, 1, 2]), 1, 1, 0)
    # d = 1, 2, 3 -> y = d - beta = 1, 1, 1
    assert (y == 1).all()
    y = dprelu(x, 0, np.array([-1, -2, -3]), 1, 1, 0)
    for c in range(3):
        assert (y[:, c] == c + 1).all()
    y2 = dprelu(np.full((4, 3), 10), np.array([0, 20, 10]), 0, np.array([2, 2, 2]),
                np.array([3, 3, 3]), 0)
    assert y2.tolist() == [[20, -30, 0]] * 4


@pytest.mark.parametrize("kwargs, name", [
    (dict(x=128), "x"), (dict(x=-129), "x"), (dict(x=np.array([[1.0, 2.0, 3.0]])), "x"),
    (dict(alpha=128), "alpha"), (dict(alpha=-129), "alpha"), (dict(alpha=0.0), "alpha"),
    (dict(beta=128), "beta"), (dict(beta=-129), "beta"),
    (dict(eta=32768), "eta"), (dict(eta=-32769), "eta"),
    (dict(gamma=32768), "gamma"), (dict(gamma=-32769), "gamma"), (dict(gamma=1.5), "gamma"),
    (dict(frac_bits=16), "frac_bits"), (dict(frac_bits=-1), "frac_bits"),
    (dict(alpha=np.array([1, 2])), "alpha"), (dict(beta=np.array([1, 2, 3, 4])), "beta"),
    (dict(eta=np.array([1, 2])), "eta"), (dict(gamma=np.array([1, 2])), "gamma"),
])
def test_dprelu_bad_input(kwargs, name):
    args = dict(x=np.zeros((1, 3), int), alpha=0, beta=0, eta=1, gamma=1, frac_bits=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}:"):
        dprelu(args["x"], args["alpha"], args["beta"], args["eta"], args["gamma"],
               args["frac_bits"])
