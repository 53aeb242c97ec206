"""report_markdown on the real boolnet result (tests/synth/data/boolnet_result.json: the output of
``python -m bnnhw.synth`` on the boolnet build, iCE40 + ECP5 + CMOS)."""

import copy
import json
from pathlib import Path

import pytest

from bnnhw.synth import report_markdown

RESULT = json.loads((Path(__file__).parent / "data" / "boolnet_result.json").read_text())


def _row(text, first_cell):
    return next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))


def test_summary_rows():
    text = report_markdown(RESULT)
    assert text.startswith("## Synthesis\n")
    assert "4,096 cycles per inference" in text
    ice = _row(text, "iCE40")
    assert "| – | no: ICESTORM_LC 14,318/7,680 (+6,638), ICESTORM_RAM 41/32 (+9) |" in ice
    assert "| 6,747 | 9,296 | 1,323 SB_CARRY | 41 (167,936 bits) |" in ice
    ecp5 = _row(text, "ECP5")
    r = RESULT["targets"]["ecp5"]
    assert f"| {r['device']} | yes |" in ecp5
    assert f"| {r['fmax_mhz']:.1f} | {r['fmax_mhz'] * 1e6 / 4096:,.0f} |" in ecp5
    assert f"{r['lutram']} LUT RAM" in ecp5
    assert "fits no supported ice40 device" in text
    assert f"**{RESULT['targets']['cmos']['transistors']:,} transistors**" in text


def test_per_block_table_sums_to_totals():
    text = report_markdown(RESULT)
    blocks = RESULT["targets"]["ice40"]["per_block"]
    lines = text.split("### Per block")[1].splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| ---")]
    assert len(rows) == 1 + len(blocks) + 1  # header, blocks incl. (top), total
    assert rows[-1].startswith("| **total** | 6,747 | 9,296 |")
    assert _row(text, "sign1").startswith("| sign1 | 374 |")


def test_partial_results():
    only_cmos = copy.deepcopy(RESULT)
    del only_cmos["targets"]["ice40"], only_cmos["targets"]["ecp5"]
    text = report_markdown(only_cmos)
    assert "| target |" not in text and "transistors" in text and "iCE40" not in text
    assert report_markdown({"targets": {}}).startswith("## Synthesis")


@pytest.mark.parametrize("target", ["ice40", "ecp5", "cmos"])
def test_result_keys(target):
    r = RESULT["targets"][target]
    common = {"per_block", "tools", "seconds", "runs", "cells"}
    fpga = {"luts", "ffs", "carry", "bram", "bram_bits", "dsp", "device", "fits", "fmax_mhz",
            "inferences_per_s", "overflow", "utilization", "device_note", "wrapper"}
    assert common <= set(r)
    assert (fpga <= set(r)) if target != "cmos" else {"transistors", "gates", "ffs"} <= set(r)
