"""cocotb testbench for the popcount blocks built by ``tests/hw/test_popcount.py``.

Not a pytest module: the runner imports it inside the simulator. ``POPCOUNT_CONFIG`` (JSON in the
environment) names the block: ``kind`` ("popcount", "xnor" or "and"), ``width``, ``latency``,
``weights`` (a list of bits for constant weights, ``null`` when streamed through ``w``),
``vectors`` and ``seed``. Expectations come from ``bnnhw.golden``.

One input vector is applied per clock (on the falling edge) and ``count`` is sampled before each
new vector; the sample taken ``latency`` clocks after a vector was applied must equal its golden
count, and the ``latency`` samples before the first result must be the reset value 0 — so a block
one cycle early or late fails. A combinational block (latency 0) has no clock: each vector is
checked after a 1 ns settle.
"""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from bnnhw import golden


def config():
    return json.loads(os.environ["POPCOUNT_CONFIG"])


def bits(value, width):
    return np.array([(value >> i) & 1 for i in range(width)], dtype=np.int64)


def expected(cfg, a, w):
    width = cfg["width"]
    if cfg["kind"] == "popcount":
        return int(golden.popcount(bits(a, width)))
    fn = golden.xnor_popcount if cfg["kind"] == "xnor" else golden.and_popcount
    wb = np.array(cfg["weights"], dtype=np.int64) if cfg["weights"] is not None else bits(w, width)
    return int(fn(bits(a, width), wb))


def stimulus(cfg):
    """(a, w) pairs: all-zeros, all-ones, mixed edge cases, then seeded random vectors."""
    width = cfg["width"]
    ones = (1 << width) - 1
    rng = random.Random(cfg["seed"])
    pairs = [(0, 0), (ones, ones), (0, ones), (ones, 0), (1, 1), (1 << (width - 1), 0)]
    pairs += [(rng.getrandbits(width), rng.getrandbits(width)) for _ in range(cfg["vectors"])]
    return pairs


def drive(dut, cfg, a, w):
    if cfg["kind"] == "popcount":
        dut.bits.value = a
    else:
        dut.a.value = a
        if cfg["weights"] is None:
            dut.w.value = w


@cocotb.test()
async def golden_vectors(dut):
    """Every vector's count equals golden, exactly ``latency`` cycles after it was applied."""
    cfg = config()
    latency = cfg["latency"]
    pairs = stimulus(cfg)
    want = [expected(cfg, a, w) for a, w in pairs]
    if latency == 0:
        for (a, w), exp in zip(pairs, want):
            drive(dut, cfg, a, w)
            await Timer(1, unit="ns")
            got = dut.count.value.to_unsigned()
            assert got == exp, f"a={a:#x} w={w:#x}: count {got}, want {exp}"
        dut._log.info("checked %d vectors (combinational)", len(pairs))
        return

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    drive(dut, cfg, 0, 0)
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    samples = []
    for a, w in pairs + [pairs[-1]] * latency:
        samples.append(dut.count.value.to_unsigned())
        drive(dut, cfg, a, w)
        await FallingEdge(dut.clk)
    samples.append(dut.count.value.to_unsigned())
    # samples[k] is taken just before vector k is applied; vector k's result is samples[k+latency]
    assert samples[:latency] == [0] * latency, f"pipeline fill {samples[:latency]} is not 0"
    got = samples[latency:latency + len(pairs)]
    for k, ((a, w), g, exp) in enumerate(zip(pairs, got, want)):
        assert g == exp, (
            f"vector {k} a={a:#x} w={w:#x}: count {g} after {latency} cycles, want {exp}")
    dut._log.info("checked %d vectors at latency %d", len(pairs), latency)
