# amaranth: UnusedElaboratable=no
"""BinaryMaxPool, GlobalPopcountPool and Argmax against ``bnnhw.golden``.

Amaranth-simulator tier: random and edge maps / logits (all zeros, all ones, single ones, ties),
several images back to back, with and without random stalls on both sides. cocotb tier: the
emitted Verilog of three configurations per block in one shared Verilator build, see
``sim/blocks/tb_pool.py``.
"""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.hw.pool import Argmax, BinaryMaxPool, GlobalPopcountPool, StreamingMaxPool

from .streams import run_harness_cocotb, run_stream, stream_timing

STALLS = [(0.0, 0.0), (0.5, 0.5)]
STALL_IDS = ["no_stall", "stall"]


# --- BinaryMaxPool -------------------------------------------------------------------------------


def maxpool_stream(x, kernel):
    """Payloads for a map ``x (1, lanes, kh*R, kw*S)`` pooled with stride = kernel: one transfer
    per output position (row-major), lane ``l`` window element ``w`` at bit ``l*K + w``."""
    kh, kw = kernel
    _, lanes, height, width = x.shape
    payloads = []
    for r in range(height // kh):
        for s in range(width // kw):
            window = x[0, :, r * kh:(r + 1) * kh, s * kw:(s + 1) * kw].reshape(lanes, kh * kw)
            payloads.append(sum(int(bit) << (lane * kh * kw + w)
                                for lane in range(lanes) for w, bit in enumerate(window[lane])))
    return payloads


def maxpool_expected(x, kernel):
    y = golden.binary_maxpool2d(x, kernel)[0]  # (lanes, R, S)
    lanes = y.shape[0]
    return [sum(int(y[lane, r, s]) << lane for lane in range(lanes))
            for r in range(y.shape[1]) for s in range(y.shape[2])]


def sparse_map(rng, shape, density):
    return (rng.random(shape) < density).astype(np.uint8)


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("kernel, lanes", [((2, 2), 1), ((3, 2), 3), ((1, 1), 2), ((2, 3), 4)])
def test_binary_maxpool(kernel, lanes, stalls):
    rng = np.random.default_rng(lanes)
    kh, kw = kernel
    # Sparse maps make windows with no one or exactly one set bit common; add all-ones.
    maps = [sparse_map(rng, (1, lanes, 4 * kh, 5 * kw), density) for density in (0.05, 0.3, 0.9)]
    maps.append(np.ones((1, lanes, kh, kw), dtype=np.uint8))
    maps.append(np.zeros((1, lanes, kh, kw), dtype=np.uint8))
    payloads, expected = [], []
    for x in maps:
        payloads += maxpool_stream(x, kernel)
        expected += maxpool_expected(x, kernel)
    dut = BinaryMaxPool(kernel=kernel, lanes=lanes)
    got = run_stream(dut, payloads, len(payloads), stall_in=stalls[0], stall_out=stalls[1])
    assert got == expected


def test_binary_maxpool_single_bits():
    """Every single set bit of a 3x3 window, in every lane: exactly that lane's output is 1."""
    dut = BinaryMaxPool(kernel=3, lanes=2)
    payloads = [1 << bit for bit in range(18)]
    got = run_stream(dut, payloads, 18, stall_in=0.3, stall_out=0.3)
    assert got == [1] * 9 + [2] * 9


# --- GlobalPopcountPool --------------------------------------------------------------------------


def global_pool_stream(x):
    """``x (B, C, H, W)`` streamed image by image, position-major, channel-minor."""
    batch, channels = x.shape[:2]
    return x.reshape(batch, channels, -1).transpose(0, 2, 1).ravel().tolist()


def global_pool_maps(rng, channels, height, width, images=4):
    x = sparse_map(rng, (images, channels, height, width), 0.5)
    x[0] = 1  # every count at its maximum H*W
    x[1] = 0
    x[2] = sparse_map(rng, (channels, height, width), 0.1)
    return x


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("channels, height, width", [(1, 1, 1), (3, 2, 3), (4, 4, 4), (1, 5, 1)])
def test_global_popcount_pool(channels, height, width, stalls):
    rng = np.random.default_rng(channels * 100 + height * 10 + width)
    x = global_pool_maps(rng, channels, height, width)
    expected = golden.global_popcount_pool(x).ravel().tolist()
    dut = GlobalPopcountPool(channels=channels, positions=height * width)
    got = run_stream(dut, global_pool_stream(x), len(expected),
                     stall_in=stalls[0], stall_out=stalls[1])
    assert got == expected


def test_global_popcount_pool_width():
    assert GlobalPopcountPool(channels=2, positions=16).count_width == 5
    assert GlobalPopcountPool(channels=2, positions=15).count_width == 4
    assert GlobalPopcountPool(channels=2, positions=1).count_width == 1


# --- Argmax --------------------------------------------------------------------------------------


def argmax_logits(rng, classes, width, rows=40):
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    logits = rng.integers(lo, hi + 1, size=(rows, classes))
    edges = [np.full(classes, lo), np.full(classes, hi), np.zeros(classes, dtype=np.int64),
             np.arange(classes) % 2 * hi, (np.arange(classes) == classes - 1) * hi,
             np.where(np.arange(classes) == 0, lo, hi)]
    # Ties at the top between two random classes (lowest index must win).
    ties = []
    for _ in range(10):
        row = rng.integers(lo, hi, size=classes)
        row[rng.choice(classes, size=min(2, classes), replace=False)] = hi
        ties.append(row)
    return np.concatenate([np.array(edges), np.array(ties), logits])


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("classes, width", [(1, 4), (2, 1), (10, 8), (5, 16), (3, 2)])
def test_argmax(classes, width, stalls):
    rng = np.random.default_rng(classes * 100 + width)
    logits = argmax_logits(rng, classes, width)
    expected = golden.argmax(logits).tolist()
    dut = Argmax(classes=classes, width=width)
    got = run_stream(dut, logits.ravel().tolist(), len(expected),
                     stall_in=stalls[0], stall_out=stalls[1])
    assert got == expected


def test_argmax_ties_lowest_index_wins():
    dut = Argmax(classes=4, width=8)
    logits = [[5, 5, 5, 5], [-3, 7, 7, 1], [0, 0, 0, 1], [-128, -128, -128, -128]]
    got = run_stream(dut, [v for row in logits for v in row], 4, stall_in=0.3, stall_out=0.3)
    assert got == [0, 1, 3, 0]


# --- timing and parameters -----------------------------------------------------------------------


def test_latency_and_throughput():
    pool = BinaryMaxPool(kernel=2)
    assert stream_timing(pool, list(range(16)), 16) == list(range(1, 17))
    gp = GlobalPopcountPool(channels=2, positions=3)
    # outputs come from the last position's two transfers (inputs 4 and 5): edges 5 and 6
    assert stream_timing(gp, [1, 0, 1, 1, 0, 1] * 2, 4) == [5, 6, 11, 12]
    am = Argmax(classes=3, width=4)
    assert stream_timing(am, [1, 2, 3] * 3, 3) == [3, 6, 9]


def test_properties():
    pool = BinaryMaxPool(kernel=(2, 3), lanes=4)
    assert (pool.kernel, pool.lanes, pool.window, pool.latency) == ((2, 3), 4, 6, 1)
    gp = GlobalPopcountPool(channels=3, positions=49)
    assert (gp.channels, gp.positions, gp.count_width) == (3, 49, 6)
    am = Argmax(classes=10, width=12)
    assert (am.classes, am.width, am.index_width) == (10, 12, 4)
    assert Argmax(classes=1, width=3).index_width == 1
    with pytest.raises(AttributeError):
        am.classes = 3


@pytest.mark.parametrize("make, name", [
    (lambda: BinaryMaxPool(kernel=0), "kernel"),
    (lambda: BinaryMaxPool(kernel=(2, 0)), "kernel"),
    (lambda: BinaryMaxPool(kernel=(2, 2, 2)), "kernel"),
    (lambda: BinaryMaxPool(kernel=2, lanes=0), "lanes"),
    (lambda: GlobalPopcountPool(channels=0, positions=4), "channels"),
    (lambda: GlobalPopcountPool(channels=2, positions=0), "positions"),
    (lambda: Argmax(classes=0, width=8), "classes"),
    (lambda: Argmax(classes=3, width=0), "width"),
    (lambda: Argmax(classes=3.0, width=8), "classes"),
])
def test_bad_parameters(make, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        make()


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        Argmax(3, 8)


# --- cocotb + Verilator --------------------------------------------------------------------------

COCOTB_SPECS = {
    "mp0": {"kind": "maxpool", "kernel": [2, 2], "lanes": 1},
    "mp1": {"kind": "maxpool", "kernel": [3, 2], "lanes": 3},
    "mp2": {"kind": "maxpool", "kernel": [1, 1], "lanes": 2},
    "gp0": {"kind": "global_pool", "channels": 1, "height": 1, "width": 1},
    "gp1": {"kind": "global_pool", "channels": 3, "height": 2, "width": 3},
    "gp2": {"kind": "global_pool", "channels": 4, "height": 4, "width": 4},
    "am0": {"kind": "argmax", "classes": 10, "width": 8},
    "am1": {"kind": "argmax", "classes": 2, "width": 1},
    "am2": {"kind": "argmax", "classes": 5, "width": 16},
    "am3": {"kind": "argmax", "classes": 1, "width": 3},
    "sm0": {"kind": "streaming_maxpool", "channels": 32, "height": 8, "width": 8, "kernel": [2, 2]},
    "sm1": {"kind": "streaming_maxpool", "channels": 3, "height": 6, "width": 4, "kernel": [3, 2]},
    "sm2": {"kind": "streaming_maxpool", "channels": 4, "height": 4, "width": 8, "kernel": [2, 2],
            "registered": False},
}


def _cocotb_blocks():
    blocks = {}
    for key, spec in COCOTB_SPECS.items():
        if spec["kind"] == "maxpool":
            blocks[key] = BinaryMaxPool(kernel=tuple(spec["kernel"]), lanes=spec["lanes"])
        elif spec["kind"] == "streaming_maxpool":
            blocks[key] = StreamingMaxPool(channels=spec["channels"], height=spec["height"],
                                           width=spec["width"], kernel=tuple(spec["kernel"]),
                                           registered=spec.get("registered", True))
        elif spec["kind"] == "global_pool":
            blocks[key] = GlobalPopcountPool(
                channels=spec["channels"], positions=spec["height"] * spec["width"])
        else:
            blocks[key] = Argmax(classes=spec["classes"], width=spec["width"])
    return blocks, COCOTB_SPECS


@pytest.mark.cocotb
@pytest.mark.parametrize("key", sorted(COCOTB_SPECS))
def test_cocotb_pool(key, tmp_path):
    run_harness_cocotb(make_blocks=_cocotb_blocks, block="pool", key=key,
                       tb_module="tb_pool.py", test_dir=tmp_path)


# --- StreamingMaxPool ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels, height, width, kernel", [
    (8, 8, 8, 2), (3, 6, 4, (3, 2)), (5, 4, 6, (1, 3)), (2, 2, 2, 2), (4, 3, 3, 1),
])
@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.4, 0.4)], ids=["no_stall", "stall"])
@pytest.mark.parametrize("registered", [True, False], ids=["registered", "passthrough"])
def test_streaming_max_pool_matches_golden(channels, height, width, kernel, stalls, registered):
    rng = np.random.default_rng(channels * height + width)
    images = [np.zeros((channels, height, width)), np.ones((channels, height, width))]
    images += [rng.integers(0, 2, (channels, height, width)) for _ in range(4)]
    images += [(rng.random((channels, height, width)) < 0.1) for _ in range(2)]   # sparse ones
    x = np.array(images, dtype=np.int64)
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    want = golden.binary_maxpool2d(x, (kh, kw))
    dut = StreamingMaxPool(channels=channels, height=height, width=width, kernel=kernel,
                           registered=registered)
    pixels = [sum(int(b) << c for c, b in enumerate(image[:, yy, xx]))
              for image in x for yy in range(height) for xx in range(width)]
    got = run_stream(dut, pixels, want.shape[0] * want.shape[2] * want.shape[3],
                     stall_in=stalls[0], stall_out=stalls[1])
    expected = [sum(int(b) << c for c, b in enumerate(image[:, yy, xx]))
                for image in want for yy in range(want.shape[2]) for xx in range(want.shape[3])]
    assert got == expected


def test_streaming_max_pool_needs_tiling_windows():
    with pytest.raises(ValueError, match="^kernel"):
        StreamingMaxPool(channels=2, height=5, width=4, kernel=2)
