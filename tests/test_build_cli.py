"""``python -m bnnhw.build``: clear errors, exit codes, nothing half-written."""

import subprocess
import sys

import pytest

from bnnhw.build import BuildError, DesignError, find_design, run_build
from bnnhw.build.__main__ import main


def test_unknown_design_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["no-such-design"]) == 1
    err = capsys.readouterr().err
    assert "design:" in err and "no-such-design" in err
    assert "Traceback" not in err
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
        run_build(str(design), out=out, log=lambda message: None)
    assert not out.exists()


def test_output_that_is_a_file_is_rejected(tmp_path):
    design = tmp_path / "tiny"
    design.mkdir()
    out = tmp_path / "out"
    out.write_text("occupied")
    with pytest.raises(BuildError, match="--out"):
        run_build(str(design), out=out, log=lambda message: None)


def test_command_line_exit_code_and_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bnnhw.build", "boolnet", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "bnnhw.build: error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
