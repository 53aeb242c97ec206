# amaranth: UnusedElaboratable=no
"""BinaryMVTU (binary matrix-vector unit + per-PE threshold units) against the compiled network.

Every case builds a tiny model with ``Model.from_dict`` (binary dense -> batchnorm -> sign, then a
binary classifier so the output gives integer logits), lowers it with ``bnnhw.compiler.lower``,
folds the first layer with ``tests.hw.plans.unit_plan`` (a block-level folding) and builds the unit
as the network top does, from the compiler's hardware plan (``bnnhw.compiler.hardware_plan``: the
engine's folding, dot, per-PE weight words and threshold words; ``plan_unit``). Expected bits
are the compiled network's threshold-layer output (``compiled.run(x, keep=True)["sg1"]``,
slice-major ``(B, k*rows, 1, 1)``): golden channel ``n*rows + r`` is lane ``p``, bit ``n`` of
output transfer ``nf`` with ``r = nf*PE + p``.

Models: plain sign (k = 1); multi-slice biases k = 2 and 4; negative gammas, a zero gamma and
always-1 / always-0 channels (all ``T == 0`` constant channels); an AND dot; a clipped XNOR layer
with a saturating accumulator. Foldings include ``PE = SIMD = 1`` and fully parallel. Grouped
convolutions: binary ``conv2d(groups=G)`` -> batchnorm -> sign, the unit built by ``plan_unit``
(``groups`` from the engine's folding) and fed the grouped window stream
(``test_window.grouped_windows``), against the compiled threshold layer at every output position.
cocotb tier: six configurations (one grouped) in one Verilog top, see
``sim/blocks/tb_mvtu.py``.
"""

import json

import numpy as np
import pytest

from bnnhw.compiler import fan_in_order, hardware_plan, lower, plan_folding
from bnnhw.hw.mvtu import BinaryMVTU
from bnnhw.model import Model

from .plans import unit_plan
from .streams import BUILD_ROOT, TB_DIR, Harness, run_stream, stream_timing
from .test_window import grouped_windows, zero_padded_chunks

#: name -> (input shape, rows, dot, sign biases or None, special, clip)
MODELS = {
    "sign": ((12, 1, 1), 6, "xnor", None, None, None),
    "ms2": ((3, 2, 4), 4, "xnor", [-0.7, 0.7], None, None),   # spatial input: (h, w, c) order
    "ms4": ((16, 1, 1), 8, "xnor", [-1.5, -0.5, 0.5, 1.5], None, None),
    "neg": ((10, 1, 1), 6, "xnor", [-0.5, 0.5], "negative", None),
    "and": ((9, 1, 1), 4, "and", [0.0, 1.0], None, None),
    "clip": ((32, 1, 1), 4, "xnor", None, None, 8),
}


def build_model(key, seed=0):
    """``Model`` for ``MODELS[key]``: fc1 (binary) -> bn1 -> sg1 -> fc2 (binary classifier)."""
    shape, rows, dot, biases, special, clip = MODELS[key]
    rng = np.random.default_rng([seed, len(key), rows])
    fan_in = int(np.prod(shape))
    k = 1 if biases is None else len(biases)
    weight = rng.integers(0, 2, (rows, fan_in))
    if dot == "xnor":
        weight = 2 * weight - 1
        mean = rng.uniform(-fan_in / 2, fan_in / 2, rows)   # v = 2p - N in [-N, N]
    else:
        mean = rng.uniform(0, fan_in, rows)                 # v = p in [0, N]
    if clip is not None:
        mean = rng.uniform(-clip / 2, clip / 2, rows)       # v = clip(2p - N, -B, B)
    gamma = rng.uniform(0.3, 2.0, rows)
    beta = rng.uniform(-1.0, 1.0, rows)
    if special == "negative":
        gamma[[1, 3, 4]] *= -1
        gamma[0] = 0.0                 # constant channel from a = 0: bit = (b + bias >= 0)
        beta[0] = 0.2
        beta[2], gamma[2] = 1e3, 1.0   # always 1: T = 0, invert = 0
        beta[5], gamma[5] = -1e3, 1.0  # always 0: T = 0, invert = 1
    fc1 = {"name": "fc1", "op": "dense", "inputs": ["input"], "precision": "binary",
           "dot": dot, "out_features": rows}
    if clip is not None:
        fc1["clip"] = clip
    sign = {"name": "sg1", "op": "sign", "inputs": ["bn1"]}
    if biases is not None:
        sign["biases"] = biases
    graph = {"format": "bnnhw-model", "version": 1, "name": f"mvtu-{key}",
             "input": {"shape": list(shape), "type": "bits", "range": [0, 1]},
             "layers": [
                 fc1,
                 {"name": "bn1", "op": "batchnorm", "inputs": ["fc1"], "eps": 1e-5},
                 sign,
                 {"name": "fc2", "op": "dense", "inputs": ["sg1"], "precision": "binary",
                  "dot": "xnor", "out_features": 3},
             ], "output": "fc2"}
    arrays = {"fc1.weight": weight.astype(np.int8),
              "bn1.gamma": gamma, "bn1.beta": beta, "bn1.mean": mean,
              "bn1.var": rng.uniform(0.5, 2.0, rows),
              "fc2.weight": (2 * rng.integers(0, 2, (3, k * rows)) - 1).astype(np.int8)}
    return Model.from_dict(graph, arrays)


def compile_layer(key, pe, simd):
    """``(compiled, hardware)``: the compiled model and its hardware plan, fc1 folded as
    ``(pe, simd)``."""
    compiled = lower(build_model(key))
    return compiled, hardware_plan(compiled, unit_plan(compiled, "fc1", pe, simd))


def plan_unit(hardware, name, **kwargs):
    """The :class:`BinaryMVTU` of the plan's engine carrying ``name`` (a matrix layer and its
    fused threshold), built on the engine's folding, dot, weight words and threshold words as the
    network top builds it; ``kwargs``: ``saturate_at``, ``stages``."""
    engine = hardware.engine(name)
    folding, thresholds = engine.folding, engine.thresholds
    return BinaryMVTU(fan_in=folding.fan_in, rows=folding.rows, pe=folding.pe,
                      simd=folding.simd, words=engine.weights, op=engine.geometry.dot,
                      threshold_words=thresholds.words, slices=thresholds.slices,
                      threshold_width=thresholds.width, groups=folding.groups,
                      zero_pad=engine.geometry.zero_pad, **kwargs)


def pack(bits):
    return sum(int(b) << i for i, b in enumerate(bits))


def make_vectors(compiled, count, seed):
    """Input images ``(B, C, H, W)`` and the same vectors in hardware fan-in order ``(B, N)``:
    all zeros, all ones, fc1's weight row 0 (count N / all-AND) and its complement, random."""
    shape = compiled.input_shape
    fan_in = int(np.prod(shape))
    order = fan_in_order(None, shape)
    w0 = np.asarray(compiled.layer["fc1"].params["weight"])[0].reshape(-1)[order]
    rng = np.random.default_rng(seed)
    hw = np.array([np.zeros(fan_in, np.int64), np.ones(fan_in, np.int64), w0, 1 - w0]
                  + [rng.integers(0, 2, fan_in) for _ in range(count)], dtype=np.int64)
    flat = np.empty_like(hw)
    flat[:, order] = hw
    return flat.reshape(len(hw), *shape), hw


def chunks(hw, simd):
    return [pack(v[s * simd:(s + 1) * simd]) for v in hw for s in range(hw.shape[1] // simd)]


def expected_payloads(compiled, x, *, rows, pe, k):
    """Transfer ``(b, nf)``: lane ``p``, bit ``n`` (payload bit ``p*k + n``) = golden channel
    ``n*rows + nf*pe + p`` of the threshold layer (slice-major)."""
    bits = compiled.run(x, keep=True)["sg1"]
    assert bits.shape == (len(x), k * rows, 1, 1)
    bits = bits.reshape(len(x), k * rows)
    return [sum(int(bits[b, n * rows + nf * pe + p]) << (p * k + n)
                for p in range(pe) for n in range(k))
            for b in range(len(x)) for nf in range(rows // pe)]


def fan_in_of(key):
    return int(np.prod(MODELS[key][0]))


#: (model, pe, simd)
CASES = [
    ("sign", 1, 1), ("sign", 2, 4), ("sign", 3, 3), ("sign", 6, 12),
    ("ms2", 1, 1), ("ms2", 2, 6), ("ms2", 4, 24),
    ("ms4", 1, 1), ("ms4", 4, 8), ("ms4", 8, 16),
    ("neg", 1, 1), ("neg", 3, 5), ("neg", 6, 10),
    ("and", 1, 1), ("and", 2, 3), ("and", 4, 9),
]


@pytest.mark.parametrize("key, pe, simd", CASES, ids=lambda v: str(v))
def test_matches_compiled_network(key, pe, simd):
    compiled, hardware = compile_layer(key, pe, simd)
    engine = hardware.engine("sg1")
    assert engine.layers == ("fc1", "sg1") and engine.threshold_layer == "sg1"
    dut = plan_unit(hardware, "sg1")
    rows, k = MODELS[key][1], dut.slices
    assert (dut.rows, dut.fan_in, dut.pe, dut.simd) == (rows, fan_in_of(key), pe, simd)
    assert dut.op == MODELS[key][2]
    assert k == (1 if MODELS[key][3] is None else len(MODELS[key][3]))
    assert len(dut.o.payload.as_value()) == pe * k
    # the unit re-encodes its thresholds in exactly the compiler's ROM word layout
    assert dut.threshold_words == engine.thresholds.words
    assert dut.mvau.words == engine.weights
    x, hw = make_vectors(compiled, 8, seed=pe * 100 + simd)
    want = expected_payloads(compiled, x, rows=rows, pe=pe, k=k)
    got = run_stream(dut, chunks(hw, simd), len(want), stall_in=0.4, stall_out=0.4,
                     seed=pe + simd)
    assert got == want


def test_constant_channels_and_negative_gamma():
    """The 'neg' model really has inverted channels and T == 0 channels of both polarities."""
    compiled, hardware = compile_layer("neg", 2, 5)
    st = compiled.layer["sg1"].params["thresholds"]
    dut = plan_unit(hardware, "sg1")
    t, inv = np.array(dut.threshold), np.array(dut.invert)
    assert (t == st.threshold).all() and (inv == st.invert).all()
    assert (t[:, 0] == 0).all() and (t[:, 2] == 0).all() and (t[:, 5] == 0).all()
    assert not inv[:, 2].any() and inv[:, 5].all()
    assert inv[:, [1, 3, 4]].any() and (t[:, [1, 3, 4]] > 0).any()
    x, hw = make_vectors(compiled, 6, seed=5)
    bits = compiled.run(x, keep=True)["sg1"].reshape(len(x), 2, 6)
    assert (bits[:, :, 2] == 1).all() and (bits[:, :, 5] == 0).all()
    want = expected_payloads(compiled, x, rows=6, pe=2, k=2)
    assert run_stream(dut, chunks(hw, 5), len(want), stall_in=0.5, stall_out=0.5) == want


@pytest.mark.parametrize("pe, simd", [(1, 4), (2, 8), (4, 32)])
def test_clipped_layer_with_saturating_counter(pe, simd):
    """``clip = B`` folds into the thresholds; a counter saturating at ``(N + B) / 2`` or at the
    largest threshold is exact (numerics §7)."""
    compiled, hardware = compile_layer("clip", pe, simd)
    x, hw = make_vectors(compiled, 8, seed=pe)
    want = expected_payloads(compiled, x, rows=4, pe=pe, k=1)
    top = int(np.max(compiled.layer["sg1"].params["thresholds"].threshold))
    for saturate_at in [(32 + 8 + 1) // 2, max(1, top)]:
        dut = plan_unit(hardware, "sg1", saturate_at=saturate_at)
        assert dut.count_width == saturate_at.bit_length() and dut.threshold_width == 6
        got = run_stream(dut, chunks(hw, simd), len(want), stall_in=0.3, stall_out=0.3)
        assert got == want
    if top > 1:
        with pytest.raises(ValueError, match="^saturate_at"):
            plan_unit(hardware, "sg1", saturate_at=top - 1)


def test_array_parameters_equal_plan_words():
    """``threshold=``/``invert=`` arrays (golden's shapes) give the same unit as the plan's
    threshold words; ``(rows,)`` for k = 1."""
    for key in ("sign", "ms4"):
        compiled, hardware = compile_layer(key, 2, 4)
        st = compiled.layer["sg1"].params["thresholds"]
        from_words = plan_unit(hardware, "sg1")
        common = {"fan_in": fan_in_of(key), "rows": MODELS[key][1], "pe": 2, "simd": 4,
                  "words": hardware.engine("sg1").weights}
        direct = BinaryMVTU(**common, threshold=st.threshold.tolist(),
                            invert=st.invert.tolist())
        both = BinaryMVTU(**common, threshold=st.threshold, invert=st.invert,
                          threshold_words=from_words.threshold_words, slices=from_words.slices)
        for dut in (direct, both):
            assert dut.threshold_words == from_words.threshold_words
            assert np.array_equal(np.array(dut.threshold), st.threshold)
            assert np.array_equal(np.array(dut.invert), st.invert)
        assert np.ndim(direct.threshold) == st.threshold.ndim
        x, hw = make_vectors(compiled, 4, seed=1)
        want = expected_payloads(compiled, x, rows=MODELS[key][1], pe=2, k=direct.slices)
        assert run_stream(direct, chunks(hw, 4), len(want), stall_in=0.2, stall_out=0.2) == want


def test_constant_weights():
    """``weights=`` (fully unrolled MVAU, constant weights) with the threshold arrays."""
    compiled, _ = compile_layer("ms2", 4, 24)
    order = fan_in_order(None, MODELS["ms2"][0])
    w = np.asarray(compiled.layer["fc1"].params["weight"]).reshape(4, -1)[:, order]
    st = compiled.layer["sg1"].params["thresholds"]
    dut = BinaryMVTU(weights=w, threshold=st.threshold, invert=st.invert, stages=1)
    assert (dut.pe, dut.simd, dut.latency, dut.cycles_per_vector) == (4, 24, 5, 1)
    x, hw = make_vectors(compiled, 8, seed=3)
    want = expected_payloads(compiled, x, rows=4, pe=4, k=2)
    assert run_stream(dut, chunks(hw, 24), len(want), stall_in=0.4, stall_out=0.4) == want


@pytest.mark.parametrize("key, pe, simd, stages", [
    ("sign", 1, 1, 0), ("ms4", 4, 8, 1), ("ms2", 4, 24, 0), ("neg", 3, 5, 2)])
def test_cycles_per_vector_and_latency(key, pe, simd, stages):
    """Without stalls, output ``nf`` of vector ``v`` transfers at edge
    ``v*SF*NF + nf*SF + SF-1 + latency`` (edge 0 accepts the first chunk), latency
    ``4 + stages``."""
    compiled, hardware = compile_layer(key, pe, simd)
    dut = plan_unit(hardware, "sg1", stages=stages)
    assert dut.latency == 4 + stages
    sf, nf = dut.synapse_folds, dut.neuron_folds
    assert dut.cycles_per_vector == sf * nf
    _, hw = make_vectors(compiled, 0, seed=0)
    edges = stream_timing(dut, chunks(hw, simd), 4 * nf)
    assert edges == [v * sf * nf + n * sf + sf - 1 + dut.latency
                     for v in range(4) for n in range(nf)]


def test_long_stream_heavy_stalls():
    compiled, hardware = compile_layer("ms4", 2, 4)
    dut = plan_unit(hardware, "sg1", stages=1)
    x, hw = make_vectors(compiled, 26, seed=9)
    want = expected_payloads(compiled, x, rows=8, pe=2, k=4)
    for stalls in [(0.8, 0.1), (0.1, 0.8)]:
        got = run_stream(dut, chunks(hw, 4), len(want), stall_in=stalls[0],
                         stall_out=stalls[1], seed=int(stalls[0] * 10))
        assert got == want


# --- grouped convolutions ------------------------------------------------------------------------

#: name -> (input shape (C, H, W), rows, groups, kernel, padding, dot, sign biases or None)
GROUPED_MODELS = {
    "g4": ((16, 3, 4), 8, 4, 3, 1, "xnor", None),               # C/G = 4
    "g2": ((4, 5, 4), 8, 2, 3, 1, "xnor", [-0.5, 0.5]),         # k = 2
    "g4dw": ((4, 4, 5), 4, 4, 2, 0, "and", None),               # G = C = rows (depthwise)
    "z2": ((4, 5, 4), 8, 2, 3, 1, "xnor", [-0.5, 0.5]),         # zero padding, k = 2
    "z1": ((3, 4, 5), 6, 1, 3, 2, "xnor", None),                # zero padding 2
}
#: Models whose c1 pads with zeros (``pad_value: 0``): windows with border flags.
ZERO_PADDED = {"z2", "z1"}


def build_grouped_model(key, seed=0):
    """c1 (binary grouped conv, pad value -1) -> bn1 -> sg1 -> fc2 (binary classifier)."""
    (c, h, w), rows, groups, kernel, padding, dot, biases = GROUPED_MODELS[key]
    rng = np.random.default_rng([seed, len(key), rows, groups])
    fan_in = c // groups * kernel * kernel
    k = 1 if biases is None else len(biases)
    weight = rng.integers(0, 2, (rows, c // groups, kernel, kernel))
    if dot == "xnor":
        weight = 2 * weight - 1
        mean = rng.uniform(-fan_in / 2, fan_in / 2, rows)
    else:
        mean = rng.uniform(0, fan_in, rows)
    h_out, w_out = h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1
    conv = {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
            "dot": dot, "out_channels": rows, "kernel": kernel, "padding": padding,
            "groups": groups}
    if padding:
        conv["pad_value"] = 0 if key in ZERO_PADDED else -1
    sign = {"name": "sg1", "op": "sign", "inputs": ["bn1"]}
    if biases is not None:
        sign["biases"] = biases
    graph = {"format": "bnnhw-model", "version": 1, "name": f"mvtu-{key}",
             "input": {"shape": [c, h, w], "type": "bits", "range": [0, 1]},
             "layers": [
                 conv,
                 {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
                 sign,
                 {"name": "fc2", "op": "dense", "inputs": ["sg1"], "precision": "binary",
                  "dot": "xnor", "out_features": 3},
             ], "output": "fc2"}
    arrays = {"c1.weight": weight.astype(np.int8),
              "bn1.gamma": rng.uniform(0.3, 2.0, rows) * rng.choice([-1, 1], rows),
              "bn1.beta": rng.uniform(-1.0, 1.0, rows), "bn1.mean": mean,
              "bn1.var": rng.uniform(0.5, 2.0, rows),
              "fc2.weight": (2 * rng.integers(0, 2, (3, k * rows * h_out * w_out)) - 1)
              .astype(np.int8)}
    return Model.from_dict(graph, arrays)


def grouped_layer(key, pe, simd, *, images=3, seed=0, **kwargs):
    """``(dut, payloads, expected)``: the ``plan_unit`` of c1 (folded ``(pe, simd)``) and sg1,
    the grouped window stream of ``images`` random maps (image 1 all ones, the complement of
    the pad bit) and, per output position and neuron fold ``nf``, lane ``p`` bit ``n`` (payload
    bit ``p*k + n``) = channel ``n*rows + nf*pe + p`` of the compiled ``sg1``."""
    (c, h, w), rows, groups, kernel, padding, dot, _ = GROUPED_MODELS[key]
    compiled = lower(build_grouped_model(key))
    hardware = hardware_plan(compiled, plan_folding(compiled, overrides={"c1": (pe, simd)}))
    dut = plan_unit(hardware, "sg1", **kwargs)
    assert dut.op == dot
    k = dut.slices
    rng = np.random.default_rng([pe, simd, groups, seed])
    x = rng.integers(0, 2, (images, c, h, w))
    x[1] = 1
    bits = compiled.run(x, keep=True)["sg1"]       # (B, k*rows, Ho, Wo), slice-major
    assert 0 < bits.mean() < 1
    expected = [sum(int(bits[b, n * rows + nf * pe + p, oy, ox]) << (p * k + n)
                    for p in range(pe) for n in range(k))
                for b in range(len(x)) for oy in range(bits.shape[2])
                for ox in range(bits.shape[3]) for nf in range(rows // pe)]
    if key in ZERO_PADDED:
        assert dut.mvau.zero_pad
        return dut, zero_padded_chunks(x, kernel, 1, padding, simd, groups), expected
    win = grouped_windows(x, kernel, 1, padding, 0, groups)   # (B, Ho, Wo, G, N)
    return dut, chunks(win.reshape(-1, win.shape[-1]), simd), expected


@pytest.mark.parametrize("key, pe, simd", [
    ("g4", 2, 4), ("g4", 1, 2),
    ("g2", 1, 1), ("g2", 2, 2), ("g2", 4, 1),
    ("g4dw", 1, 1),
    ("z2", 1, 1), ("z2", 2, 2), ("z1", 3, 3), ("z1", 6, 1),
], ids=lambda v: str(v))
def test_grouped_conv_matches_compiled_network(key, pe, simd):
    """Per output position ``G`` window vectors in, ``NF`` threshold transfers out, as the
    compiled threshold layer."""
    (c, _, _), rows, groups, kernel, _, _, biases = GROUPED_MODELS[key]
    dut, payloads, want = grouped_layer(key, pe, simd)
    assert (dut.mvau.groups, dut.rows, dut.pe, dut.simd) == (groups, rows, pe, simd)
    assert dut.fan_in == c // groups * kernel * kernel
    assert dut.slices == (1 if biases is None else len(biases))
    got = run_stream(dut, payloads, len(want), stall_in=0.4, stall_out=0.4, seed=pe + simd)
    assert got == want


# --- parameters ----------------------------------------------------------------------------------

GOOD = {"rows": 4, "fan_in": 6, "pe": 2, "simd": 3, "words": [[0] * 4, [7] * 4],
        "threshold": [0, 1, 6, 3], "invert": [False, True, False, True]}


def test_properties():
    dut = BinaryMVTU(**GOOD, op="and", saturate_at=6, stages=1)
    assert (dut.rows, dut.fan_in, dut.pe, dut.simd, dut.op) == (4, 6, 2, 3, "and")
    assert (dut.saturate_at, dut.stages, dut.slices, dut.threshold_width) == (6, 1, 1, 3)
    assert (dut.latency, dut.neuron_folds, dut.synapse_folds) == (5, 2, 2)
    assert dut.threshold == (0, 1, 6, 3) and dut.invert == (False, True, False, True)
    # PE 0: rows 0, 2; PE 1: rows 1, 3; invert at bit w = 3
    assert dut.threshold_words == ((0, 6), (1 | 8, 3 | 8))
    assert dut.lane_thresholds(1) == ([[1, 3]], [[True, True]])
    with pytest.raises(AttributeError):
        dut.slices = 2
    two = BinaryMVTU(**{**GOOD, "threshold": [[0, 1, 6, 3], [2, 2, 2, 2]],
                        "invert": [[0, 1, 0, 1], [1, 1, 0, 0]]})
    assert two.slices == 2 and len(two.o.payload.as_value()) == 4
    assert two.threshold_words[0] == (0 | 2 << 4 | 1 << 7, 6 | 2 << 4)
    words_only = BinaryMVTU(**{**GOOD, "threshold": None, "invert": None},
                            threshold_words=two.threshold_words, slices=2)
    assert words_only.threshold == two.threshold and words_only.invert == two.invert


@pytest.mark.parametrize("changes, name", [
    ({"threshold": None, "invert": None}, "threshold"),
    ({"threshold": [0, 1, 7, 3]}, "threshold"),
    ({"threshold": [0, 1, -1, 3]}, "threshold"),
    ({"threshold": [0, 1, 2]}, "threshold"),
    ({"threshold": [[0, 1, 2, 3], [1, 2]]}, "threshold"),
    ({"threshold": [0, 1.5, 2, 3]}, "threshold"),
    ({"threshold": 3}, "threshold"),
    ({"invert": [False, True]}, "invert"),
    ({"invert": [[False] * 4]}, "invert"),
    ({"invert": [0, 2, 0, 0]}, "invert"),
    ({"slices": 2}, "slices"),
    ({"slices": 0}, "slices"),
    ({"threshold_words": [[0, 6], [9, 11]]}, "slices"),
    ({"threshold_words": [[0, 6]], "slices": 1}, "threshold_words"),
    ({"threshold_words": [[0, 6], [9]], "slices": 1}, "threshold_words"),
    ({"threshold_words": [[0, 6], [9, 16]], "slices": 1}, "threshold_words"),
    ({"threshold_words": [[0, 7], [9, 11]], "slices": 1}, "threshold_words"),
    ({"threshold_words": [[0, 6], [9, 10]], "slices": 1}, "threshold_words"),  # disagrees
    ({"threshold_words": [[0, 6], [9, 1.0]], "slices": 1}, "threshold_words"),
    ({"threshold_words": [[0, 6], [9, -1]], "slices": 1}, "threshold_words"),
    ({"threshold_width": 2}, "threshold_width"),
    ({"threshold_width": 0}, "threshold_width"),
    ({"saturate_at": 5}, "saturate_at"),
    ({"saturate_at": 0}, "saturate_at"),
    ({"pe": 3}, "pe"),
    ({"simd": 4}, "simd"),
    ({"words": None}, "words"),
    ({"words": [[0] * 4]}, "words"),                    # one weight ROM for two PEs
    ({"words": [[0] * 4, [7] * 3]}, "words"),           # SF * NF = 4 words per PE
    ({"words": [[0] * 4, [7, 7, 8, 7]]}, "words"),      # wider than SIMD = 3 bits
    ({"op": "or"}, "op"),
    ({"stages": 9}, "stages"),
    ({"groups": 4}, "groups"),        # does not divide NF = 2
    ({"groups": 0}, "groups"),
])
def test_bad_parameters(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        BinaryMVTU(**{**GOOD, **changes})


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        BinaryMVTU(4, 6, 2, 3)


# --- cocotb + Verilator --------------------------------------------------------------------------

#: Harness instances: (model, pe, simd, stages, saturate_at); a GROUPED_MODELS model is a
#: grouped conv fed its grouped window stream.
COCOTB_CONFIGS = {
    "t0": ("sign", 2, 4, 0, None),
    "t1": ("ms4", 1, 1, 0, None),     # PE = SIMD = 1, k = 4
    "t2": ("neg", 6, 10, 1, None),    # fully parallel, constant channels, pipelined tree
    "t3": ("clip", 2, 8, 1, 20),      # saturating counter, k = 1
    "t4": ("ms2", 2, 6, 0, None),     # spatial input, k = 2
    "t5": ("g2", 2, 2, 0, None),      # grouped conv, G = 2, k = 2, NF/G = 2 replays
    "t6": ("z2", 2, 2, 1, None),      # zero padding: border flags, pipelined tree
}


def _cocotb_blocks():
    """Blocks from the compiler's hardware plan; vectors and expected payloads from the compiled
    network (the testbench only drives them, under its stall patterns)."""
    blocks, specs = {}, {}
    for key, (model, pe, simd, stages, saturate_at) in COCOTB_CONFIGS.items():
        if model in GROUPED_MODELS:
            dut, payloads, expected = grouped_layer(model, pe, simd, images=2,
                                                    seed=int(key[1:]) + 300, stages=stages,
                                                    saturate_at=saturate_at)
            blocks[key] = dut
            specs[key] = {"model": model, "pe": pe, "simd": simd, "slices": dut.slices,
                          "folds": dut.neuron_folds, "payloads": payloads,
                          "expected": expected}
            continue
        compiled, hardware = compile_layer(model, pe, simd)
        dut = plan_unit(hardware, "sg1", stages=stages, saturate_at=saturate_at)
        x, hw = make_vectors(compiled, 16, seed=int(key[1:]) + 300)
        blocks[key] = dut
        specs[key] = {
            "model": model, "pe": pe, "simd": simd, "slices": dut.slices,
            "folds": dut.neuron_folds, "payloads": chunks(hw, simd),
            "expected": expected_payloads(compiled, x, rows=dut.rows, pe=pe, k=dut.slices)}
    return blocks, specs


_HARNESS = {}


def _harness_files():
    """Verilog top and spec of the one harness holding every configuration (built once per
    process, stable paths under ``tests/_build/mvtu/all`` so the Verilator model is cached)."""
    if not _HARNESS:
        from amaranth.back import verilog

        from bnnhw.sim import write_source

        blocks, specs = _cocotb_blocks()
        root = BUILD_ROOT / "mvtu" / "all"
        _HARNESS["source"] = write_source(
            root / "bnnhw_tb_mvtu.v", verilog.convert(Harness(blocks), name="bnnhw_tb_mvtu",
                                                   emit_src=False))
        _HARNESS["spec"] = write_source(root / "spec.json",
                                        json.dumps(specs, indent=1, sort_keys=True))
    return _HARNESS["source"], _HARNESS["spec"]


@pytest.mark.cocotb
@pytest.mark.parametrize("key", sorted(COCOTB_CONFIGS))
def test_cocotb_mvtu(key, tmp_path):
    from bnnhw.sim import run_cocotb

    source, spec = _harness_files()
    run_cocotb(verilog_sources=[source], toplevel="bnnhw_tb_mvtu",
               test_module=TB_DIR / "tb_mvtu.py", test_dir=tmp_path, seed=1, cxx_opt="-O0",
               extra_env={"BNNHW_TB_SPEC": str(spec), "BNNHW_TB_INSTANCE": key})
