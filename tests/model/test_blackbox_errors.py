"""Named errors and lenient-but-checked fields found by the black-box test of issue 14 (items 3,
4): every bad model gives one error naming the layer and the field."""

import json

import numpy as np
import pytest

from bnnhw.compiler import lower
from bnnhw.design import DesignError, read_config
from bnnhw.model import Model, ModelError, load
from bnnhw.model.reference import run_float

from .samples import pm1, tiny_graph


def _int8_conv(bias):
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "int8",
               "out_channels": 2, "kernel": 1}]
    arrays = {"c.weight": np.ones((2, 1, 1, 1), np.int8), "c.bias": np.asarray(bias)}
    return tiny_graph(layers, "c", shape=(1, 1, 1), input_type="int8"), arrays


def test_int8_accumulator_overflow_from_the_bias_names_bias():
    with pytest.raises(ModelError) as error:
        Model.from_dict(*_int8_conv(np.array([0, 2 ** 31 - 10], np.int64)))
    assert (error.value.layer, error.value.field) == ("c", "bias")
    assert "output channel 1" in str(error.value)
    Model.from_dict(*_int8_conv(np.array([0, 2 ** 31 - 1 - 128], np.int64)))   # fits exactly


def test_int8_accumulator_overflow_from_the_weights_names_weight():
    layers = [{"name": "d", "op": "dense", "inputs": ["input"], "precision": "int8",
               "out_features": 1}]
    n = 2 ** 31 // (127 * 128) + 1
    graph = tiny_graph(layers, "d", shape=(n, 1, 1), input_type="int8")
    with pytest.raises(ModelError) as error:
        Model.from_dict(graph, {"d.weight": np.full((1, n), 127, np.int8)})
    assert (error.value.layer, error.value.field) == ("d", "weight")


def test_graph_json_saved_as_a_string_array_is_a_short_named_error(tmp_path):
    graph = tiny_graph([{"name": "gp", "op": "global_pool", "inputs": ["input"]}], "gp")
    path = tmp_path / "m.npz"
    np.savez(path, **{"graph.json": np.array(json.dumps(graph))})
    with pytest.raises(ModelError) as error:
        load(path)
    message = str(error.value)
    assert error.value.field == "file" and "graph.json must be a 1-D uint8 array" in message
    assert "bnnhw-model" not in message and len(message) < 300     # no echo of the JSON


def test_empty_layer_name_names_the_layer_field():
    layers = [{"name": "", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 2}]
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, ""), {".weight": pm1(np.random.default_rng(0),
                                                                (2, 128))})
    assert (error.value.layer, error.value.field) == (None, "layers[0].name")
    assert "empty" in str(error.value)


def test_output_shape_error_lists_the_allowed_outputs():
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "binary",
               "out_channels": 3, "kernel": 3}]
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "c"), {"c.weight": pm1(np.random.default_rng(5),
                                                                  (3, 8, 3, 3))})
    message = str(error.value)
    assert error.value.field == "output"
    for allowed in ("dense", "global_pool", "kernel covers its input", "requantize", "slice"):
        assert allowed in message


def _threshold_model(invert):
    layers = [{"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 3},
              {"name": "t", "op": "threshold", "inputs": ["c"]},
              {"name": "gp", "op": "global_pool", "inputs": ["t"]}]
    arrays = {"c.weight": pm1(np.random.default_rng(6), (3, 8)),
              "t.threshold": np.array([2, 4, 6]), "t.invert": invert}
    return tiny_graph(layers, "gp", shape=(8, 1, 1)), arrays


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.float32])
def test_invert_as_0_1_integers_means_the_same_as_bools(dtype):
    bools = Model.from_dict(*_threshold_model(np.array([True, False, True])))
    ints = Model.from_dict(*_threshold_model(np.array([1, 0, 1], dtype)))
    assert ints.layers[1].params["invert"].dtype == bool
    x = np.array([[(i >> b) & 1 for b in range(8)] for i in range(256)]).reshape(256, 8, 1, 1)
    assert np.array_equal(lower(ints).run(x), lower(bools).run(x))
    assert np.array_equal(run_float(ints, x)["gp"], run_float(bools, x)["gp"])


@pytest.mark.parametrize("invert", [np.array([0, 2, 1]), np.array([0, -1, 1]),
                                    np.array([0.5, 0, 1])])
def test_invert_other_than_0_1_is_a_named_error(invert):
    with pytest.raises(ModelError) as error:
        Model.from_dict(*_threshold_model(invert))
    assert (error.value.layer, error.value.field) == ("t", "invert")


def test_and_weights_as_bools_mean_0_1():
    rng = np.random.default_rng(7)
    weight = rng.integers(0, 2, (3, 8)).astype(bool)
    layers = [{"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
               "dot": "and", "out_features": 3}]
    graph = tiny_graph(layers, "c", shape=(8, 1, 1))
    x = rng.integers(0, 2, (16, 8, 1, 1))
    a = lower(Model.from_dict(graph, {"c.weight": weight})).run(x)
    b = lower(Model.from_dict(graph, {"c.weight": weight.astype(np.uint8)})).run(x)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("config, key", [({"foldin": {"target_cycles": 10}}, "foldin"),
                                         ({"folding": {}, "readme": []}, "readme")])
def test_unknown_design_json_key_is_a_named_error(tmp_path, config, key):
    (tmp_path / "design.json").write_text(json.dumps(config))
    with pytest.raises(DesignError, match=rf"{key}: unknown key"):
        read_config(tmp_path)


def test_design_json_with_every_known_key_is_read(tmp_path):
    config = {"folding": {"target_cycles": 10}, "architecture": {}, "training": {},
              "readme_notes": []}
    (tmp_path / "design.json").write_text(json.dumps(config))
    assert read_config(tmp_path) == config
    (tmp_path / "design.json").write_text("[1]")
    with pytest.raises(DesignError, match="expected a JSON object"):
        read_config(tmp_path)
