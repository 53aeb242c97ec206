"""``python -m bnnhw.build``: steps, artefacts, clear errors, exit codes, nothing half-written."""

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from bnnhw.build import BuildError, DesignError, find_design, run_build
from bnnhw.build.__main__ import main

from .model.samples import every_op_model, write_design
from .sim.models import bits_model



def _quiet(message):
    pass


@pytest.fixture()
def design(tmp_path):
    return write_design(tmp_path, "tiny", every_op_model(1, exact=True), 1000)


def test_report_md_has_a_heading_per_section_and_says_what_ran(design, tmp_path):
    """report.md: the design, its folding, conversion notes and the steps each under a heading;
    an unsimulated build says so at the top; a rebuild without --sim in a folder that had
    simulation results says they were not carried over (report.json too)."""
    out = tmp_path / "out"
    run_build(str(design), out=out, sim=True, images=2, log=_quiet)
    text = (out / "report.md").read_text()
    assert "**Not simulated**" not in text
    assert "| simulate | yes |" in text
    run_build(str(design), out=out, log=_quiet)
    text = (out / "report.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[:3] == ["# every-op", "## Design", "## Folding"]
    assert headings[-1] == "## Build steps"
    assert text.index("**Not simulated**") < text.index("## Design")
    assert "| simulate | no | skipped (not asked for) |" in text
    assert "the previous build in this folder had simulation" in text
    report = json.loads((out / "report.json").read_text())
    assert report["earlier_results_dropped"] == ["simulation"]
    assert [s["step"] for s in report["steps"] if s["ran"]][:5] == [
        "toolchain", "load-model", "compile", "images", "generate"]
    # every conversion note sits under its own heading, not under the last section
    if report["conversion_notes"]:
        notes = text[text.index("## Conversion notes"):text.index("## Build steps")]
        assert all(f"- {layer}: " in notes for layer in report["conversion_notes"])


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


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rebuild_replaces_a_previous_build_folder(design, tmp_path):
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    marker = (out / ".bnnhw-build").read_text().splitlines()
    assert "report.json" in marker and "bnnhw_tiny.v" in marker and ".bnnhw-build" in marker
    first = _tree(out)
    run_build(str(design), out=out, target_cycles=2304, log=_quiet)
    assert _tree(out) != first and json.loads((out / "report.json").read_text())[
        "cycles_per_inference"] > 576
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "out"]


def test_empty_existing_out_folder_is_used(design, tmp_path):
    (tmp_path / "out").mkdir()
    run_build(str(design), out=tmp_path / "out", log=_quiet)
    assert (tmp_path / "out" / "report.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "out"]


def test_out_folder_that_is_not_a_build_is_refused_and_untouched(design, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    (out / "sub").mkdir()
    (out / "sub" / "data.csv").write_text("1,2")
    log = []
    assert main([str(design), "--out", str(out), "--sim"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"bnnhw.build: error: --out: {out} is not "
                                                   "empty and is not a bnnhw build folder")
    with pytest.raises(BuildError, match="is not empty and is not a bnnhw build folder"):
        run_build(str(design), out=out, log=log.append)
    assert log == []                       # refused before the first step
    assert _tree(out) == {"thesis.tex": b"years of work", "sub/data.csv": b"1,2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "mine"]


def test_build_folder_holding_a_file_no_build_wrote_is_refused(design, tmp_path):
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    (out / "notes.txt").write_text("mine")
    before = _tree(out)
    with pytest.raises(BuildError, match="--out: .* is a bnnhw build folder, but it also holds "
                                         "'notes.txt', which no build wrote"):
        run_build(str(design), out=out, log=_quiet)
    assert _tree(out) == before


def _make_legacy(out):
    """``out`` as a bnnhw from before the marker left it: no marker, and none of the files
    added since (README.md, example/, plots/)."""
    import shutil
    (out / ".bnnhw-build").unlink()
    (out / "README.md").unlink()
    shutil.rmtree(out / "example")
    shutil.rmtree(out / "plots")


def test_build_folder_from_before_the_marker_is_replaced_but_not_with_extra_files(design,
                                                                                   tmp_path):
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    _make_legacy(out)
    run_build(str(design), out=out, log=_quiet)          # an older bnnhw's build folder
    assert (out / ".bnnhw-build").exists()
    _make_legacy(out)
    (out / "images" / "mine.txt").write_text("x")
    with pytest.raises(BuildError, match="is not a bnnhw build folder"):
        run_build(str(design), out=out, log=_quiet)
    assert (out / "images" / "mine.txt").read_text() == "x"


@pytest.mark.parametrize("report, memory_map, hex_name", [
    ("{}", "{}", "my.hex"),                                   # the names alone (issue 14)
    ("not json", None, None),
    ('{"design": "x"}', None, None),                          # report.json lacks build keys
    (None, '{"images": [], "total_bits": 0}', None),          # memory_map.json lacks folding
    (None, None, "my.hex"),                                   # a .hex the memory map names not
])
def test_folder_only_looking_like_an_old_build_is_refused_and_untouched(design, tmp_path,
                                                                        report, memory_map,
                                                                        hex_name):
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    _make_legacy(out)                                        # a real pre-marker build ...
    if report is not None:
        (out / "report.json").write_text(report)             # ... with one thing not a build's
    if memory_map is not None:
        (out / "memory_map.json").write_text(memory_map)
    if hex_name is not None:
        (out / "images" / hex_name).write_text("00\n")
    before = _tree(out)
    with pytest.raises(BuildError, match="is not a bnnhw build folder"):
        run_build(str(design), out=out, log=_quiet)
    assert _tree(out) == before


def test_user_folder_named_like_build_files_is_refused(design, tmp_path):
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    for name in ("report.json", "memory_map.json"):
        (out / name).write_text("{}")
    for name in ("images/my.hex", "outputs.npz", "report.md"):
        (out / name).write_text("mine")
    before = _tree(out)
    with pytest.raises(BuildError, match="is not a bnnhw build folder"):
        run_build(str(design), out=out, log=_quiet)
    assert _tree(out) == before


@pytest.mark.parametrize("where, message", [
    (".", "is the current folder"),
    ("..", "is a parent of the current folder"),
    ("/", "is a parent of the current folder"),
])
def test_out_current_folder_or_its_parents_is_refused(design, tmp_path, monkeypatch, capsys,
                                                      where, message):
    cwd = tmp_path / "empty"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for attempt in range(2):
        assert main([str(design), "--out", where]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "empty"]   # no ..old.*
    assert list(cwd.iterdir()) == []


def test_out_home_design_folder_or_inputs_holder_is_refused(design, tmp_path, monkeypatch):
    import numpy as np
    home = tmp_path / "home"
    home.mkdir()
    with monkeypatch.context() as patched, pytest.raises(BuildError, match="is the home folder"):
        patched.setenv("HOME", str(home))
        run_build(str(design), out=home, log=_quiet)
    with pytest.raises(BuildError, match="is the design folder or holds it"):
        run_build(str(design), out=design, log=_quiet)
    with pytest.raises(BuildError, match="is the design folder or holds it"):
        run_build(str(design), out=tmp_path / "designs", log=_quiet)
    # a build folder that holds the --inputs file: replacing it would delete the file
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    np.save(out / "x.npy", np.zeros((1, 1, 8, 8), dtype=np.int8))
    marker = (out / ".bnnhw-build").read_text()
    (out / ".bnnhw-build").write_text(marker + "x.npy\n")
    with pytest.raises(BuildError, match="holds .*x.npy, which the build reads"):
        run_build(str(design), out=out, sim=True, inputs=str(out / "x.npy"), log=_quiet)
    assert (out / "x.npy").exists() and list(home.iterdir()) == []


def test_out_symlink_is_refused(design, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(BuildError, match="is a symbolic link"):
        run_build(str(design), out=tmp_path / "link", log=_quiet)


@pytest.mark.parametrize("flags, folder", [
    (["--sim"], ".out.sim"), (["--synth", "ice40"], ".out.synth"),
    (["--board", "icebreaker"], ".out.board"), (["--energy", "3"], ".out.energy")])
def test_work_folder_holding_user_files_is_refused_and_untouched(design, tmp_path, capsys,
                                                                 flags, folder):
    work = tmp_path / folder
    work.mkdir()
    (work / "mine.txt").write_text("keep")
    assert main([str(design), "--out", str(tmp_path / "out")] + flags) == 1
    err = capsys.readouterr().err
    assert f"the work folder {work}" in err and "'mine.txt'" in err
    assert _tree(work) == {"mine.txt": b"keep"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["designs", folder])


def test_failed_publish_leaves_the_previous_build_and_no_staging_or_old_folder(
        design, tmp_path, monkeypatch):
    from bnnhw.build import outdir
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    before = _tree(out)
    real = outdir.os.replace

    def failing(source, target):
        if ".staging." in str(source):
            raise OSError(28, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(outdir.os, "replace", failing)
    with pytest.raises(BuildError, match="--out: cannot write .*No space left on device"):
        run_build(str(design), out=out, target_cycles=576, log=_quiet)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "out"]


def test_failed_step_leaves_no_staging_or_old_folder(design, tmp_path, monkeypatch):
    from bnnhw.build import steps
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    before = _tree(out)

    def broken(context):
        raise BuildError("board: the tool crashed")

    monkeypatch.setattr(steps, "STEPS", steps.STEPS[:-1] + (steps.Step("board", "", broken),))
    with pytest.raises(BuildError, match="board: the tool crashed"):
        run_build(str(design), out=out, log=_quiet)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "out"]


def test_verilog_and_build_folder_hold_no_absolute_paths(design, tmp_path):
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    assert "(* src" not in (out / "bnnhw_tiny.v").read_text()
    for name, data in _tree(out).items():
        assert str(tmp_path).encode() not in data, name
        assert b"/work/" not in data and b"site-packages" not in data, name


def test_same_design_in_two_checkouts_builds_byte_identical_folders(design, tmp_path,
                                                                    monkeypatch):
    import shutil
    trees = []
    for place in ("one/designs/tiny", "elsewhere/deeper/designs/tiny"):
        copy = tmp_path / place
        shutil.copytree(design, copy)
        monkeypatch.chdir(copy.parent.parent)
        run_build(str(copy), out="build/tiny", log=_quiet)
        trees.append(_tree(copy.parent.parent / "build" / "tiny"))
    assert trees[0] == trees[1] and "bnnhw_tiny.v" in trees[0]


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
    assert "[3/10] compile:" in result.stdout and "[5/10] generate:" in result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize("flags, message", [
    (["--images", "3"], "--images: needs --sim"),
    (["--trace"], "--trace: needs --sim"),
    (["--sim", "--images", "0"], "--images: expected at least 1 image, got 0"),
    (["--sim", "--images", "361"], "load-model: --images: expected 1 .. 360 (the held-out "
                                   "digits hold 360), got 361"),
    (["--sim", "--images", "100000"], "--images: expected at most 10000 inputs per simulation"),
    (["--energy", "400"], "load-model: --energy: expected 1 .. 360 (the held-out digits"),
    (["--target-cycles", "0"], "--target-cycles: expected a positive number of cycles, got 0"),
    (["--inputs", "x.npy"], "--inputs: needs --sim or --energy"),
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
                "bitstream_bytes": b"bits", "timing_log": "log", "top_verilog": "module top;",
                "constraints": ("icebreaker.pcf", "set_io clk 35"), "utilisation": {
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
    assert (tmp_path / "out" / "board" / "icebreaker.pcf").read_text() == "set_io clk 35"
    # report.md has the search as a table, each attempt with why it was made
    text = (tmp_path / "out" / "report.md").read_text()
    table = text[text.index("## Fit search (`--fit icebreaker`)"):]
    assert "| 1 | 576 |" in table and "| --target-cycles |" in table
    assert "doubled: " in table and "ICESTORM_LC" in table and "| yes |" in table


def test_fit_starts_where_the_resource_model_predicts_a_fit(tmp_path, monkeypatch):
    """Without ``--target-cycles``, ``--fit`` starts at the fastest folding the resource model
    predicts within 85 % of the board's FPGA (boolnet on the ULX3S-85F: one input pixel per
    cycle, 64 cycles), and says so in the attempts."""
    from bnnhw.board.boards import BOARDS
    from bnnhw.build import board
    from bnnhw.compiler.resources import fastest_fitting
    from bnnhw.design import Design

    monkeypatch.setattr(board, "build_board", _fake_board(fits_from=0))
    result = run_build("boolnet", out=tmp_path / "out", fit="ulx3s-85f", log=_quiet)
    (attempt,) = result.report["fit"]["attempts"]
    cycles, total = fastest_fitting(Design.find("boolnet").compiled,
                                    BOARDS["ulx3s-85f"].capacity, "ecp5", margin=0.85)
    assert attempt["target_cycles"] == cycles == 64 and attempt["fits"]
    assert attempt["why"].startswith(f"resource model: {total['luts']:,} LUT4")
    assert result.report["cycles_per_inference"] == 64


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
    """Deep folding can grow a design (narrow ROMs turn into logic): after two foldings in a
    row larger than the best the search tries the fully folded design once, then ends naming
    the best."""
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
    assert "even folded as far as it goes" in message
    assert f"smallest overflow was at {best} cycles per inference (ICESTORM_LC 5900/5280)" \
        in message
    # 6000, 5900 (best), 5950, 6000: two in a row larger; then the fully folded one (6100)
    assert len(sizes) == 5 and max(sizes) >= 9216
    assert not (tmp_path / "out").exists()


# --- simulation inputs (--sim --inputs, the input source per model) --------------------------

def _model(graph_and_arrays, **input_spec):
    from bnnhw.model import Model
    graph, arrays = graph_and_arrays
    graph = dict(graph, input=dict(graph["input"], **input_spec))
    return Model.from_dict(graph, arrays)


def test_digits_feed_only_8x8_models_whose_range_holds_them():
    from bnnhw.sim.inputs import choose_inputs
    digits = choose_inputs(_model(every_op_model(1)))
    assert digits.source == "digits" and digits.inputs.shape == (360, 1, 8, 8)
    assert digits.labels is not None and digits.inputs.max() == 16
    assert choose_inputs(_model(every_op_model(1), range=[-128, 127])).source == "digits"
    # a 1x8x8 model declaring range [0, 8]: the digits (up to 16) do not fit its input port
    narrow = choose_inputs(_model(every_op_model(1), range=[0, 8]))
    assert narrow.source == "random" and narrow.labels is None
    assert narrow.inputs.min() == 0 and narrow.inputs.max() == 8


def test_random_inputs_are_seeded_extremes_first_and_within_the_declared_range():
    from bnnhw.sim.inputs import DEFAULT_RANDOM, choose_inputs, random_inputs
    model = _model(every_op_model(1), shape=[1, 8, 8], type="int8", range=[-5, 7])
    chosen = choose_inputs(model)
    assert len(chosen) == DEFAULT_RANDOM + 2 and chosen.inputs.shape[1:] == (1, 8, 8)
    assert (chosen.inputs[0] == -5).all() and (chosen.inputs[1] == 7).all()
    assert chosen.inputs.min() == -5 and chosen.inputs.max() == 7
    assert np.array_equal(chosen.inputs, choose_inputs(model).inputs)       # seeded
    assert np.array_equal(random_inputs(model, 10), random_inputs(model, 30)[:10])
    assert len(choose_inputs(model, count=3)) == 5
    assert len(choose_inputs(model, count=3, energy=20)) == 20               # --energy 20


def test_bits_input_model_gets_random_bits():
    from bnnhw.sim.inputs import choose_inputs
    chosen = choose_inputs(_model(bits_model()))
    assert chosen.source == "random" and chosen.inputs.shape == (66, 3, 6, 6)
    assert set(np.unique(chosen.inputs)) == {0, 1}
    assert (chosen.inputs[0] == 0).all() and (chosen.inputs[1] == 1).all()


def _write_inputs(path, **arrays):
    if path.suffix == ".npy":
        np.save(path, arrays["inputs"])
    else:
        np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("name, arrays, message", [
    ("x.npy", {"inputs": np.zeros((2, 1, 8, 8))},
     "inputs: expected an integer array, got dtype float64"),
    ("x.npy", {"inputs": np.zeros((2, 8, 8), dtype=np.int8)},
     r"inputs: expected shape \(N, C, H, W\), got \(2, 8, 8\)"),
    ("x.npy", {"inputs": np.zeros((0, 1, 8, 8), dtype=np.int8)},
     "inputs: expected at least 1 input, got 0"),
    ("x.npz", {"images": np.zeros((2, 1, 8, 8), dtype=np.int8)},
     "unknown entry 'images'"),
    ("x.npz", {"inputs": np.zeros((2, 1, 8, 8), dtype=np.int8), "labels": np.zeros(3, int)},
     r"labels: expected shape \(2,\) \(one per input\), got \(3,\)"),
    ("x.npz", {"inputs": np.zeros((2, 1, 8, 8), dtype=np.int8), "labels": np.array([0, -1])},
     "labels: expected classes >= 0, got -1"),
])
def test_inputs_file_is_checked_before_any_step(design, tmp_path, name, arrays, message):
    path = _write_inputs(tmp_path / name, **arrays)
    log = []
    with pytest.raises(BuildError, match=f"--inputs: {path}: {message}"):
        run_build(str(design), out=tmp_path / "out", sim=True, inputs=str(path), log=log.append)
    assert log == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("inputs, labels, message", [
    (np.zeros((2, 1, 6, 6), dtype=np.int8), None,
     r"--inputs: inputs: expected shape \(N, 1, 8, 8\) \(the model's input.shape\), got "
     r"\(2, 1, 6, 6\)"),
    (np.full((2, 1, 8, 8), 17, dtype=np.int16), None,
     r"--inputs: inputs: input 0 channel 0 pixel \(0, 0\): value 17 outside the model's input "
     r"range \[0, 16\] \(input.type 'int8', narrowed by input.range; 128 values outside\)"),
    (np.zeros((2, 1, 8, 8), dtype=np.int8), np.array([3, 10]),
     r"--inputs: labels: label 1 is 10, the model has 10 classes \(0 .. 9\)"),
])
def test_inputs_that_do_not_fit_the_model_are_a_named_error_before_anything_is_built(
        design, tmp_path, capsys, inputs, labels, message):
    path = _write_inputs(tmp_path / "x.npz", inputs=inputs,
                         **({} if labels is None else {"labels": labels}))
    assert main([str(design), "--out", str(tmp_path / "out"), "--sim", "--inputs",
                 str(path)]) == 1
    captured = capsys.readouterr()
    assert "load-model: " in captured.err and "Traceback" not in captured.err
    assert re.search(message, captured.err), captured.err
    assert "[3/10] compile" not in captured.out and not (tmp_path / "out").exists()
    assert not (tmp_path / ".out.sim").exists()


def test_images_beyond_the_inputs_file_is_an_error(design, tmp_path):
    path = _write_inputs(tmp_path / "x.npy", inputs=np.zeros((3, 1, 8, 8), dtype=np.uint8))
    with pytest.raises(BuildError, match=r"--images: expected 1 .. 3 \(the inputs in "):
        run_build(str(design), out=tmp_path / "out", sim=True, images=4, inputs=str(path),
                  log=_quiet)


def test_outputs_npz_bytes_are_deterministic_and_readable():
    from bnnhw.sim.inputs import outputs_npz
    arrays = {"rtl_labels": np.arange(3), "golden_logits": np.ones((3, 10), dtype=np.int64)}
    data = outputs_npz(arrays)
    assert data == outputs_npz(dict(reversed(list(arrays.items()))))
    with np.load(io.BytesIO(data)) as loaded:
        assert sorted(loaded.files) == ["golden_logits", "rtl_labels"]
        assert np.array_equal(loaded["golden_logits"], arrays["golden_logits"])


def test_usage_errors_exit_1_with_one_line(design, capsys):
    for argv in ([], [str(design), "--images", "abc"], [str(design), "--bogus"],
                 [str(design), "--weights", "wires"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("bnnhw.build: error: ") and err.count("\n") == 1, err
    result = subprocess.run([sys.executable, "-m", "bnnhw.build", "--images", "abc"],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.startswith("bnnhw.build: error: ")


def test_work_folder_of_an_earlier_build_is_accepted(tmp_path):
    from bnnhw.build.outdir import OutError, check_work_dir
    for names in ((), (".bnnhw-work", "sim-O1"), ("bnnhw_harness.v", "job.json", "sim-O1"),
                  ("build", "tools")):
        work = tmp_path / f"w{len(names)}{names[:1]}"
        work.mkdir()
        for name in names:
            (work / name).mkdir()
        check_work_dir(work, "--sim")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "build").mkdir()        # one name alone is no sign of a build
    with pytest.raises(OutError, match="holds files that are not a bnnhw build's"):
        check_work_dir(tmp_path / "user", "--synth")


def test_out_folder_filled_while_the_steps_ran_is_not_replaced(design, tmp_path, monkeypatch):
    from bnnhw.build import steps
    out = tmp_path / "out"
    real = steps.STEPS[-1]

    def someone_writes(context):                  # the user saves a file there mid-build
        out.mkdir()
        (out / "mine.txt").write_text("keep")
        return None

    monkeypatch.setattr(steps, "STEPS", steps.STEPS[:-1] + (
        steps.Step(real.name, real.summary, someone_writes),))
    with pytest.raises(BuildError, match="is not empty and is not a bnnhw build folder"):
        run_build(str(design), out=out, log=_quiet)
    assert _tree(out) == {"mine.txt": b"keep"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["designs", "out"]


def test_a_failing_verilator_build_is_a_named_error_not_a_traceback(design, tmp_path,
                                                                    monkeypatch, capsys):
    from bnnhw.sim import network
    from bnnhw.sim.runner import SimBuildError

    def broken(*args, **kwargs):
        raise SimBuildError("Verilator build of 'bnnhw_harness' failed (exit 1); log ...")

    monkeypatch.setattr(network, "simulate_network", broken)
    assert main([str(design), "--out", str(tmp_path / "out"), "--sim", "--images", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bnnhw.build: error: simulate: Verilator build of 'bnnhw_harness' "
                          "failed") and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.sim", "designs"]


def test_panet_output_report_states_the_logit_units(tmp_path):
    """A PA-Net output layer's integer logits are in units of 2^-F: report.json and report.md
    say so (items 7 and 9 of issue 14); an integer-logit design reports scale 1."""
    from .compiler.test_compiled_semantics import _panet_output

    rng = np.random.default_rng(10)
    phi = rng.integers(-(1 << 10), 1 << 10, (2, 3)) / 2.0 ** 8
    folder = write_design(tmp_path, "paout", _panet_output(rng, phi), 1000)
    result = run_build(str(folder), out=tmp_path / "out", log=_quiet)
    logits = result.report["logits"]
    assert logits["frac_bits"] > 0 and logits["scale"] == 2.0 ** -logits["frac_bits"]
    assert f"in units of 2^-{logits['frac_bits']} of the model's logits" in \
        (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize("options, message", [
    ({"target_cycles": 0}, "--target-cycles: expected a positive"),
    ({"trace": True}, "--trace: needs --sim"),
    ({"images": 3}, "--images: needs --sim"),
    ({"energy": 1}, "--energy: expected at least 2"),
    ({"fit": "icebreaker", "board": "ulx3s-25f"}, "--fit: icebreaker differs from --board"),
    ({"program": True}, "--program: needs --board"),
    ({"board": "arty"}, "--board: unknown board 'arty'"),
    ({"synth": ["gowin"]}, "--synth: unknown target"),
    ({"sim": True, "images": 0}, "--images: expected at least 1"),
    ({"inputs": "x.npy"}, "--inputs: needs --sim or --energy"),
])
def test_build_config_refuses_a_bad_option_before_any_work(design, tmp_path, options,
                                                           message):
    from bnnhw.build import BuildConfig
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(BuildError, match=re.escape(message)):
        BuildConfig.make(str(design), out=tmp_path / "out", **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_build_config_is_frozen_and_names_the_work_folders(design, tmp_path):
    import dataclasses

    from bnnhw.build import BuildConfig
    config = BuildConfig.make(str(design), out=tmp_path / "out", sim=True, fit="icebreaker",
                              synth=["cmos"])
    assert config.board == "icebreaker" and config.synth == ("cmos",)
    assert config.design_config == {"folding": {"target_cycles": 1000}}
    assert config.work_dir("sim") == tmp_path / ".out.sim"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sim = False
    assert not (tmp_path / "out").exists()


def test_design_computes_each_stage_once_and_the_build_uses_it(design, tmp_path):
    """One pipeline: the Design's stages are computed once and are what the build writes and
    what energy.load_design returns."""
    from bnnhw.design import Design
    from bnnhw.energy import load_design

    loaded = Design.find(str(design))
    assert loaded.compiled is loaded.compiled and loaded.plan is loaded.plan
    assert loaded.plan.cycles_per_inference <= 1000               # design.json's folding
    network, compiled, plan, memory_map = load_design(loaded)
    assert (network, compiled, plan) == (loaded.network, loaded.compiled, loaded.plan)
    assert memory_map is loaded.images.memory_map
    out = tmp_path / "out"
    run_build(str(design), out=out, log=_quiet)
    assert (out / f"{loaded.top}.v").read_text() == loaded.verilog
    assert json.loads((out / "memory_map.json").read_text()) == memory_map
    for name, data in loaded.images.files.items():
        assert (out / "images" / name).read_bytes() == data
    slower = Design(design, target_cycles=4 * loaded.plan.cycles_per_inference)
    assert slower.plan.cycles_per_inference > loaded.plan.cycles_per_inference


def test_design_without_a_model_is_a_named_build_error(tmp_path):
    from bnnhw.design import Design, DesignError
    folder = tmp_path / "designs" / "empty"
    folder.mkdir(parents=True)
    with pytest.raises(DesignError, match="model.npz does not exist; train and export"):
        Design(folder).model
    with pytest.raises(BuildError, match="^load-model: .*model.npz does not exist"):
        run_build(str(folder), out=tmp_path / "out", log=_quiet)


def test_board_alone_searches_a_fitting_folding_and_says_so(design, tmp_path, monkeypatch):
    """``--board`` without ``--target-cycles``: when the design's folding does not fit, the
    build searches as ``--fit`` does instead of failing, logs why, and the report's fit table
    starts with the design's own folding."""
    from bnnhw.build import board
    monkeypatch.setattr(board, "build_board", _fake_board(fits_from=2000))
    lines = []
    result = run_build(str(design), out=tmp_path / "out", board="icebreaker", log=lines.append)
    attempts = result.report["fit"]["attempts"]
    assert attempts[0]["target_cycles"] is None and not attempts[0]["fits"]
    assert attempts[-1]["fits"] and result.report["cycles_per_inference"] >= 2000
    assert any("looking for a folding that does, as --fit icebreaker would" in line
               for line in lines)
    text = (tmp_path / "out" / "report.md").read_text()
    assert "| 1 | design's own |" in text
    readme = (tmp_path / "out" / "board" / "README.md").read_text()
    for part in ("## Load the bitstream", "iceprog bnnhw_board.bin", "## Pins and clock",
                 "| `clk12_0__io` | clk12 | 35 |", "115200 baud, 8 data bits",
                 "python -m bnnhw.host --port /dev/ttyUSB1 --design PATH/TO/DESIGN_FOLDER"):
        assert part in readme, part


def test_board_with_a_target_that_does_not_fit_is_an_error(design, tmp_path, monkeypatch):
    """An explicit ``--target-cycles`` is the user's choice: no search, the overflow error."""
    from bnnhw.build import board
    monkeypatch.setattr(board, "build_board", _fake_board(fits_from=100000))
    with pytest.raises(BuildError, match="does not fit"):
        run_build(str(design), out=tmp_path / "out", board="icebreaker", target_cycles=576,
                  log=_quiet)


def test_build_folders_are_readable_by_others_under_umask_022(design, tmp_path):
    """Like any build tool: folders 755 and files 644 under umask 022 (the staging folder
    tempfile makes is 700), 750/640 under umask 027."""
    import os
    import stat
    for mask, folder_mode, file_mode in ((0o022, 0o755, 0o644), (0o027, 0o750, 0o640)):
        old = os.umask(mask)
        try:
            out = tmp_path / f"out{mask:o}"
            run_build(str(design), out=out, log=_quiet)
        finally:
            os.umask(old)
        for path in [out, *out.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            if path.is_dir():
                assert mode == folder_mode, (path, oct(mode))
            elif path.name != "run.sh":
                assert mode == file_mode, (path, oct(mode))
