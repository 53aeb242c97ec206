# amaranth: UnusedElaboratable=no
"""PooledInt8Dense: global popcount pool + int8 dense in one unit, against golden.

The expectation is always ``golden.int8_dense(golden.global_popcount_pool(x), W, bias)``, on edge
maps (all zero, all one, checkerboard), random maps, extreme weights (-128 / 127 rows) and biases,
for several foldings, with and without stalls; plus the exact cycles per image and the errors.
"""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.hw.int8mac import pack_int8_weights
from bnnhw.hw.pooldense import DRAIN_CYCLES, PooledInt8Dense

from .streams import run_harness_cocotb, run_stream, stream_timing

CONFIGS = {   # key: (rows, channels, positions, pe, simd, result_register)
    "p0": (3, 4, 1, 1, 1, True), "p1": (10, 16, 4, 1, 8, True), "p2": (6, 12, 9, 2, 3, True),
    "p3": (4, 8, 16, 4, 8, True), "p4": (1, 2, 3, 1, 2, True),
    # the result on the rings (slower foldings): fewer flip-flops, DRAIN_CYCLES more per image
    "q0": (3, 4, 1, 1, 1, False), "q1": (10, 16, 4, 1, 8, False), "q2": (6, 12, 9, 2, 3, False),
    "q3": (4, 8, 16, 4, 8, False),
}


def weights_and_bias(rng, rows, channels):
    patterns = [np.full(channels, -128), np.full(channels, 127),
                np.where(np.arange(channels) % 2, 127, -128)]
    w = np.array([patterns[r] if r < len(patterns) else rng.integers(-128, 128, channels)
                  for r in range(rows)], dtype=np.int64)
    bias = rng.integers(-5000, 5000, rows)
    bias[0] = -(1 << 20)
    return w, [int(b) for b in bias]


def maps(rng, channels, positions, count):
    """``(B, C, positions, 1)`` bit maps: zeros, ones, checkerboard, then random."""
    fixed = [np.zeros((channels, positions)), np.ones((channels, positions)),
             (np.add.outer(np.arange(channels), np.arange(positions)) % 2)]
    x = fixed + [rng.integers(0, 2, (channels, positions)) for _ in range(count)]
    return np.array(x, dtype=np.int64)[..., None]


def pixels(x):
    """Input payloads: one ``C``-bit pixel per position, bit ``c`` = channel ``c``."""
    return [sum(int(bit) << c for c, bit in enumerate(image[:, p, 0]))
            for image in x for p in range(image.shape[1])]


def unpack(words, rows, width):
    out = []
    for word in words:
        for r in range(rows):
            value = (word >> (r * width)) & ((1 << width) - 1)
            out.append(value - (1 << width) if value >> (width - 1) else value)
    return np.array(out).reshape(len(words), rows)


def build(rng, rows, channels, positions, pe, simd, result_register=True):
    w, bias = weights_and_bias(rng, rows, channels)
    dut = PooledInt8Dense(weights=pack_int8_weights(w, pe=pe, simd=simd), bias=bias,
                          channels=channels, positions=positions, pe=pe, simd=simd,
                          result_register=result_register)
    return dut, w, bias


@pytest.mark.parametrize("key", sorted(CONFIGS))
@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.4, 0.4)], ids=["no_stall", "stall"])
def test_matches_golden(key, stalls):
    rows, channels, positions, pe, simd, register = CONFIGS[key]
    rng = np.random.default_rng(len(key) + rows * channels)
    dut, w, bias = build(rng, rows, channels, positions, pe, simd, register)
    x = maps(rng, channels, positions, 6)
    want = golden.int8_dense(golden.global_popcount_pool(x), w, bias)
    got = unpack(run_stream(dut, pixels(x), len(x), stall_in=stalls[0], stall_out=stalls[1],
                            seed=rows), rows, dut.width)
    np.testing.assert_array_equal(got, want)


def test_width_is_the_exact_range():
    dut = PooledInt8Dense(weights=[[0x7F80]], bias=[0], channels=2, positions=3, pe=1, simd=2)
    # row = (-128, 127): reaches -384 .. 381 -> signed 10 bits
    assert dut.width == 10


@pytest.mark.parametrize("key", ["p0", "p1", "p2", "q0", "q1", "q2"])
def test_cycles_per_image(key):
    rows, channels, positions, pe, simd, register = CONFIGS[key]
    dut, _, _ = build(np.random.default_rng(0), rows, channels, positions, pe, simd, register)
    images = 4
    x = maps(np.random.default_rng(1), channels, positions, images - 3)
    edges = stream_timing(dut, pixels(x), images)
    steps = positions * (rows // pe) * (channels // simd)
    assert dut.cycles_per_image == (max(steps, DRAIN_CYCLES) if register
                                    else steps + DRAIN_CYCLES)
    assert [b - a for a, b in zip(edges, edges[1:])] == [dut.cycles_per_image] * (images - 1)


GOOD = {"weights": [[0, 0]], "bias": [1, 2], "channels": 2, "positions": 4, "pe": 1, "simd": 2}


@pytest.mark.parametrize("changes, name", [
    ({"bias": []}, "bias"), ({"pe": 3}, "pe"), ({"simd": 3}, "simd"), ({"channels": 0}, "channels"),
    ({"positions": 0}, "positions"), ({"weights": [[0]]}, "weights"),
    ({"result_register": 1}, "result_register"),
])
def test_bad_parameters(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        PooledInt8Dense(**{**GOOD, **changes})


# --- cocotb + Verilator --------------------------------------------------------------------------


def cocotb_blocks():
    """The CONFIGS as one Verilator build."""
    blocks, specs = {}, {}
    for key, (rows, channels, positions, pe, simd, register) in CONFIGS.items():
        rng = np.random.default_rng(len(key) + rows * channels)
        dut, w, bias = build(rng, rows, channels, positions, pe, simd, register)
        blocks[key] = dut
        specs[key] = {"matrix": w.tolist(), "bias": bias, "positions": positions,
                      "width": dut.width}
    return blocks, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_cocotb_pooldense(key, tmp_path):
    run_harness_cocotb(make_blocks=cocotb_blocks, block="pooldense", key=key,
                       tb_module="tb_pooldense.py", test_dir=tmp_path)
