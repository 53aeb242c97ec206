"""bnnhw.golden.pool, .channels and .classify against direct reference computations."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnnhw.golden import (
    argmax, binary_maxpool2d, channel_concat, channel_shuffle, channel_split,
    global_popcount_pool, shuffle_permutation,
)

from .loop_reference import as_pair

# Derandomization comes from the "ci" profile in tests/conftest.py (HYPOTHESIS_PROFILE=dev for
# fresh examples); per-module settings only bound the example count.
SETTINGS = settings(
    max_examples=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def bits(shape):
    return hnp.arrays(np.uint8, shape, elements=st.integers(0, 1))


# --- binary max-pool ------------------------------------------------------------------------------

def ref_maxpool_pm1(x, kernel, stride):
    """Max over ±1 values (bit 1 = +1), mapped back to bits; output size floors."""
    (kh, kw), (sh, sw) = as_pair(kernel), as_pair(stride)
    values = x.astype(np.int64) * 2 - 1
    batch, channels, height, width = x.shape
    h_out, w_out = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((batch, channels, h_out, w_out), dtype=np.int64)
    for b in range(batch):
        for c in range(channels):
            for i in range(h_out):
                for j in range(w_out):
                    best = max(int(values[b, c, i * sh + u, j * sw + q])
                               for u in range(kh) for q in range(kw))
                    out[b, c, i, j] = (best + 1) // 2
    return out


@st.composite
def pool_case(draw):
    kernel = draw(st.sampled_from([2, 3, (2, 3), (3, 2), [2, 2], 1]))
    kh, kw = as_pair(kernel)
    stride = draw(st.sampled_from([None, 1, 2, 3, (1, 2), (2, 1)]))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)),
             draw(st.integers(kh, 9)), draw(st.integers(kw, 9)))
    density = draw(st.sampled_from(["random", "sparse", "dense"]))
    if density == "random":
        x = draw(bits(shape))
    else:
        # mostly one value so windows of all-0 / all-1 occur often
        rare = draw(hnp.arrays(np.bool_, shape,
                               elements=st.sampled_from([False, False, False, False, True])))
        x = (rare if density == "sparse" else ~rare).astype(np.uint8)
    return x, kernel, stride


@SETTINGS
@given(case=pool_case())
def test_maxpool_is_max_of_pm1_values(case):
    x, kernel, stride = case
    got = binary_maxpool2d(x, kernel) if stride is None else binary_maxpool2d(x, kernel, stride)
    expected = ref_maxpool_pm1(x, kernel, kernel if stride is None else stride)
    assert got.shape == expected.shape
    assert got.tolist() == expected.tolist()
    assert set(np.unique(got).tolist()) <= {0, 1}


@pytest.mark.parametrize("size, kernel, stride, out", [
    ((8, 8), 2, None, (4, 4)), ((7, 7), 2, None, (3, 3)), ((9, 9), 3, None, (3, 3)),
    ((8, 8), 3, None, (2, 2)), ((7, 7), 3, 2, (3, 3)), ((8, 8), 3, 2, (3, 3)),
    ((5, 8), (2, 3), None, (2, 2)), ((5, 8), 2, (1, 3), (4, 3)), ((3, 3), 3, 1, (1, 1)),
    ((2, 5), 2, 1, (1, 4)), ((8, 8), 2, 1, (7, 7)),
])
def test_maxpool_output_size_floors(size, kernel, stride, out):
    x = np.zeros((1, 2) + size, dtype=np.uint8)
    got = binary_maxpool2d(x, kernel) if stride is None else binary_maxpool2d(x, kernel, stride)
    assert got.shape == (1, 2) + out


def test_maxpool_is_or_and_drops_the_ragged_edge():
    x = np.zeros((1, 1, 5, 5), dtype=np.uint8)
    x[0, 0, 4, :] = 1   # last row: outside every 2x2 stride-2 window
    x[0, 0, :, 4] = 1   # last column: likewise
    x[0, 0, 1, 2] = 1
    assert binary_maxpool2d(x, 2).tolist() == [[[[0, 1], [0, 0]]]]
    assert binary_maxpool2d(np.ones((1, 1, 4, 4), np.uint8), 2).tolist() == [[[[1, 1], [1, 1]]]]


def test_maxpool_accepts_bool():
    x = np.array([[[[True, False], [False, False]]]])
    assert binary_maxpool2d(x, 2).tolist() == [[[[1]]]]


@pytest.mark.parametrize("x, kernel, stride, name", [
    (np.full((1, 1, 4, 4), 2), 2, None, "x"),
    (np.full((1, 1, 4, 4), -1), 2, None, "x"),
    (np.zeros((1, 1, 4, 4)), 2, None, "x"),
    (np.zeros((1, 4, 4), int), 2, None, "x"),
    (np.zeros((1, 1, 4, 4), int), 5, None, "kernel"),
    (np.zeros((1, 1, 4, 4), int), (2, 5), None, "kernel"),
    (np.zeros((1, 1, 4, 4), int), 0, None, "kernel"),
    (np.zeros((1, 1, 4, 4), int), (2, 2, 2), None, "kernel"),
    (np.zeros((1, 1, 4, 4), int), 2.0, None, "kernel"),
    (np.zeros((1, 1, 4, 4), int), 2, 0, "stride"),
    (np.zeros((1, 1, 4, 4), int), 2, (1, -1), "stride"),
])
def test_maxpool_bad_input(x, kernel, stride, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        binary_maxpool2d(x, kernel, stride)


# --- global popcount pool -----------------------------------------------------------------------

@SETTINGS
@given(x=bits(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6),
                        st.integers(1, 6))))
def test_global_popcount_pool_counts_ones(x):
    got = global_popcount_pool(x)
    assert got.dtype == np.int64
    assert got.shape == x.shape[:2]
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            assert got[b, c] == sum(int(v) for v in x[b, c].ravel())


def test_global_popcount_pool_extremes():
    assert (global_popcount_pool(np.ones((2, 3, 16, 16), np.uint8)) == 256).all()
    assert (global_popcount_pool(np.zeros((2, 3, 16, 16), np.uint8)) == 0).all()
    # uint8 input must not wrap at 256
    assert global_popcount_pool(np.ones((1, 1, 20, 20), np.uint8)).tolist() == [[400]]


@pytest.mark.parametrize("x", [
    np.full((1, 1, 2, 2), 2), np.zeros((1, 1, 2, 2)), np.zeros((1, 4), int),
    np.zeros((1, 1, 1, 2, 2), int),
])
def test_global_popcount_pool_bad_input(x):
    with pytest.raises(ValueError, match=r"^x:"):
        global_popcount_pool(x)


# --- channel split / concat -----------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_split_concat_round_trip(data):
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    tail = data.draw(st.sampled_from([(), (3,), (2, 3)]))
    x = np.arange(2 * sum(sizes) * int(np.prod(tail))).reshape((2, sum(sizes)) + tail)
    parts = channel_split(x, sizes)
    assert [p.shape[1] for p in parts] == sizes
    start = 0
    for part, size in zip(parts, sizes):
        assert np.array_equal(part, x[:, start:start + size])
        start += size
    assert np.array_equal(channel_concat(parts), x)
    # concatenation order is the given order
    assert np.array_equal(channel_concat(parts[::-1]), np.concatenate(parts[::-1], axis=1))


def test_split_preserves_dtype_and_values():
    x = np.array([[1, 0, 1, 1]], dtype=np.uint8)
    a, b = channel_split(x, [1, 3])
    assert a.dtype == np.uint8 and a.tolist() == [[1]] and b.tolist() == [[0, 1, 1]]


@pytest.mark.parametrize("x, sizes, name", [
    (np.zeros((1, 4)), [1, 2], "sizes"), (np.zeros((1, 4)), [2, 3], "sizes"),
    (np.zeros((1, 4)), [0, 4], "sizes"), (np.zeros((1, 4)), [-1, 5], "sizes"),
    (np.zeros((1, 4)), [2.0, 2], "sizes"), (np.zeros(4), [2, 2], "x"),
])
def test_split_bad_input(x, sizes, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        channel_split(x, sizes)


@pytest.mark.parametrize("parts, name", [
    ([], "parts"),
    ([np.zeros((1, 2, 3)), np.zeros((1, 2, 4))], r"parts\[1\]"),
    ([np.zeros((1, 2, 3)), np.zeros((2, 2, 3))], r"parts\[1\]"),
    ([np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), np.zeros((1, 2))], r"parts\[2\]"),
    ([np.zeros(3)], r"parts\[0\]"),
])
def test_concat_bad_input(parts, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        channel_concat(parts)


# --- channel shuffle ------------------------------------------------------------------------------

def reference_shuffle(x, groups):
    batch, channels = x.shape[:2]
    rest = x.shape[2:]
    return (x.reshape((batch, groups, channels // groups) + rest)
            .swapaxes(1, 2).reshape((batch, channels) + rest))


@st.composite
def shuffle_case(draw):
    groups = draw(st.integers(1, 5))
    channels = groups * draw(st.integers(1, 5))
    tail = draw(st.sampled_from([(), (2,), (2, 3)]))
    return channels, groups, tail


@SETTINGS
@given(case=shuffle_case())
def test_shuffle_matches_reshape_transpose(case):
    channels, groups, tail = case
    x = np.arange(2 * channels * int(np.prod(tail))).reshape((2, channels) + tail)
    perm = shuffle_permutation(channels, groups)
    assert sorted(perm.tolist()) == list(range(channels))  # a permutation
    expected = reference_shuffle(x, groups)
    assert np.array_equal(channel_shuffle(x, groups), expected)
    assert np.array_equal(x[:, perm], expected)
    # the documented closed form
    assert perm.tolist() == [(i % groups) * (channels // groups) + i // groups
                             for i in range(channels)]
    # shuffling with g then with C/g undoes it
    assert np.array_equal(channel_shuffle(channel_shuffle(x, groups), channels // groups), x)


@pytest.mark.parametrize("channels", [1, 2, 5, 8])
def test_shuffle_trivial_groups_are_identity(channels):
    x = np.arange(3 * channels * 4).reshape(3, channels, 4)
    assert np.array_equal(channel_shuffle(x, 1), x)
    assert np.array_equal(channel_shuffle(x, channels), x)
    assert shuffle_permutation(channels, 1).tolist() == list(range(channels))


def test_shuffle_known_permutation():
    assert shuffle_permutation(6, 2).tolist() == [0, 3, 1, 4, 2, 5]
    assert shuffle_permutation(6, 3).tolist() == [0, 2, 4, 1, 3, 5]


@pytest.mark.parametrize("channels, groups, name", [
    (6, 4, "groups"), (6, 0, "groups"), (6, 7, "groups"), (0, 1, "channels"),
    (6.0, 2, "channels"), (6, 2.0, "groups"), (6, True, "groups"),
])
def test_shuffle_permutation_bad_input(channels, groups, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        shuffle_permutation(channels, groups)


@pytest.mark.parametrize("x, groups, name", [
    (np.zeros((1, 6, 2)), 4, "groups"), (np.zeros(6), 2, "x"),
])
def test_channel_shuffle_bad_input(x, groups, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        channel_shuffle(x, groups)


# --- argmax ---------------------------------------------------------------------------------------

@SETTINGS
@given(logits=hnp.arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(1, 6)),
                         elements=st.integers(-3, 3)))
def test_argmax_lowest_index_wins(logits):
    got = argmax(logits)
    assert got.shape == (logits.shape[0],)
    for b, row in enumerate(logits.tolist()):
        assert int(got[b]) == row.index(max(row))


def test_argmax_ties():
    logits = np.array([[5, 5, 5, 5], [1, 7, 7, 2], [-3, -9, -3, -3], [0, 0, 0, 1],
                       [-(1 << 62), -(1 << 62), -(1 << 62), -(1 << 62)]])
    assert argmax(logits).tolist() == [0, 1, 0, 3, 0]
    assert argmax(np.array([[42]])).tolist() == [0]


def test_argmax_accepts_narrow_dtypes():
    assert argmax(np.array([[-128, 127, 127]], dtype=np.int8)).tolist() == [1]
    assert argmax(np.array([[3, 200, 255, 255]], dtype=np.uint8)).tolist() == [2]


@pytest.mark.parametrize("logits", [
    np.array([[0.0, 1.0]]), np.array([[True, False]]), np.zeros((2, 0), dtype=np.int64),
    np.array([1, 2, 3]), np.zeros((1, 2, 3), dtype=np.int64), np.array([["a", "b"]]),
])
def test_argmax_bad_input(logits):
    with pytest.raises(ValueError, match=r"^logits:"):
        argmax(logits)
