"""Whole networks as Verilog under cocotb + Verilator, every output compared with golden.

Each design's held-out digits run twice (full rate, then 30 % random stalls on both sides); the
full 360-image runs are ``benchmarks/network_sim.py`` (results committed in
``benchmarks/results/``).
"""

import json

import pytest

from bnnhw.build import run_build
from bnnhw.build.__main__ import EXIT_MISMATCH, main

from ..model.samples import every_op_model, write_design

pytestmark = pytest.mark.cocotb

DESIGN_IMAGES = 40


def _quiet(message):
    pass


def _check_simulation(sim, images):
    assert sim["images"] == images
    assert sim["mismatches"] == 0 and sim["rtl_equals_golden"], sim["first_mismatch"]
    assert sim["rtl_accuracy"] == sim["golden_accuracy"]
    assert 0.95 <= sim["cycles_ratio"] <= 1.05
    assert [run["outputs"] for run in sim["runs"]] == [images, images]
    assert not any(run["timed_out"] for run in sim["runs"])
    assert sim["runs"][1]["stalls"]["input"] > 0 and sim["images_per_second"] > 0


@pytest.fixture()
def every_op_design(tmp_path):
    return write_design(tmp_path, "tiny", every_op_model(1, exact=True), 1000)


def test_every_op_network_matches_golden(every_op_design, tmp_path):
    result = run_build(str(every_op_design), out=tmp_path / "out", sim=True, images=12,
                       energy=3, log=_quiet)
    _check_simulation(result.report["simulation"], 12)
    energy = result.report["energy"]        # --energy: toggle coverage on 3 digits
    assert energy["toggles"]["rtl_equals_golden"] and energy["toggles"]["network_toggles"] > 0
    assert energy["total"]["toggle_proxy_pj"] > energy["total"]["memory_pj"] > 0
    assert "RTL == golden on every image of every run: yes" in \
        (tmp_path / "out" / "report.md").read_text()


def test_a_rom_fault_is_reported_with_its_layer_and_traced(every_op_design, tmp_path, monkeypatch,
                                                           capsys):
    from dataclasses import replace

    from bnnhw import compiler

    real = compiler.hardware_plan

    def faulty(compiled, plan):
        hardware = real(compiled, plan)
        # logit 0's weights: every bit of fc's first word on PE 0, in the ROM and the engine
        rom = next(r for r in hardware.roms if r.file == "fc.weights.pe0.hex")
        flipped = (rom.words[0] ^ ((1 << rom.word_bits) - 1), *rom.words[1:])
        roms = tuple(replace(r, words=flipped) if r is rom else r for r in hardware.roms)
        engines = tuple(replace(e, weights=(flipped, *e.weights[1:])) if "fc" in e.layers
                        else e for e in hardware.engines)
        return replace(hardware, roms=roms, engines=engines)

    monkeypatch.setattr(compiler, "hardware_plan", faulty)
    out = tmp_path / "out"
    assert main([str(every_op_design), "--out", str(out), "--sim", "--images", "4",
                 "--trace"]) == EXIT_MISMATCH
    err = capsys.readouterr().err
    assert "RTL differs from golden" in err and "'fc' at pixel" in err
    sim = json.loads((out / "report.json").read_text())["simulation"]
    assert sim["mismatches"] > 0 and not sim["rtl_equals_golden"]
    where = sim["first_mismatch"]["layer_output"]
    assert where["layer"] == "fc" and where["expected"] != where["got"]
    # --trace keeps the waveform of the simulation for debugging
    assert sim["trace"] == "trace.vcd"
    assert (out / "trace.vcd").read_bytes()[:1] and (out / "trace.vcd").stat().st_size > 1000


@pytest.mark.parametrize("design", ["boolnet", "xnornet", "panet", "pokebnn"])
def test_design_matches_golden_on_held_out_digits(design, tmp_path):
    result = run_build(design, out=tmp_path / design, sim=True, images=DESIGN_IMAGES,
                       log=_quiet)
    sim = result.report["simulation"]
    _check_simulation(sim, DESIGN_IMAGES)
    assert sim["golden_accuracy"] >= 0.85


def test_zero_padded_network_matches_golden(tmp_path):
    """Zero-padded binary convolutions (``pad_value: 0``) in a whole network: border-flagged
    windows, zero-padded counts through a fused threshold unit and through the clip stage into a
    quantized BN, bit-exact with golden at full rate and under random stalls."""
    from .models import zero_padded_model

    design = write_design(tmp_path, "zero_padded", zero_padded_model(0), 1000)
    result = run_build(str(design), out=tmp_path / "out", sim=True, images=16, log=_quiet)
    _check_simulation(result.report["simulation"], 16)


def test_a_second_sim_build_into_another_folder_compiles_nothing(every_op_design, tmp_path):
    first = run_build(str(every_op_design), out=tmp_path / "one", sim=True, images=3,
                      log=_quiet).report["simulation"]
    second = run_build(str(every_op_design), out=tmp_path / "two", sim=True, images=5,
                       log=_quiet).report["simulation"]
    _check_simulation(first, 3)
    _check_simulation(second, 5)
    assert second["model_from_cache"] and second["model_seconds"] < 2, second["model_seconds"]


def test_a_successful_sim_build_prints_no_simulator_lines(every_op_design, tmp_path, capfd):
    """The terminal shows bnnhw's lines only: nothing of Verilator's runtime such as its
    "- :0: Verilog $finish" at the end of every cocotb regression."""
    assert main([str(every_op_design), "--out", str(tmp_path / "out"), "--sim", "--images",
                 "3"]) == 0
    captured = capfd.readouterr()
    assert "$finish" not in captured.out + captured.err
    assert "[6/10] simulate: 3 inputs" in captured.out
    # not a terminal (as in CI): progress as plain lines, no live bar
    assert "simulate: 2 run(s) of 3 inputs: 6/6 inputs" in captured.out
    assert "\r" not in captured.out + captured.err
