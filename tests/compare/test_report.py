"""The comparison report from synthetic report.json fixtures: no tools run, fast."""

import json
from types import SimpleNamespace

import pytest

from bnnhw.compare import designs as designs_module
from bnnhw.compare.__main__ import main
from bnnhw.compare.claims import PAPERS, claim_rows
from bnnhw.compare.designs import (energy_comparison, load_or_build, metrics,
                                   missing_sections)
from bnnhw.compare.run import assemble, collect, write_outputs

from . import fixtures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_metrics_picks_the_reports_numbers():
    row = metrics(fixtures.four_reports()["boolnet"])
    assert row["golden_accuracy"] == 0.925 and row["rtl_accuracy"] == 0.925
    assert row["ice40_luts"] == 6747 and row["ice40_fits"] is False
    assert row["ice40_fmax_mhz"] is None and row["ice40_inferences_per_s"] is None
    assert row["ice40_overflow"] == "ICESTORM_LC 14318/7680"
    assert row["ecp5_fmax_mhz"] == 50.0 and row["ecp5_inferences_per_s"] == 50e6 / 4096
    assert row["transistors"] == 992_894 and row["ace"] == 1_000_000
    assert row["energy_pj"] == 100_000.0 and row["energy_model"] == "transistors"
    no_energy = metrics(fixtures.four_reports(energy=False)["boolnet"])
    assert no_energy["energy_pj"] is None and no_energy["energy_op_count_pj"] is None


def test_missing_sections():
    full = fixtures.report("x", accuracy=0.9, luts=10, transistors=10, ace=1)
    assert missing_sections(full, ("ice40", "ecp5", "cmos")) == []
    partial = fixtures.report("x", accuracy=0.9, luts=10, transistors=10, ace=1,
                              simulation=False, targets=("cmos",))
    assert missing_sections(partial, ("ice40", "cmos")) == ["simulation", "synthesis:ice40"]
    assert missing_sections({}, ()) == ["simulation"]


def test_reuses_complete_reports_and_builds_the_others(tmp_path, monkeypatch):
    reports = fixtures.four_reports()
    (tmp_path / "boolnet").mkdir()
    (tmp_path / "boolnet" / "report.json").write_text(json.dumps(reports["boolnet"]))
    stale = fixtures.report("xnornet", accuracy=0.9, luts=1, transistors=1, ace=1,
                            targets=("cmos",))
    (tmp_path / "xnornet").mkdir()
    (tmp_path / "xnornet" / "report.json").write_text(json.dumps(stale))
    calls = []

    def fake_run_build(design, *, out, sim, synth, energy=None, log=print):
        calls.append((design, out, sim, synth, energy))
        return SimpleNamespace(report=reports[design])

    import bnnhw.build
    monkeypatch.setattr(bnnhw.build, "run_build", fake_run_build)
    lines = []
    targets = ("ice40", "ecp5", "cmos")
    report, origin = load_or_build("boolnet", tmp_path, targets, log=lines.append)
    assert origin == "reused" and report == reports["boolnet"] and not calls
    report, origin = load_or_build("xnornet", tmp_path, targets, log=lines.append)
    assert origin == "built" and report == reports["xnornet"]
    assert calls == [("xnornet", tmp_path / "xnornet", True, list(targets), 20)]
    assert any("lacks synthesis:ice40, synthesis:ecp5" in line for line in lines)
    assert any("about 10 min per design" in line for line in lines)
    load_or_build("boolnet", tmp_path, targets, rebuild=True, energy=0, log=lines.append)
    assert calls[-1] == ("boolnet", tmp_path / "boolnet", True, list(targets), None)
    _, origins = collect(["boolnet"], builds=tmp_path, targets=targets, log=lines.append)
    assert origins["boolnet"] == (f"`{tmp_path / 'boolnet' / 'report.json'}` (reused); "
                                  "synthesis 300 s (ice40 100 s, ecp5 100 s, cmos 100 s)")


def _data(reports, energy):
    origins = {name: f"`build/{name}/report.json` (reused)" for name in reports}
    return assemble(reports, origins, pe=fixtures.pe_micro(),
                    accumulator=fixtures.accumulator_micro(), energy=energy,
                    command="python -m bnnhw.compare boolnet xnornet panet pokebnn",
                    micro_seconds=3.0, seconds=5.0)


def test_report_states_every_claim_with_both_ratios(tmp_path):
    reports = fixtures.four_reports()
    energy = energy_comparison(reports)
    assert energy["source"] == "report" and energy["ratio"] == pytest.approx(1.5)
    data = _data(reports, energy)
    path = write_outputs(data, tmp_path)
    text = path.read_text()
    claims = {row["claim"]: row for row in data["claims"]}
    assert len(claims) == 5
    for row in claims.values():
        line = next(line for line in text.splitlines() if line.startswith(f"| {row['claim']}"))
        assert f"| {row['paper_ratio']:.2f}x | {row['ours']:.2f}x |" in line
        assert row["verdict"] in line and row["why"] in line
        assert row["why"].count(". ") == 0 and row["why"].endswith(".")  # one sentence
    gates = claims["XNOR vs AND product gates (256 two-input gates)"]
    assert gates["ours"] == pytest.approx(16 / 6) and gates["verdict"] == "differs"
    assert "16 transistors (3 NOR + 2 NOT)" in gates["why"]
    pe = claims["XNOR vs AND popcount PE (256 bits, streamed weights)"]
    assert "except for bitcount" in pe["why"] and "1.03x the LUTs" in pe["why"]
    energy_row = claims["BoolNet vs XNOR-Net-style design energy per inference"]
    assert energy_row["paper_ratio"] == PAPERS["boolnet"]["ratio"] == 2.95
    assert "| 2.95x | 1.50x |" in text and "toggles x CMOS transistors" in text
    for needle in ("92.50 %", "95.83 %", "fits none", "ICESTORM_LC 14318/7680", "992,894",
                   "![designs side by side](compare.png)", "![paper claims](claims.png)",
                   "### 1. XNOR vs AND", "### 2. 32-bit vs 8-bit", "### 3. BoolNet vs"):
        assert needle in text, needle
    for png in ("compare.png", "claims.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG_MAGIC
    stored = json.loads((tmp_path / "compare.json").read_text())
    assert [r["design"] for r in stored["designs"]] == ["boolnet", "xnornet", "panet", "pokebnn"]


def test_without_energy_in_reports_the_column_is_empty_and_op_counts_are_used(
        tmp_path, monkeypatch):
    estimates = {"xnornet": {"arithmetic_pj": 8000.0, "op_count_estimate_pj": 220_000.0},
                 "boolnet": {"arithmetic_pj": 3000.0, "op_count_estimate_pj": 160_000.0}}
    monkeypatch.setattr(designs_module, "op_count_energy", lambda name: estimates[name])
    reports = fixtures.four_reports(energy=False)
    energy = energy_comparison(reports)
    assert energy["source"] == "op counts" and "no energy proxy in both reports" in energy["basis"]
    assert energy["ratio"] == pytest.approx(220 / 160)
    assert energy["ratios"]["arithmetic"] == pytest.approx(8 / 3)
    text = write_outputs(_data(reports, energy), tmp_path).read_text()
    assert "No report.json has an `energy` section" in text
    assert "| 2.95x | 1.38x |" in text and "op counts" in text


def test_claims_without_measurements():
    rows = claim_rows(None, None, None)
    assert [r["verdict"] for r in rows] == ["not measured"]


def test_cli_unknown_design(capsys):
    assert main(["boolnet", "no-such-design", "--out", "unused"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bnnhw.compare: error: design: unknown design 'no-such-design'")
    assert "boolnet" in err


@pytest.mark.parametrize("args, message", [
    (["--synth", "ice40,asic"], "--synth: unknown target(s) asic"),
    (["--fan-in", "512"], "--fan-in/--simd"),
    (["--energy", "1"], "--energy"),
])
def test_cli_rejects_bad_options(capsys, args, message):
    assert main(["boolnet", *args]) == 1
    assert capsys.readouterr().err.startswith(f"bnnhw.compare: error: {message}")
