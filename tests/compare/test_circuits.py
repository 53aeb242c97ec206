# amaranth: UnusedElaboratable=no
"""The micro-comparison circuits in Amaranth's simulator against plain-Python references."""

import random

import pytest
from amaranth.sim import Simulator

from bnnhw.compare.circuits import (INT8_SATURATE_AT, AccumulatorBN, ProductGates,
                                    accumulator_bn_reference, product_bits)


@pytest.mark.parametrize("op", ["xnor", "and"])
def test_product_gates(op):
    width = 16
    dut = ProductGates(width, op=op)
    rng = random.Random(1)
    pairs = [(0, 0), ((1 << width) - 1, 0), (0x5555, 0xAAAA)] + \
        [(rng.getrandbits(width), rng.getrandbits(width)) for _ in range(40)]
    got = []

    async def bench(ctx):
        for a, w in pairs:
            ctx.set(dut.a, a)
            ctx.set(dut.w, w)
            got.append(ctx.get(dut.y))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert got == [product_bits(op, a, w, width) for a, w in pairs]


def _params(flow, bn, rng, fan_in):
    if bn == "threshold":
        top = fan_in + 2 if flow == "int32" else INT8_SATURATE_AT
        return {"threshold": rng.randint(0, top), "invert": rng.randint(0, 1)}
    bits = 32 if flow == "int32" else 16
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if flow == "int32" and rng.random() < 0.5:
        lo, hi = -(1 << 17), 1 << 17          # in-range products as well as wrapping ones
    return {"scale": rng.randint(lo, hi), "bias": rng.randint(lo, hi)}


@pytest.mark.parametrize("flow", ["int32", "int8"])
@pytest.mark.parametrize("bn", ["threshold", "affine"])
def test_accumulator_bn(flow, bn):
    fan_in, simd = 96, 16
    dut = AccumulatorBN(flow=flow, bn=bn, fan_in=fan_in, simd=simd)
    chunks = fan_in // simd
    rng = random.Random(f"{flow}-{bn}")
    cases = []
    for index in range(60):
        if index % 6 == 0:           # the extremes: every bit set, none set
            counts = [simd] * chunks if index % 12 == 0 else [0] * chunks
        else:
            counts = [rng.randint(0, simd) for _ in range(chunks)]
        cases.append((counts, _params(flow, bn, rng, fan_in)))
    got = []

    async def bench(ctx):
        for counts, params in cases:
            for name, value in params.items():
                ctx.set(getattr(dut, name), value)
            for i, count in enumerate(counts):
                ctx.set(dut.valid, 1)
                ctx.set(dut.first, int(i == 0))
                ctx.set(dut.last, int(i == chunks - 1))
                ctx.set(dut.count, count)
                await ctx.tick()
            ctx.set(dut.valid, 0)            # an idle cycle between dot products changes nothing
            await ctx.tick()
            got.append(ctx.get(dut.y))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    want = [accumulator_bn_reference(flow, bn, counts, fan_in=fan_in, **params)
            for counts, params in cases]
    assert got == want


def test_int8_flow_saturates_exactly():
    """Beyond 255 the counter holds 255, which still decides the clip at 127 (N <= 383)."""
    assert accumulator_bn_reference("int8", "affine", [300], fan_in=383, scale=1 << 8,
                                    bias=0) == 127
    assert accumulator_bn_reference("int8", "threshold", [300], fan_in=383, threshold=255) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"flow": "int16", "bn": "affine"}, "flow"),
    ({"flow": "int8", "bn": "float"}, "bn"),
    ({"flow": "int8", "bn": "affine", "fan_in": 100, "simd": 32}, "simd"),
    ({"flow": "int8", "bn": "affine", "fan_in": 384, "simd": 32}, "fan_in"),
])
def test_accumulator_bn_rejects(kwargs, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        AccumulatorBN(**kwargs)


def test_param_bits():
    assert AccumulatorBN(flow="int32", bn="threshold").param_bits == 33
    assert AccumulatorBN(flow="int8", bn="threshold").param_bits == 9
    assert AccumulatorBN(flow="int32", bn="affine").param_bits == 64
    assert AccumulatorBN(flow="int8", bn="affine").param_bits == 32
