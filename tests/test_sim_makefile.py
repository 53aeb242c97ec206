"""cocotb's own Makefile flow for the block testbenches (``sim/blocks/Makefile``, docs/sim.md).

One small block (the 7-bit combinational popcount, a ~5 s Verilator build): ``make -C sim/blocks
TB=popcount INSTANCE=pc7_comb SIM=verilator`` with the build folder under ``tmp_path`` (nothing
is written into the checkout), then cocotb's results file must list the testbench's test as
passed and nothing failed.
"""

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = ROOT / "sim" / "blocks"

pytestmark = pytest.mark.cocotb


def make_env():
    """The environment of a user who activated the virtual environment: its bin first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("MAKEFLAGS", None)
    return env


def test_make_runs_a_block_testbench(tmp_path):
    build = tmp_path / "build"
    result = subprocess.run(
        ["make", "-C", str(BLOCKS), "TB=popcount", "INSTANCE=pc7_comb", "SIM=verilator",
         f"BUILD={build}"],
        check=False, env=make_env(), capture_output=True, text=True, timeout=600)
    log = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, log
    results = build / "popcount" / "pc7_comb" / "results-pc7_comb.xml"
    assert results.is_file(), log
    cases = list(ElementTree.parse(results).getroot().iter("testcase"))
    assert [case.get("name") for case in cases] == ["golden_vectors"], log
    for case in cases:
        assert case.find("failure") is None and case.find("error") is None, log
        assert case.find("skipped") is None, log


def test_make_names_the_instances_of_an_unknown_one(tmp_path):
    """A wrong INSTANCE stops make before any build, naming the instances there are."""
    result = subprocess.run(
        ["make", "-C", str(BLOCKS), "TB=popcount", "INSTANCE=nope", "SIM=verilator",
         f"BUILD={tmp_path / 'build'}"],
        check=False, env=make_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "no instance 'nope'" in result.stderr and "pc7_comb" in result.stderr, result.stderr
    assert not (tmp_path / "build" / "popcount" / "nope").exists()
