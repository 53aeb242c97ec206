# amaranth: UnusedElaboratable=no
"""PANetCombiner (PA-Net M x N AND-popcount combiner) against ``bnnhw.golden.panet_dense``.

Amaranth-simulator tier: M, N in {1, 2, 3}, phi at the int16 extremes (32767, -32768) and random,
all-zero / all-one / random bases, several rows back to back, foldings from one bit per transfer
to fully parallel, random stalls on both sides, the output width against the reachable range,
latency / throughput and bad parameters. cocotb tier: ``sim/blocks/tb_int8mac.py`` on one
Verilator build of several combiners.
"""

import itertools

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.hw.panet import PANetCombiner, csd_digits

from .streams import run_harness_cocotb, run_stream, stream_timing

STALLS = [(0.0, 0.0), (0.5, 0.5)]
STALL_IDS = ["no_stall", "stall"]
PHI_EDGES = [32767, -32768, -32767, 1, -1, 0, 21845, -21846, 255]


def edge_phi(rng, n_w, n_a, start=0):
    flat = [PHI_EDGES[(start + k) % len(PHI_EDGES)] for k in range(n_w * n_a)]
    flat = [v if k < 4 else int(rng.integers(-32768, 32768)) for k, v in enumerate(flat)]
    return np.array(flat, dtype=np.int64).reshape(n_w, n_a)


def edge_bases(rng, count, width, vectors):
    """``(count, vectors + 3, width)`` bits: all zero, all one, alternating, then random."""
    fixed = [np.zeros((count, width)), np.ones((count, width)),
             np.tile(np.arange(width) % 2, (count, 1))]
    random = [rng.integers(0, 2, (count, width)) for _ in range(vectors)]
    return np.stack(fixed + random, axis=1).astype(np.int64)


def chunk_payloads(v, t, simd):
    """Transfers for every (batch b, row c): chunks of ``t[:, c]`` and ``v[:, b]``."""
    _, batch, width = v.shape
    payloads = []
    for b in range(batch):
        for c in range(t.shape[1]):
            for f in range(width // simd):
                chunk = slice(f * simd, (f + 1) * simd)
                tw = sum(int(bit) << (m * simd + k)
                         for m in range(t.shape[0]) for k, bit in enumerate(t[m, c, chunk]))
                vw = sum(int(bit) << (j * simd + k)
                         for j in range(v.shape[0]) for k, bit in enumerate(v[j, b, chunk]))
                payloads.append({"t": tw, "v": vw})
    return payloads


def rtl_panet(dut, v, t, **kwargs):
    batch, rows = v.shape[1], t.shape[1]
    got = run_stream(dut, chunk_payloads(v, t, dut.simd), batch * rows, **kwargs)
    return np.array(got, dtype=np.int64).reshape(batch, rows)


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("n_w, n_a", [(1, 1), (1, 3), (2, 2), (3, 1), (3, 3), (2, 3)])
@pytest.mark.parametrize("width, simd", [(8, 4), (6, 1), (5, 5)],
                         ids=["w8_simd4", "w6_simd1", "w5_parallel"])
def test_combiner(n_w, n_a, width, simd, stalls):
    rng = np.random.default_rng(100 * n_w + 10 * n_a + width)
    phi = edge_phi(rng, n_w, n_a, start=n_w + n_a)
    t = edge_bases(rng, n_w, width, 2)  # (M, rows, width)
    v = edge_bases(rng, n_a, width, 2)  # (N, batch, width)
    want = golden.panet_dense(v, t, phi)
    dut = PANetCombiner(phi=phi, width=width, simd=simd)
    got = rtl_panet(dut, v, t, stall_in=stalls[0], stall_out=stalls[1], seed=width + n_w)
    np.testing.assert_array_equal(got, want)
    assert dut.y_range[0] <= want.min() and want.max() <= dut.y_range[1]


@pytest.mark.parametrize("value", [32767, -32768])
def test_extremes_reach_the_output_range(value):
    """phi all at one extreme, all-one bases: y is exactly the end of the range, which fits."""
    n_w, n_a, width = 3, 3, 12
    phi = np.full((n_w, n_a), value)
    dut = PANetCombiner(phi=phi, width=width, simd=4)
    ones = np.ones((n_w, 1, width), np.int64)
    want = golden.panet_dense(ones, ones, phi)
    assert want[0, 0] == 9 * width * value == dut.y_range[1 if value > 0 else 0]
    bits = dut.output_shape.width
    assert dut.output_shape.signed and -(1 << (bits - 1)) <= want[0, 0] < (1 << (bits - 1))
    assert bits == (9 * width * 32768 - 1).bit_length() + 1
    np.testing.assert_array_equal(rtl_panet(dut, ones, ones, stall_out=0.3), want)


def test_mixed_extremes_and_zero_phi():
    phi = [[32767, -32768], [0, 0]]
    dut = PANetCombiner(phi=phi, width=4, simd=2)
    assert dut.y_range == (-4 * 32768, 4 * 32767)
    rng = np.random.default_rng(5)
    t, v = edge_bases(rng, 2, 4, 8), edge_bases(rng, 2, 4, 8)
    np.testing.assert_array_equal(rtl_panet(dut, v, t, stall_in=0.3), golden.panet_dense(v, t, phi))


def test_all_zero_phi():
    dut = PANetCombiner(phi=[[0]], width=3, simd=3)
    ones = np.ones((1, 2, 3), np.int64)
    assert dut.output_shape.width == 1
    np.testing.assert_array_equal(rtl_panet(dut, ones, ones), [[0, 0], [0, 0]])


def test_csd_digits():
    for value in [0, 1, -1, 3, 7, -7, 21845, -21846, 32767, -32768, 255, 0x5555]:
        digits = csd_digits(value)
        assert sum(sign << shift for shift, sign in digits) == value
        shifts = [shift for shift, _ in digits]
        assert all(b - a >= 2 for a, b in itertools.pairwise(shifts))  # non-adjacent
    assert len(csd_digits(32767)) == 2 and len(csd_digits(-32768)) == 1


@pytest.mark.parametrize("width, simd", [(8, 4), (6, 1), (5, 5)])
def test_latency_and_throughput(width, simd):
    dut = PANetCombiner(phi=[[3, -2], [1, 5]], width=width, simd=simd)
    rows = 4
    payloads = [{"t": 0, "v": 0}] * (rows * dut.folds)
    edges = stream_timing(dut, payloads, rows)
    folds = dut.folds
    assert dut.latency == 4
    assert edges == [r * folds + folds - 1 + dut.latency for r in range(rows)]


def test_properties():
    dut = PANetCombiner(phi=np.array([[1, 2, 3], [4, 5, -6]]), width=6, simd=3)
    assert (dut.weight_bases, dut.activation_bases, dut.width, dut.simd, dut.folds) == (
        2, 3, 6, 3, 2)
    assert dut.phi == ((1, 2, 3), (4, 5, -6)) and dut.y_range == (-36, 90)
    assert dut.output_shape.width == 8
    assert dut.input_layout.size == 15
    with pytest.raises(AttributeError):
        dut.simd = 1


@pytest.mark.parametrize("kwargs, name", [
    ({"phi": [[32768]]}, "phi"),
    ({"phi": [[-32769]]}, "phi"),
    ({"phi": [[1, 2], [3]]}, "phi"),
    ({"phi": []}, "phi"),
    ({"phi": [[]]}, "phi"),
    ({"phi": 5}, "phi"),
    ({"phi": [[1.5]]}, "phi"),
    ({"width": 0}, "width"),
    ({"simd": 0}, "simd"),
    ({"simd": 3}, "simd"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        PANetCombiner(**{"phi": [[1]], "width": 4, "simd": 2, **kwargs})


# --- cocotb + Verilator --------------------------------------------------------------------------


def cocotb_blocks():
    """Four combiners in one Verilator build: M x N = 1x1, 2x3, 3x3 (phi extremes), 3x2."""
    rng = np.random.default_rng(77)
    blocks, specs = {}, {}
    for key, (n_w, n_a, width, simd) in {
        "p0": (1, 1, 4, 1), "p1": (2, 3, 16, 4), "p2": (3, 3, 9, 9), "p3": (3, 2, 24, 8),
    }.items():
        phi = edge_phi(rng, n_w, n_a, start=len(specs)).tolist()
        blocks[key] = PANetCombiner(phi=phi, width=width, simd=simd)
        specs[key] = {"kind": "panet", "phi": phi, "width": width, "simd": simd}
    return blocks, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", ["p0", "p1", "p2", "p3"])
def test_cocotb_panet(key, tmp_path):
    run_harness_cocotb(make_blocks=cocotb_blocks, block="panet", key=key,
                       tb_module="tb_int8mac.py", test_dir=tmp_path)
