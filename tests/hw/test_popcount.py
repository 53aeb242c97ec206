# amaranth: UnusedElaboratable=no
"""Popcount trees and XNOR/AND-popcount dot products against ``bnnhw.golden``.

Amaranth-simulator tier: exhaustive inputs for widths up to 10, random plus all-zeros/all-ones
vectors for 64, 256 and 1000 bits, every pipeline setting (a subset for the big widths), both
weight modes, XNOR and AND; the latency is checked cycle-exactly (a stream of distinct vectors,
one per cycle, must come out exactly ``stages`` cycles later). cocotb tier: the emitted Verilog of
four configurations under Verilator (``sim/blocks/tb_popcount.py``).
"""

import json
import random
from pathlib import Path

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from bnnhw import golden
from bnnhw.hw import (
    AndPopcount,
    NaivePopcount,
    Popcount,
    ThresholdDense,
    XnorPopcount,
    popcount_depth,
)
from bnnhw.sim import run_cocotb, write_source

HERE = Path(__file__).resolve().parent.parent
BUILD_ROOT = HERE / "_build" / "popcount"
TB_POPCOUNT = HERE.parent / "sim" / "blocks" / "tb_popcount.py"


def to_bits(values, width):
    """Little-endian bit matrix ``(len(values), width)`` of Python ints."""
    return np.array([[(v >> i) & 1 for i in range(width)] for v in values], dtype=np.int64)


def rtl_run(dut, inputs, latency):
    """Drive one input vector per cycle; return the ``count`` values ``latency`` cycles later.

    ``inputs`` is a list of ``[(port, int), ...]``. The first ``latency`` outputs (pipeline fill)
    must be the reset value 0; with ``latency == 0`` the design is combinational (no clock).
    """
    return _run(dut, inputs, latency, dut.count)


def _run(dut, inputs, latency, output, *, check_fill=True):
    sim = Simulator(dut)
    out = []

    async def testbench(ctx):
        for vec in inputs + [inputs[-1]] * latency:
            for port, value in vec:
                ctx.set(port, value)
            out.append(ctx.get(output))
            if latency:
                await ctx.tick()

    if latency:
        sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    if check_fill:
        assert out[:latency] == [0] * latency, "pipeline does not start from 0"
    return out[latency:]


def vectors(width, count, seed):
    """All-zeros, all-ones, alternating patterns and ``count`` seeded random vectors."""
    rng = random.Random(seed)
    ones = (1 << width) - 1
    return [0, ones, ones & 0x5555555555555555 * ((1 << width) // 3 + 1) % (1 << width), 1,
            1 << (width - 1)] + [rng.getrandbits(width) for _ in range(count)]


def stage_settings(depth, exhaustive):
    return list(range(depth + 1)) if exhaustive else sorted({0, depth // 2, depth})


# --- Popcount -------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", range(1, 11))
def test_popcount_exhaustive(width):
    values = list(range(1 << width))
    want = golden.popcount(to_bits(values, width)).tolist()
    for stages in stage_settings(popcount_depth(width), width <= 8):
        dut = Popcount(width, stages=stages)
        assert dut.latency == stages and len(dut.count) == max(1, width.bit_length())
        got = rtl_run(dut, [[(dut.bits, v)] for v in values], stages)
        assert got == want, f"width={width} stages={stages}"


@pytest.mark.parametrize("width", [64, 256, 1000])
def test_popcount_random(width):
    values = vectors(width, 30, seed=width)
    want = golden.popcount(to_bits(values, width)).tolist()
    for stages in stage_settings(popcount_depth(width), False):
        dut = Popcount(width, stages=stages)
        assert rtl_run(dut, [[(dut.bits, v)] for v in values], stages) == want, stages


def test_naive_popcount_matches_golden():
    width = 9
    values = list(range(1 << width))
    dut = NaivePopcount(width)
    assert rtl_run(dut, [[(dut.bits, v)] for v in values], 0) == \
        golden.popcount(to_bits(values, width)).tolist()
    w = [1, 0, 1, 1, 0, 0, 1, 0, 1]
    dut = NaivePopcount(width, op="xnor", weights=w)
    assert rtl_run(dut, [[(dut.a, v)] for v in values], 0) == \
        golden.xnor_popcount(to_bits(values, width), np.array(w)).tolist()


# --- XNOR / AND -----------------------------------------------------------------------------------


GOLDEN = {XnorPopcount: golden.xnor_popcount, AndPopcount: golden.and_popcount}


@pytest.mark.parametrize("cls", [XnorPopcount, AndPopcount])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
def test_streamed_exhaustive(cls, width):
    pairs = [(a, w) for a in range(1 << width) for w in range(1 << width)]
    a_bits = to_bits([a for a, _ in pairs], width)
    w_bits = to_bits([w for _, w in pairs], width)
    want = GOLDEN[cls](a_bits, w_bits).tolist()
    for stages in range(popcount_depth(width, kind="streamed") + 1):
        dut = cls(width, stages=stages)
        got = rtl_run(dut, [[(dut.a, a), (dut.w, w)] for a, w in pairs], stages)
        assert got == want, f"{cls.__name__} width={width} stages={stages}"


@pytest.mark.parametrize("cls", [XnorPopcount, AndPopcount])
@pytest.mark.parametrize("width", [6, 9, 10])
def test_constant_exhaustive(cls, width):
    rng = np.random.default_rng(width)
    values = list(range(1 << width))
    a_bits = to_bits(values, width)
    patterns = [[0] * width, [1] * width, rng.integers(0, 2, width).tolist()]
    for weights in patterns:
        want = GOLDEN[cls](a_bits, np.array(weights)).tolist()
        counted = sum(weights) if cls is AndPopcount else width
        depth = popcount_depth(counted)
        for stages in stage_settings(depth, width <= 6):
            dut = cls(width, weights=weights, stages=stages)
            assert "w" not in dut.signature.members
            got = rtl_run(dut, [[(dut.a, v)] for v in values], stages)
            assert got == want, f"{cls.__name__} width={width} w={weights} stages={stages}"


@pytest.mark.parametrize("cls", [XnorPopcount, AndPopcount])
@pytest.mark.parametrize("width", [64, 256, 1000])
def test_random_big(cls, width):
    rng = np.random.default_rng(width + 1)
    a_vals = vectors(width, 20, seed=width + 2)
    w_vals = vectors(width, 20, seed=width + 3)[::-1]
    a_bits, w_bits = to_bits(a_vals, width), to_bits(w_vals, width)
    depth = popcount_depth(width, kind="streamed")
    for stages in stage_settings(depth, False):
        dut = cls(width, stages=stages)
        got = rtl_run(dut, [[(dut.a, a), (dut.w, w)] for a, w in zip(a_vals, w_vals)], stages)
        assert got == GOLDEN[cls](a_bits, w_bits).tolist(), f"streamed stages={stages}"
    weights = rng.integers(0, 2, width).tolist()
    counted = sum(weights) if cls is AndPopcount else width
    for stages in stage_settings(popcount_depth(counted), False):
        dut = cls(width, weights=weights, stages=stages)
        got = rtl_run(dut, [[(dut.a, a)] for a in a_vals], stages)
        assert got == GOLDEN[cls](a_bits, np.array(weights)).tolist(), f"constant stages={stages}"


def test_and_constant_all_zero_weights_is_constant():
    dut = AndPopcount(5, weights=[0] * 5, stages=1)
    assert dut.depth == 1
    assert rtl_run(dut, [[(dut.a, v)] for v in range(32)], 1) == [0] * 32


def test_threshold_dense_matches_golden():
    rng = np.random.default_rng(5)
    n, outputs = 12, 6
    wbits = rng.integers(0, 2, (outputs, n))
    thresholds = [0, 1, 6, 12, 13, -3]
    values = rng.integers(0, 1 << n, 300).tolist()
    x = to_bits(values, n)
    p = golden.binary_dense(x, wbits, op="xnor")
    want = (p >= np.array(thresholds)).astype(np.int64)
    for stages in (0, 2):
        dut = ThresholdDense(wbits.tolist(), thresholds, stages=stages)
        assert dut.latency == stages
        got = _run(dut, [[(dut.x, v)] for v in values], stages, dut.y, check_fill=False)
        got_bits = to_bits(got, outputs)
        assert np.array_equal(got_bits, want), f"stages={stages}"


# --- parameters -----------------------------------------------------------------------------------


def test_depth_and_widths():
    assert [popcount_depth(w) for w in (1, 2, 3, 4, 7, 8, 256)] == [1, 1, 2, 2, 3, 3, 8]
    assert popcount_depth(256, kind="streamed") == 8
    assert len(XnorPopcount(1000).count) == 10
    assert len(AndPopcount(7, weights=[0, 1, 0, 0, 0, 0, 0]).count) == 3


@pytest.mark.parametrize("make, name", [
    (lambda: Popcount(0), "width"),
    (lambda: Popcount(-3), "width"),
    (lambda: Popcount(8, stages=-1), "stages"),
    (lambda: Popcount(8, stages=4), "stages"),
    (lambda: Popcount(1, stages=2), "stages"),
    (lambda: XnorPopcount(0), "width"),
    (lambda: XnorPopcount(4, weights=[1, 0, 1]), "weights"),
    (lambda: XnorPopcount(3, weights=[1, 2, 0]), "weights"),
    (lambda: AndPopcount(3, weights=[1, 0.5, 0]), "weights"),
    (lambda: AndPopcount(3, weights=5), "weights"),
    (lambda: AndPopcount(4, weights=[1, 0, 0, 0], stages=2), "stages"),
    (lambda: AndPopcount(4, weights=[1, 1, 1, 1], stages=3), "stages"),
    (lambda: XnorPopcount(16, stages=99), "stages"),
    (lambda: NaivePopcount(4, op="or"), "op"),
    (lambda: NaivePopcount(4, weights=[1, 1, 1, 1]), "weights"),
    (lambda: ThresholdDense([[1, 0], [1]], [1, 1]), "weights"),
    (lambda: ThresholdDense([[1, 0]], [1, 1]), "thresholds"),
    (lambda: ThresholdDense([[1, 0]], [1.5]), "thresholds"),
    (lambda: ThresholdDense([[1, 0]], [1], op="nand"), "op"),
])
def test_bad_parameters_raise(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_non_integer_width_is_rejected():
    with pytest.raises(TypeError, match="width"):
        Popcount(4.0)
    with pytest.raises(TypeError, match="stages"):
        Popcount(4, stages=True)


# --- cocotb + Verilator on the emitted Verilog ----------------------------------------------------


COCOTB_CONFIGS = {
    "pc7_comb": {"kind": "popcount", "width": 7, "stages": 0},
    "xnor64_s2_streamed": {"kind": "xnor", "width": 64, "stages": 2},
    "and256_const_full": {"kind": "and", "width": 256, "stages": "depth", "constant": True},
    "xnor1000_const_s3": {"kind": "xnor", "width": 1000, "stages": 3, "constant": True},
}


def build_cocotb_dut(name, cfg, root=BUILD_ROOT):
    """Write configuration ``name``'s Verilog under ``root / name``; return ``(top, sources,
    env)`` (``sim/blocks/generate.py`` builds the same instance for the Makefile flow)."""
    width = cfg["width"]
    weights = None
    if cfg.get("constant"):
        weights = np.random.default_rng(width).integers(0, 2, width).tolist()
    if cfg["kind"] == "popcount":
        depth = popcount_depth(width)
    elif weights is not None:
        depth = popcount_depth(sum(weights) if cfg["kind"] == "and" else width)
    else:
        depth = popcount_depth(width, kind="streamed")
    stages = depth if cfg["stages"] == "depth" else cfg["stages"]
    if cfg["kind"] == "popcount":
        dut = Popcount(width, stages=stages)
    else:
        cls = XnorPopcount if cfg["kind"] == "xnor" else AndPopcount
        dut = cls(width, weights=weights, stages=stages)
    top = f"popcount_{name}"
    source = write_source(root / name / f"{top}.v", verilog.convert(dut, name=top,
                                                                    emit_src=False))
    env = {"POPCOUNT_CONFIG": json.dumps({
        "kind": cfg["kind"], "width": width, "latency": dut.latency, "weights": weights,
        "vectors": 200, "seed": width,
    })}
    return top, source, env


@pytest.mark.cocotb
@pytest.mark.parametrize("name", list(COCOTB_CONFIGS))
def test_cocotb_popcount(name, tmp_path):
    top, source, env = build_cocotb_dut(name, COCOTB_CONFIGS[name])
    run_cocotb(
        verilog_sources=[source], toplevel=top, test_module=TB_POPCOUNT,
        test_dir=tmp_path, extra_env=env, seed=1,
        # a few hundred vectors: compile time is everything; the model cache keeps the model
        cxx_opt="-O0",
    )
