"""A real toggle-coverage simulation of the every-op network (Verilator, about 30-50 s cold).

The Verilator build is kept in ``tests/_build/energy/tiny`` (a rerun reuses it).
"""

from pathlib import Path

import numpy as np
import pytest

from bnnhw.energy import energy_report, measure_toggles

from .tiny import tiny_design

pytestmark = pytest.mark.cocotb

WORK = Path(__file__).resolve().parents[1] / "_build" / "energy" / "tiny"


def test_toggles_per_inference_of_the_every_op_network():
    network, compiled, plan, _ = tiny_design()
    value = compiled.values["input"]
    images = np.random.default_rng(5).integers(int(value.lo), int(value.hi) + 1,
                                               (3,) + tuple(value.shape))
    toggles = measure_toggles(network, images, work_dir=WORK, compiled=compiled)

    assert toggles["rtl_equals_golden"] is True
    assert toggles["images"] == 2 and toggles["warmup_images"] == 1
    assert toggles["cycles_per_inference"] == pytest.approx(plan.cycles_per_inference, rel=0.05)
    submodules = {name.replace(".", "_") for name, _ in network.engines} | {
        "fork_qbn3", "fork_t2", "head"}
    assert set(toggles["blocks"]) == submodules
    wiring = {"left", "right", "shuf"}      # permutations: no signals of their own
    for name, counts in toggles["blocks"].items():
        if name in wiring:
            assert counts == {"toggles": 0.0, "bits": 0, "memory_toggles": 0.0,
                              "memory_bits": 0}, name
        else:
            assert counts["bits"] > 0 and counts["toggles"] >= 0, name
    for engine in ("stem", "ms1", "t2", "c3", "c4", "pc5", "fc", "pool", "res", "cat"):
        assert toggles["blocks"][engine]["toggles"] > 0, engine
    # line buffers and FIFOs are memory arrays, their bits flip as the images flow through (the
    # 2x2 max-pool keeps its partial ORs in registers)
    assert toggles["blocks"]["pool"]["memory_bits"] == 0
    for engine in ("ms1", "t2", "res", "cat"):
        assert toggles["blocks"][engine]["memory_bits"] > 0, engine
    for engine in ("ms1", "t2", "res"):
        assert toggles["blocks"][engine]["memory_toggles"] > 0, engine
    assert toggles["network_toggles"] == pytest.approx(
        sum(b["toggles"] for b in toggles["blocks"].values()))

    report = energy_report(network, compiled, toggles)
    assert report["toggle_model"] == "default"
    total = report["total"]
    assert total["toggles"] == pytest.approx(toggles["network_toggles"])
    assert total["logic_toggle_pj"] > 0 and total["memory_pj"] > 0
    assert total["toggle_proxy_pj"] == pytest.approx(total["logic_toggle_pj"] +
                                                     total["memory_pj"])
    assert report["measurement"]["rtl_equals_golden"] is True
