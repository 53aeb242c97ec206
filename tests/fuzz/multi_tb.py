"""cocotb test inside the simulator for :mod:`tests.fuzz.rtl`: run a MultiHarness.

The job (JSON named by ``FUZZ_TB_JOB``): ``networks`` (``results`` expected and ``timeout``
cycles without a new result before a network counts as hung), ``runs`` (stall thresholds and
seed) and ``output``. Per run: reset, start, then advance in chunks of cycles until every network
has produced its results or stopped progressing for its timeout (plus a few cycles more, so that
extra results would show); then read every network's result RAM.
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer

CHUNK = 1000


@cocotb.test()
async def run_batch(dut):
    job = json.loads(Path(os.environ["FUZZ_TB_JOB"]).read_text())
    networks = job["networks"]
    Clock(dut.clk, 10, unit="ns").start()
    outputs = []
    for run in job["runs"]:
        dut.start.value = 0
        dut.rst.value = 1
        dut.in_threshold.value = run["in_threshold"]
        dut.out_threshold.value = run["out_threshold"]
        dut.seed.value = run["seed"]
        dut.read_addr.value = 0
        await ClockCycles(dut.clk, 3)
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2)
        dut.start.value = 1
        seen = [0] * len(networks)
        idle = [0] * len(networks)
        while True:
            await ClockCycles(dut.clk, CHUNK)
            await ReadOnly()
            active = False
            for k, net in enumerate(networks):
                now = int(getattr(dut, f"seen_{k}").value)
                idle[k] = 0 if now != seen[k] else idle[k] + CHUNK
                seen[k] = now
                if now < net["results"] and idle[k] <= net["timeout"]:
                    active = True
            if not active:
                break
        await RisingEdge(dut.clk)
        await ClockCycles(dut.clk, 2 * CHUNK)       # extra results would show now
        dut.start.value = 0
        await ReadOnly()
        seen = [int(getattr(dut, f"seen_{k}").value) for k in range(len(networks))]
        await RisingEdge(dut.clk)
        data = []
        for k, net in enumerate(networks):
            words = []
            for index in range(min(seen[k], net["results"] + 2)):
                dut.read_addr.value = index
                await Timer(1, unit="ns")
                words.append(str(int(getattr(dut, f"data_{k}").value)))
            data.append(words)
        outputs.append({"seen": seen, "data": data})
    Path(job["output"]).write_text(json.dumps(outputs))
