"""cocotb testbench for ``ConstMatrixDense`` built by ``tests/hw/test_constmatrix.py``.

Not a pytest module: the runner imports it inside the simulator. ``CONSTMATRIX_CONFIG`` (JSON in
the environment) gives ``weights`` (rows of bits), ``thresholds``, ``op``, ``latency``,
``vectors`` and ``seed``; expectations come from ``bnnhw.golden`` (``binary_dense``, then
``p >= threshold``).

Stimulus: all-zeros, all-ones, alternating bits, then for every output an input with popcount
exactly at its threshold and one just below (ties), then seeded random vectors. One vector is
applied per clock (on the falling edge) and ``y`` is sampled before each new vector; vector
``k``'s result must appear exactly ``latency`` samples later, so a block one cycle early or late
fails. A combinational block (latency 0) has no clock: each vector is checked after a 1 ns settle.
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
    return json.loads(os.environ["CONSTMATRIX_CONFIG"])


def to_bits(value, width):
    return np.array([(value >> i) & 1 for i in range(width)], dtype=np.int64)


def from_bits(bits):
    return sum(int(b) << i for i, b in enumerate(bits))


def stimulus(cfg):
    w = np.array(cfg["weights"], dtype=np.int64)
    outputs, width = w.shape
    ones = (1 << width) - 1
    alt = from_bits([i & 1 for i in range(width)])
    vecs = [0, ones, alt, ones ^ alt]
    rng = random.Random(cfg["seed"])
    for o, t in enumerate(cfg["thresholds"]):
        for target in (t, t - 1):
            x = tie_input(w[o], cfg["op"], target, rng)
            if x is not None:
                vecs.append(x)
    vecs += [rng.getrandbits(width) for _ in range(cfg["vectors"])]
    return vecs


def tie_input(row, op, target, rng):
    """An input whose popcount against ``row`` is exactly ``target`` (None if unreachable)."""
    width = len(row)
    if op == "xnor":
        if not 0 <= target <= width:
            return None
        x = [int(b) for b in row]              # popcount width
        for i in rng.sample(range(width), width - target):
            x[i] ^= 1
        return from_bits(x)
    ones = [i for i in range(width) if row[i]]
    if not 0 <= target <= len(ones):
        return None
    x = [rng.getrandbits(1) if not row[i] else 0 for i in range(width)]
    for i in rng.sample(ones, target):
        x[i] = 1
    return from_bits(x)


def expected(cfg, x):
    w = np.array(cfg["weights"], dtype=np.int64)
    p = golden.binary_dense(to_bits(x, w.shape[1])[None, :], w, op=cfg["op"])[0]
    return from_bits(p >= np.array(cfg["thresholds"]))


@cocotb.test()
async def golden_vectors(dut):
    """Every vector's outputs equal golden, exactly ``latency`` cycles after it was applied."""
    cfg = config()
    latency = cfg["latency"]
    vecs = stimulus(cfg)
    want = [expected(cfg, x) for x in vecs]
    if latency == 0:
        for x, exp in zip(vecs, want):
            dut.x.value = x
            await Timer(1, unit="ns")
            got = dut.y.value.to_unsigned()
            assert got == exp, f"x={x:#x}: y {got:#x}, want {exp:#x}"
        dut._log.info("checked %d vectors (combinational)", len(vecs))
        return

    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.x.value = 0
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    samples = []
    for x in vecs + [vecs[-1]] * latency:
        samples.append(dut.y.value.to_unsigned())
        dut.x.value = x
        await FallingEdge(dut.clk)
    samples.append(dut.y.value.to_unsigned())
    # samples[k] is taken just before vector k is applied; vector k's result is samples[k+latency]
    got = samples[latency:latency + len(vecs)]
    for k, (x, g, exp) in enumerate(zip(vecs, got, want)):
        assert g == exp, f"vector {k} x={x:#x}: y {g:#x} after {latency} cycles, want {exp:#x}"
    dut._log.info("checked %d vectors at latency %d", len(vecs), latency)
