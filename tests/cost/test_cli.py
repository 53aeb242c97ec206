"""``python -m bnnhw.cost``: readable table, JSON, paper tables, and one-line errors."""

import json
import subprocess
import sys

import numpy as np

from bnnhw.cost.__main__ import main

from .conftest import ROOT


def test_json_for_a_builtin(capsys):
    assert main(["pokebnn-1.0x", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"ace", "cpu64", "bops", "flops", "macs", "layers"} <= set(data)
    assert data["macs"] == {"int8": 8_671_232, "int4": 3_632_640, "binary": 3_609_460_736}
    assert data["ace"] == sum(row["ace"] for row in data["layers"])
    assert {"name", "op", "shape", "macs", "ace", "cpu64", "param_bits", "out_fmap_bits"} \
        <= set(data["layers"][0])


def test_json_for_a_design_and_totals_only(capsys):
    assert main(["boolnet", "--json", "--no-layers"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "boolnet" and "layers" not in data and data["ace"] > 0


def test_text_table_and_aliases(capsys):
    assert main(["PokeBNN-2x"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pokebnn-2.0x (built-in)") and "b15.3.conv" in out and "ACE" in out


def test_paper_tables_and_list(capsys):
    assert main(["--table2", "--boolnet"]) == 0
    out = capsys.readouterr().out
    assert "| PokeBNN-1.0x * | `pokebnn-1.0x` | 4.2 |" in out and "BoolNet Table 3" in out
    assert main(["--list"]) == 0
    assert "reactnet-a" in capsys.readouterr().out


def test_unknown_name_is_one_line_listing_the_builtins():
    result = subprocess.run([sys.executable, "-m", "bnnhw.cost", "resnet51"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("bnnhw.cost: error: unknown name 'resnet51'")
    assert "resnet50-fp32" in lines[0] and "pokebnn-0.5x" in lines[0] and "boolnet" in lines[0]


def test_malformed_model_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"graph.json": np.frombuffer(b'{"format": "nope"}', np.uint8)})
    assert main([str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bnnhw.cost: error:") and "format" in err[0]
    not_a_zip = tmp_path / "junk.npz"
    not_a_zip.write_bytes(b"junk")
    assert main([str(not_a_zip)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
