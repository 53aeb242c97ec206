"""The build folder's integration kit (bnnhw.build.integration): the plain-named top, README.md
and example/, whose run.sh builds the example with Verilator and prints the golden model's
class and logits for its image."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from bnnhw.build import run_build

from .model.samples import every_op_model, write_design
from .sim.models import bits_model


def _quiet(message):
    pass


def _wide_input_model():
    """``bits_model`` with 70 input channels: a 70-bit pixel (Verilator's wide-port path)."""
    graph, arrays = bits_model()
    rng = np.random.default_rng(1)
    graph["input"]["shape"] = [70, 3, 3]
    arrays["c1.weight"] = rng.choice(np.array([-1, 1], dtype=np.int8), size=(8, 70, 3, 3))
    return graph, arrays


def _run_example(out):
    env = dict(os.environ, PYTHON=sys.executable)
    done = subprocess.run(["sh", str(out / "example" / "run.sh")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("name, model", [("every_op", lambda: every_op_model(1, exact=True)),
                                         ("wide_input", _wide_input_model)])
def test_the_example_prints_the_golden_class_and_logits(tmp_path, name, model):
    design = write_design(tmp_path, name, model(), 1000)
    out = tmp_path / "out"
    result = run_build(str(design), out=out, log=_quiet)
    top = result.report["top_module"]
    wrapper = (out / f"{top}_top.v").read_text()
    ports = re.findall(r"^\s+(?:input|output)\s+wire\s+(?:\[\d+:0\]\s+)?(\w+)", wrapper, re.M)
    assert ports == ["clk", "rst", "in_valid", "in_ready", "in_data", "out_valid", "out_ready",
                     "out_class", "out_logits"]
    readme = (out / "README.md").read_text()
    for section in ("## Ports", "## Pixel order", "## Timing", "## Example"):
        assert section in readme
    golden = re.search(r"the golden model gives class (\d+), logits ([-\d ]+)\.", readme)
    printed = _run_example(out)
    assert f"class {golden[1]}\n" in printed
    assert f"logits {golden[2]}\n" in printed
    latency = int(re.search(r"latency (\d+) cycles", printed)[1])
    assert latency >= result.report["cycles_per_inference"] // 4
    # the example builds outside the folder: a rebuild still replaces it
    assert sorted(p.name for p in (out / "example").iterdir()) == ["image.hex", "main.cpp",
                                                                  "run.sh"]
    run_build(str(design), out=out, log=_quiet)


def test_readme_gives_the_measured_latency_with_sim(tmp_path):
    design = write_design(tmp_path, "every_op", every_op_model(1, exact=True), 1000)
    result = run_build(str(design), out=tmp_path / "out", sim=True, images=2, log=_quiet)
    latency = result.report["simulation"]["latency_cycles"]
    assert latency > 0
    readme = (tmp_path / "out" / "README.md").read_text()
    assert f"**Latency**: {latency:,} cycles" in readme
    assert "(measured by `--sim` at full rate)" in readme
    # the example, a different testbench, counts the same edges
    assert f"latency {latency} cycles" in _run_example(tmp_path / "out")
