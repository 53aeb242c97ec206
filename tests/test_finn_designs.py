"""FINN's reference topologies imported from QONNX (``designs/finn_*``, issue 16).

Not among ``tests/test_designs.py``'s trained designs: FINN's widths exceed that file's iCE40
size budget and its accuracy floor, on purpose. Checked here instead: each committed model file
is what bnnhw's converter makes of the committed ``.onnx``, its golden network gives the ONNX
graph's outputs (qonnx's executor, recorded by ``benchmarks/finn_topologies_export.py`` in
``qonnx_reference.npz``) on every reference input, and the README states the computed numbers.
No torch and no qonnx needed.
"""

import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bnnhw.compiler import lower
from bnnhw.importers.qonnx import convert_inputs, graph_logits, import_onnx
from bnnhw.model import load
from bnnhw.train.data import held_out
from bnnhw.train.report import evaluate, parse_readme

ROOT = Path(__file__).resolve().parents[1]
FINN_DESIGNS = ("finn_tfc", "finn_sfc", "finn_cnv", "finn_cnv32")

each_finn_design = pytest.mark.parametrize("design", FINN_DESIGNS)


def _folder(design):
    return ROOT / "designs" / design


@cache
def _model(design):
    return load(_folder(design) / "model.npz")


@cache
def _reference_inputs(design):
    """(graph inputs float32 NCHW, labels, qonnx outputs, qonnx argmax) of the export script."""
    reference = np.load(_folder(design) / "qonnx_reference.npz")
    if design == "finn_cnv32":   # 64 random images, integers 0..255, as the export script
        images = np.random.default_rng(32).integers(0, 256, size=(64, 3, 32, 32))
    else:                        # the 360 held-out digits, raw pixels 0..16
        images, labels = held_out()
        assert np.array_equal(labels, reference["labels"])
    return (images.astype(np.float32), reference["labels"], reference["outputs"],
            reference["argmax"])


@each_finn_design
def test_model_file_is_the_converters_output_of_the_committed_onnx(design):
    onnx_path = _folder(design) / f"{design}.onnx"
    model = _model(design)
    assert model.meta["source"]["sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    assert model.meta["design"]["onnx"] == f"designs/{design}/{design}.onnx"
    imported = import_onnx(onnx_path, name=design)
    committed = model.to_dict()
    committed["meta"] = {k: v for k, v in committed["meta"].items() if k != "design"}
    assert imported.to_dict() == committed
    arrays = model.arrays()
    assert imported.arrays().keys() == arrays.keys()
    for key, value in imported.arrays().items():
        assert np.array_equal(value, arrays[key]), key


@each_finn_design
def test_golden_network_gives_the_onnx_graphs_outputs(design):
    graph_inputs, _, outputs, argmax = _reference_inputs(design)
    model = _model(design)
    model_inputs = convert_inputs(model, graph_inputs)
    compiled = lower(model)
    assert np.array_equal(compiled.classify(model_inputs), argmax)
    logits = compiled.run(model_inputs).reshape(len(model_inputs), -1)
    assert np.array_equal(graph_logits(model, logits), outputs)


@each_finn_design
def test_readme_states_the_computed_numbers(design):
    graph_inputs, labels, _, argmax = _reference_inputs(design)
    model = _model(design)
    metrics = evaluate(model, convert_inputs(model, graph_inputs), labels)
    stated = parse_readme((_folder(design) / "README.md").read_text())
    computed = {"agreement": metrics["agreement"],
                "parameter_bits": metrics["parameter_bits"]["total"],
                "binary_ops": metrics["operations"]["binary_ops"]}
    if (labels >= 0).all():      # digits: accuracies too (finn_cnv32's inputs have no labels)
        computed.update(golden_accuracy=metrics["golden_accuracy"],
                        float_accuracy=metrics["float_accuracy"])
        qonnx = float(np.mean(argmax == labels))
        text = (_folder(design) / "README.md").read_text()
        assert f"ONNX graph (qonnx `execute_onnx`, cleaned model) | {100 * qonnx:.2f} %" in text
    assert set(stated) == set(computed)
    for key, value in computed.items():
        if isinstance(value, float):  # stated in percent with two decimals
            assert stated[key] == pytest.approx(round(100 * value, 2) / 100, abs=1e-9), key
        else:
            assert stated[key] == value, key
