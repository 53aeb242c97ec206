"""bnnhw.golden.int8 against a naive loop convolution in exact Python integers."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnhw.golden import int8_conv2d, int8_dense, requantize

from .loop_reference import loop_conv2d

# Derandomization comes from the "ci" profile in tests/conftest.py (HYPOTHESIS_PROFILE=dev for
# fresh examples); per-module settings only bound the example count.
SETTINGS = settings(
    max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

INT32_MAX = (1 << 31) - 1


def ref_conv2d(x, w, bias=None, stride=1, padding=0, groups=1):
    """Direct convolution: for each output, sum x*w over the window; the border is zero."""
    out = loop_conv2d(x, w, stride=stride, padding=padding, groups=groups, fill=0,
                      product=lambda pixel, weight: pixel * weight)
    if bias is not None:
        out = out + np.array([int(b) for b in bias], dtype=object).reshape(1, -1, 1, 1)
    return out


def ref_dense(x, w, bias=None):
    x, w = np.asarray(x), np.asarray(w)
    out = np.zeros((x.shape[0], w.shape[0]), dtype=object)
    for b in range(x.shape[0]):
        for o in range(w.shape[0]):
            out[b, o] = sum(int(a) * int(c) for a, c in zip(x[b], w[o])) + (
                0 if bias is None else int(bias[o]))
    return out


def assert_exact(got, expected):
    got = np.asarray(got)
    assert got.dtype == np.int64
    assert got.shape == expected.shape
    assert got.tolist() == expected.tolist()


def int8s(shape):
    return hnp.arrays(np.int64, shape, elements=st.integers(-128, 127))


@st.composite
def conv_case(draw, depthwise=False):
    if depthwise:
        groups = draw(st.integers(1, 4))
        per_group, out_per_group = 1, 1
    else:
        groups = draw(st.integers(1, 3))
        per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    c_in, c_out = groups * per_group, groups * out_per_group
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    padding = draw(st.sampled_from([(ph, pw), ph, [ph, pw]]))
    if isinstance(padding, int):
        pw = ph  # a scalar pads both axes alike
    height = draw(st.integers(max(1, kh - 2 * ph), 7))
    width = draw(st.integers(max(1, kw - 2 * pw), 7))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.sampled_from([(sh, sw), sh, [sh, sw]]))
    x = draw(int8s((draw(st.integers(1, 2)), c_in, height, width)))
    w = draw(int8s((c_out, per_group, kh, kw)))
    bias = draw(st.none() | hnp.arrays(np.int64, (c_out,),
                                       elements=st.integers(-(1 << 30), 1 << 30)))
    return x, w, bias, stride, padding, groups


@SETTINGS
@given(case=conv_case())
def test_conv2d_matches_loop_reference(case):
    x, w, bias, stride, padding, groups = case
    got = int8_conv2d(x, w, bias, stride=stride, padding=padding, groups=groups)
    assert_exact(got, ref_conv2d(x, w, bias, stride, padding, groups))


@SETTINGS
@given(case=conv_case(depthwise=True))
def test_depthwise_conv2d_matches_loop_reference(case):
    x, w, bias, stride, padding, groups = case
    assert x.shape[1] == w.shape[0] == groups
    got = int8_conv2d(x, w, bias, stride=stride, padding=padding, groups=groups)
    assert_exact(got, ref_conv2d(x, w, bias, stride, padding, groups))


def test_depthwise_channels_do_not_mix():
    x = np.zeros((1, 3, 3, 3), dtype=np.int64)
    x[0, 1] = 5  # only channel 1 is non-zero
    w = np.ones((3, 1, 3, 3), dtype=np.int64)
    y = int8_conv2d(x, w, padding=1, groups=3)
    assert (y[0, 0] == 0).all() and (y[0, 2] == 0).all()
    assert y[0, 1].tolist() == [[20, 30, 20], [30, 45, 30], [20, 30, 20]]


def test_grouped_conv_uses_pytorch_group_order():
    # 4 inputs, 2 outputs, 2 groups: output 0 sees inputs 0-1, output 1 sees inputs 2-3
    x = np.array([1, 2, 4, 8], dtype=np.int64).reshape(1, 4, 1, 1)
    w = np.array([1, 10, 100, -100], dtype=np.int64).reshape(2, 2, 1, 1)
    y = int8_conv2d(x, w, groups=2)
    assert y.reshape(-1).tolist() == [1 * 1 + 2 * 10, 4 * 100 - 8 * 100]


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), channels=st.sampled_from([1, 2, 3]),
       hidden=st.sampled_from([2, 4]))
def test_pokeinit_stem(seed, channels, hidden):
    """PokeInit: 4x4 stride-4 int8 conv on 8x8, requantize, 3x3 depthwise padding 1."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(2, channels, 8, 8))
    w1 = rng.integers(-128, 128, size=(hidden, channels, 4, 4))
    b1 = rng.integers(-1000, 1000, size=hidden)
    acc1 = int8_conv2d(x, w1, b1, stride=4)
    assert acc1.shape == (2, hidden, 2, 2)
    assert_exact(acc1, ref_conv2d(x, w1, b1, stride=4))
    a1 = requantize(acc1, rng.integers(1, 1 << 16, size=hidden), 20)
    w2 = rng.integers(-128, 128, size=(hidden, 1, 3, 3))
    b2 = rng.integers(-1000, 1000, size=hidden)
    acc2 = int8_conv2d(a1, w2, b2, padding=1, groups=hidden)
    assert acc2.shape == (2, hidden, 2, 2)
    assert_exact(acc2, ref_conv2d(a1, w2, b2, padding=1, groups=hidden))


@pytest.mark.parametrize("xv, wv", [(-128, -128), (127, -128), (-128, 127), (127, 127)])
def test_conv2d_extremes_count_real_taps_only(xv, wv):
    x = np.full((2, 2, 4, 5), xv, dtype=np.int64)
    w = np.full((3, 2, 3, 3), wv, dtype=np.int64)
    bias = np.array([-1000, 0, 1000])
    y = int8_conv2d(x, w, bias, padding=1)
    taps_h = np.array([2, 3, 3, 2])
    taps_w = np.array([2, 3, 3, 3, 2])
    taps = 2 * np.outer(taps_h, taps_w)  # interior 18, edges 12, corners 8
    expected = xv * wv * taps[None, None] + bias.reshape(1, 3, 1, 1)
    assert_exact(y, np.broadcast_to(expected, (2, 3, 4, 5)).astype(object))
    assert_exact(y, ref_conv2d(x, w, bias, padding=1))


def test_conv2d_narrow_dtypes_do_not_wrap():
    x = np.full((1, 1, 2, 2), -128, dtype=np.int8)
    w = np.full((1, 1, 2, 2), -128, dtype=np.int8)
    y = int8_conv2d(x, w, np.array([7], dtype=np.int32))
    assert y.dtype == np.int64
    assert y.tolist() == [[[[4 * 16384 + 7]]]]


# --- int32 accumulator bound (data independent) ------------------------------------------------

FAN_IN = 1 << 17  # 128 * 128 * 2**17 = 2**31


def test_dense_overflow_bound_raises_on_weights_alone():
    w = np.full((1, FAN_IN), -128, dtype=np.int64)  # 128 * sum|w| = 2**31 > 2**31 - 1
    x = np.zeros((1, FAN_IN), dtype=np.int64)  # the data cannot reach it, the check is static
    with pytest.raises(ValueError, match=r"^w:"):
        int8_dense(x, w)


def test_dense_overflow_bound_just_fits():
    w = np.full((1, FAN_IN), -128, dtype=np.int64)
    w[0, 0] = -127  # 128 * sum|w| = 2**31 - 128
    x = np.full((1, FAN_IN), -128, dtype=np.int64)
    y = int8_dense(x, w, np.array([127]))  # 2**31 - 128 + 127 = INT32_MAX exactly
    assert y.tolist() == [[INT32_MAX]]
    y = int8_dense(x, w, np.array([-127]))
    assert y.tolist() == [[INT32_MAX - 254]]
    with pytest.raises(ValueError, match=r"^w:"):
        int8_dense(x, w, np.array([128]))
    with pytest.raises(ValueError, match=r"^w:"):
        int8_dense(x, w, np.array([-128]))


def test_conv_overflow_bound_names_the_channel():
    w = np.zeros((2, FAN_IN // 64, 8, 8), dtype=np.int64)
    w[1] = 127
    w[1, 0, 0, 0] = -128  # channel 1: 128 * (127 * (2**17 - 1) + 128) < 2**31
    x = np.full((1, FAN_IN // 64, 8, 8), -128, dtype=np.int64)
    y = int8_conv2d(x, w)
    assert y.tolist() == [[[[0]], [[-128 * (127 * (FAN_IN - 1) - 128)]]]]
    w[1] = -128  # now 2**31
    with pytest.raises(ValueError, match=r"^w:.*channel 1\b"):
        int8_conv2d(np.zeros_like(x), w)


def test_conv_overflow_bound_counts_bias():
    w = np.full((1, FAN_IN // 64, 8, 8), 127, dtype=np.int64)  # 128 * 127 * 2**17 = 2**31 - 2**24
    x = np.zeros((1, FAN_IN // 64, 8, 8), dtype=np.int64)
    spare = INT32_MAX - 128 * 127 * FAN_IN
    assert int8_conv2d(x, w, np.array([spare])).tolist() == [[[[spare]]]]
    assert int8_conv2d(x, w, np.array([-spare])).tolist() == [[[[-spare]]]]
    with pytest.raises(ValueError, match=r"^w:"):
        int8_conv2d(x, w, np.array([spare + 1]))
    with pytest.raises(ValueError, match=r"^w:"):
        int8_conv2d(x, w, np.array([-spare - 1]))


# --- dense ----------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_dense_matches_loop_reference(data):
    batch, n, c_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 20)), data.draw(
        st.integers(1, 5))
    x = data.draw(int8s((batch, n)))
    w = data.draw(int8s((c_out, n)))
    bias = data.draw(st.none() | hnp.arrays(np.int64, (c_out,),
                                            elements=st.integers(-(1 << 30), 1 << 30)))
    assert_exact(int8_dense(x, w, bias), ref_dense(x, w, bias))


@pytest.mark.parametrize("xv, wv", [(-128, -128), (127, -128), (-128, 127), (127, 127)])
def test_dense_extremes(xv, wv):
    x = np.full((2, 300), xv)
    w = np.full((4, 300), wv)
    assert (int8_dense(x, w) == 300 * xv * wv).all()


# --- bad input ------------------------------------------------------------------------------------

def conv_args(**changes):
    args = dict(x=np.zeros((1, 4, 5, 5), int), w=np.zeros((2, 2, 3, 3), int),
                bias=np.zeros(2, int), groups=2)
    args.update(changes)
    return args


@pytest.mark.parametrize("changes, name", [
    (dict(x=np.full((1, 4, 5, 5), 128)), "x"), (dict(x=np.full((1, 4, 5, 5), -129)), "x"),
    (dict(x=np.zeros((1, 4, 5, 5))), "x"), (dict(x=np.zeros((4, 5, 5), int)), "x"),
    (dict(w=np.full((2, 2, 3, 3), 128)), "w"), (dict(w=np.full((2, 2, 3, 3), -129)), "w"),
    (dict(w=np.zeros((2, 2, 3, 3))), "w"), (dict(w=np.zeros((2, 3, 3, 3), int)), "w"),
    (dict(w=np.zeros((2, 2, 7, 3), int)), "w"),
    (dict(bias=np.zeros(3, int)), "bias"), (dict(bias=np.zeros((2, 1), int)), "bias"),
    (dict(bias=np.zeros(2)), "bias"), (dict(bias=np.array([0, 1 << 31])), "bias"),
    (dict(bias=np.array([-(1 << 31) - 1, 0])), "bias"),
    (dict(groups=3), "groups"), (dict(groups=0), "groups"),
    (dict(w=np.zeros((3, 2, 3, 3), int), bias=np.zeros(3, int)), "groups"),
    (dict(stride=0), "stride"), (dict(padding=-1), "padding"),
])
def test_conv2d_bad_input(changes, name):
    args = conv_args(**changes)
    x, w, bias = args.pop("x"), args.pop("w"), args.pop("bias")
    with pytest.raises(ValueError, match=rf"^{name}:"):
        int8_conv2d(x, w, bias, **args)


def test_conv2d_bad_input_baseline_is_valid():
    args = conv_args()
    x, w, bias = args.pop("x"), args.pop("w"), args.pop("bias")
    assert int8_conv2d(x, w, bias, **args).shape == (1, 2, 3, 3)


@pytest.mark.parametrize("x, w, bias, name", [
    (np.full((1, 3), 128), np.zeros((2, 3), int), None, "x"),
    (np.zeros((1, 3), int), np.full((2, 3), -129), None, "w"),
    (np.zeros((1, 3)), np.zeros((2, 3), int), None, "x"),
    (np.zeros((1, 3), int), np.zeros((2, 4), int), None, "w"),
    (np.zeros((1, 3), int), np.zeros((2, 3), int), np.zeros(3, int), "bias"),
    (np.zeros(3, int), np.zeros((2, 3), int), None, "x"),
])
def test_dense_bad_input(x, w, bias, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        int8_dense(x, w, bias)
