"""cocotb test run inside the simulator for ``bnnhw.sim.network``: drive a NetworkHarness.

Reads its job from the JSON file named by ``BNNHW_NETWORK_TB``: ``runs`` (a list of
``{in_threshold, out_threshold, seed, pixels, results}``), ``timeout_cycles`` (per result) and
``output`` (where to write the results). For each run it resets the harness, starts it and
records every result transfer (payload and clock count) until the expected number arrived or no
result came within the timeout. The clock is the simulator's (``run_cocotb(clock="clk")``: bnnhw's
C++ main toggles it), so between results no Python runs at all; with
``BNNHW_NETWORK_TB_CLOCK=cocotb`` a cocotb ``Clock`` drives it instead (the slow reference path
of ``simulate_network(clock="cocotb")``).
"""

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge, Timer

#: The clock period the model was built with (``run_cocotb``'s default ``clock_period_ns``).
PERIOD_NS = 10


@cocotb.test()
async def run_network(dut):
    job = json.loads(Path(os.environ["BNNHW_NETWORK_TB"]).read_text())
    if os.environ.get("BNNHW_NETWORK_TB_CLOCK") == "cocotb":
        Clock(dut.clk, PERIOD_NS, unit="ns").start()
    outputs = []
    progress = Path(job["progress"]) if job.get("progress") else None
    recorded, shown = 0, 0.0

    def note_progress(force=False):
        # the parent shows it (bnnhw.progress); a write at most every 0.2 s
        nonlocal shown
        now = time.monotonic()
        if progress is not None and (force or now - shown >= 0.2):
            shown = now
            partial = progress.with_suffix(".part")
            partial.write_text(f"{recorded}\n")
            partial.replace(progress)

    for run in job["runs"]:
        dut.start.value = 0
        dut.rst.value = 1
        dut.in_threshold.value = run["in_threshold"]
        dut.out_threshold.value = run["out_threshold"]
        dut.seed.value = run["seed"]
        dut.pixel_count.value = run["pixels"]
        await ClockCycles(dut.clk, 3)
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2)
        dut.start.value = 1
        started = time.perf_counter()
        results, timed_out = [], False
        while len(results) < run["results"]:
            timeout = Timer(job["timeout_cycles"] * PERIOD_NS, unit="ns")
            fired = await First(dut.result_toggle.value_change, timeout)
            if fired is timeout:
                timed_out = True
                break
            await ReadOnly()
            results.append([str(dut.result.value), int(dut.result_cycle.value)])
            recorded += 1
            note_progress()
        await RisingEdge(dut.clk)
        outputs.append({"results": results, "timed_out": timed_out,
                        "seconds": time.perf_counter() - started,
                        "pixels_sent": int(dut.pixels_sent.value),
                        "results_seen": int(dut.results_seen.value)})
    note_progress(force=True)
    Path(job["output"]).write_text(json.dumps(outputs))
