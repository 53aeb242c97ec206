"""``python -m bnnhw.build``: steps, artefacts, clear errors, exit codes, nothing half-written."""

import json
import subprocess
import sys

import pytest

from bnnhw.build import BuildError, DesignError, find_design, run_build
from bnnhw.build.__main__ import main

from .model.samples import every_op_model, write_design


def _quiet(message):
    pass


@pytest.fixture()
def design(tmp_path):
    return write_design(tmp_path, "tiny", every_op_model(1, exact=True), 1000)


def test_build_writes_verilog_images_memory_map_and_report(design, tmp_path):
    out = tmp_path / "out"
    result = run_build(str(design), out=out, log=_quiet)
    assert result.complete and result.missing == ()
    report = json.loads((out / "report.json").read_text())
    assert report["cycles_per_inference"] <= 1000 and report["complete"] is True
    assert report["memory_bits"] > 0 and (out / "report.md").read_text().startswith("# every-op")
    assert report["verilog"] == "bnnhw_tiny.v" and report["simulation"] is None
    assert report["cost"]["ace"] > 0 and report["cost"]["macs"]["binary"] > 0
    verilog = (out / "bnnhw_tiny.v").read_text()
    assert "module bnnhw_tiny(" in verilog
    memory_map = json.loads((out / "memory_map.json").read_text())
    for entry in memory_map["images"]:
        lines = (out / "images" / entry["file"]).read_text().split()
        assert len(lines) == entry["depth"]


def test_two_builds_are_byte_identical(design, tmp_path):
    trees = []
    for name in ("a", "b"):
        run_build(str(design), out=tmp_path / name, log=_quiet)
        trees.append({p.relative_to(tmp_path / name): p.read_bytes()
                      for p in sorted((tmp_path / name).rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]


def test_rebuild_replaces_the_folder(design, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    run_build(str(design), out=out, log=_quiet)
    assert not (out / "stale.txt").exists() and (out / "report.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "out"]


def test_target_cycles_overrides_the_design_config(design, tmp_path):
    result = run_build(str(design), out=tmp_path / "out", target_cycles=576, log=_quiet)
    assert result.report["cycles_per_inference"] == 576


def test_impossible_target_fails_and_writes_nothing(design, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(BuildError, match="compile: layer 'stem': target_cycles: 2 cycles"):
        run_build(str(design), out=out, target_cycles=2, log=_quiet)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs"]


def test_invalid_model_names_layer_and_field(design, tmp_path):
    graph, arrays = every_op_model(1)
    arrays["bn1.var"][0] = -1.0
    from bnnhw.model.container import write_container
    write_container(design / "model.npz", graph, arrays)
    with pytest.raises(BuildError, match="layer 'bn1': var: variance must be >= 0"):
        run_build(str(design), out=tmp_path / "out", log=_quiet)
    assert not (tmp_path / "out").exists()


def test_command_line_exit_codes(design, tmp_path, capsys):
    assert main([str(design), "--out", str(tmp_path / "out")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main([str(design), "--out", str(tmp_path / "o2"), "--target-cycles", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bnnhw.build: error: compile: ") and "Traceback" not in err


def test_unknown_design_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["no-such-design"]) == 1
    err = capsys.readouterr().err
    assert "design:" in err and "no-such-design" in err and "Traceback" not in err
    assert not (tmp_path / "build").exists()


def test_design_that_is_a_file_is_rejected(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("not a design")
    with pytest.raises(DesignError, match="is a file"):
        find_design(str(path))


def test_untrained_design_names_the_missing_model_and_writes_nothing(tmp_path):
    design = tmp_path / "designs" / "tiny"
    design.mkdir(parents=True)
    out = tmp_path / "out"
    with pytest.raises(BuildError, match="model.npz does not exist"):
        run_build(str(design), out=out, log=_quiet)
    assert not out.exists()


def test_output_that_is_a_file_is_rejected(design, tmp_path):
    out = tmp_path / "out"
    out.write_text("occupied")
    with pytest.raises(BuildError, match="--out"):
        run_build(str(design), out=out, log=_quiet)


def test_bad_design_config_is_a_clear_error(design, tmp_path):
    (design / "design.json").write_text('{"folding": {"target": 3}}')
    with pytest.raises(DesignError, match="folding: expected an object with keys among"):
        run_build(str(design), out=tmp_path / "out", log=_quiet)


def test_command_line_in_a_subprocess(design, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bnnhw.build", str(design), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[3/9] compile:" in result.stdout and "[5/9] generate:" in result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize("flags, message", [
    (["--images", "3"], "--images: needs --sim"),
    (["--trace"], "--trace: needs --sim"),
    (["--sim", "--images", "0"], "--images: expected at least 1 image, got 0"),
    (["--sim", "--images", "361"], "simulate: --images: expected 1 .. 360, got 361"),
    (["--board", "de10"], "--board: unknown board 'de10'; choose one of icebreaker, ulx3s-25f"),
    (["--program"], "--program: needs --board"),
    (["--energy", "1"], "--energy: expected at least 2 images (one warms up), got 1"),
    (["--synth", "ice40,vivado"], "--synth: unknown target(s) vivado; choose from ice40, ecp5"),
])
def test_simulation_flags_are_checked(design, tmp_path, capsys, flags, message):
    assert main([str(design), "--out", str(tmp_path / "out")] + flags) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _fake_board(fits_from, used=lambda cycles: 6000):
    """A stand-in for the board step: 'fits' once the network runs at >= ``fits_from`` cycles;
    below that it overflows with ``used(cycles)`` logic cells."""
    from bnnhw.build.board import BoardError

    def build_board(network, board, work_dir, *, program=False, log=print):
        if network.cycles_per_inference < fits_from:
            lc = used(network.cycles_per_inference)
            raise BoardError("board: does not fit", overflows=[{
                "resource": "ICESTORM_LC", "used": lc, "available": 5280, "over_by": lc - 5280}])
        return {"board": board, "device": "iCE40UP5K SG48", "bitstream": "bnnhw_board.bin",
                "bitstream_bytes": b"bits", "timing_log": "log", "utilisation": {
                    "ICESTORM_LC": {"used": 5000, "available": 5280}}, "fmax_mhz": 20.0,
                "clock_mhz": 12.0, "meets_timing": True, "programmed": False, "seconds": 0.0}

    return build_board


def test_fit_doubles_the_folding_target_until_the_board_fits(design, tmp_path, monkeypatch):
    from bnnhw.build import board
    monkeypatch.setattr(board, "build_board", _fake_board(fits_from=2000))
    result = run_build(str(design), out=tmp_path / "out", target_cycles=576, fit="icebreaker",
                       log=_quiet)
    attempts = result.report["fit"]["attempts"]
    assert [a["fits"] for a in attempts] == [False, False, True]
    assert [a["target_cycles"] for a in attempts] == [576, 1152, 2304]
    assert result.report["cycles_per_inference"] >= 2000
    assert (tmp_path / "out" / "board" / "bnnhw_board.bin").read_bytes() == b"bits"


def test_fit_gives_up_when_folding_cannot_shrink_further(design, tmp_path, monkeypatch):
    from bnnhw.build import board
    # every folding a little smaller, never small enough
    monkeypatch.setattr(board, "build_board", _fake_board(
        fits_from=10 ** 9, used=lambda cycles: 6000 - min(cycles, 10 ** 6) // 1000))
    with pytest.raises(BuildError, match="--fit: the design does not fit the icebreaker even "
                                         "folded as far as it goes"):
        run_build(str(design), out=tmp_path / "out", fit="icebreaker", log=_quiet)
    assert not (tmp_path / "out").exists()


def test_fit_stops_when_folding_makes_the_design_larger(design, tmp_path, monkeypatch):
    """Deep folding can grow a design (narrow ROMs turn into logic): two foldings in a row
    larger than the best end the search, naming the best."""
    from bnnhw.build import board
    sequence = iter([6000, 5900, 5950, 6000, 6100, 6200, 6300])
    sizes = {}

    def used(cycles):
        if cycles not in sizes:
            sizes[cycles] = next(sequence)
        return sizes[cycles]

    monkeypatch.setattr(board, "build_board", _fake_board(fits_from=10 ** 9, used=used))
    with pytest.raises(BuildError) as error:
        run_build(str(design), out=tmp_path / "out", target_cycles=576, fit="icebreaker",
                  log=_quiet)
    best = sorted(sizes)[1]
    message = str(error.value)
    assert "folding it further stopped making it smaller" in message
    assert f"at {best} cycles per inference (ICESTORM_LC 5900/5280)" in message
    assert len(sizes) == 4          # 6000, 5900 (best), 5950, 6000: two in a row larger
    assert not (tmp_path / "out").exists()
