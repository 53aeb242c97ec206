# amaranth: UnusedElaboratable=no
"""``ConstMatrixDense`` (constant-weight dense layer with shared work) against ``bnnhw.golden``.

Amaranth-simulator tier (generic target): every input of small layers for both products, every
threshold class (constant 1, exact ties, constant 0) and pipeline settings 0..3 with the latency
checked cycle-exactly; the benchmark's 64 -> 16 layer on random, all-zeros, all-ones and tie
inputs. The planned netlist's own model (``evaluate``, the same netlist both targets emit) is
checked exhaustively and by Hypothesis on random small matrices. cocotb tier: the emitted Verilog
under Verilator, including the ``target="ice40"`` netlist of ``SB_LUT4`` / ``SB_CARRY``
instances simulated with ``ICE40_CELL_MODELS`` (``sim/blocks/tb_constmatrix.py``).
"""

import json
import random
from pathlib import Path

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnhw import golden
from bnnhw.hw import ConstMatrixDense
from bnnhw.hw.constmatrix import ICE40_CELL_MODELS
from bnnhw.sim import run_cocotb, write_source

HERE = Path(__file__).resolve().parent.parent
BUILD_ROOT = HERE / "_build" / "constmatrix"
TB = HERE.parent / "sim" / "blocks" / "tb_constmatrix.py"
#: A few hundred vectors: compile time is everything (-O0 compiles the iCE40-cell netlists
#: several times faster than Verilator's -Os); the model comes from the user's model cache.
CXX_OPT = "-O0"


def to_bits(values, width):
    return np.array([[(v >> i) & 1 for i in range(width)] for v in values], dtype=np.int64)


def from_bits(row):
    return sum(int(b) << i for i, b in enumerate(row))


def want_bits(x_bits, weights, thresholds, op):
    p = golden.binary_dense(x_bits, np.asarray(weights), op=op)
    return (p >= np.asarray(thresholds)).astype(np.int64)


def layer_64x16():
    """The benchmark's layer (b) (``benchmarks/popcount.py: layer_params``, seed 2024): weights
    as XNOR bits (row = output) and popcount thresholds ``ceil((thr + 64) / 2)``."""
    rng = np.random.default_rng(2024)
    w = rng.choice([-1, 1], size=(64, 16))
    thr = rng.integers(-8, 9, size=16)
    return (w.T > 0).astype(int).tolist(), [-((-(int(t) + 64)) // 2) for t in thr]


def tie_inputs(weights, thresholds, op, rng):
    """Per output, inputs whose popcount is exactly the threshold and one below."""
    out = []
    for row, t in zip(weights, thresholds):
        width = len(row)
        for target in (t, t - 1):
            if op == "xnor":
                if not 0 <= target <= width:
                    continue
                x = list(row)
                for i in rng.sample(range(width), width - target):
                    x[i] ^= 1
            else:
                ones = [i for i in range(width) if row[i]]
                if not 0 <= target <= len(ones):
                    continue
                x = [0 if row[i] else rng.getrandbits(1) for i in range(width)]
                for i in rng.sample(ones, target):
                    x[i] = 1
            out.append(from_bits(x))
    return out


def simulate(dut, values):
    """One input per cycle; returns ``y`` for each input, read ``latency`` cycles later."""
    sim = Simulator(dut)
    out = []
    lat = dut.latency

    async def testbench(ctx):
        for v in values + [values[-1]] * lat:
            ctx.set(dut.x, v)
            out.append(ctx.get(dut.y))
            if lat:
                await ctx.tick()

    if lat:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return out[lat:]


def check_sim(weights, thresholds, op, stages, values):
    dut = ConstMatrixDense(weights, thresholds, op=op, stages=stages)
    assert dut.latency == stages
    x = to_bits(values, len(weights[0]))
    want = want_bits(x, weights, thresholds, op)
    assert np.array_equal(dut.evaluate(x), want), "planned netlist"
    got = to_bits(simulate(dut, values), len(weights))
    assert np.array_equal(got, want), f"op={op} stages={stages}"


# --- Amaranth simulator ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["xnor", "and"])
@pytest.mark.parametrize("width, outputs", [(1, 1), (3, 4), (7, 5)])
def test_small_exhaustive(op, width, outputs):
    rng = np.random.default_rng(width * 10 + outputs)
    weights = rng.integers(0, 2, (outputs, width)).tolist()
    # every threshold class: constant 1 (<= 0), every popcount value, constant 0 (> width)
    thresholds = [int(t) for t in rng.integers(-1, width + 2, outputs)]
    thresholds[0] = 0
    values = list(range(1 << width))
    for stages in range(4):
        check_sim(weights, thresholds, op, stages, values)


@pytest.mark.parametrize("op", ["xnor", "and"])
def test_every_threshold(op):
    """Thresholds -1 .. width+1 (ties at every popcount value) on one 6-bit weight pattern."""
    width = 6
    row = [1, 0, 1, 1, 0, 1]
    thresholds = list(range(-1, width + 2))
    weights = [row] * len(thresholds)
    values = list(range(1 << width))
    check_sim(weights, thresholds, op, 0, values)
    check_sim(weights, thresholds, op, 2, values)


def test_benchmark_layer():
    weights, thresholds = layer_64x16()
    rng = random.Random(7)
    values = [0, (1 << 64) - 1, int("55" * 8, 16), int("aa" * 8, 16)]
    values += tie_inputs(weights, thresholds, "xnor", rng)
    values += [rng.getrandbits(64) for _ in range(60)]
    for stages in (0, 2):
        check_sim(weights, thresholds, "xnor", stages, values)
    # the planned netlist on many more vectors (fast numpy model of the same netlist)
    x = np.random.default_rng(3).integers(0, 2, (20000, 64))
    dut = ConstMatrixDense(weights, thresholds, stages=2)
    assert np.array_equal(dut.evaluate(x), want_bits(x, weights, thresholds, "xnor"))


def test_benchmark_layer_cells():
    """Regression guard on the plan's size (iCE40 logic cells; measured figures are in
    benchmarks/results/popcount.md): da4ml needs 1200 cells for this layer."""
    weights, thresholds = layer_64x16()
    for stages in (0, 2):
        dut = ConstMatrixDense(weights, thresholds, stages=stages, target="ice40")
        assert 600 < dut.cells < 1000, (stages, dut.cells)


def test_and_all_zero_weights_and_constant_outputs():
    weights = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0]]
    thresholds = [0, 5, 1]          # constant 1, constant 0, a real comparison
    check_sim(weights, thresholds, "and", 1, list(range(16)))


@settings(max_examples=60)
@given(data=st.data())
def test_random_matrices_plan(data):
    """The planned netlist is exact on every input of random small matrices."""
    width = data.draw(st.integers(1, 9), label="width")
    outputs = data.draw(st.integers(1, 8), label="outputs")
    op = data.draw(st.sampled_from(["xnor", "and"]), label="op")
    weights = data.draw(st.lists(st.lists(st.integers(0, 1), min_size=width, max_size=width),
                                 min_size=outputs, max_size=outputs), label="weights")
    thresholds = data.draw(st.lists(st.integers(-2, width + 2), min_size=outputs,
                                    max_size=outputs), label="thresholds")
    beta = data.draw(st.sampled_from([0.5, 1.5, 4.0]), label="beta")
    stages = data.draw(st.integers(0, 3), label="stages")
    dut = ConstMatrixDense(weights, thresholds, op=op, beta=beta, stages=stages)
    x = to_bits(range(1 << width), width)
    assert np.array_equal(dut.evaluate(x), want_bits(x, weights, thresholds, op))


@settings(max_examples=15)
@given(data=st.data())
def test_random_matrices_sim(data):
    """The emitted logic (generic target, Amaranth simulator) on random matrices and inputs."""
    width = data.draw(st.integers(2, 16), label="width")
    outputs = data.draw(st.integers(1, 6), label="outputs")
    op = data.draw(st.sampled_from(["xnor", "and"]), label="op")
    weights = data.draw(st.lists(st.lists(st.integers(0, 1), min_size=width, max_size=width),
                                 min_size=outputs, max_size=outputs), label="weights")
    thresholds = data.draw(st.lists(st.integers(-1, width + 1), min_size=outputs,
                                    max_size=outputs), label="thresholds")
    stages = data.draw(st.integers(0, 2), label="stages")
    values = data.draw(st.lists(st.integers(0, (1 << width) - 1), min_size=1, max_size=24),
                       label="inputs")
    check_sim(weights, thresholds, op, stages, values + [0, (1 << width) - 1])


# --- parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make, name", [
    (lambda: ConstMatrixDense([], []), "weights"),
    (lambda: ConstMatrixDense([[]], [1]), "weights"),
    (lambda: ConstMatrixDense([[1, 0], [1]], [1, 1]), "weights"),
    (lambda: ConstMatrixDense([[1, 2]], [1]), "weights"),
    (lambda: ConstMatrixDense([[1, 0]], [1, 1]), "thresholds"),
    (lambda: ConstMatrixDense([[1, 0]], [1.5]), "thresholds"),
    (lambda: ConstMatrixDense([[1, 0]], [1], op="nand"), "op"),
    (lambda: ConstMatrixDense([[1, 0]], [1], target="ecp5"), "target"),
    (lambda: ConstMatrixDense([[1, 0]], [1], stages=-1), "stages"),
    (lambda: ConstMatrixDense([[1, 0]], [1], beta=0), "beta"),
    (lambda: ConstMatrixDense([[1, 0]], [1], max_depth=-1), "max_depth"),
])
def test_bad_parameters_raise(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_properties_and_ice40_netlist():
    dut = ConstMatrixDense([[1, 0, 1], [0, 0, 1]], [2, 1], stages=1, target="ice40")
    assert dut.weights == ((1, 0, 1), (0, 0, 1)) and dut.thresholds == (2, 1)
    assert (dut.op, dut.target, dut.stages, dut.latency) == ("xnor", "ice40", 1, 1)
    with pytest.raises(TypeError, match="stages"):
        ConstMatrixDense([[1]], [1], stages=1.0)
    text = verilog.convert(ConstMatrixDense(*layer_64x16(), target="ice40"), name="cm")
    assert "SB_LUT4" in text and "SB_CARRY" in text


# --- cocotb + Verilator on the emitted Verilog ----------------------------------------------------


COCOTB_CONFIGS = {
    # the benchmark's layer as measured: iCE40 primitives, pipelined and combinational
    "xnor64x16_ice40_s2": {"layer": True, "target": "ice40", "stages": 2},
    "xnor64x16_ice40_s0": {"layer": True, "target": "ice40", "stages": 0},
    "and24x6_generic_s1": {"op": "and", "width": 24, "outputs": 6, "target": "generic",
                           "stages": 1},
    "xnor12x9_ice40_s3": {"op": "xnor", "width": 12, "outputs": 9, "target": "ice40",
                          "stages": 3},
}


def build_cocotb_dut(name, cfg, root=BUILD_ROOT):
    """Write configuration ``name``'s Verilog under ``root / name``; return ``(top, sources,
    env)`` (``sim/blocks/generate.py`` builds the same instance for the Makefile flow)."""
    if cfg.get("layer"):
        weights, thresholds = layer_64x16()
        op = "xnor"
    else:
        op, width, outputs = cfg["op"], cfg["width"], cfg["outputs"]
        rng = np.random.default_rng(width + outputs)
        weights = rng.integers(0, 2, (outputs, width)).tolist()
        thresholds = [int(t) for t in rng.integers(-1, width + 2, outputs)]
    dut = ConstMatrixDense(weights, thresholds, op=op, stages=cfg["stages"],
                           target=cfg["target"])
    top = f"constmatrix_{name}"
    sources = [write_source(root / name / f"{top}.v", verilog.convert(dut, name=top,
                                                                      emit_src=False))]
    if cfg["target"] == "ice40":
        sources.append(write_source(root / name / "ice40_cells.v", ICE40_CELL_MODELS))
    env = {"CONSTMATRIX_CONFIG": json.dumps({
        "weights": weights, "thresholds": thresholds, "op": op, "latency": dut.latency,
        "vectors": 300, "seed": len(name),
    })}
    return top, sources, env


@pytest.mark.cocotb
@pytest.mark.parametrize("name", list(COCOTB_CONFIGS))
def test_cocotb_constmatrix(name, tmp_path):
    top, sources, env = build_cocotb_dut(name, COCOTB_CONFIGS[name])
    run_cocotb(
        verilog_sources=sources, toplevel=top, test_module=TB,
        test_dir=tmp_path, extra_env=env, seed=1, cxx_opt=CXX_OPT,
    )


# --- package layout -------------------------------------------------------------------------------


def test_subpackage_imports_flow_one_way():
    """Inside ``bnnhw/hw/constmatrix/`` a module imports only modules before it in the order
    netlist, planning, emit, dense, ``__init__`` (no cycles), and the package exports only its
    public API."""
    import ast

    import bnnhw.hw.constmatrix as cm

    order = ["netlist", "planning", "emit", "dense", "__init__"]
    package = Path(cm.__file__).parent
    assert sorted(p.stem for p in package.glob("*.py")) == sorted(order)
    for k, name in enumerate(order):
        tree = ast.parse((package / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module in order[:k], f"{name} imports .{node.module}"
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "constmatrix" not in node.module, f"{name} imports {node.module}"
    assert cm.__all__ == ["ConstMatrixDense", "ICE40_CELL_MODELS"]
    assert cm.ConstMatrixDense.__module__ == "bnnhw.hw.constmatrix.dense"
