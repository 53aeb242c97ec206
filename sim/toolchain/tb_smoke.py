"""cocotb testbench for the toolchain smoke design built by ``tests/test_toolchain.py``.

The design (``SmokeDesign`` there) registers ``total = a + b`` and ``matches = popcount(~(a ^ b))``
one clock after ``a`` and ``b`` are sampled. Not a pytest module: the runner imports it inside the
simulator. ``SMOKE_VECTORS`` and ``SMOKE_SEED`` (environment) set the number of random vectors and
their seed.
"""

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

WIDTH = 8
MASK = (1 << WIDTH) - 1


def reference(a, b):
    """Expected ``(total, matches)`` for inputs ``a`` and ``b``."""
    return a + b, bin(~(a ^ b) & MASK).count("1")


async def start_and_reset(dut):
    """Start a 100 MHz clock on ``clk``, hold ``rst`` for two cycles, return on a falling edge."""
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.a.value = 0
    dut.b.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def random_vectors(dut):
    """Edge cases then seeded random vectors, each checked one clock later against the reference."""
    await start_and_reset(dut)
    assert dut.total.value.to_unsigned() == 0, "total not cleared by reset"
    assert dut.matches.value.to_unsigned() == 0, "matches not cleared by reset"

    rng = random.Random(int(os.environ.get("SMOKE_SEED", "0")))
    count = int(os.environ.get("SMOKE_VECTORS", "200"))
    vectors = [(0, 0), (MASK, MASK), (MASK, 0), (0, MASK), (0xAA, 0x55), (0x0F, 0x0F)]
    vectors += [(rng.getrandbits(WIDTH), rng.getrandbits(WIDTH)) for _ in range(count)]
    for a, b in vectors:
        dut.a.value = a
        dut.b.value = b
        await RisingEdge(dut.clk)
        await ReadOnly()
        got = (dut.total.value.to_unsigned(), dut.matches.value.to_unsigned())
        assert got == reference(a, b), f"a={a:#04x} b={b:#04x}: got {got}, want {reference(a, b)}"
        await FallingEdge(dut.clk)
    dut._log.info("checked %d vectors", len(vectors))


@cocotb.test(skip=True)
async def deliberately_failing(dut):
    """Fails on purpose; runs only when selected by name (proves failures reach pytest)."""
    await start_and_reset(dut)
    assert dut.total.value.to_unsigned() == 1, "deliberate failure: total is 0 after reset"
