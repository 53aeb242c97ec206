"""Port parsing and the place-and-route wrapper (bnnhw.synth.wrapper); no tools run."""

import re

import pytest
from amaranth.back import verilog

from bnnhw.synth.wrapper import (
    WRAPPER_TOP,
    Port,
    module_names,
    top_ports,
    top_submodules,
    wrapper_verilog,
)

from .designs import TinyNet


@pytest.fixture(scope="module")
def tiny_verilog():
    return verilog.convert(TinyNet(), name="bnnhw_tiny")


def test_top_ports_of_amaranth_stream_top(tiny_verilog):
    ports = {p.name: p for p in top_ports(tiny_verilog, "bnnhw_tiny")}
    assert ports == {
        "clk": Port("clk", "input", 1),
        "rst": Port("rst", "input", 1),
        "i__valid": Port("i__valid", "input", 1),
        "i__ready": Port("i__ready", "output", 1),
        "i__payload": Port("i__payload", "input", 6),
        "o__valid": Port("o__valid", "output", 1),
        "o__ready": Port("o__ready", "input", 1),
        "o__payload": Port("o__payload", "output", 12),
    }


def test_submodules_are_the_engines(tiny_verilog):
    assert set(module_names(tiny_verilog)) == {
        "bnnhw_tiny", "bnnhw_tiny.rom", "bnnhw_tiny.acc"}
    assert top_submodules(tiny_verilog, "bnnhw_tiny") == {
        "rom": "bnnhw_tiny.rom", "acc": "bnnhw_tiny.acc"}
    # a submodule's own children are not blocks of the top
    assert top_submodules(tiny_verilog, "bnnhw_tiny.rom") == {}


def test_missing_module_is_an_error(tiny_verilog):
    with pytest.raises(ValueError, match="nope"):
        top_ports(tiny_verilog, "nope")


def test_wrapper_narrows_wide_ports(tiny_verilog):
    text, info = wrapper_verilog("bnnhw_tiny", top_ports(tiny_verilog, "bnnhw_tiny"))
    assert info == {"pins": 8, "clock": "clk", "shift_register_bits": 6,
                    "xor_reduced_bits": 12, "registered_output_bits": 0}
    header = re.search(rf"module {WRAPPER_TOP}\((.*)\);", text).group(1)
    assert header.split(", ") == ["clk", "i__ready", "i__valid", "o__ready", "o__valid", "rst",
                                  "bnnhw_sin", "bnnhw_xout"]
    assert ".i__payload(bnnhw_sr[5:0])" in text
    assert ".o__payload(bnnhw_out[11:0])" in text
    assert "assign bnnhw_xout = ^bnnhw_out;" in text


def test_wrapper_of_combinational_design_registers_outputs():
    ports = [Port("a", "input", 8), Port("b", "input", 8), Port("y", "output", 9),
             Port("c.x", "output", 1)]
    text, info = wrapper_verilog("adder", ports)
    assert info["clock"] == "bnnhw_clk"
    assert info["shift_register_bits"] == 16 and info["registered_output_bits"] == 9
    assert "always @(posedge bnnhw_clk) bnnhw_out_q <= bnnhw_out;" in text
    assert ".a(bnnhw_sr[7:0])" in text and ".b(bnnhw_sr[15:8])" in text
    # names that are not plain identifiers are escaped
    assert "output \\c.x ;" in text and ".\\c.x (\\c.x )" in text


def test_wrapper_rejects_inout():
    with pytest.raises(ValueError, match="inout"):
        wrapper_verilog("x", [Port("clk", "input", 1), Port("pad", "inout", 1)])
