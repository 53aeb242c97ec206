# amaranth: UnusedElaboratable=no
"""ThresholdUnit (folded BN sign, single and multi-slice) against ``bnnhw.golden``.

Amaranth-simulator tier: every popcount ``0..N`` on every channel for small ``N``, thresholds
folded from random BN parameters, tie-making ones, ``a < 0`` and ``a == 0`` (constant channels),
``k`` in {1, 2, 4}, with and without random stalls on both sides. cocotb tier: the emitted Verilog
of three configurations (one shared Verilator build), see ``sim/blocks/tb_threshold.py``.
"""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.hw.threshold import ThresholdUnit

from .streams import run_harness_cocotb, run_stream, stream_timing


def bn_params(rng, fan_in, channels, op="xnor"):
    """Per-channel ``(a, b)``: random, tie-making (``a*v + b == 0`` exactly), ``a < 0``, ``a == 0``.

    Every fourth channel is random, the others cycle through: a tie at a reachable dot value, a
    negative-slope tie, a zero slope with ``b >= 0`` / ``b < 0``, a threshold beyond the range.
    """
    values = golden.dot_values(fan_in, op=op)
    a = rng.normal(size=channels) * rng.choice([0.01, 1.0, 100.0], size=channels)
    b = rng.normal(size=channels) * fan_in
    for c in range(channels):
        v0 = float(rng.choice(values))
        kind = c % 7
        if kind == 1:  # exact tie at v0, positive slope
            a[c] = abs(a[c]) + 0.25
            b[c] = -(a[c] * v0)
        elif kind == 2:  # exact tie at v0, negative slope
            a[c] = -abs(a[c]) - 0.5
            b[c] = -(a[c] * v0)
        elif kind == 3:
            a[c], b[c] = 0.0, abs(b[c])
        elif kind == 4:
            a[c], b[c] = 0.0, -abs(b[c]) - 1.0
        elif kind == 5:  # always on: threshold below 0
            a[c], b[c] = 1.0, 4.0 * fan_in
        elif kind == 6:  # negative slope, dyadic: ties at half-integers of v too
            a[c], b[c] = -0.5, float(v0) * 0.5
    return a, b


def folded(seed, fan_in, channels, k=None, op="xnor"):
    """A ``SignThreshold``, ``(C,)`` if ``k is None`` else ``(k, C)`` with tie-making biases."""
    rng = np.random.default_rng(seed)
    a, b = bn_params(rng, fan_in, channels, op)
    if k is None:
        return golden.fold_sign_threshold(a, b, fan_in=fan_in, op=op)
    biases = [0.5 * n - 1.0 for n in range(k)]  # dyadic: exact ties with a in {±0.5, 1}
    return golden.fold_multi_slice(a, b, biases, fan_in=fan_in, op=op, k=k)


def exhaustive_popcounts(fan_in, channels):
    """``p (C, P)``: every popcount on every channel, rotated so each position mixes values."""
    return np.array([[(pos + c) % (fan_in + 1) for pos in range(fan_in + 1)]
                     for c in range(channels)])


def expected_stream(p, thresholds):
    """The unit's outputs for popcounts ``p (C, P)`` streamed position-major, from golden."""
    if thresholds.threshold.ndim == 1:
        bits = golden.sign_threshold(p[None], thresholds)[0][None]  # (1, C, P)
    else:
        slices = thresholds.threshold.shape[0]
        bits = golden.multi_slice_sign(p[None], thresholds)[0].reshape(slices, *p.shape)
    weights = (1 << np.arange(bits.shape[0]))[:, None, None]
    return (bits.astype(np.int64) * weights).sum(axis=0).T.ravel().tolist()


def rtl_run(thresholds, p, **kwargs):
    dut = ThresholdUnit.from_sign_threshold(thresholds)
    payloads = p.T.ravel().tolist()
    return run_stream(dut, payloads, len(payloads), **kwargs)


STALLS = [(0.0, 0.0), (0.5, 0.5)]


@pytest.mark.parametrize("stalls", STALLS, ids=["no_stall", "stall"])
@pytest.mark.parametrize("k", [None, 1, 2, 4], ids=["plain", "k1", "k2", "k4"])
@pytest.mark.parametrize("fan_in", [1, 2, 3, 7, 8, 16, 25])
def test_exhaustive_xnor(fan_in, k, stalls):
    thresholds = folded(fan_in * 10 + (k or 0), fan_in, 7, k)
    p = exhaustive_popcounts(fan_in, 7)
    got = rtl_run(thresholds, p, stall_in=stalls[0], stall_out=stalls[1], seed=fan_in)
    assert got == expected_stream(p, thresholds)


@pytest.mark.parametrize("stalls", STALLS, ids=["no_stall", "stall"])
@pytest.mark.parametrize("channels", [16, 17, 40])
def test_exhaustive_rom_depths(channels, stalls):
    """Up to 16 channels the threshold ROM is read combinationally (LUTs), beyond through a
    registered read port (block RAM): both give every bit, exhaustively."""
    from bnnhw.hw.threshold import ASYNC_ROM_DEPTH

    assert ASYNC_ROM_DEPTH == 16
    thresholds = folded(channels, 9, channels, 4)
    p = exhaustive_popcounts(9, channels)
    got = rtl_run(thresholds, p, stall_in=stalls[0], stall_out=stalls[1], seed=channels)
    assert got == expected_stream(p, thresholds)


@pytest.mark.parametrize("k", [None, 2])
@pytest.mark.parametrize("fan_in", [1, 5, 9])
def test_exhaustive_and_domain_and_clip(fan_in, k):
    """AND-domain dot values and the 8-bit clip give other threshold shapes."""
    for op, clip in [("and", None), ("xnor", 3)]:
        rng = np.random.default_rng(fan_in)
        a, b = bn_params(rng, fan_in, 7, op)
        if k is None:
            thresholds = golden.fold_sign_threshold(a, b, fan_in=fan_in, op=op, clip=clip)
        else:
            thresholds = golden.fold_multi_slice(a, b, [0.0, -1.5], fan_in=fan_in, op=op,
                                                 clip=clip)
        p = exhaustive_popcounts(fan_in, 7)
        assert rtl_run(thresholds, p, stall_in=0.3, stall_out=0.3) == expected_stream(
            p, thresholds), (op, clip)


def test_folded_parameters_cover_the_special_cases():
    """The BN generator really produces constants of both polarities, inversions and ties."""
    thresholds = folded(3, 8, 14)
    t, inv = thresholds.threshold, thresholds.invert
    assert ((t == 0) & inv).any() and ((t == 0) & ~inv).any()
    assert ((t > 0) & inv).any() and ((t > 0) & ~inv).any()
    assert (t == 0).sum() >= 4


def test_hand_written_thresholds():
    """Constant channels of both polarities, T = 1 and T = N, inverted and not."""
    fan_in = 6
    threshold = np.array([0, 0, 1, 1, 6, 6, 3])
    invert = np.array([False, True, False, True, False, True, False])
    thresholds = golden.SignThreshold(threshold, invert, fan_in)
    p = exhaustive_popcounts(fan_in, 7)
    got = rtl_run(thresholds, p, stall_in=0.2, stall_out=0.4)
    assert got == expected_stream(p, thresholds)
    # Spot-check the rule itself, independent of golden.
    by_channel = np.array(got).reshape(-1, 7).T
    for c in range(7):
        for pos in range(fan_in + 1):
            assert by_channel[c, pos] == int((p[c, pos] >= threshold[c]) != invert[c])


def test_single_channel_and_wider_width():
    thresholds = folded(5, 4, 1, 2)
    dut = ThresholdUnit.from_sign_threshold(thresholds, width=9)
    assert dut.width == 9 and dut.channels == 1 and dut.slices == 2
    p = exhaustive_popcounts(4, 1)
    got = run_stream(dut, p.T.ravel().tolist(), 5, stall_in=0.5, stall_out=0.5)
    assert got == expected_stream(p, thresholds)


def test_random_long_stream_with_stalls():
    """Many passes over the channels (the channel counter wraps many times) under stalls."""
    thresholds = folded(11, 20, 5, 4)
    rng = np.random.default_rng(0)
    p = rng.integers(0, 21, size=(5, 120))
    got = rtl_run(thresholds, p, stall_in=0.4, stall_out=0.6, seed=3)
    assert got == expected_stream(p, thresholds)


def test_latency_and_throughput():
    thresholds = folded(1, 5, 3, 2)
    dut = ThresholdUnit.from_sign_threshold(thresholds)
    cycles = stream_timing(dut, [1, 2, 3, 4, 5, 0] * 4, 24)
    assert dut.latency == 2
    assert cycles == list(range(dut.latency, dut.latency + 24))


def test_properties():
    thresholds = folded(2, 8, 4, 2)
    dut = ThresholdUnit(fan_in=8, threshold=thresholds.threshold, invert=thresholds.invert)
    assert (dut.fan_in, dut.width, dut.channels, dut.slices) == (8, 4, 4, 2)
    assert dut.threshold == tuple(map(tuple, thresholds.threshold.tolist()))
    assert dut.invert == tuple(map(tuple, thresholds.invert.tolist()))
    plain = ThresholdUnit(fan_in=3, threshold=[0, 2], invert=[True, False])
    assert plain.threshold == (0, 2) and plain.invert == (True, False) and plain.slices == 1
    with pytest.raises(AttributeError):
        plain.fan_in = 4


# --- bad parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name", [
    (dict(fan_in=0, threshold=[0], invert=[False]), "fan_in"),
    (dict(fan_in=2.0, threshold=[0], invert=[False]), "fan_in"),
    (dict(fan_in=8, threshold=[0], invert=[False], width=3), "width"),
    (dict(fan_in=7, threshold=[0], invert=[False], width=0), "width"),
    (dict(fan_in=4, threshold=np.zeros((0, 3), dtype=int),
          invert=np.zeros((0, 3), dtype=bool)), "threshold"),
    (dict(fan_in=4, threshold=[], invert=[]), "threshold"),
    (dict(fan_in=4, threshold=[5], invert=[False]), "threshold"),
    (dict(fan_in=4, threshold=[-1], invert=[False]), "threshold"),
    (dict(fan_in=4, threshold=[[1, 2], [3]], invert=[[0, 0], [0]]), "threshold"),
    (dict(fan_in=4, threshold=[1, 2], invert=[True]), "invert"),
    (dict(fan_in=4, threshold=[[1, 2]], invert=[True, False]), "invert"),
    (dict(fan_in=4, threshold=[1, 2], invert=[1, 0]), "invert"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        ThresholdUnit(**kwargs)


def test_width_error_names_the_need():
    expected = r"^width: expected at least 5 bits to hold popcounts up to fan_in=16, got 4$"
    with pytest.raises(ValueError, match=expected):
        ThresholdUnit(fan_in=16, threshold=[3], invert=[False], width=4)


def test_from_sign_threshold_rejects_other_objects():
    with pytest.raises(ValueError, match="^thresholds"):
        ThresholdUnit.from_sign_threshold(object())


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        ThresholdUnit(4, [1], [False])


# --- cocotb + Verilator --------------------------------------------------------------------------

#: Harness instances: (fan_in, channels, slices or None for 1-D parameters, width, op).
COCOTB_CONFIGS = {
    "t0": (9, 5, None, None, "xnor"),
    "t1": (16, 3, 2, 7, "and"),
    "t2": (27, 7, 4, None, "xnor"),
    "t3": (9, 20, 2, None, "xnor"),      # > 16 channels: registered ROM read
}


def _cocotb_blocks():
    blocks, specs = {}, {}
    for key, (fan_in, channels, k, width, op) in COCOTB_CONFIGS.items():
        thresholds = folded(int(key[1:]) + 100, fan_in, channels, k, op)
        blocks[key] = ThresholdUnit.from_sign_threshold(thresholds, width=width)
        specs[key] = {
            "fan_in": fan_in,
            "threshold": np.atleast_2d(thresholds.threshold).tolist(),
            "invert": np.atleast_2d(thresholds.invert).tolist(),
            "width": blocks[key].width,
        }
    return blocks, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", sorted(COCOTB_CONFIGS))
def test_cocotb_threshold(key, tmp_path):
    run_harness_cocotb(make_blocks=_cocotb_blocks, block="threshold", key=key,
                       tb_module="tb_threshold.py", test_dir=tmp_path)
