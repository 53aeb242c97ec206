# amaranth: UnusedElaboratable=no
"""BinaryMVAU (folded binary matrix-vector unit) against ``bnnhw.golden.binary_dense``.

Amaranth-simulator tier: ROM-weight units over several ``(rows, fan_in, PE, SIMD)`` foldings
(``PE = SIMD = 1``, ``PE = rows`` with ``SIMD = fan_in``, and in between), XNOR and AND, with and
without saturation (edge vectors: all zeros, all ones, the weight row itself and its complement,
counts exactly at ``P``), several vectors back to back, random stalls on both sides; the cycle
count per vector and the latency; ROM images taken from ``bnnhw.compiler.memory_images`` of a
compiled model; constant-weight mode; bad parameters. Grouped units (``groups = G``): fed the
grouped window stream of a grouped binary convolution (``test_window.grouped_windows``: per
position ``G`` vectors, vector ``g`` = group ``g``'s window) they give
``golden.binary_conv2d(groups=G)``, with ROMs packed here or taken from the compiler's images of a
compiled grouped model; ``SF * NF`` cycles per position. cocotb tier: five configurations (one
grouped) in one Verilog top, see ``sim/blocks/tb_mvau.py``.

For a dense layer with input ``(C, 1, 1)`` the hardware fan-in order equals golden's, so the ROM
words are packed here straight from the weight rows (``rom_words``).
"""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.compiler import fan_in_order, lower, memory_images, plan_folding
from bnnhw.hw.mvau import BinaryMVAU
from bnnhw.model import Model
from bnnhw.params import ParameterError

from .plans import unit_plan
from .streams import run_harness_cocotb, run_stream, stream_timing
from .test_window import grouped_windows


def pack(bits):
    """Little-endian integer of a bit sequence (element ``i`` at bit ``i``)."""
    return sum(int(b) << i for i, b in enumerate(bits))


def rom_words(w, pe, simd):
    """The per-PE ROM images of ``docs/compiler.md``: PE ``p``, address ``nf*SF + sf`` holds row
    ``nf*PE + p``, elements ``sf*SIMD ..`` at bits ``0 ..``. Written independently of the
    compiler (which ``test_words_from_compiled_model`` checks against)."""
    rows, fan_in = w.shape
    return [[pack(w[r, sf * simd:(sf + 1) * simd])
             for r in range(p, rows, pe) for sf in range(fan_in // simd)] for p in range(pe)]


def chunks(x, simd):
    """Input transfers of a batch of vectors ``(B, N)``: ``N / SIMD`` chunks per vector."""
    return [pack(v[s * simd:(s + 1) * simd]) for v in x for s in range(x.shape[1] // simd)]


def expected(x, w, *, op, pe, saturate_at=None, count_width):
    """Output payloads from golden: vector ``b``, neuron fold ``nf``, lane ``p`` = row
    ``nf*pe + p`` at bits ``p*count_width``."""
    p = golden.binary_dense(x, w, op=op)
    if saturate_at is not None:
        p = golden.saturate(p, saturate_at)
    return [sum(int(p[b, nf * pe + lane]) << (lane * count_width) for lane in range(pe))
            for b in range(len(x)) for nf in range(w.shape[0] // pe)]


def edge_vectors(w, rng, count=6):
    """All zeros, all ones, row 0 and its complement (counts N and 0 for XNOR), then random."""
    fan_in = w.shape[1]
    fixed = [np.zeros(fan_in, np.int64), np.ones(fan_in, np.int64), w[0], 1 - w[0]]
    return np.array(fixed + [rng.integers(0, 2, fan_in) for _ in range(count)])


def rtl_run(dut, x, w, *, stalls=(0.0, 0.0), seed=0):
    want = expected(x, w, op=dut.op, pe=dut.pe, saturate_at=dut.saturate_at,
                    count_width=dut.count_width)
    got = run_stream(dut, chunks(x, dut.simd), len(want), stall_in=stalls[0],
                     stall_out=stalls[1], seed=seed)
    return got, want


def make(w, pe, simd, **kwargs):
    rows, fan_in = w.shape
    return BinaryMVAU(rows=rows, fan_in=fan_in, pe=pe, simd=simd, words=rom_words(w, pe, simd),
                      **kwargs)


#: (rows, fan_in, pe, simd)
FOLDINGS = [
    (1, 1, 1, 1),      # smallest
    (4, 8, 1, 1),      # PE = SIMD = 1: 32 cycles per vector
    (6, 12, 2, 4),
    (6, 12, 3, 3),
    (4, 16, 4, 16),    # PE = rows, SIMD = fan_in: ROMs of depth 1, no buffer
    (8, 9, 8, 3),      # NF = 1, SF = 3: accumulator, no buffer
    (3, 20, 1, 20),    # SF = 1, NF = 3: buffer of one word
    (5, 7, 5, 1),
]
STALLS = [(0.0, 0.0), (0.5, 0.5)]


@pytest.mark.parametrize("stalls", STALLS, ids=["no_stall", "stall"])
@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("folding", FOLDINGS, ids=lambda f: "r{}_n{}_pe{}_simd{}".format(*f))
def test_rom_weights_match_golden(folding, op, stalls):
    rows, fan_in, pe, simd = folding
    rng = np.random.default_rng([*folding, op == "and"])
    w = rng.integers(0, 2, (rows, fan_in))
    x = edge_vectors(w, rng)
    got, want = rtl_run(make(w, pe, simd, op=op), x, w, stalls=stalls, seed=rows + fan_in)
    assert got == want


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("folding", [(4, 8, 1, 1), (6, 12, 2, 4), (8, 9, 8, 3), (4, 16, 4, 16),
                                     (3, 20, 1, 20)],
                         ids=lambda f: "r{}_n{}_pe{}_simd{}".format(*f))
def test_saturation_exactly_at_p(folding, op):
    """``P`` is a count some row reaches exactly; others lie above (clipped) and below."""
    rows, fan_in, pe, simd = folding
    rng = np.random.default_rng(rows * fan_in)
    w = rng.integers(0, 2, (rows, fan_in))
    x = edge_vectors(w, rng)
    p = golden.binary_dense(x, w, op=op)
    levels = np.unique(p)
    saturate_at = max(1, int(levels[len(levels) // 2]))
    assert (p == saturate_at).any() and (p > saturate_at).any()
    dut = make(w, pe, simd, op=op, saturate_at=saturate_at)
    assert dut.count_width == max(1, saturate_at).bit_length()
    got, want = rtl_run(dut, x, w, stalls=(0.3, 0.3))
    assert got == want


@pytest.mark.parametrize("saturate_at", [1, 2, 11, 12, 100])
def test_saturation_bounds(saturate_at):
    """``P = 1`` (one-bit counts), just below / at ``N``, and ``P > N`` (no-op, full width)."""
    rng = np.random.default_rng(saturate_at)
    w = rng.integers(0, 2, (6, 12))
    x = edge_vectors(w, rng)
    dut = make(w, 3, 4, saturate_at=saturate_at)
    assert dut.count_width == min(saturate_at, 12).bit_length()
    got, want = rtl_run(dut, x, w, stalls=(0.4, 0.4), seed=saturate_at)
    assert got == want


@pytest.mark.parametrize("stages", [1, 2])
def test_pipelined_popcount_under_stalls(stages):
    """Popcount ranks stall with the rest of the pipeline (EnableInserter)."""
    rng = np.random.default_rng(stages)
    w = rng.integers(0, 2, (6, 32))
    x = edge_vectors(w, rng, 10)
    for op, saturate_at in [("xnor", None), ("and", 5)]:
        dut = make(w, 2, 8, op=op, saturate_at=saturate_at, stages=stages)
        assert dut.stages == stages and dut.latency == 2 + stages
        got, want = rtl_run(dut, x, w, stalls=(0.5, 0.6), seed=stages)
        assert got == want


def test_long_back_to_back_stream():
    """Many vectors through a unit with buffer replay, heavy stalls on either side."""
    rng = np.random.default_rng(7)
    w = rng.integers(0, 2, (8, 24))
    x = rng.integers(0, 2, (30, 24))
    for stalls in [(0.8, 0.1), (0.1, 0.8)]:
        got, want = rtl_run(make(w, 2, 6), x, w, stalls=stalls, seed=int(stalls[0] * 10))
        assert got == want


@pytest.mark.parametrize("folding", [(4, 8, 1, 1), (6, 12, 2, 4), (8, 9, 8, 3), (4, 16, 4, 16),
                                     (3, 20, 1, 20)],
                         ids=lambda f: "r{}_n{}_pe{}_simd{}".format(*f))
@pytest.mark.parametrize("stages", [0, 1])
def test_cycles_per_vector_and_latency(folding, stages):
    """Without stalls: output ``nf`` of vector ``v`` transfers at edge
    ``v*SF*NF + nf*SF + SF-1 + latency`` (edge 0 accepts the first chunk): ``SF*NF`` cycles per
    vector, back to back."""
    rows, fan_in, pe, simd = folding
    rng = np.random.default_rng(1)
    w = rng.integers(0, 2, (rows, fan_in))
    x = rng.integers(0, 2, (4, fan_in))
    dut = make(w, pe, simd, stages=stages)
    sf, nf = fan_in // simd, rows // pe
    assert (dut.synapse_folds, dut.neuron_folds, dut.cycles_per_vector) == (sf, nf, sf * nf)
    edges = stream_timing(dut, chunks(x, simd), 4 * nf)
    assert edges == [v * sf * nf + n * sf + sf - 1 + dut.latency
                     for v in range(4) for n in range(nf)]


# --- the compiler's ROM images -------------------------------------------------------------------


def _tiny_model(seed, channels, height, width, rows, dot):
    """Binary dense (``dot``) on a ``(C, H, W)`` bit input, then an int8 dense classifier."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(0, 2, (rows, channels * height * width))
    if dot == "xnor":
        weight = 2 * weight - 1
    graph = {"format": "bnnhw-model", "version": 1, "name": "mvau-tiny",
             "input": {"shape": [channels, height, width], "type": "bits", "range": [0, 1]},
             "layers": [
                 {"name": "fc1", "op": "dense", "inputs": ["input"], "precision": "binary",
                  "dot": dot, "out_features": rows},
                 {"name": "fc2", "op": "dense", "inputs": ["fc1"], "precision": "int8",
                  "out_features": 3},
             ], "output": "fc2"}
    arrays = {"fc1.weight": weight.astype(np.int8),
              "fc2.weight": rng.integers(-128, 128, (3, rows)).astype(np.int8)}
    return Model.from_dict(graph, arrays)


@pytest.mark.parametrize("shape, rows, pe, simd, dot", [
    ((16, 1, 1), 6, 2, 4, "xnor"),
    ((4, 2, 3), 8, 4, 6, "xnor"),     # (h, w, c) hardware order differs from golden's (c, h, w)
    ((6, 1, 2), 4, 1, 3, "and"),
])
def test_words_from_compiled_model(shape, rows, pe, simd, dot):
    """The compiler's weight images, loaded as they are, give the compiled network's popcounts."""
    model = _tiny_model(sum(shape) + rows, *shape, rows, dot)
    compiled = lower(model)
    plan = unit_plan(compiled, "fc1", pe, simd)
    files, _ = memory_images(compiled, plan)
    words = [[int(line, 16) for line in files[f"fc1.weights.pe{p}.hex"].decode().split()]
             for p in range(pe)]
    fan_in = int(np.prod(shape))
    dut = BinaryMVAU(rows=rows, fan_in=fan_in, pe=pe, simd=simd, words=words, op=dot)

    rng = np.random.default_rng(rows)
    x = rng.integers(0, 2, (6, *shape))
    x[0], x[1] = 0, 1
    popcounts = compiled.run(x, keep=True)["fc1"].reshape(len(x), rows)  # golden, compiled
    hw_order = x.reshape(len(x), -1)[:, fan_in_order(None, shape)]
    cw = dut.count_width
    want = [sum(int(popcounts[b, nf * pe + p]) << (p * cw) for p in range(pe))
            for b in range(len(x)) for nf in range(rows // pe)]
    got = run_stream(dut, chunks(hw_order, simd), len(want), stall_in=0.3, stall_out=0.3)
    assert got == want


# --- grouped convolutions ------------------------------------------------------------------------

#: id -> (C, H, W, kernel, stride, padding, pad_bit, rows, groups, pe, simd, op, saturate_at,
#: stages)
GROUPED = {
    "r8_g4_pe2_simd4": (16, 4, 5, 3, 1, 1, 1, 8, 4, 2, 4, "xnor", None, 0),  # NF/G = 1
    "r8_g2_pe1_simd2": (4, 5, 6, 3, 2, 1, 0, 8, 2, 1, 2, "and", None, 0),    # NF/G = 4, buffer
    "r4_g4_pe1_simd1": (4, 6, 4, 2, 2, 0, 1, 4, 4, 1, 1, "xnor", None, 0),   # G = C (depthwise)
    "r12_g3_pe2_simd3": (9, 3, 5, (1, 3), 1, (0, 1), 0, 12, 3, 2, 3, "xnor", 5, 1),  # NF/G = 2
    "r6_g2_pe3_simd4_1x1": (8, 4, 3, 1, 1, 0, 1, 6, 2, 3, 4, "and", None, 1),  # SF = 1
}


def conv_payloads(p, pe, count_width):
    """Output payloads of popcounts ``p`` ``(B, rows, Ho, Wo)``: position-major (raster), then
    neuron fold ``nf``, lane ``q`` = row ``nf*PE + q`` at bits ``q*count_width``."""
    return [sum(int(p[b, nf * pe + q, oy, ox]) << (q * count_width) for q in range(pe))
            for b in range(p.shape[0]) for oy in range(p.shape[2]) for ox in range(p.shape[3])
            for nf in range(p.shape[1] // pe)]


def grouped_case(config, seed, images=3):
    """``(dut, payloads, popcounts)`` of a grouped binary conv: random golden weights
    ``(C_out, C/G, kh, kw)`` in a unit with ROMs in the compiler's layout (``rom_words`` of the
    rows in hardware fan-in order), the grouped window stream of ``images`` random bit maps
    (image 1 the complement of the pad bit) chunked by ``simd``, and golden's popcounts
    ``(B, rows, Ho, Wo)`` (saturated if asked)."""
    c, h, w, kernel, stride, padding, pad_bit, rows, groups, pe, simd, op, sat, stages = config
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 2, (rows, c // groups, kh, kw))
    hw_rows = weights.reshape(rows, -1)[:, fan_in_order(weights.shape)]
    dut = BinaryMVAU(rows=rows, fan_in=hw_rows.shape[1], pe=pe, simd=simd, op=op,
                     words=rom_words(hw_rows, pe, simd), saturate_at=sat, stages=stages,
                     groups=groups)
    x = rng.integers(0, 2, (images, c, h, w))
    if images > 1:
        x[1] = 1 - pad_bit
    win = grouped_windows(x, kernel, stride, padding, pad_bit, groups)  # (B, Ho, Wo, G, N)
    payloads = chunks(win.reshape(-1, win.shape[-1]), simd)
    p = golden.binary_conv2d(x, weights, stride=stride, padding=padding, groups=groups,
                             pad_value=1 if pad_bit else -1, op=op)
    if sat is not None:
        p = golden.saturate(p, sat)
    return dut, payloads, p


@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.5, 0.5), (0.8, 0.1), (0.1, 0.8)],
                         ids=["no_stall", "stall", "slow_src", "slow_sink"])
@pytest.mark.parametrize("config", list(GROUPED.values()), ids=list(GROUPED))
def test_grouped_conv_matches_golden(config, stalls):
    """``G`` vectors per output position (group ``g``'s window, ``fan_in = kh*kw*C/G`` bits),
    vector ``g`` used by neuron folds ``g*NF/G ..``: golden.binary_conv2d(groups=G)."""
    dut, payloads, p = grouped_case(config, sum(config[:3]) + config[8])
    assert dut.groups == config[8] and dut.neuron_folds % dut.groups == 0
    want = conv_payloads(p, dut.pe, dut.count_width)
    got = run_stream(dut, payloads, len(want), stall_in=stalls[0], stall_out=stalls[1],
                     seed=len(want))
    assert got == want


@pytest.mark.parametrize("config", [GROUPED[k] for k in (
    "r8_g4_pe2_simd4", "r8_g2_pe1_simd2", "r12_g3_pe2_simd3", "r6_g2_pe3_simd4_1x1")],
    ids=lambda c: f"r{c[7]}_g{c[8]}_pe{c[9]}_simd{c[10]}")
def test_grouped_cycles_per_position(config):
    """Grouping moves no cycle: output ``nf`` of position ``v`` still transfers at edge
    ``v*SF*NF + nf*SF + SF-1 + latency``, the ``G`` input vectors taken during neuron folds
    ``0, NF/G, 2*NF/G, ..``."""
    dut, payloads, _ = grouped_case(config, 3, images=1)
    sf, nf = dut.synapse_folds, dut.neuron_folds
    assert dut.cycles_per_vector == sf * nf
    positions = 4
    edges = stream_timing(dut, payloads[:positions * dut.groups * sf], positions * nf)
    assert edges == [v * sf * nf + n * sf + sf - 1 + dut.latency
                     for v in range(positions) for n in range(nf)]


def _grouped_conv_model(seed, channels, height, width, rows, groups, kernel, padding, dot):
    """Binary grouped conv ``c1`` (``dot``) on a ``(C, H, W)`` bit input, then an int8 dense."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(0, 2, (rows, channels // groups, kernel, kernel))
    if dot == "xnor":
        weight = 2 * weight - 1
    h_out, w_out = height + 2 * padding - kernel + 1, width + 2 * padding - kernel + 1
    conv = {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
            "dot": dot, "out_channels": rows, "kernel": kernel, "padding": padding,
            "groups": groups}
    if padding:
        conv["pad_value"] = -1
    graph = {"format": "bnnhw-model", "version": 1, "name": "mvau-grouped",
             "input": {"shape": [channels, height, width], "type": "bits", "range": [0, 1]},
             "layers": [
                 conv,
                 {"name": "fc2", "op": "dense", "inputs": ["c1"], "precision": "int8",
                  "out_features": 3},
             ], "output": "fc2"}
    arrays = {"c1.weight": weight.astype(np.int8),
              "fc2.weight": rng.integers(-128, 128, (3, rows * h_out * w_out)).astype(np.int8)}
    return Model.from_dict(graph, arrays)


@pytest.mark.parametrize("channels, rows, groups, kernel, padding, pe, simd, dot", [
    (8, 8, 4, 3, 1, 2, 2, "xnor"),
    (4, 8, 2, 3, 0, 1, 1, "and"),
    (4, 4, 4, 2, 1, 1, 1, "xnor"),
])
def test_grouped_words_from_compiled_model(channels, rows, groups, kernel, padding, pe, simd,
                                           dot):
    """The compiler's weight images and folding entry (``groups``) of a grouped conv, loaded as
    they are, give the compiled network's popcounts on the grouped window stream."""
    height, width = 4, 5
    model = _grouped_conv_model(rows + groups, channels, height, width, rows, groups, kernel,
                                padding, dot)
    compiled = lower(model)
    plan = plan_folding(compiled, overrides={"c1": (pe, simd)})
    files, memory_map = memory_images(compiled, plan)
    folding = next(f for f in memory_map["folding"]["layers"] if f["layer"] == "c1")
    assert (folding["groups"], folding["channels"]) == (groups, channels // groups)
    words = [[int(line, 16) for line in files[f"c1.weights.pe{p}.hex"].decode().split()]
             for p in range(pe)]
    dut = BinaryMVAU(rows=rows, fan_in=folding["fan_in"], pe=pe, simd=simd, words=words, op=dot,
                     groups=folding["groups"])

    rng = np.random.default_rng(rows * groups)
    x = rng.integers(0, 2, (3, channels, height, width))
    x[0] = 0
    popcounts = compiled.run(x, keep=True)["c1"]   # (B, rows, Ho, Wo), golden on the ROMs
    win = grouped_windows(x, kernel, 1, padding, 0, groups)
    want = conv_payloads(popcounts, pe, dut.count_width)
    got = run_stream(dut, chunks(win.reshape(-1, win.shape[-1]), simd), len(want),
                     stall_in=0.3, stall_out=0.3)
    assert got == want


# --- constant weights ----------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("rows, fan_in, saturate_at, stages", [
    (1, 1, None, 0), (4, 9, None, 0), (6, 16, 5, 0), (3, 24, None, 2), (8, 12, 1, 1)])
def test_constant_weights_match_golden(op, rows, fan_in, saturate_at, stages):
    rng = np.random.default_rng(rows * 31 + fan_in)
    w = rng.integers(0, 2, (rows, fan_in))
    if rows > 2:
        w[1] = 0  # AND: a tree with no inputs (constant 0)
        w[2] = 1
    x = edge_vectors(w, rng, 10)
    dut = BinaryMVAU(weights=w, op=op, saturate_at=saturate_at, stages=stages)
    assert dut.constant and dut.words is None
    assert (dut.pe, dut.simd, dut.cycles_per_vector, dut.latency) == (rows, fan_in, 1, 2 + stages)
    assert dut.weights == tuple(map(tuple, w.tolist()))
    got, want = rtl_run(dut, x, w, stalls=(0.4, 0.4), seed=rows)
    assert got == want


def test_constant_weights_full_rate():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 2, (5, 10))
    x = rng.integers(0, 2, (8, 10))
    dut = BinaryMVAU(weights=w.tolist(), rows=5, fan_in=10, pe=5, simd=10)
    assert stream_timing(dut, chunks(x, 10), 8) == list(range(2, 10))


def test_constant_weights_accept_bools():
    w = np.array([[True, False, True], [False, False, True]])
    dut = BinaryMVAU(weights=w, op="and")
    x = np.array([[1, 1, 1], [1, 0, 0], [0, 0, 1]])
    got, want = rtl_run(dut, x, w.astype(np.int64))
    assert got == want


# --- parameters ----------------------------------------------------------------------------------


def test_properties():
    w = np.zeros((6, 12), np.int64)
    dut = make(w, 2, 4, op="and", saturate_at=7, stages=1)
    assert (dut.rows, dut.fan_in, dut.pe, dut.simd, dut.op) == (6, 12, 2, 4, "and")
    assert (dut.saturate_at, dut.count_width, dut.stages, dut.constant) == (7, 3, 1, False)
    assert dut.words == tuple(tuple(words) for words in rom_words(w, 2, 4))
    assert dut.weights is None and dut.groups == 1
    assert len(dut.o.payload.as_value()) == 2 * 3 and len(dut.i.payload) == 4
    with pytest.raises(AttributeError):
        dut.pe = 3
    grouped = make(w, 1, 4, groups=3)
    assert (grouped.groups, grouped.neuron_folds, grouped.cycles_per_vector) == (3, 6, 18)
    with pytest.raises(AttributeError):
        grouped.groups = 1


GOOD = {"rows": 4, "fan_in": 6, "pe": 2, "simd": 3, "words": [[0] * 4, [7] * 4]}


@pytest.mark.parametrize("changes, name", [
    ({"simd": 4}, "simd"),
    ({"pe": 3}, "pe"),
    ({"simd": 0}, "simd"),
    ({"pe": 0}, "pe"),
    ({"rows": 0}, "rows"),
    ({"fan_in": 0}, "fan_in"),
    ({"fan_in": 6.0}, "fan_in"),
    ({"fan_in": None}, "fan_in"),
    ({"words": [[0] * 4]}, "words"),
    ({"words": [[0] * 4, [0] * 3]}, "words"),
    ({"words": [[0] * 4, [0, 0, 8, 0]]}, "words"),
    ({"words": [[0] * 4, [0, -1, 0, 0]]}, "words"),
    ({"words": [[0] * 4, [0, 1.0, 0, 0]]}, "words"),
    ({"words": None}, "words"),
    ({"weights": [[0] * 6] * 4}, "words"),
    ({"op": "or"}, "op"),
    ({"saturate_at": 0}, "saturate_at"),
    ({"saturate_at": -3}, "saturate_at"),
    ({"saturate_at": 2.5}, "saturate_at"),
    ({"reread": "yes"}, "reread"),
    ({"stages": 5}, "stages"),
    ({"stages": -1}, "stages"),
    ({"stages": 1.0}, "stages"),
    ({"groups": 4}, "groups"),                    # NF = 2
    ({"groups": 3}, "groups"),
    ({"groups": 0}, "groups"),
    ({"groups": 2.0}, "groups"),
    ({"rows": 8, "pe": 4, "words": [[0] * 4] * 4, "groups": 4}, "groups"),  # G | rows, not NF
])
def test_bad_rom_parameters(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        BinaryMVAU(**{**GOOD, **changes})


@pytest.mark.parametrize("kwargs, name", [
    ({"weights": []}, "weights"),
    ({"weights": [[]]}, "weights"),
    ({"weights": [[0, 1], [1]]}, "weights"),
    ({"weights": [[0, 2]]}, "weights"),
    ({"weights": [[0, -1]]}, "weights"),
    ({"weights": [[0, 0.5]]}, "weights"),
    ({"weights": 5}, "weights"),
    ({"weights": [[0, 1]], "pe": 2}, "pe"),
    ({"weights": [[0, 1]], "simd": 1}, "simd"),
    ({"weights": [[0, 1]], "rows": 2}, "rows"),
    ({"weights": [[0, 1]], "fan_in": 3}, "fan_in"),
    ({"weights": [[0, 1]], "saturate_at": 0}, "saturate_at"),
    ({"weights": [[0, 1, 1, 0]] * 2, "stages": 3}, "stages"),
    ({"weights": [[0, 1]] * 2, "groups": 2}, "groups"),     # fully unrolled: NF = 1
])
def test_bad_constant_parameters(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        BinaryMVAU(**kwargs)


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        BinaryMVAU(4, 6, 2, 3)


# --- zero padding: border-flagged chunks, zero-padded counts --------------------------------------


def zero_padded_case(w, simd, rng, count=8):
    """``(payloads, counts)``: vectors of ``simd``-bit chunks, each chunk a border chunk (bit
    ``simd`` set, its bits ignored: random here) or real; vector 0 all border, vector 1 no
    border, then random. ``counts[b, r] = 2*p_valid + P``, ``p_valid`` golden's XNOR popcount
    over the real taps, ``P`` the border taps: ``v + N`` for the zero-border dot ``v``."""
    rows, fan_in = w.shape
    folds = fan_in // simd
    border = rng.integers(0, 2, (count, folds)).astype(bool)
    border[0], border[1] = True, False
    x = rng.integers(0, 2, (count, fan_in))
    counts = np.zeros((count, rows), np.int64)
    payloads = []
    for b in range(count):
        real = ~np.repeat(border[b], simd)
        if real.any():
            counts[b] = 2 * golden.binary_dense(x[b:b + 1, real], w[:, real])[0]
        counts[b] += (~real).sum()
        payloads += [pack(x[b, s * simd:(s + 1) * simd]) | (int(border[b, s]) << simd)
                     for s in range(folds)]
    return payloads, counts


@pytest.mark.parametrize("folding", [(6, 12, 2, 4), (4, 8, 1, 1), (8, 9, 8, 3), (3, 20, 1, 20)],
                         ids=lambda f: "r{}_n{}_pe{}_simd{}".format(*f))
@pytest.mark.parametrize("stages", [0, 1])
@pytest.mark.parametrize("saturate", [False, True])
def test_zero_padded_counts_match_golden(folding, stages, saturate):
    rows, fan_in, pe, simd = folding
    rng = np.random.default_rng(rows * fan_in + stages)
    w = rng.integers(0, 2, (rows, fan_in))
    payloads, counts = zero_padded_case(w, simd, rng)
    limit = fan_in + 1 if saturate else None   # u saturated at N + B (B = 1)
    dut = make(w, pe, simd, stages=min(stages, 1 if simd > 1 else 0), zero_pad=True,
               saturate_at=limit)
    assert (dut.count_top, dut.i.payload.shape().width) == (2 * fan_in, simd + 1)
    if limit is not None:
        counts = golden.saturate(counts, limit)
        assert (counts == limit).any()
    cw = dut.count_width
    want = [sum(int(counts[b, nf * pe + lane]) << (lane * cw) for lane in range(pe))
            for b in range(len(counts)) for nf in range(rows // pe)]
    got = run_stream(dut, payloads, len(want), stall_in=0.4, stall_out=0.4, seed=rows)
    assert got == want
    np.testing.assert_array_equal(
        golden.zero_padded_dot(np.minimum(counts, 2 * fan_in), fan_in),
        np.minimum(counts, 2 * fan_in) - fan_in)


@pytest.mark.parametrize("stalls", STALLS, ids=["no_stall", "stall"])
@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("folding", FOLDINGS, ids=lambda f: "r{}_n{}_pe{}_simd{}".format(*f))
def test_words_in_logic_match_golden(folding, op, stalls):
    """``words_in_logic``: the ROM words hard-wired and multiplexed on the word address give the
    ROM's counts, at every folding (one word up to 32), under stalls."""
    rows, fan_in, pe, simd = folding
    rng = np.random.default_rng([*folding, op == "and", 7])
    w = rng.integers(0, 2, (rows, fan_in))
    x = edge_vectors(w, rng)
    dut = make(w, pe, simd, op=op, words_in_logic=True)
    assert dut.words_in_logic
    got, want = rtl_run(dut, x, w, stalls=stalls, seed=rows + fan_in)
    assert got == want


@pytest.mark.parametrize("folding", [(6, 12, 2, 4), (8, 9, 8, 3), (3, 20, 1, 20)],
                         ids=lambda f: "r{}_n{}_pe{}_simd{}".format(*f))
def test_words_in_logic_keep_the_timing(folding):
    """Hard-wired words change no edge: the same outputs at the same edges as the ROM unit, with
    a pipelined tree, zero padding and groups alike."""
    rows, fan_in, pe, simd = folding
    rng = np.random.default_rng(3)
    w = rng.integers(0, 2, (rows, fan_in))
    x = rng.integers(0, 2, (4, fan_in))
    nf = rows // pe
    stages = 1 if simd > 1 else 0
    rom, wired = (make(w, pe, simd, stages=stages, words_in_logic=flag) for flag in (False, True))
    assert stream_timing(rom, chunks(x, simd), 4 * nf) == \
        stream_timing(wired, chunks(x, simd), 4 * nf)
    payloads, counts = zero_padded_case(w, simd, rng)
    dut = make(w, pe, simd, zero_pad=True, words_in_logic=True)
    cw = dut.count_width
    want = [sum(int(counts[b, n * pe + lane]) << (lane * cw) for lane in range(pe))
            for b in range(len(counts)) for n in range(nf)]
    assert run_stream(dut, payloads, len(want), stall_in=0.4, stall_out=0.4, seed=5) == want


def test_words_in_logic_needs_rom_words():
    with pytest.raises(ParameterError, match="^words_in_logic"):
        BinaryMVAU(weights=np.ones((2, 4), np.int64), words_in_logic=True)


def test_zero_pad_is_xnor_with_rom_words_only():
    w = np.ones((2, 4), np.int64)
    with pytest.raises(ParameterError, match="^zero_pad"):
        make(w, 1, 2, op="and", zero_pad=True)
    with pytest.raises(ParameterError, match="^zero_pad"):
        BinaryMVAU(weights=w, zero_pad=True)


# --- cocotb + Verilator --------------------------------------------------------------------------

#: Harness instances: (rows, fan_in, pe, simd, op, saturate_at, stages, constant, groups).
COCOTB_CONFIGS = {
    "m0": (6, 12, 2, 4, "xnor", None, 0, False, 1),
    "m1": (4, 10, 1, 1, "and", None, 0, False, 1),      # PE = SIMD = 1
    "m2": (8, 32, 4, 8, "xnor", 20, 1, False, 1),       # saturating, pipelined tree
    "m3": (5, 16, 5, 16, "xnor", 9, 0, True, 1),        # constant weights
    "m4": (12, 18, 2, 3, "xnor", None, 0, False, 3),    # grouped: 3 vectors, NF/G = 2 replays
    "m5": (6, 12, 3, 4, "xnor", None, 1, False, 1),     # zero padding (see ZERO_PAD_KEYS)
    "m6": (8, 24, 4, 12, "xnor", None, 1, "words", 1),  # words in logic: 4 muxed words
}
#: Instances with zero padding: border-flagged chunks of ``simd + 1`` bits.
ZERO_PAD_KEYS = {"m5"}


def _cocotb_blocks():
    blocks, specs = {}, {}
    for key, (rows, fan_in, pe, simd, op, sat, stages, constant, groups) in \
            COCOTB_CONFIGS.items():
        rng = np.random.default_rng(int(key[1:]) + 200)
        w = rng.integers(0, 2, (rows, fan_in))
        if constant == "words":
            blocks[key] = make(w, pe, simd, op=op, saturate_at=sat, stages=stages,
                               words_in_logic=True)
        elif constant:
            blocks[key] = BinaryMVAU(weights=w, op=op, saturate_at=sat, stages=stages)
        else:
            blocks[key] = make(w, pe, simd, op=op, saturate_at=sat, stages=stages, groups=groups,
                               **({"zero_pad": True} if key in ZERO_PAD_KEYS else {}))
        specs[key] = {"weights": w.tolist(), "pe": pe, "simd": simd, "op": op,
                      "saturate_at": sat, "count_width": blocks[key].count_width,
                      "groups": groups, "zero_pad": key in ZERO_PAD_KEYS}
    return blocks, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", sorted(COCOTB_CONFIGS))
def test_cocotb_mvau(key, tmp_path):
    run_harness_cocotb(make_blocks=_cocotb_blocks, block="mvau", key=key,
                       tb_module="tb_mvau.py", test_dir=tmp_path)
