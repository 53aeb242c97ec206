"""Real Yosys + nextpnr runs on small designs (bnnhw.synth.synthesize).

Each test writes a small Amaranth design as a build folder and synthesizes it; the tiny
two-engine network takes a few seconds per target once the YoWASP tools are compiled (the very
first call of each tool on a machine compiles its WebAssembly, ~40 s).
"""

import json
import re

import pytest

from bnnhw.synth import SynthError, report_markdown, synthesize, synthesize_verilog

from .designs import TinyNet, WideRam, write_build


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    build = write_build(tmp_path_factory.mktemp("tiny_build"), TinyNet(), "tiny", cycles=4)
    lines = []
    work = tmp_path_factory.mktemp("tiny_work")
    result = synthesize(build, ("ice40", "ecp5", "cmos"), log=lines.append, work_dir=work)
    return result, lines, work


def test_tiny_ice40(tiny_result):
    result, _, _ = tiny_result
    assert result["design"] == "tiny" and result["top"] == "bnnhw_tiny"
    r = result["targets"]["ice40"]
    assert r["fits"] is True and r["device"] == "iCE40UP5K-SG48"
    assert "smallest" in r["device_note"]
    # 12-bit accumulator register + valid, 8-bit ROM output register + valid
    assert r["ffs"] == 22
    assert r["carry"] > 0 and r["luts"] > 0 and r["bram"] == 0 and r["dsp"] == 0
    assert set(r["per_block"]) == {"rom", "acc", "(top)"}
    for key in ("luts", "ffs", "carry", "bram"):
        assert sum(b[key] for b in r["per_block"].values()) == r[key]
    assert r["per_block"]["acc"]["carry"] == r["carry"]  # the adder is in acc
    assert r["fmax_mhz"] > 20
    assert r["inferences_per_s"] == pytest.approx(r["fmax_mhz"] * 1e6 / 4)
    assert r["utilization"]["SB_IO"]["used"] == r["wrapper"]["pins"] == 8
    # nextpnr places design and wrapper: at least as many LCs as LUTs or FFs of both
    assert r["utilization"]["ICESTORM_LC"]["used"] >= r["ffs"] + r["wrapper"]["ffs"]
    assert r["tools"]["yosys"].startswith("Yosys")
    assert r["tools"]["nextpnr-ice40"].startswith("0.")


def test_tiny_ecp5(tiny_result):
    result, _, _ = tiny_result
    r = result["targets"]["ecp5"]
    assert r["fits"] is True and r["device"] == "LFE5U-25F-CABGA381"
    assert r["ffs"] == 22 and r["carry"] > 0 and r["luts"] > 0
    assert set(r["per_block"]) == {"rom", "acc", "(top)"}
    for key in ("luts", "ffs", "carry", "bram", "lutram", "muxes", "dsp"):
        assert sum(b[key] for b in r["per_block"].values()) == r[key]
    assert r["fmax_mhz"] > 50 and r["fmax_target_mhz"] == 200.0
    assert r["utilization"]["TRELLIS_IO"]["used"] == 8


def test_tiny_cmos(tiny_result):
    result, _, _ = tiny_result
    c = result["targets"]["cmos"]
    assert c["transistors_exact"] is True
    assert c["ffs"] == 22 and c["cells"]["$_DFF_P_"] == 22
    assert c["transistors"] > 16 * 22
    assert sum(b["transistors"] for b in c["per_block"].values()) == c["transistors"]


def test_verilog_text_synthesizes_like_its_build_folder(tiny_result, tmp_path):
    """The data form (what the build's synthesis step calls) needs no build folder."""
    result, _, work = tiny_result
    text = (work / "cmos" / "bnnhw_tiny.v").read_text()
    data = synthesize_verilog(text, "bnnhw_tiny", ("cmos",), design="tiny",
                              cycles_per_inference=4, log=None, work_dir=tmp_path / "w")
    assert (data["design"], data["top"], data["cycles_per_inference"]) == ("tiny", "bnnhw_tiny", 4)
    assert (tmp_path / "w" / "bnnhw_tiny.v").read_text() == text
    keys = ("transistors", "gates", "ffs", "cells", "per_block")
    assert {k: data["targets"]["cmos"][k] for k in keys} == \
        {k: result["targets"]["cmos"][k] for k in keys}
    assert list(tmp_path.iterdir()) == [tmp_path / "w"]          # nothing but the work folder


def test_verilog_text_without_its_top_module_is_a_synth_error(tmp_path):
    with pytest.raises(SynthError, match="bnnhw_missing.v"):
        synthesize_verilog("module other(input a, output y);\nassign y = a;\nendmodule\n",
                           "bnnhw_missing", ("cmos",), log=None, work_dir=tmp_path)


def test_tiny_log_and_work_dir(tiny_result):
    result, lines, work = tiny_result
    assert result["work_dir"] == str(work)
    # not a terminal: each tool run's start line ("... ...", bnnhw.progress) and its end line
    started = [line for line in lines if line.endswith(" ...")]
    ended = [line for line in lines if not line.endswith(" ...")]
    assert len(started) == 5
    assert len(ended) == 5  # yosys + nextpnr per FPGA family, yosys cmos
    assert all(re.fullmatch(r"synth: \w+: .*\d+\.\d s\)?", line) for line in ended), lines
    for target in ("ice40", "cmos"):
        assert (work / target / "yosys.log").is_file()
        assert (work / target / "stat.json").is_file()
    assert (work / "ice40" / "nextpnr_up5k.json").is_file()
    json.dumps(result)  # the result is plain JSON


def test_tiny_report_markdown(tiny_result):
    result, _, _ = tiny_result
    text = report_markdown(result)
    assert text.startswith("## Synthesis")
    assert "| iCE40 | iCE40UP5K-SG48 | yes |" in text
    assert "| ECP5 | LFE5U-25F-CABGA381 | yes |" in text
    assert "transistors" in text and "### Per block" in text
    assert "| acc |" in text and "| rom |" in text


def test_device_fallback_and_overflow(tmp_path):
    """33 block RAMs: more than the UP5K (30) and the HX8K (32) have."""
    build = write_build(tmp_path / "build", WideRam(), "wideram")
    result = synthesize(build, ("ice40",), log=None)
    assert result["work_dir"] is None
    ice = result["targets"]["ice40"]
    assert ice["bram"] >= 33
    assert ice["fits"] is False and ice["device"] is None and ice["fmax_mhz"] is None
    assert ice["inferences_per_s"] is None
    tried = ice["devices_tried"]
    assert [d["device"] for d in tried] == ["iCE40UP5K-SG48", "iCE40HX8K-CT256"]
    assert tried[0]["overflow"][0]["available"] == 30
    over = {o["resource"]: o for o in ice["overflow"]}
    assert set(over) == {"ICESTORM_RAM"}
    assert over["ICESTORM_RAM"]["available"] == 32
    assert over["ICESTORM_RAM"]["over_by"] == over["ICESTORM_RAM"]["used"] - 32 > 0
    assert ice["utilization"]["ICESTORM_RAM"] == {
        "used": over["ICESTORM_RAM"]["used"], "available": 32}
    assert "fits no supported ice40 device" in ice["device_note"]
    assert "not iCE40UP5K-SG48 (ICESTORM_RAM" in ice["device_note"]
    text = report_markdown(result)
    assert "| iCE40 | – | no: ICESTORM_RAM" in text


def test_not_a_build_folder(tmp_path):
    with pytest.raises(SynthError, match="report.json"):
        synthesize(tmp_path, ("cmos",), log=None)


def test_unknown_target(tmp_path):
    with pytest.raises(ValueError, match="gowin"):
        synthesize(tmp_path, ("gowin",), log=None)


def test_yosys_failure_is_a_synth_error(tmp_path):
    (tmp_path / "bnnhw_bad.v").write_text(
        "module bnnhw_bad(clk, a, y);\n  input clk;\n  input a;\n  output y;\n"
        "  assign y = a &;\nendmodule\n")
    (tmp_path / "report.json").write_text(json.dumps(
        {"design": "bad", "top_module": "bnnhw_bad", "verilog": "bnnhw_bad.v",
         "cycles_per_inference": 1}))
    lines = []
    with pytest.raises(SynthError) as info:
        synthesize(tmp_path, ("ice40",), log=lines.append)
    message = str(info.value)
    assert "Yosys failed" in message and "ERROR" in message and "yosys.log" in message
    assert "tool runs kept in" in message
    assert lines and lines[0].endswith(" ...") and "FAILED" in lines[1]
