"""Zero padding of binary convolutions (docs/numerics.md §4): golden against a direct float
computation (explicit zero border, one output at a time), exhaustively on small cases."""

import itertools

import numpy as np
import pytest

from bnnhw.golden import (
    ZERO_PADDED_XNOR,
    IntLayer,
    binary_conv2d,
    bits_to_pm1,
    count_top,
    dot_values,
    fold_sign_threshold,
    pad_bit,
    run,
    sign_rule,
    sign_threshold,
    zero_padded_dot,
)


def direct_dot(x_bits, w_bits, *, stride, padding, groups, op):
    """``sum x*w`` over each window with a border of real zeros, loop by loop, float64."""
    x = bits_to_pm1(x_bits).astype(np.float64) if op == "xnor" else x_bits.astype(np.float64)
    w = bits_to_pm1(w_bits).astype(np.float64) if op == "xnor" else w_bits.astype(np.float64)
    (sh, sw), (ph, pw) = stride, padding
    b, _, h, wd = x.shape
    c_out, per_group, kh, kw = w.shape
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((b, c_out, h_out, w_out))
    for n, o, oy, ox in itertools.product(range(b), range(c_out), range(h_out), range(w_out)):
        g = o // (c_out // groups)
        total = 0.0
        for c, ky, kx in itertools.product(range(per_group), range(kh), range(kw)):
            iy, ix = oy * sh - ph + ky, ox * sw - pw + kx
            if 0 <= iy < h and 0 <= ix < wd:
                total += x[n, g * per_group + c, iy, ix] * w[o, c, ky, kx]
        out[n, o, oy, ox] = total
    return out


def all_bits(count):
    return np.array(list(itertools.product((0, 1), repeat=count)), np.uint8)


def test_every_input_and_weight_of_a_3x3_padded_2x2_map():
    """Exhaustive: every 2x2 input and every 3x3 weight, padding 1 (all taps of some windows
    lie in the border): u = v + N with v the zero-border dot."""
    x = all_bits(4).reshape(16, 1, 2, 2)
    w = all_bits(9).reshape(512, 1, 3, 3)
    u = binary_conv2d(x, w, padding=1, pad_value=0)
    v = direct_dot(x, w, stride=(1, 1), padding=(1, 1), groups=1, op="xnor")
    assert u.dtype == np.int64
    np.testing.assert_array_equal(u, v + 9)
    np.testing.assert_array_equal(zero_padded_dot(u, 9), v)
    assert u.min() >= 0 and u.max() <= 18


def test_every_input_of_a_strided_rectangular_grouped_layer():
    """Exhaustive over 2 channels of 2x3 inputs (64 maps): stride (2, 1), padding (1, 2),
    kernel (2, 3), groups 2, random weights."""
    rng = np.random.default_rng(3)
    x = all_bits(12).reshape(-1, 2, 2, 3)
    w = rng.integers(0, 2, (4, 1, 2, 3), dtype=np.uint8)
    u = binary_conv2d(x, w, stride=(2, 1), padding=(1, 2), pad_value=0, groups=2)
    v = direct_dot(x, w, stride=(2, 1), padding=(1, 2), groups=2, op="xnor")
    np.testing.assert_array_equal(u, v + 6)


@pytest.mark.parametrize("seed", range(4))
def test_random_layers(seed):
    rng = np.random.default_rng(seed)
    c_in, groups = [(3, 1), (4, 2), (6, 3), (2, 2)][seed]
    x = rng.integers(0, 2, (2, c_in, 5, 4), dtype=np.uint8)
    w = rng.integers(0, 2, (groups * 2, c_in // groups, 3, 2), dtype=np.uint8)
    padding = (seed % 3, 1 + seed % 2)
    u = binary_conv2d(x, w, stride=(1, 2), padding=padding, pad_value=0, groups=groups)
    n = w.shape[1] * 6
    v = direct_dot(x, w, stride=(1, 2), padding=padding, groups=groups, op="xnor")
    np.testing.assert_array_equal(u, v + n if max(padding) else
                                  binary_conv2d(x, w, stride=(1, 2), groups=groups))


def test_and_zero_padding_is_the_pad_bit_0():
    x = all_bits(4).reshape(16, 1, 2, 2)
    w = all_bits(9).reshape(512, 1, 3, 3)
    p = binary_conv2d(x, w, padding=1, pad_value=0, op="and")
    np.testing.assert_array_equal(p, direct_dot(x, w, stride=(1, 1), padding=(1, 1), groups=1,
                                                op="and"))
    np.testing.assert_array_equal(p, binary_conv2d(x, w, padding=1, pad_value=-1, op="and"))
    assert pad_bit(0, "and") == 0


def test_xnor_zero_padding_has_no_pad_bit():
    with pytest.raises(ValueError, match="pad_value: zero padding of an XNOR layer"):
        pad_bit(0)
    with pytest.raises(ValueError, match="pad_value: expected"):
        binary_conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 1)), pad_value=2)


def test_dot_values_cover_every_integer_of_both_parities():
    np.testing.assert_array_equal(dot_values(10, op=ZERO_PADDED_XNOR), np.arange(-5, 6))
    np.testing.assert_array_equal(dot_values(10, op=ZERO_PADDED_XNOR, clip=3),
                                  np.clip(np.arange(-5, 6), -3, 3))
    assert count_top(9, ZERO_PADDED_XNOR) == 18 and count_top(9, "xnor") == 9
    with pytest.raises(ValueError, match="fan_in: zero-padded counts have an even top"):
        dot_values(9, op=ZERO_PADDED_XNOR)


@pytest.mark.parametrize("seed", range(6))
def test_folded_threshold_is_the_float_rule_on_every_zero_padded_count(seed):
    """The fold of a batch norm is exact on every u in [0, 2N], i.e. every v in [-N, N] (odd
    and even v: a threshold on 2p - N alone would miss half of them)."""
    rng = np.random.default_rng(seed)
    n = 9
    a = rng.normal(size=8) * rng.choice([1, -1, 0], 8, p=[0.45, 0.45, 0.1])
    b = rng.normal(size=8) * 3
    b[:2] = -a[:2] * rng.integers(-n, n + 1, 2)   # ties exactly on a dot value
    folded = fold_sign_threshold(a, b, fan_in=2 * n, op=ZERO_PADDED_XNOR)
    u = np.arange(2 * n + 1)
    counts = np.broadcast_to(u, (8, 2 * n + 1))[None]          # (1, C, 2N+1)
    want = sign_rule((u - n)[None, None, :], a[None, :, None], b[None, :, None])
    np.testing.assert_array_equal(sign_threshold(counts, folded), want)


def test_compiled_clip_on_zero_padded_counts():
    layers = [IntLayer("conv", "binary_conv2d", ("input",), {
        "weight": np.ones((2, 1, 3, 3), np.uint8), "stride": 1, "padding": 1, "pad_value": 0,
        "groups": 1, "dot": "xnor"}),
        IntLayer("conv.clip", "clip", ("conv",), {"bound": 3, "fan_in": 18,
                                                 "dot": ZERO_PADDED_XNOR})]
    x = all_bits(4).reshape(16, 1, 2, 2)
    v = direct_dot(x, np.ones((2, 1, 3, 3), np.uint8), stride=(1, 1), padding=(1, 1), groups=1,
                   op="xnor")
    np.testing.assert_array_equal(run(layers, x), np.clip(v, -3, 3))
