# amaranth: UnusedElaboratable=no
"""One real micro-comparison: XNOR vs AND gates and PEs of 16 bits through Yosys' CMOS flow."""

import pytest

from bnnhw.compare.micro import xnor_vs_and


@pytest.mark.slow
def test_xnor_vs_and_16_bits(tmp_path):
    result = xnor_vs_and(16, work_dir=tmp_path, targets=("cmos",))
    gates, pe = result["gates"], result["pe"]
    # abc -g cmos2 prices an AND2 as NAND + NOT (6 transistors), an XNOR2 above that
    assert gates["and"]["cmos"]["transistors"] == 16 * 6
    assert result["per_gate_transistors"]["xnor"] > 6
    assert all(g["cmos"]["transistors_exact"] for g in (*gates.values(), *pe.values()))
    ratios = result["ratios"]
    assert ratios["gates_cmos"] > 1 and 1 < ratios["pe_cmos"] < ratios["gates_cmos"]
    assert 0 < ratios["popcount_share_cmos"] < 1
    assert (tmp_path / "pe_xnor16" / "pe_xnor16.v").is_file()
