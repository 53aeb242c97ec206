"""bnnhw.golden.panet against the PA-Net float formula and a direct double loop.

With integer ``alpha_i``, ``beta_j`` the merged scales ``phi_ij = alpha_i * beta_j`` are integers
and, by bilinearity, ``sum_ij phi_ij Conv(T_i, V_j) == Conv(sum_i alpha_i T_i, sum_j beta_j V_j)``
exactly, where the activation border is 0 (every base is 0 there).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnhw.golden import panet_activation_bases, panet_conv2d, panet_dense

from .loop_reference import as_pair, loop_conv2d

# Derandomization comes from the "ci" profile in tests/conftest.py (HYPOTHESIS_PROFILE=dev for
# fresh examples); per-module settings only bound the example count.
SETTINGS = settings(
    max_examples=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

INT16 = (-(1 << 15), (1 << 15) - 1)


def float_conv(a, w, border, stride, padding, groups):
    """Direct float64 convolution of activations ``a (B, C, H, W)`` padded with ``border``."""
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    a = np.pad(a.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=border)
    batch, _, height, width = a.shape
    c_out, per_group, kh, kw = w.shape
    out_per_group = c_out // groups
    h_out, w_out = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((batch, c_out, h_out, w_out))
    for o in range(c_out):
        g = o // out_per_group
        for i in range(h_out):
            for j in range(w_out):
                channels = slice(g * per_group, (g + 1) * per_group)
                window = a[:, channels, i * sh:i * sh + kh, j * sw:j * sw + kw]
                out[:, o, i, j] = (window * w[o]).sum(axis=(1, 2, 3))
    return out


def and_conv_loop(v, t, pad_bit, stride, padding, groups):
    """popcount(AND) convolution by explicit loops, Python ints."""
    return loop_conv2d(v, t, stride=stride, padding=padding, groups=groups, fill=pad_bit,
                       product=lambda bit, weight: bit & weight)


def bits(shape):
    return hnp.arrays(np.uint8, shape, elements=st.integers(0, 1))


@st.composite
def conv_case(draw):
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    height = draw(st.integers(max(1, kh - 2 * ph), 5))
    width = draw(st.integers(max(1, kw - 2 * pw), 5))
    stride = draw(st.sampled_from([1, 2, (1, 2), (2, 1), 3]))
    padding = draw(st.sampled_from([(ph, pw), ph]))
    if isinstance(padding, int):
        height, width = max(height, kh - 2 * ph), max(width, kw - 2 * ph)
    batch = draw(st.integers(1, 2))
    v = draw(bits((n, batch, groups * per_group, height, width)))
    t = draw(bits((m, groups * out_per_group, per_group, kh, kw)))
    return v, t, dict(stride=stride, padding=padding, groups=groups)


def assert_exact(got, expected):
    got = np.asarray(got)
    assert got.dtype == np.int64
    assert got.shape == np.shape(expected)
    assert got.tolist() == np.asarray(expected).tolist()


# --- convolution ----------------------------------------------------------------------------------

@SETTINGS
@given(case=conv_case(), data=st.data())
def test_conv2d_equals_float_conv_of_reconstructed_tensors(case, data):
    v, t, kw = case
    m, n = t.shape[0], v.shape[0]
    alpha = np.array(data.draw(st.lists(st.integers(-9, 9), min_size=m, max_size=m)))
    beta = np.array(data.draw(st.lists(st.integers(-9, 9), min_size=n, max_size=n)))
    phi = np.outer(alpha, beta)
    weights = np.tensordot(alpha.astype(np.float64), t.astype(np.float64), axes=1)
    activations = np.tensordot(beta.astype(np.float64), v.astype(np.float64), axes=1)
    expected = float_conv(activations, weights, 0.0, kw["stride"], kw["padding"], kw["groups"])
    got = panet_conv2d(v, t, phi, **kw)
    assert got.dtype == np.int64
    assert got.shape == expected.shape
    assert np.array_equal(got.astype(np.float64), expected)


@SETTINGS
@given(case=conv_case(), data=st.data())
def test_conv2d_random_phi_matches_double_loop(case, data):
    v, t, kw = case
    m, n = t.shape[0], v.shape[0]
    phi = data.draw(hnp.arrays(np.int64, (m, n), elements=st.integers(*INT16)))
    pad_bit = 0
    expected = 0
    for i in range(m):
        for j in range(n):
            expected = expected + int(phi[i, j]) * and_conv_loop(
                v[j], t[i], pad_bit, kw["stride"], kw["padding"], kw["groups"])
    assert_exact(panet_conv2d(v, t, phi, **kw), expected)


def test_conv2d_border_bases():
    # one 3x3 all-ones weight base, one activation base that is 0 inside: only the border counts
    v = np.zeros((1, 1, 1, 2, 2), dtype=np.uint8)
    t = np.ones((1, 1, 1, 3, 3), dtype=np.uint8)
    zero_border = panet_conv2d(v, t, [[3]], padding=1)
    assert zero_border.tolist() == [[[[0, 0], [0, 0]]]]
    v[...] = 1  # all ones inside: 4 of the 9 taps of each output are inside
    assert panet_conv2d(v, t, [[3]], padding=1).tolist() == [[[[12, 12], [12, 12]]]]


def test_conv2d_phi_indexing_is_weight_base_then_activation_base():
    # y = sum_ij phi[i, j] * popcount(T_i AND V_j); distinct popcounts make phi's layout visible
    v = np.zeros((2, 1, 1, 1, 4), dtype=np.uint8)
    v[0, 0, 0, 0, :1] = 1   # V_0 has 1 one
    v[1, 0, 0, 0, :] = 1    # V_1 has 4 ones
    t = np.zeros((2, 1, 1, 1, 4), dtype=np.uint8)
    t[0, 0, 0, 0, :] = 1    # T_0 = all ones: AND counts 1 (V_0), 4 (V_1)
    t[1, 0, 0, 0, 1:3] = 1  # T_1 = two ones: AND counts 0 (V_0), 2 (V_1)
    phi = np.array([[1, 10], [100, 1000]])
    y = panet_conv2d(v, t, phi)
    assert y.tolist() == [[[[1 * 1 + 10 * 4 + 100 * 0 + 1000 * 2]]]]
    yd = panet_dense(v[:, :, 0, 0, :], t[:, :, 0, 0, :], phi)
    assert yd.tolist() == [[2041]]


def test_conv2d_extreme_phi():
    v = np.ones((2, 1, 2, 3, 3), dtype=np.uint8)
    t = np.ones((2, 3, 2, 3, 3), dtype=np.uint8)
    phi = np.array([[INT16[0], INT16[0]], [INT16[0], INT16[1]]])
    y = panet_conv2d(v, t, phi, padding=1)
    taps = np.array([[8, 12, 8], [12, 18, 12], [8, 12, 8]])  # 2 channels x taps inside
    assert (y == taps * (3 * INT16[0] + INT16[1])).all()


# --- dense ----------------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_dense_equals_float_product(data):
    m, n = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    batch, c_in, c_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 16)), data.draw(
        st.integers(1, 4))
    v = data.draw(bits((n, batch, c_in)))
    t = data.draw(bits((m, c_out, c_in)))
    alpha = np.array(data.draw(st.lists(st.integers(-9, 9), min_size=m, max_size=m)))
    beta = np.array(data.draw(st.lists(st.integers(-9, 9), min_size=n, max_size=n)))
    weights = np.tensordot(alpha.astype(np.float64), t.astype(np.float64), axes=1)
    activations = np.tensordot(beta.astype(np.float64), v.astype(np.float64), axes=1)
    expected = activations @ weights.T
    got = panet_dense(v, t, np.outer(alpha, beta))
    assert got.dtype == np.int64 and got.shape == (batch, c_out)
    assert np.array_equal(got.astype(np.float64), expected)


@SETTINGS
@given(data=st.data())
def test_dense_random_phi_matches_double_loop(data):
    m, n = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    batch, c_in, c_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 16)), data.draw(
        st.integers(1, 4))
    v = data.draw(bits((n, batch, c_in)))
    t = data.draw(bits((m, c_out, c_in)))
    phi = data.draw(hnp.arrays(np.int64, (m, n), elements=st.integers(*INT16)))
    expected = [[sum(int(phi[i, j]) * sum(int(v[j, b, k]) & int(t[i, o, k]) for k in range(c_in))
                     for i in range(m) for j in range(n))
                 for o in range(c_out)] for b in range(batch)]
    got = panet_dense(v, t, phi)
    assert got.dtype == np.int64
    assert got.tolist() == expected


# --- activation bases -----------------------------------------------------------------------------

def ref_bases(y, endpoints):
    """Index of the piece holding y (largest j with e_j <= y), or None below e_0."""
    pieces = [j for j, e in enumerate(endpoints) if e <= y]
    return pieces[-1] if pieces else None


@st.composite
def increasing(draw, n, lo=-200, hi=200):
    values = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n, unique=True))
    return sorted(values)


@SETTINGS
@given(data=st.data(), n=st.integers(1, 5))
def test_activation_bases_shared_endpoints_exhaustive(data, n):
    endpoints = data.draw(increasing(n))
    y_values = np.arange(endpoints[0] - 3, endpoints[-1] + 4)
    channels = data.draw(st.integers(1, 3))
    y = np.repeat(y_values[:, None], channels, axis=1)  # (B = every y, C)
    got = panet_activation_bases(y, np.array(endpoints))
    assert got.shape == (n,) + y.shape
    assert got.dtype == np.uint8
    for b, value in enumerate(y_values):
        piece = ref_bases(int(value), endpoints)
        expected = [int(piece == j) for j in range(n)]
        for c in range(channels):
            assert got[:, b, c].tolist() == expected, (endpoints, int(value))


@SETTINGS
@given(data=st.data(), n=st.integers(1, 4), channels=st.integers(1, 3))
def test_activation_bases_per_channel_endpoints(data, n, channels):
    endpoints = np.array([data.draw(increasing(n)) for _ in range(channels)]).T  # (N, C)
    lo, hi = int(endpoints.min()) - 2, int(endpoints.max()) + 3
    y_values = np.arange(lo, hi)
    extra = data.draw(st.sampled_from([(), (1,), (2, 1)]))
    y = np.broadcast_to(y_values.reshape((-1, 1) + (1,) * len(extra)),
                        (len(y_values), channels) + extra).copy()
    got = panet_activation_bases(y, endpoints)
    assert got.shape == (n,) + y.shape
    for index in np.ndindex(y.shape):
        piece = ref_bases(int(y[index]), endpoints[:, index[1]].tolist())
        assert got[(slice(None),) + index].tolist() == [int(piece == j) for j in range(n)]


@pytest.mark.parametrize("y, expected", [
    (-100, [0, 0, 0]), (-6, [0, 0, 0]), (-5, [1, 0, 0]), (-4, [1, 0, 0]), (-1, [1, 0, 0]),
    (0, [0, 1, 0]), (1, [0, 1, 0]), (6, [0, 1, 0]), (7, [0, 0, 1]), (8, [0, 0, 1]),
    (10**9, [0, 0, 1]),
])
def test_activation_bases_endpoints_belong_to_the_piece_above(y, expected):
    got = panet_activation_bases(np.array([[y]]), np.array([-5, 0, 7]))
    assert got[:, 0, 0].tolist() == expected


def test_activation_bases_single_endpoint_is_a_step():
    got = panet_activation_bases(np.array([[-1, 0, 1]]).reshape(1, 3), np.array([[-1, 1, 2]]))
    assert got.tolist() == [[[1, 0, 0]]]


def test_activation_bases_equal_endpoints_make_an_empty_piece():
    y = np.arange(-3, 12).reshape(1, -1)
    got = panet_activation_bases(y, np.array([0, 5, 5, 9]))[:, 0]
    assert not got[1].any()  # [5, 5) is empty
    assert got.sum(axis=0).tolist() == (y[0] >= 0).astype(int).tolist()
    assert got[2].tolist() == ((y[0] >= 5) & (y[0] < 9)).astype(int).tolist()


def test_activation_bases_extreme_endpoints():
    # strictly increasing int64 endpoints are valid even when their difference overflows int64
    endpoints = np.array([-(1 << 63), (1 << 63) - 1])
    got = panet_activation_bases(np.array([[0, -(1 << 63), (1 << 63) - 1]]).T, endpoints)
    assert got[:, :, 0].tolist() == [[1, 1, 0], [0, 0, 1]]


@pytest.mark.parametrize("y, endpoints, name", [
    (np.zeros((2, 3), int), np.array([1, 0]), "endpoints"),
    (np.zeros((2, 3), int), np.array([0, 5, 4, 9]), "endpoints"),
    (np.zeros((2, 3), int), np.array([[0, 1, 2], [1, 0, 3]]), "endpoints"),
    (np.zeros((2, 3), int), np.zeros((2, 4), int), "endpoints"),
    (np.zeros((2, 3), int), np.zeros((2, 1), int) + [[0], [1]], "endpoints"),
    (np.zeros((2, 3), int), np.zeros((1, 3, 1), int), "endpoints"),
    (np.zeros((2, 3), int), np.zeros((0,), int), "endpoints"),
    (np.zeros((2, 3), int), np.array([0.0, 1.0]), "endpoints"),
    (np.zeros(3, int), np.array([0, 1]), "y"),
    (np.zeros((2, 3)), np.array([0, 1]), "y"),
])
def test_activation_bases_bad_input(y, endpoints, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        panet_activation_bases(y, endpoints)


# --- bad input ----------------------------------------------------------------------------------

V = np.zeros((2, 1, 2, 3, 3), dtype=np.uint8)
T = np.zeros((3, 4, 2, 3, 3), dtype=np.uint8)
PHI = np.zeros((3, 2), dtype=np.int64)


@pytest.mark.parametrize("v, t, phi, kwargs, name", [
    (V, T, np.zeros((2, 3), int), {}, "phi"),
    (V, T, np.zeros((3, 1), int), {}, "phi"),
    (V, T, np.zeros(6, int), {}, "phi"),
    (V, T, np.full((3, 2), 1 << 15), {}, "phi"),
    (V, T, np.full((3, 2), -(1 << 15) - 1), {}, "phi"),
    (V, T, np.zeros((3, 2)), {}, "phi"),
    (V + 2, T, PHI, {}, "v"),
    (V, T + 2, PHI, {}, "t"),
    (V[0], T, PHI, {}, "v"),
    (V, T[0], PHI, {}, "t"),
    (V, T, PHI, dict(groups=3), "groups"),
    # the argument is t; messages must not name binary_conv2d's internal "w"
    (V, np.zeros((3, 4, 1, 3, 3), np.uint8), PHI, {}, "t"),
    (V, np.zeros((3, 4, 2, 7, 3), np.uint8), PHI, {}, "t"),
], ids=[
    "phi-transposed", "phi-short", "phi-1d", "phi-int16-max+1", "phi-int16-min-1", "phi-float",
    "v-not-bits", "t-not-bits", "v-4d", "t-4d", "groups-3",
    "t-channels-mismatch", "t-kernel-too-big",
])
def test_conv2d_bad_input(v, t, phi, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        panet_conv2d(v, t, phi, **kwargs)


@pytest.mark.parametrize("v, t, phi, name", [
    (np.zeros((2, 1, 5), np.uint8), np.zeros((3, 4, 5), np.uint8), np.zeros((2, 3), int), "phi"),
    (np.zeros((2, 1, 5), np.uint8), np.zeros((3, 4, 5), np.uint8),
     np.full((3, 2), 1 << 15), "phi"),
    (np.zeros((2, 1, 5), np.uint8) + 3, np.zeros((3, 4, 5), np.uint8), PHI, "v"),
    (np.zeros((1, 5), np.uint8), np.zeros((3, 4, 5), np.uint8), np.zeros((3, 1), int), "v"),
    (np.zeros((2, 1, 5), np.uint8), np.zeros((4, 5), np.uint8), PHI, "t"),
    (np.zeros((2, 1, 5), np.uint8), np.zeros((3, 4, 6), np.uint8), PHI, "t"),
], ids=["phi-transposed", "phi-int16-max+1", "v-not-bits", "v-2d", "t-2d", "t-width-mismatch"])
def test_dense_bad_input(v, t, phi, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        panet_dense(v, t, phi)


def test_zero_bases_do_not_skip_shape_checks():
    # With no activation (or weight) bases the sum is empty, but an inconsistent layer must still
    # be rejected rather than silently returning the scalar 0.
    v = np.zeros((0, 1, 2, 3, 3), dtype=np.uint8)
    t = np.zeros((1, 5, 7, 9, 9), dtype=np.uint8)  # 7 input channels vs 2, 9x9 kernel on 3x3
    with pytest.raises(ValueError):
        panet_conv2d(v, t, np.zeros((1, 0), dtype=np.int64))
    with pytest.raises(ValueError):
        panet_dense(np.zeros((1, 1, 2), np.uint8), np.zeros((0, 3, 9), np.uint8),
                    np.zeros((0, 1), dtype=np.int64))
