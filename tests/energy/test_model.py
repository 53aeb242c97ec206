"""The energy model: its calibration constants, op-count bit-adders and the report arithmetic."""

import re

import pytest

from bnnhw import toolchain
from bnnhw.cost import cost_of_compiled
from bnnhw.energy import (ADDER_CALIBRATION, HOROWITZ_45NM_FJ, EnergyConstants, ToggleCounts,
                          energy_report, memory_traffic)
from bnnhw.energy.model import layer_bit_adders

from .tiny import tiny_design

C = EnergyConstants()


def test_constants_reproduce_horowitz_on_the_calibration_adder():
    adder = ADDER_CALIBRATION
    assert C.toggle_fj * adder["toggles_per_add"] == pytest.approx(HOROWITZ_45NM_FJ["int8_add"])
    per_toggle = adder["transistors"] / adder["signal_bits"] * C.transistor_toggle_fj
    assert per_toggle * adder["toggles_per_add"] == pytest.approx(30.0)
    assert C.bit_adder_fj == 3.75 and C.memory_fj_per_bit == 156.25
    # the bit-adder model against Table 1: an int8 MAC (64 bit-adders) vs MUL + ADD
    int8_mac = HOROWITZ_45NM_FJ["int8_mul"] + HOROWITZ_45NM_FJ["int8_add"]
    assert 64 * C.bit_adder_fj == pytest.approx(int8_mac, rel=0.05)


def test_calibration_adder_transistors_from_yosys(tmp_path):
    """ADDER_CALIBRATION's 336 transistors are what Yosys' CMOS flow counts for s = a + b."""
    (tmp_path / "add8.v").write_text(
        "module add8(input [7:0] a, input [7:0] b, output [8:0] s);\n"
        "  assign s = a + b;\nendmodule\n")
    log = toolchain.run_yosys("read_verilog add8.v\nsynth -top add8 -flatten\n"
                              "abc -g cmos2\nopt_clean\nstat -tech cmos\n", cwd=tmp_path)
    count = re.findall(r"Estimated number of transistors:\s+(\d+)", log)
    assert count and int(count[-1]) == ADDER_CALIBRATION["transistors"]


def test_bit_adders_of_the_every_op_network():
    _, compiled, _, _ = tiny_design()
    rows = {row.name: row for row in cost_of_compiled(compiled).layers}
    adders = {name: layer_bit_adders(row, compiled) for name, row in rows.items()}
    # stem: 8 x 4 x 16 int8 MACs (64 bit-adders each) + a 32-bit bias add per output
    assert adders["stem"] == 512 * 64 + 128 * 32
    # c1: 8 x 72 x 16 binary MACs; ms1: 4 slices x 8 x 16 comparisons of a 7-bit popcount
    assert adders["c1"] == 9216
    assert adders["ms1"] == 4 * 8 * 16 * 7
    # a max-pool OR and a global-pool popcount input are one each
    assert adders["pool"] == 8 * 4 * 3
    assert adders["gp"] == 8 * 4
    for wiring in ("left", "right", "shuf", "cat"):
        assert adders[wiring] == 0


def test_report_without_toggles_has_memory_and_ops_only():
    network, compiled, _, _ = tiny_design()
    report = energy_report(network, compiled)
    assert list(report["engines"]) == [name for name, _ in network.engines]
    assert list(report["other_blocks"]) == []
    assert report["toggle_model"] is None and report["measurement"] is None
    assert "not a measurement" in report["note"] and report["unit"] == "pJ per inference"
    total = report["total"]
    assert total["logic_toggle_pj"] is None and total["toggle_proxy_pj"] is None
    traffic = memory_traffic(network)
    bits = sum(m["read_bits"] + m["write_bits"] for block in traffic.values()
               for m in block.values())
    assert total["memory_read_bits"] + total["memory_write_bits"] == bits
    assert total["memory_pj"] == pytest.approx(bits * 156.25 / 1000)
    assert total["arithmetic_ops_pj"] == pytest.approx(total["bit_adders"] * 3.75 / 1000)
    assert total["op_count_estimate_pj"] == pytest.approx(total["arithmetic_ops_pj"] +
                                                          total["memory_pj"])
    ms1 = report["engines"]["ms1"]
    assert ms1["bit_adders"] == 9216 + 4 * 8 * 16 * 7        # c1 fused into the ms1 engine
    # weights, thresholds, and the window re-read once per neuron fold (4 x 144 chunks of 8)
    assert ms1["memory_read_bits"] == 9216 + 4096 + 4 * 1152
    assert ms1["memory_write_bits"] == 128


def test_report_with_toggles_and_transistors():
    network, compiled, _, _ = tiny_design()
    toggles = {"blocks": {"ms1": {"toggles": 1000.0, "bits": 100},
                          "c3.clip": ToggleCounts(50.0, 10),
                          "fork_t2": {"toggles": 20.0, "bits": 4}},
               "images": 7, "method": "test"}
    report = energy_report(network, compiled, toggles,
                           transistors={"ms1": {"transistors": 5000}, "c3_clip": 300})
    engines = report["engines"]
    assert report["measurement"] == {"images": 7, "method": "test"}
    assert engines["ms1"]["toggle_model"] == "transistors"
    assert engines["ms1"]["logic_toggle_pj"] == pytest.approx(
        1000 * 5000 / 100 * C.transistor_toggle_fj / 1000)
    assert engines["c3.clip"]["block"] == "c3_clip" and engines["c3.clip"]["transistors"] == 300
    assert engines["c3.clip"]["logic_toggle_pj"] == pytest.approx(
        50 * 300 / 10 * C.transistor_toggle_fj / 1000)
    # no transistor count: the default energy per toggle; a block not measured: zero toggles
    fork = report["other_blocks"]["fork_t2"]
    assert fork["toggle_model"] == "default"
    assert fork["logic_toggle_pj"] == pytest.approx(20 * C.toggle_fj / 1000)
    assert engines["stem"]["toggles"] == 0 and engines["stem"]["logic_toggle_pj"] == 0
    assert report["toggle_model"] == "mixed"
    total = report["total"]
    rows = list(engines.values()) + list(report["other_blocks"].values())
    assert total["toggles"] == 1070
    assert total["logic_toggle_pj"] == pytest.approx(sum(r["logic_toggle_pj"] for r in rows))
    assert total["toggle_proxy_pj"] == pytest.approx(total["logic_toggle_pj"] +
                                                     total["memory_pj"])
    for row in rows:
        assert row["toggle_proxy_pj"] == pytest.approx(row["logic_toggle_pj"] +
                                                       row["memory_pj"])


def test_plain_toggle_numbers_and_custom_constants():
    network, compiled, _, _ = tiny_design()
    constants = EnergyConstants(toggle_fj=1.0, memory_fj_per_bit=0.0, bit_adder_fj=0.0)
    report = energy_report(network, compiled, {"stem": 2000},
                           constants=constants)
    assert report["total"]["toggle_proxy_pj"] == pytest.approx(2.0)
    assert report["total"]["op_count_estimate_pj"] == 0
    assert report["constants"]["toggle_fj"] == 1.0
