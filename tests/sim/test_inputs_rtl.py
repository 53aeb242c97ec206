"""``--sim`` on models the digits do not fit: random inputs and ``--inputs`` files, under
cocotb + Verilator, with every output in ``outputs.npz`` equal to golden."""

import json

import numpy as np
import pytest

from bnnhw.build import run_build
from bnnhw.compiler import lower
from bnnhw.model import load

from ..model.samples import write_design
from .models import bits_model, signed_model

pytestmark = pytest.mark.cocotb


def _quiet(message):
    pass


def _golden(design, inputs):
    compiled = lower(load(design / "model.npz"))
    return compiled.run(inputs).reshape(len(inputs), -1), compiled.classify(inputs)


def _outputs(out):
    with np.load(out / "outputs.npz") as data:
        return {name: data[name] for name in data.files}


def test_bits_input_model_simulates_seeded_random_inputs_equal_to_golden(tmp_path):
    design = write_design(tmp_path, "bits", bits_model(), 400)
    out = tmp_path / "out"
    result = run_build(str(design), out=out, sim=True, images=6, log=_quiet)
    sim = result.report["simulation"]
    assert sim["rtl_equals_golden"] and sim["mismatches"] == 0, sim["first_mismatch"]
    assert sim["images"] == 8 and sim["inputs"]["source"] == "random"
    assert sim["golden_accuracy"] is None and sim["rtl_accuracy"] is None
    outputs = _outputs(out)
    assert sorted(outputs) == ["golden_labels", "golden_logits", "inputs", "logit_scale",
                               "rtl_labels", "rtl_logits"]
    assert float(outputs["logit_scale"]) == 1.0       # integer logits: the model's own units
    inputs = outputs["inputs"]
    assert inputs.shape == (8, 3, 6, 6) and (inputs[0] == 0).all() and (inputs[1] == 1).all()
    logits, labels = _golden(design, inputs)
    assert np.array_equal(outputs["golden_logits"], logits)
    assert np.array_equal(outputs["golden_labels"], labels)
    assert np.array_equal(outputs["rtl_logits"], logits)
    assert np.array_equal(outputs["rtl_labels"], labels)
    assert len(np.unique(labels)) > 1 or len(np.unique(logits)) > 1   # not a constant network
    assert (tmp_path / ".out.sim" / ".bnnhw-work").is_file()       # the work folder is marked
    first = (out / "outputs.npz").read_bytes()
    run_build(str(design), out=out, sim=True, images=6, log=_quiet)       # cached Verilator
    assert (out / "outputs.npz").read_bytes() == first                     # deterministic


def test_inputs_npz_with_negative_values_and_labels_is_simulated_and_scored(tmp_path):
    design = write_design(tmp_path, "signed", signed_model(), 400)
    rng = np.random.default_rng(5)
    inputs = rng.integers(-8, 9, (7, 1, 8, 8)).astype(np.int8)
    inputs[0] = -8
    compiled = lower(load(design / "model.npz"))
    labels = compiled.classify(inputs)
    labels[-1] = (labels[-1] + 1) % 10          # one wrong label: accuracy 6/7
    np.savez(tmp_path / "mine.npz", inputs=inputs, labels=labels)
    out = tmp_path / "out"
    result = run_build(str(design), out=out, sim=True, inputs=str(tmp_path / "mine.npz"),
                       energy=3, log=_quiet)
    sim = result.report["simulation"]
    assert sim["rtl_equals_golden"], sim["first_mismatch"]
    assert sim["images"] == 7 and sim["inputs"]["source"] == "file"
    assert sim["inputs"]["file"] == "mine.npz" and sim["inputs"]["labels"] is True
    assert sim["golden_accuracy"] == sim["rtl_accuracy"] == pytest.approx(6 / 7)
    outputs = _outputs(out)
    assert np.array_equal(outputs["inputs"], inputs) and np.array_equal(outputs["labels"],
                                                                         labels)
    logits, golden_labels = _golden(design, inputs)
    assert np.array_equal(outputs["rtl_logits"], logits)
    assert np.array_equal(outputs["golden_labels"], golden_labels)
    # --energy runs on the first inputs of the same file
    energy = json.loads((out / "report.json").read_text())["energy"]["toggles"]
    assert energy["rtl_equals_golden"] and energy["inputs"]["file"] == "mine.npz"
    report = (out / "report.md").read_text()
    assert "7 inputs from mine.npz (labelled)" in report and "accuracy: RTL 85.71 %" in report
