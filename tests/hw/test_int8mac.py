# amaranth: UnusedElaboratable=no
"""Int8MAC (folded int8 matrix-vector unit) against ``bnnhw.golden.int8_dense`` / ``int8_conv2d``.

Amaranth-simulator tier: several foldings (PE = SIMD = 1, fully parallel, mixed), int8 extremes
everywhere (weights and inputs of -128 / 127, accumulators at exactly ±(2**31 - 1) through the
bias), back-to-back vectors, random stalls on both sides, depthwise mode against a depthwise
``int8_conv2d``, the ROM layout against the compiler's images, the full PokeInit datapath
int8 -> int32 -> int8 through ``Requantize``, latency / throughput and bad parameters. cocotb tier:
``sim/blocks/tb_int8mac.py`` on one Verilator build of several configurations.
"""


import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from bnnhw import golden
from bnnhw.hw.fixed import Requantize
from bnnhw.hw.int8mac import Int8MAC, pack_int8_weights

from .streams import run_harness_cocotb, run_stream, stream_timing

INT32_MAX = (1 << 31) - 1
STALLS = [(0.0, 0.0), (0.5, 0.5)]
STALL_IDS = ["no_stall", "stall"]


def edge_weights(rng, rows, fan_in):
    """``(rows, fan_in)`` int8: all -128, all 127, alternating extremes, then random rows."""
    patterns = [np.full(fan_in, -128), np.full(fan_in, 127),
                np.where(np.arange(fan_in) % 2, 127, -128)]
    w = [patterns[r] if r < len(patterns) else rng.integers(-128, 128, fan_in)
         for r in range(rows)]
    return np.array(w, dtype=np.int64)


def edge_bias(rng, w):
    """Per-row bias; rows 0 / 1 reach exactly ±(2**31 - 1) for an all -128 input."""
    room = INT32_MAX - 128 * np.abs(w).sum(axis=1)
    bias = [int(rng.integers(-room[r], room[r] + 1)) for r in range(len(w))]
    bias[0] = int(room[0])  # w = -128, x = -128: acc = +max
    if len(w) > 1:
        bias[1] = -int(room[1])  # w = 127, x = -128: acc = -max
    return bias


def edge_inputs(rng, fan_in, vectors):
    """``(B, fan_in)`` int8: all -128, all 127, alternating, zero, then random vectors."""
    x = [np.full(fan_in, -128), np.full(fan_in, 127),
         np.where(np.arange(fan_in) % 2, -128, 127), np.zeros(fan_in, np.int64)]
    x += [rng.integers(-128, 128, fan_in) for _ in range(vectors)]
    return np.array(x, dtype=np.int64)


def unpack_lanes(words, lanes, bits=32):
    """Raw output words -> ``(transfers, lanes)`` signed integers."""
    out = []
    for word in words:
        row = []
        for lane in range(lanes):
            value = (word >> (bits * lane)) & ((1 << bits) - 1)
            row.append(value - (1 << bits) if value >> (bits - 1) else value)
        out.append(row)
    return np.array(out, dtype=np.int64).reshape(len(words), lanes)


def dense_payloads(x, simd):
    """Vector ``b`` streams as ``fan_in/simd`` transfers of ``simd`` elements, in order."""
    return [x[b, k:k + simd].tolist() for b in range(len(x)) for k in range(0, x.shape[1], simd)]


def depthwise_payloads(x, pe, simd):
    """``x (B, rows, fan_in)``: transfer ``(b, nf, sf)`` holds lane ``p`` = row ``nf*pe + p``."""
    batch, rows, fan_in = x.shape
    return [np.concatenate([x[b, nf * pe + p, sf * simd:(sf + 1) * simd] for p in range(pe)])
            .tolist()
            for b in range(batch) for nf in range(rows // pe) for sf in range(fan_in // simd)]


def rtl_dense(dut, x, **kwargs):
    """Run vectors ``x (B, fan_in)`` through ``dut``; return ``(B, rows)`` accumulators."""
    count = len(x) * dut.neuron_folds
    words = run_stream(dut, dense_payloads(x, dut.simd), count, **kwargs)
    return unpack_lanes(words, dut.pe).reshape(len(x), dut.rows)


CONFIGS = [  # rows, fan_in, pe, simd
    (1, 1, 1, 1),
    (4, 6, 1, 1),
    (6, 12, 2, 3),
    (5, 8, 5, 8),     # fully parallel
    (8, 16, 4, 2),
    (3, 48, 3, 16),   # PokeInit stem: 4x4 kernel x 3 channels
    (2, 32, 1, 32),
]


@pytest.mark.parametrize("pipelined", [False, True], ids=["one_stage", "pipelined"])
@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("rows, fan_in, pe, simd", CONFIGS,
                         ids=[f"r{r}_n{n}_pe{p}_simd{s}" for r, n, p, s in CONFIGS])
def test_dense(rows, fan_in, pe, simd, stalls, pipelined):
    rng = np.random.default_rng(rows * 1000 + fan_in * 10 + pe)
    w = edge_weights(rng, rows, fan_in)
    bias = edge_bias(rng, w)
    x = edge_inputs(rng, fan_in, 6)
    want = golden.int8_dense(x, w, bias)
    if rows > 1:
        assert want[0, 0] == INT32_MAX and want[0, 1] == -INT32_MAX
    dut = Int8MAC.from_matrix(w, bias, pe=pe, simd=simd, pipelined=pipelined)
    got = rtl_dense(dut, x, stall_in=stalls[0], stall_out=stalls[1], seed=rows + fan_in)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("simd, ranks", [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (9, 2),
                                         (16, 2), (32, 3), (48, 3)])
def test_pipelined_latency(simd, ranks):
    """Pipelined: the products, then every second tree level below the last, are registered;
    the output of a lone vector transfers ``latency`` edges after the edge that took it."""
    rng = np.random.default_rng(simd)
    w = edge_weights(rng, 2, simd)
    dut = Int8MAC.from_matrix(w, [0, 0], pe=2, simd=simd, pipelined=True)
    assert dut.extra_ranks == ranks and dut.latency == 3 + ranks
    assert Int8MAC.from_matrix(w, [0, 0], pe=2, simd=simd).latency == 3
    x = edge_inputs(rng, simd, 1)[:1]
    assert stream_timing(dut, dense_payloads(x, simd), 1) == [dut.latency]   # SF = NF = 1


@pytest.mark.parametrize("pe, simd", [(1, 1), (2, 4), (3, 2)])
def test_reread_takes_the_vector_once_per_fold(pe, simd):
    """``reread``: the vector arrives ``NF`` times (as a repeating sliding window sends it); no
    buffer, the same accumulators, under stalls."""
    rng = np.random.default_rng(pe * 7 + simd)
    w = edge_weights(rng, 6, 8)
    bias = edge_bias(rng, w)
    x = edge_inputs(rng, 8, 5)
    want = golden.int8_dense(x, w, bias)
    dut = Int8MAC(weights=pack_int8_weights(w, pe=pe, simd=simd), bias=bias, fan_in=8, pe=pe,
                  simd=simd, reread=True)
    nf = 6 // pe
    payloads = [chunk for v in x for _ in range(nf) for chunk in dense_payloads(v[None], simd)]
    words = run_stream(dut, payloads, len(x) * nf, stall_in=0.3, stall_out=0.3, seed=pe)
    np.testing.assert_array_equal(unpack_lanes(words, pe).reshape(len(x), 6), want)


@pytest.mark.parametrize("lo, hi", [(0, 16), (-3, 5), (0, 0), (-128, -1), (0, 127)])
@pytest.mark.parametrize("pe, simd", [(1, 1), (2, 4)])
def test_narrow_input_range(lo, hi, pe, simd):
    """``input_range``: narrower multipliers and accumulators, the same sums for inputs in the
    range (its ends included), under stalls."""
    rng = np.random.default_rng(hi - lo + pe)
    w = edge_weights(rng, 4, 8)
    bias = [int(b) for b in rng.integers(-1000, 1000, 4)]
    x = np.concatenate([np.full((1, 8), lo), np.full((1, 8), hi),
                        rng.integers(lo, hi + 1, (10, 8))])
    want = golden.int8_dense(x, w, bias)
    dut = Int8MAC.from_matrix(w, bias, pe=pe, simd=simd)
    narrow = Int8MAC(weights=pack_int8_weights(w, pe=pe, simd=simd), bias=bias, fan_in=8, pe=pe,
                     simd=simd, input_range=(lo, hi))
    assert narrow.accumulator_width <= dut.accumulator_width <= 32
    got = rtl_dense(narrow, x, stall_in=0.3, stall_out=0.3, seed=pe)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("channels, pe, simd", [(4, 1, 9), (6, 2, 3), (3, 3, 1), (2, 2, 9)])
def test_depthwise(channels, pe, simd, stalls):
    """3x3 depthwise: one row per channel, each with its own 9-element window."""
    rng = np.random.default_rng(channels * 10 + simd)
    w = edge_weights(rng, channels, 9)
    bias = edge_bias(rng, w)
    windows = np.stack([edge_inputs(rng, 9, 4)[rng.permutation(8)] for _ in range(channels)],
                       axis=1)  # (B, C, 9)
    want = golden.int8_conv2d(windows.reshape(-1, channels, 3, 3), w.reshape(channels, 1, 3, 3),
                              bias, groups=channels).reshape(-1, channels)
    dut = Int8MAC.from_matrix(w, bias, pe=pe, simd=simd, depthwise=True,
                              pipelined=stalls[0] > 0)
    payloads = depthwise_payloads(windows, pe, simd)
    count = len(windows) * dut.neuron_folds
    words = run_stream(dut, payloads, count, stall_in=stalls[0], stall_out=stalls[1], seed=simd)
    got = unpack_lanes(words, pe).reshape(len(windows), channels)
    np.testing.assert_array_equal(got, want)


def test_conv2d_stem_against_golden():
    """The 4x4 stride-4 stem as im2col: windows in the compiler's (k_h, k_w, c) fan-in order."""
    from bnnhw.compiler.images import fan_in_order

    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (1, 3, 8, 8))
    x[0, :, :4, :4] = -128
    w = rng.integers(-128, 128, (4, 3, 4, 4))
    bias = rng.integers(-1000, 1000, 4).tolist()
    want = golden.int8_conv2d(x, w, bias, stride=4)  # (1, 4, 2, 2)
    order = fan_in_order(w.shape)
    matrix = w.reshape(4, -1)[:, order]
    windows = np.array([x[0, :, 4 * r:4 * r + 4, 4 * s:4 * s + 4].reshape(-1)[order]
                        for r in range(2) for s in range(2)])
    dut = Int8MAC.from_matrix(matrix, bias, pe=2, simd=12)
    got = rtl_dense(dut, windows, stall_in=0.3, stall_out=0.3)
    np.testing.assert_array_equal(got.T.reshape(1, 4, 2, 2), want)


def test_weight_layout_matches_compiler_images():
    from bnnhw.compiler import lower, memory_images, plan_folding
    from bnnhw.model import Model

    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (6, 12))
    graph = {"format": "bnnhw-model", "version": 1, "name": "fc-only",
             "input": {"shape": [12, 1, 1], "type": "int8"},
             "layers": [{"name": "fc", "op": "dense", "inputs": ["input"], "precision": "int8",
                         "out_features": 6}],
             "output": "fc"}
    compiled = lower(Model.from_dict(graph, {"fc.weight": w}))
    files, _ = memory_images(compiled, plan_folding(compiled, overrides={"fc": (3, 4)}))
    images = [[int(line, 16) for line in files[f"fc.weights.pe{p}.hex"].split()]
              for p in range(3)]
    assert pack_int8_weights(w, pe=3, simd=4) == images


class _PokeInitDatapath(wiring.Component):
    """Int8MAC (PE = 1) feeding Requantize: int8 -> int32 -> int8."""

    def __init__(self, mac, requantize):
        self._mac, self._rq = mac, requantize
        super().__init__({"i": In(stream.Signature(mac.i.payload.shape())),
                          "o": Out(stream.Signature(requantize.o.payload.shape()))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac, m.submodules.rq = self._mac, self._rq
        wiring.connect(m, wiring.flipped(self.i), self._mac.i)
        m.d.comb += [
            self._rq.i.valid.eq(self._mac.o.valid),
            self._rq.i.payload.eq(self._mac.o.payload[0]),
            self._mac.o.ready.eq(self._rq.i.ready),
        ]
        wiring.connect(m, self._rq.o, wiring.flipped(self.o))
        return m


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
def test_pokeinit_requantized(stalls):
    rng = np.random.default_rng(11)
    rows, fan_in, shift = 5, 16, 22
    w = edge_weights(rng, rows, fan_in)
    bias = edge_bias(rng, w)
    multiplier = [65535, -65535, 1 << 15, 3, int(rng.integers(-65535, 65536))]
    x = edge_inputs(rng, fan_in, 10)
    want = golden.requantize(golden.int8_dense(x, w, bias), multiplier, shift)
    assert (want == 127).any() and (want == -127).any()
    dut = _PokeInitDatapath(Int8MAC.from_matrix(w, bias, pe=1, simd=4),
                            Requantize(multiplier=multiplier, shift=shift))
    got = run_stream(dut, dense_payloads(x, 4), want.size, stall_in=stalls[0],
                     stall_out=stalls[1])
    np.testing.assert_array_equal(np.array(got).reshape(want.shape), want)


@pytest.mark.parametrize("rows, fan_in, pe, simd, depthwise", [
    (4, 6, 1, 1, False), (6, 12, 2, 3, False), (5, 8, 5, 8, False), (4, 9, 2, 3, True),
    (3, 3, 3, 3, True),
])
def test_latency_and_throughput(rows, fan_in, pe, simd, depthwise):
    """No stalls: one fold per cycle, output of fold ``k`` at edge ``k*SF + SF - 1 + latency``."""
    rng = np.random.default_rng(0)
    dut = Int8MAC.from_matrix(rng.integers(-128, 128, (rows, fan_in)), [0] * rows, pe=pe,
                              simd=simd, depthwise=depthwise)
    vectors = 3
    sf, nf = dut.synapse_folds, dut.neuron_folds
    transfers = vectors * sf * (nf if depthwise else 1)
    payloads = [[1] * (simd * (pe if depthwise else 1))] * transfers
    edges = stream_timing(dut, payloads, vectors * nf)
    assert dut.latency == 3 and dut.cycles_per_vector == sf * nf
    assert edges == [k * sf + sf - 1 + dut.latency for k in range(vectors * nf)]


def test_properties():
    dut = Int8MAC.from_matrix([[1, -1, 2, -2], [3, 4, 5, 6]], [7, -8], pe=2, simd=2)
    assert (dut.rows, dut.fan_in, dut.pe, dut.simd, dut.depthwise) == (2, 4, 2, 2, False)
    assert (dut.synapse_folds, dut.neuron_folds, dut.bias) == (2, 1, (7, -8))
    assert dut.weights == ((0xFF01, 0xFE02), (0x0403, 0x0605))
    assert dut.i.payload.shape().length == 2 and dut.o.payload.shape().length == 2
    with pytest.raises(AttributeError):
        dut.pe = 1


GOOD = {"weights": [[0, 0]], "bias": [0], "fan_in": 4, "pe": 1, "simd": 2}


@pytest.mark.parametrize("changes, name", [
    ({"simd": 3}, "simd"),
    ({"simd": 0}, "simd"),
    ({"pe": 2, "weights": [[0], [0]], "bias": [0, 0, 0]}, "pe"),
    ({"pe": 0}, "pe"),
    ({"weights": [[0, 0, 0]]}, "weights"),                 # word count
    ({"weights": [[0, 1 << 16]]}, "weights"),              # word width
    ({"weights": [[0, -1]]}, "weights"),
    ({"weights": [[0, 0], [0, 0]]}, "weights"),            # image count != pe
    ({"weights": [[0, 1.5]]}, "weights"),
    ({"bias": [1 << 31]}, "bias"),
    ({"bias": [-(1 << 31) - 1]}, "bias"),
    ({"bias": []}, "bias"),
    ({"bias": [INT32_MAX - 2 * 128 * 128 + 1], "weights": [[0x8080, 0]]}, "weights"),  # overflow
    ({"fan_in": 0}, "fan_in"),
    ({"depthwise": 1}, "depthwise"),
    ({"input_range": (0, 200)}, "input_range"),
    ({"input_range": (5, 4)}, "input_range"),
    ({"input_range": 16}, "input_range"),
    ({"reread": 1}, "reread"),
])
def test_bad_parameters(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        Int8MAC(**{**GOOD, **changes})


def test_accumulator_bound_is_inclusive():
    Int8MAC(**{**GOOD, "bias": [INT32_MAX - 2 * 128 * 128], "weights": [[0x8080, 0]]})


@pytest.mark.parametrize("matrix, name", [
    ([[128]], "matrix"), ([[1, 2], [3]], "matrix"), ([], "matrix"),
])
def test_pack_bad_matrix(matrix, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        pack_int8_weights(matrix, pe=1, simd=1)


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        Int8MAC([[0]], [0], 1, 1, 1)


# --- cocotb + Verilator --------------------------------------------------------------------------


def cocotb_blocks():
    """Six Int8MAC configurations (one Verilator build): PE = SIMD = 1, mixed, fully parallel,
    depthwise, and pipelined (fully parallel 9-element dots, a pipelined depthwise one)."""
    rng = np.random.default_rng(2025)
    blocks, specs = {}, {}
    for key, (rows, fan_in, pe, simd, depthwise, pipelined) in {
        "m0": (3, 4, 1, 1, False, False), "m1": (6, 12, 2, 3, False, False),
        "m2": (4, 8, 4, 8, False, False), "m3": (4, 9, 2, 3, True, False),
        "m4": (8, 9, 8, 9, False, True), "m5": (4, 9, 2, 9, True, True),
    }.items():
        w = edge_weights(rng, rows, fan_in)
        bias = edge_bias(rng, w)
        blocks[key] = Int8MAC.from_matrix(w, bias, pe=pe, simd=simd, depthwise=depthwise,
                                          pipelined=pipelined)
        specs[key] = {"kind": "int8mac", "matrix": w.tolist(), "bias": bias, "pe": pe,
                      "simd": simd, "depthwise": depthwise}
    return blocks, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", ["m0", "m1", "m2", "m3", "m4", "m5"])
def test_cocotb_int8mac(key, tmp_path):
    run_harness_cocotb(make_blocks=cocotb_blocks, block="int8mac", key=key,
                       tb_module="tb_int8mac.py", test_dir=tmp_path)
