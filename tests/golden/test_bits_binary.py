"""Golden model: binary encodings, bit packing, XNOR/AND popcounts, binary dense and conv2d.

Every layer function is checked against a deliberately naive float64 reference written here
(explicit padding with the pad value, explicit group slicing, one output at a time), not against
the im2col/BLAS path golden itself uses.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnhw.golden import (
    and_popcount, binary_conv2d, binary_dense, bits_to_int, bits_to_pm1, conv_fan_in,
    int_to_bits, pack_bits, pad_bit, pm1_to_bits, popcount, unpack_bits, xnor_dot,
    xnor_popcount,
)

SEEDS = st.integers(0, 2**32 - 1)
FILLS = st.sampled_from(["random", "random", "random", "zeros", "ones"])


def random_bits(rng, shape, fill="random"):
    if fill == "zeros":
        return np.zeros(shape, dtype=np.uint8)
    if fill == "ones":
        return np.ones(shape, dtype=np.uint8)
    return rng.integers(0, 2, size=shape, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Encodings
# --------------------------------------------------------------------------------------------

@settings(max_examples=40)
@given(seed=SEEDS, shape=st.lists(st.integers(0, 6), min_size=0, max_size=3))
def test_pm1_bits_round_trip(seed, shape):
    rng = np.random.default_rng(seed)
    pm1 = rng.choice(np.array([-1, 1], dtype=np.int64), size=shape)
    bits = pm1_to_bits(pm1)
    assert bits.shape == pm1.shape
    assert set(np.unique(bits).tolist()) <= {0, 1}
    np.testing.assert_array_equal(bits, (pm1 == 1).astype(np.uint8))
    back = bits_to_pm1(bits)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, pm1)
    np.testing.assert_array_equal(pm1_to_bits(bits_to_pm1(bits)), bits)


def test_pm1_encoding_is_bit1_plus1():
    np.testing.assert_array_equal(bits_to_pm1([0, 1, 1, 0]), [-1, 1, 1, -1])
    np.testing.assert_array_equal(pm1_to_bits([-1, 1, 1, -1]), [0, 1, 1, 0])
    np.testing.assert_array_equal(bits_to_pm1(np.array([True, False])), [1, -1])


# --------------------------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------------------------

@settings(max_examples=60)
@given(seed=SEEDS, shape=st.lists(st.integers(0, 19), min_size=1, max_size=3), data=st.data())
def test_pack_unpack_round_trip_and_bit_order(seed, shape, data):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1), label="axis")
    rng = np.random.default_rng(seed)
    bits = random_bits(rng, shape)
    count = shape[axis]

    packed = pack_bits(bits, axis=axis)
    assert packed.dtype == np.uint8
    expected_shape = list(shape)
    expected_shape[axis] = (count + 7) // 8
    assert list(packed.shape) == expected_shape

    np.testing.assert_array_equal(unpack_bits(packed, count, axis=axis), bits)

    # Independent bit order: element i along axis -> bit i % 8 of byte i // 8; rest zero.
    moved_bits = np.moveaxis(bits, axis, -1).astype(np.int64)
    moved_packed = np.moveaxis(packed, axis, -1).astype(np.int64)
    expected = np.zeros(moved_packed.shape, dtype=np.int64)
    for i in range(count):
        expected[..., i // 8] |= moved_bits[..., i] << (i % 8)
    np.testing.assert_array_equal(moved_packed, expected)


def test_pack_bit_order_single_bits():
    for n in (1, 7, 8, 9, 16, 17, 64, 65):
        for i in range(n):
            bits = np.zeros(n, dtype=np.uint8)
            bits[i] = 1
            packed = pack_bits(bits)
            assert packed.shape == ((n + 7) // 8,)
            expected = np.zeros_like(packed)
            expected[i // 8] = 1 << (i % 8)
            np.testing.assert_array_equal(packed, expected)
            assert bits_to_int(bits) == 1 << i
            np.testing.assert_array_equal(int_to_bits(1 << i, n), bits)


def test_pack_known_bytes():
    # element 0 is the least significant bit of byte 0
    np.testing.assert_array_equal(pack_bits([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]), [0x01, 0x02])
    np.testing.assert_array_equal(pack_bits([0, 0, 0, 0, 0, 0, 0, 1]), [0x80])
    np.testing.assert_array_equal(pack_bits([1, 1, 0, 1]), [0x0B])
    np.testing.assert_array_equal(unpack_bits(np.array([0x0B], np.uint8), 4), [1, 1, 0, 1])
    assert bits_to_int([1, 1, 0, 1]) == 0b1011


def test_unpack_partial_count():
    packed = np.array([0xFF, 0x03], dtype=np.uint8)
    np.testing.assert_array_equal(unpack_bits(packed, 10), [1] * 10)
    np.testing.assert_array_equal(unpack_bits(packed, 0), np.zeros(0))
    np.testing.assert_array_equal(unpack_bits(packed, 16), [1] * 10 + [0] * 6)


# --------------------------------------------------------------------------------------------
# Integers
# --------------------------------------------------------------------------------------------

@settings(max_examples=80)
@given(value=st.integers(0, 2**300), extra=st.integers(0, 70))
def test_int_bits_round_trip_wide(value, extra):
    width = value.bit_length() + extra
    bits = int_to_bits(value, width)
    assert bits.shape == (width,)
    assert set(np.unique(bits).tolist()) <= {0, 1}
    assert [int(b) for b in bits] == [(value >> i) & 1 for i in range(width)]
    assert bits_to_int(bits) == value
    assert isinstance(bits_to_int(bits), int)


@settings(max_examples=60)
@given(seed=SEEDS, width=st.integers(0, 300))
def test_bits_int_round_trip(seed, width):
    bits = random_bits(np.random.default_rng(seed), width)
    value = bits_to_int(bits)
    assert value == sum(int(b) << i for i, b in enumerate(bits))
    np.testing.assert_array_equal(int_to_bits(value, width), bits)


@pytest.mark.parametrize("width", [63, 64, 65, 127, 128, 129, 200, 1000])
def test_int_bits_beyond_64(width):
    for value in (0, 1, 2**width - 1, 2**(width - 1), 2**(width - 1) + 12345):
        bits = int_to_bits(value, width)
        assert bits_to_int(bits) == value
    assert bits_to_int(np.ones(width, dtype=np.uint8)) == 2**width - 1
    assert int(int_to_bits(2**(width - 1), width)[width - 1]) == 1


def test_int_to_bits_numpy_scalars():
    assert bits_to_int(int_to_bits(np.uint64(2**64 - 1), 64)) == 2**64 - 1
    assert bits_to_int(int_to_bits(np.int64(5), np.int64(3))) == 5


# --------------------------------------------------------------------------------------------
# Dot products
# --------------------------------------------------------------------------------------------

@settings(max_examples=60)
@given(seed=SEEDS, n=st.integers(1, 300), batch=st.integers(1, 5), out=st.integers(1, 4),
       fill_a=FILLS, fill_w=FILLS)
def test_xnor_dot_equals_pm1_dot(seed, n, batch, out, fill_a, fill_w):
    rng = np.random.default_rng(seed)
    a = random_bits(rng, (batch, 1, n), fill_a)
    w = random_bits(rng, (out, n), fill_w)
    p = xnor_popcount(a, w)
    assert p.shape == (batch, out) and p.dtype == np.int64
    assert (p >= 0).all() and (p <= n).all()
    s = xnor_dot(p, n)
    ref = np.einsum("bxn,on->bo", bits_to_pm1(a).astype(np.float64),
                    bits_to_pm1(w).astype(np.float64))
    np.testing.assert_array_equal(s, ref)
    # popcount of the explicit XNOR
    np.testing.assert_array_equal(p, popcount(1 - (a ^ w[None]), axis=-1))
    # the vector case
    np.testing.assert_array_equal(xnor_dot(xnor_popcount(a[0, 0], w[0]), n), ref[0, 0])


@settings(max_examples=60)
@given(seed=SEEDS, n=st.integers(1, 300), batch=st.integers(1, 5), out=st.integers(1, 4),
       fill_a=FILLS, fill_w=FILLS)
def test_and_popcount_equals_01_dot(seed, n, batch, out, fill_a, fill_w):
    rng = np.random.default_rng(seed)
    a = random_bits(rng, (batch, 1, n), fill_a)
    w = random_bits(rng, (out, n), fill_w)
    p = and_popcount(a, w)
    assert p.shape == (batch, out) and p.dtype == np.int64
    ref = np.einsum("bxn,on->bo", a.astype(np.float64), w.astype(np.float64))
    np.testing.assert_array_equal(p, ref)
    np.testing.assert_array_equal(p, popcount(a & w[None], axis=-1))


def test_xnor_dot_formula():
    np.testing.assert_array_equal(xnor_dot(np.arange(6), 5), [-5, -3, -1, 1, 3, 5])
    np.testing.assert_array_equal(xnor_dot([0, 2, 4], 4), [-4, 0, 4])


# --------------------------------------------------------------------------------------------
# Naive references for the layers
# --------------------------------------------------------------------------------------------

def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def naive_dense(x, w, op):
    """Float64 dot per (sample, output): ±1 dot for xnor, {0,1} dot for and."""
    if op == "xnor":
        xv, wv = 2.0 * x - 1.0, 2.0 * w - 1.0
    else:
        xv, wv = x.astype(np.float64), w.astype(np.float64)
    out = np.zeros((x.shape[0], w.shape[0]))
    for b in range(x.shape[0]):
        for o in range(w.shape[0]):
            out[b, o] = float(np.sum(xv[b] * wv[o]))
    return out


def naive_conv(x, w, *, stride, padding, pad_value, groups, op):
    """Float64 conv, one output at a time, explicit pad and explicit group slicing.

    XNOR: values ±1 and the border holds ``pad_value`` (±1). AND: values {0, 1} and the border
    holds the pad bit (1 for +1, 0 for -1).
    """
    batch, channels, height, width = x.shape
    c_out, c_group, kh, kw = w.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    if op == "xnor":
        xv, wv, fill = 2.0 * x - 1.0, 2.0 * w - 1.0, float(pad_value)
    else:
        xv, wv = x.astype(np.float64), w.astype(np.float64)
        fill = 1.0 if pad_value == 1 else 0.0
    padded = np.full((batch, channels, height + 2 * ph, width + 2 * pw), fill)
    padded[:, :, ph:ph + height, pw:pw + width] = xv
    h_out = (height + 2 * ph - kh) // sh + 1
    w_out = (width + 2 * pw - kw) // sw + 1
    out_per_group = c_out // groups
    out = np.zeros((batch, c_out, h_out, w_out))
    for b in range(batch):
        for o in range(c_out):
            g = o // out_per_group
            channel_slice = slice(g * c_group, (g + 1) * c_group)
            for i in range(h_out):
                for j in range(w_out):
                    window = padded[b, channel_slice, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[b, o, i, j] = float(np.sum(window * wv[o]))
    return out


def check_conv(x, w, *, stride, padding, pad_value, groups, op):
    p = binary_conv2d(x, w, stride=stride, padding=padding, pad_value=pad_value, groups=groups,
                      op=op)
    ref = naive_conv(x, w, stride=stride, padding=padding, pad_value=pad_value, groups=groups,
                     op=op)
    n = conv_fan_in(w)
    assert n == w.shape[1] * w.shape[2] * w.shape[3]
    assert p.dtype == np.int64
    assert p.shape == ref.shape
    assert (p >= 0).all() and (p <= n).all()
    if op == "xnor":
        np.testing.assert_array_equal(2 * p - n, ref)
        np.testing.assert_array_equal(xnor_dot(p, n), ref)
    else:
        np.testing.assert_array_equal(p, ref)
    return p


# --------------------------------------------------------------------------------------------
# binary_dense
# --------------------------------------------------------------------------------------------

@settings(max_examples=60)
@given(seed=SEEDS, n=st.integers(1, 200), batch=st.integers(1, 4), out=st.integers(1, 6),
       op=st.sampled_from(["xnor", "and"]), fill_x=FILLS, fill_w=FILLS)
def test_binary_dense_vs_naive(seed, n, batch, out, op, fill_x, fill_w):
    rng = np.random.default_rng(seed)
    x = random_bits(rng, (batch, n), fill_x)
    w = random_bits(rng, (out, n), fill_w)
    p = binary_dense(x, w, op=op)
    assert p.shape == (batch, out) and p.dtype == np.int64
    ref = naive_dense(x, w, op)
    if op == "xnor":
        np.testing.assert_array_equal(2 * p - n, ref)
    else:
        np.testing.assert_array_equal(p, ref)
    assert (p >= 0).all() and (p <= n).all()


def test_binary_dense_default_op_is_xnor_and_accepts_bools():
    x = np.array([[1, 0, 1]], dtype=np.uint8)
    w = np.array([[1, 1, 0], [1, 0, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(binary_dense(x, w), [[1, 3]])
    np.testing.assert_array_equal(binary_dense(x.astype(bool), w.astype(bool)), [[1, 3]])
    np.testing.assert_array_equal(binary_dense(x, w, op="and"), [[1, 2]])


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("fx,fw", [("zeros", "zeros"), ("zeros", "ones"), ("ones", "zeros"),
                                   ("ones", "ones")])
def test_binary_dense_constant_inputs(op, fx, fw):
    n = 37
    x = random_bits(None, (3, n), fx)
    w = random_bits(None, (2, n), fw)
    p = binary_dense(x, w, op=op)
    if op == "xnor":
        expected = n if fx == fw else 0
    else:
        expected = n if fx == fw == "ones" else 0
    np.testing.assert_array_equal(p, np.full((3, 2), expected))


# --------------------------------------------------------------------------------------------
# binary_conv2d
# --------------------------------------------------------------------------------------------

@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 4]), label="groups")
    c_group = draw(st.integers(1, 3), label="c_in/groups")
    o_group = draw(st.integers(1, 3), label="c_out/groups")
    height = draw(st.integers(1, 6), label="H")
    width = draw(st.integers(1, 6), label="W")
    ph, pw = draw(st.integers(0, 2), label="pad_h"), draw(st.integers(0, 2), label="pad_w")
    kh = draw(st.integers(1, min(5, height + 2 * ph)), label="K_h")
    kw = draw(st.integers(1, min(5, width + 2 * pw)), label="K_w")
    sh, sw = draw(st.integers(1, 3), label="stride_h"), draw(st.integers(1, 3), label="stride_w")
    square = draw(st.booleans(), label="int params")
    padding = ph if square and ph == pw else (ph, pw)
    stride = sh if square and sh == sw else (sh, sw)
    return dict(
        batch=draw(st.integers(1, 2), label="B"),
        x_shape=(groups * c_group, height, width),
        w_shape=(groups * o_group, c_group, kh, kw),
        stride=stride, padding=padding, groups=groups,
        pad_value=draw(st.sampled_from([1, -1]), label="pad_value"),
        op=draw(st.sampled_from(["xnor", "and"]), label="op"),
        fill_x=draw(FILLS, label="fill_x"), fill_w=draw(FILLS, label="fill_w"),
    )


@settings(max_examples=300)
@given(case=conv_cases(), seed=SEEDS)
def test_binary_conv2d_vs_naive(case, seed):
    rng = np.random.default_rng(seed)
    x = random_bits(rng, (case["batch"],) + case["x_shape"], case["fill_x"])
    w = random_bits(rng, case["w_shape"], case["fill_w"])
    check_conv(x, w, stride=case["stride"], padding=case["padding"],
               pad_value=case["pad_value"], groups=case["groups"], op=case["op"])


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("pad_value", [1, -1])
def test_binary_conv2d_pad_value_matters(op, pad_value):
    # 1x1 input, 3x3 kernel, padding 1: only the centre is real, 8 border positions.
    x = np.ones((1, 1, 1, 1), dtype=np.uint8)
    w = np.ones((1, 1, 3, 3), dtype=np.uint8)
    p = binary_conv2d(x, w, padding=1, pad_value=pad_value, op=op)
    assert p.shape == (1, 1, 1, 1)
    expected = 9 if pad_value == 1 else 1  # border bit 1 matches w=1 (xnor) / ANDs to 1 (and)
    assert int(p[0, 0, 0, 0]) == expected
    check_conv(x, w, stride=1, padding=1, pad_value=pad_value, groups=1, op=op)
    # weights 0: in XNOR a border bit 0 (pad -1) matches the weight; in AND nothing counts
    w0 = np.zeros_like(w)
    p0 = binary_conv2d(x, w0, padding=1, pad_value=pad_value, op=op)
    if op == "xnor":
        assert int(p0[0, 0, 0, 0]) == (0 if pad_value == 1 else 8)
    else:
        assert int(p0[0, 0, 0, 0]) == 0


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("pad_value", [1, -1])
@pytest.mark.parametrize("fx", ["zeros", "ones"])
@pytest.mark.parametrize("fw", ["zeros", "ones"])
def test_binary_conv2d_constant_inputs(op, pad_value, fx, fw):
    x = random_bits(None, (2, 4, 5, 4), fx)
    w = random_bits(None, (4, 2, 3, 2), fw)
    p = check_conv(x, w, stride=(1, 2), padding=(2, 1), pad_value=pad_value, groups=2, op=op)
    # interior outputs (no border in the window) are closed-form
    n = conv_fan_in(w)
    no_pad = binary_conv2d(x, w, stride=1, padding=0, pad_value=pad_value, groups=2, op=op)
    if op == "xnor":
        expected = n if fx == fw else 0
    else:
        expected = n if fx == fw == "ones" else 0
    np.testing.assert_array_equal(no_pad, np.full(no_pad.shape, expected))
    assert p.shape == (2, 4, (5 + 4 - 3) // 1 + 1, (4 + 2 - 2) // 2 + 1)


@pytest.mark.parametrize("op", ["xnor", "and"])
def test_binary_conv2d_1x1_equals_dense_per_pixel(op):
    rng = np.random.default_rng(1234)
    x = random_bits(rng, (2, 13, 4, 5))
    w = random_bits(rng, (7, 13, 1, 1))
    p = check_conv(x, w, stride=1, padding=0, pad_value=-1, groups=1, op=op)
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 13)
    dense = binary_dense(pixels, w[:, :, 0, 0], op=op).reshape(2, 4, 5, 7).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(p, dense)


@pytest.mark.parametrize("op", ["xnor", "and"])
def test_binary_conv2d_1x1_grouped_stride(op):
    rng = np.random.default_rng(99)
    x = random_bits(rng, (1, 8, 5, 5))
    w = random_bits(rng, (4, 2, 1, 1))
    check_conv(x, w, stride=2, padding=1, pad_value=1, groups=4, op=op)
    check_conv(x, w, stride=(3, 1), padding=(0, 2), pad_value=-1, groups=4, op=op)


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("pad_value", [1, -1])
@pytest.mark.parametrize("padding", [0, 1, (2, 0)])
def test_binary_conv2d_kernel_equals_padded_input(op, pad_value, padding):
    rng = np.random.default_rng(7)
    ph, pw = _pair(padding)
    x = random_bits(rng, (3, 2, 3, 4))
    w = random_bits(rng, (5, 2, 3 + 2 * ph, 4 + 2 * pw))
    p = check_conv(x, w, stride=(2, 3), padding=padding, pad_value=pad_value, groups=1, op=op)
    assert p.shape == (3, 5, 1, 1)
    # equals a dense layer over the explicitly padded, flattened input
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_bit(pad_value))
    dense = binary_dense(padded.reshape(3, -1), w.reshape(5, -1), op=op)
    np.testing.assert_array_equal(p[:, :, 0, 0], dense)


def test_binary_conv2d_depthwise():
    rng = np.random.default_rng(5)
    x = random_bits(rng, (2, 4, 4, 4))
    w = random_bits(rng, (4, 1, 3, 3))
    for op in ("xnor", "and"):
        check_conv(x, w, stride=1, padding=1, pad_value=-1, groups=4, op=op)


def test_pad_bit():
    assert pad_bit(1) == 1
    assert pad_bit(-1) == 0


def test_conv_fan_in():
    assert conv_fan_in(np.zeros((8, 3, 2, 5))) == 30


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

X4 = np.ones((1, 4, 5, 5), dtype=np.uint8)
W4 = np.ones((2, 4, 3, 3), dtype=np.uint8)
XD = np.ones((2, 10), dtype=np.uint8)
WD = np.ones((3, 10), dtype=np.uint8)


def _with(array, index, value, dtype=None):
    out = np.array(array, dtype=dtype or np.int64)
    out[index] = value
    return out


BAD_CONV = {
    "x has 2": (dict(x=_with(X4, (0, 1, 2, 3), 2)), "x"),
    "x has -1": (dict(x=_with(X4, (0, 0, 0, 0), -1)), "x"),
    "w has 2": (dict(w=_with(W4, (1, 3, 2, 2), 2)), "w"),
    "w has -1": (dict(w=_with(W4, (0, 0, 0, 0), -1)), "w"),
    "x float": (dict(x=X4.astype(np.float64)), "x"),
    "w float": (dict(w=W4.astype(np.float32)), "w"),
    "x ndim 3": (dict(x=X4[0]), "x"),
    "x ndim 5": (dict(x=X4[None]), "x"),
    "w ndim 3": (dict(w=W4[0]), "w"),
    "groups do not divide C_in": (dict(w=np.ones((3, 1, 3, 3), np.uint8), groups=3), "groups"),
    "groups do not divide C_out": (dict(w=np.ones((3, 2, 3, 3), np.uint8), groups=2), "groups"),
    "w channels vs groups": (dict(w=np.ones((2, 4, 3, 3), np.uint8), groups=2), "w"),
    "w channels vs C_in": (dict(w=np.ones((2, 3, 3, 3), np.uint8)), "w"),
    "pad_value 0.5": (dict(pad_value=0.5), "pad_value"),
    "pad_value 2": (dict(pad_value=2), "pad_value"),
    "pad_value True": (dict(pad_value=True), "pad_value"),
    "stride 0": (dict(stride=0), "stride"),
    "stride (1, 0)": (dict(stride=(1, 0)), "stride"),
    "stride -1": (dict(stride=-1), "stride"),
    "padding -1": (dict(padding=-1), "padding"),
    "groups 0": (dict(groups=0), "groups"),
    "op or": (dict(op="or"), "op"),
    "kernel larger than input": (dict(w=np.ones((2, 4, 6, 3), np.uint8)), "w"),
    "kernel larger than padded input": (
        dict(w=np.ones((2, 4, 3, 8), np.uint8), padding=1), "w"),
}


@pytest.mark.parametrize("kwargs,name", BAD_CONV.values(), ids=BAD_CONV.keys())
def test_binary_conv2d_rejects(kwargs, name):
    args = dict(x=X4, w=W4, stride=1, padding=0, pad_value=1, groups=1, op="xnor")
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        binary_conv2d(args.pop("x"), args.pop("w"), **args)


BAD_DENSE = {
    "x has 2": (dict(x=_with(XD, (1, 3), 2)), "x"),
    "x has -1": (dict(x=_with(XD, (0, 0), -1)), "x"),
    "w has 2": (dict(w=_with(WD, (2, 9), 2)), "w"),
    "w has -1": (dict(w=_with(WD, (0, 5), -1)), "w"),
    "x float": (dict(x=XD.astype(np.float64)), "x"),
    "w float": (dict(w=WD.astype(np.float64)), "w"),
    "x ndim 1": (dict(x=XD[0]), "x"),
    "x ndim 3": (dict(x=XD[None]), "x"),
    "w ndim 1": (dict(w=WD[0]), "w"),
    "N mismatch": (dict(w=np.ones((3, 11), np.uint8)), "(w|x)"),
    "op or": (dict(op="or"), "op"),
}


@pytest.mark.parametrize("kwargs,name", BAD_DENSE.values(), ids=BAD_DENSE.keys())
def test_binary_dense_rejects(kwargs, name):
    args = dict(x=XD, w=WD, op="xnor")
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        binary_dense(args.pop("x"), args.pop("w"), **args)


BAD_MISC = {
    "pm1 zero": (lambda: pm1_to_bits([1, 0, -1]), "values"),
    "pm1 two": (lambda: pm1_to_bits([2]), "values"),
    "pm1 float": (lambda: pm1_to_bits(np.array([1.0, -1.0])), "values"),
    "bits_to_pm1 two": (lambda: bits_to_pm1([0, 2]), "bits"),
    "bits_to_pm1 minus one": (lambda: bits_to_pm1([-1, 1]), "bits"),
    "bits_to_pm1 float": (lambda: bits_to_pm1(np.array([0.0, 1.0])), "bits"),
    "pack two": (lambda: pack_bits([0, 1, 2]), "bits"),
    "pack float": (lambda: pack_bits(np.array([0.0, 1.0])), "bits"),
    "unpack not uint8": (lambda: unpack_bits(np.array([1], dtype=np.int64), 3), "packed"),
    "unpack count too big": (lambda: unpack_bits(np.array([1], dtype=np.uint8), 9), "count"),
    "unpack count negative": (lambda: unpack_bits(np.array([1], dtype=np.uint8), -1), "count"),
    "bits_to_int 2-D": (lambda: bits_to_int(np.zeros((2, 2), np.uint8)), "bits"),
    "bits_to_int two": (lambda: bits_to_int([1, 2]), "bits"),
    "int_to_bits too wide": (lambda: int_to_bits(2**70, 70), "value"),
    "int_to_bits negative": (lambda: int_to_bits(-1, 8), "value"),
    "int_to_bits width negative": (lambda: int_to_bits(1, -1), "width"),
    "int_to_bits float": (lambda: int_to_bits(1.0, 8), "value"),
    "xnor_popcount N mismatch": (lambda: xnor_popcount(np.ones(5, np.uint8),
                                                       np.ones(6, np.uint8)), "w"),
    "xnor_popcount a has 2": (lambda: xnor_popcount([0, 2], [1, 1]), "a"),
    "and_popcount w has 2": (lambda: and_popcount([0, 1], [1, 2]), "w"),
    "and_popcount float": (lambda: and_popcount(np.array([0.0, 1.0]), [1, 1]), "a"),
    "xnor_dot popcount > N": (lambda: xnor_dot([0, 6], 5), "popcounts"),
    "xnor_dot popcount < 0": (lambda: xnor_dot([-1], 5), "popcounts"),
    "xnor_dot float": (lambda: xnor_dot(np.array([1.0]), 5), "popcounts"),
    "xnor_dot fan_in negative": (lambda: xnor_dot([0], -1), "fan_in"),
    "pad_bit 0": (lambda: pad_bit(0), "pad_value"),
    "popcount two": (lambda: popcount([1, 2]), "bits"),
}


@pytest.mark.parametrize("call,name", BAD_MISC.values(), ids=BAD_MISC.keys())
def test_bits_and_dot_reject(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
