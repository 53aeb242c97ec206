"""The committed designs: golden accuracy on the held-out digits, float agreement, README, build.

No PyTorch needed: the trained weights are committed as ``designs/NAME/model.npz``.
"""

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from bnnhw.build import run_build
from bnnhw.build.design import read_config
from bnnhw.model import load
from bnnhw.train.data import HELD_OUT, held_out, load_split
from bnnhw.train.report import evaluate, parse_readme

from . import design_digests

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")
#: Every design must classify at least this fraction of the held-out digits right (golden).
MIN_ACCURACY = 0.90
#: Golden (integer) and float64 model-file predictions must agree this often.
MIN_AGREEMENT = 0.995
#: Rough FPGA budget per design (iCE40 UP5K): parameter bits as stored in hardware.
MAX_PARAMETER_BITS = 42_000

each_design = pytest.mark.parametrize("design", DESIGNS)


@lru_cache(maxsize=None)
def _metrics(design):
    return evaluate(load(ROOT / "designs" / design / "model.npz"))


def test_held_out_split_is_the_last_360_digits():
    split = load_split()
    images, labels = held_out()
    assert images.shape == (HELD_OUT, 1, 8, 8) and images.dtype == np.int8
    assert split.train_images.shape == (1797 - HELD_OUT, 1, 8, 8)
    assert images.min() >= 0 and images.max() <= 16 and set(labels.tolist()) == set(range(10))


@each_design
def test_golden_accuracy_on_held_out_digits(design):
    accuracy = _metrics(design)["golden_accuracy"]
    assert accuracy >= MIN_ACCURACY, f"{design}: golden held-out accuracy {accuracy:.4f}"


@each_design
def test_golden_agrees_with_float_model_file(design):
    agreement = _metrics(design)["agreement"]
    assert agreement >= MIN_AGREEMENT, f"{design}: golden vs float agreement {agreement:.4f}"


@each_design
def test_design_fits_the_size_budget(design):
    model = load(ROOT / "designs" / design / "model.npz")
    assert _metrics(design)["parameter_bits"]["total"] <= MAX_PARAMETER_BITS
    for name, t in model.types.items():
        assert t.shape[1:] in ((8, 8), (4, 4), (1, 1)), (name, t.shape)


@each_design
def test_readme_states_the_computed_numbers(design):
    text = (ROOT / "designs" / design / "README.md").read_text()
    stated = parse_readme(text)
    metrics = _metrics(design)
    computed = {"golden_accuracy": metrics["golden_accuracy"],
                "float_accuracy": metrics["float_accuracy"],
                "agreement": metrics["agreement"],
                "parameter_bits": metrics["parameter_bits"]["total"],
                "binary_ops": metrics["operations"]["binary_ops"]}
    assert set(stated) == set(computed), f"README lacks {sorted(set(computed) - set(stated))}"
    for key, value in computed.items():
        if isinstance(value, float):  # stated in percent with two decimals
            assert stated[key] == pytest.approx(round(100 * value, 2) / 100, abs=1e-9), key
        else:
            assert stated[key] == value, key


@each_design
def test_design_json_has_the_build_schema(design):
    config = read_config(ROOT / "designs" / design)  # raises on a bad "folding" object
    assert set(config["folding"]) <= {"target_cycles", "max_lanes", "overrides"}
    assert isinstance(config["folding"].get("target_cycles"), int)
    assert config["folding"]["target_cycles"] > 0
    json.dumps(config)


@each_design
def test_build_compiles_the_design(design, tmp_path):
    result = run_build(str(ROOT / "designs" / design), out=tmp_path / "build",
                       log=lambda message: None)
    assert result.report["cycles_per_inference"] > 0
    assert result.report["design"] == design
    assert (tmp_path / "build" / "memory_map.json").is_file()
    # a refactor changes no output: every file equals the committed digest
    expected = design_digests.committed()[design]
    found = design_digests.folder_digests(tmp_path / "build")
    changed = sorted(name for name in expected.keys() | found.keys()
                     if expected.get(name) != found.get(name))
    assert not changed, (f"{design}: {len(changed)} build files differ from "
                         f"tests/data/design_digests.json (first: {changed[:5]}); if the change "
                         "is intended, run `python -m tests.design_digests` and say so in the "
                         "commit")


def test_bnnhw_never_imports_torch():
    code = ("import sys, bnnhw, bnnhw.build, bnnhw.compiler, bnnhw.model.stats, "
            "bnnhw.train, bnnhw.train.data, bnnhw.train.report\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
