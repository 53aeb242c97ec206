"""Inputs the model fuzzer found: each gives one named ModelError or compiles correctly."""

import zipfile

import numpy as np
import pytest

from bnnhw.compiler import lower, plan_folding
from bnnhw.model import Model, ModelError, load, save
from bnnhw.model.reference import run_float

from ..compiler.generator import elaborate_network
from .samples import every_op_model, pm1, tiny_graph


def _empty(path):
    path.write_bytes(b"")


def _single_array(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


def _graph_not_npy(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("graph.json.npy", b"not npy data")


def _graph_without_suffix(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("graph.json", b"{}")


def _unknown_compression(path):
    """A valid model file whose zip headers name compression method 99 (zipfile raises
    NotImplementedError on reading it)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("graph.json.npy", b"x" * 64)
    data = bytearray(path.read_bytes())
    for offset in (8, data.rfind(b"PK\x01\x02") + 10):   # local and central header: method
        data[offset:offset + 2] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))


def _corrupt_deflate(path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("graph.json.npy", b"y" * 4096)
    data = bytearray(path.read_bytes())
    start = 30 + len("graph.json.npy")
    data[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("write", [_empty, _single_array, _graph_not_npy, _graph_without_suffix,
                                   _unknown_compression, _corrupt_deflate])
def test_file_that_is_not_a_model_container_is_a_model_error(tmp_path, write):
    path = tmp_path / "model.npz"
    write(path)
    with pytest.raises(ModelError) as error:
        load(path)
    assert error.value.field == "file" and "not a bnnhw model file" in str(error.value)


@pytest.mark.parametrize("output", [["fc"], {"a": 1}, 3, None])
def test_output_that_is_not_a_layer_name_is_a_model_error(output):
    graph, arrays = every_op_model(0)
    graph["output"] = output
    with pytest.raises(ModelError) as error:
        Model.from_dict(graph, arrays)
    assert error.value.field == "output"


def test_uint64_values_beyond_int64_are_a_model_error():
    graph, arrays = every_op_model(0)
    arrays["stem.bias"] = np.full(8, 2 ** 63 + 5, np.uint64)
    with pytest.raises(ModelError) as error:
        Model.from_dict(graph, arrays)
    assert (error.value.layer, error.value.field) == ("stem", "bias")


def test_integral_float_arrays_are_kept_as_integers(tmp_path):
    graph, arrays = every_op_model(3, exact=True)
    as_floats = dict(arrays)
    for key in ("stem.weight", "stem.bias", "c1.weight", "t2.threshold", "qbn3.scale",
                "qbn3.bias", "fc.weight", "c4.weight"):
        as_floats[key] = np.asarray(arrays[key], np.float64)
    model = Model.from_dict(graph, as_floats)
    assert model.layer["stem"].params["weight"].dtype == np.int64
    assert model.layer["t2"].params["threshold"].dtype == np.int64
    reference = Model.from_dict(graph, arrays)
    x = np.random.default_rng(0).integers(0, 17, (16, 1, 8, 8))
    assert np.array_equal(lower(model).run(x), lower(reference).run(x))
    save(model, tmp_path / "m.npz")
    assert np.array_equal(lower(load(tmp_path / "m.npz")).run(x), lower(reference).run(x))


def _build(model):
    compiled = lower(model)
    plan = plan_folding(compiled)
    elaborate_network(compiled, plan)
    return compiled


@pytest.mark.parametrize("case", ["input", "zero_conv"])
def test_sign_on_integers_of_a_one_value_range_compiles(case):
    rng = np.random.default_rng(1)
    if case == "input":
        layers, arrays, value_range = [], {}, (3, 3)
        source = "input"
    else:
        layers = [{"name": "z", "op": "conv2d", "inputs": ["input"], "precision": "int8",
                   "out_channels": 2, "kernel": 1}]
        arrays, value_range, source = {"z.weight": np.zeros((2, 2, 1, 1), np.int64)}, None, "z"
    layers += [{"name": "bn", "op": "batchnorm", "inputs": [source], "eps": 1e-5},
               {"name": "s", "op": "sign", "inputs": ["bn"]},
               {"name": "pb", "op": "pa_bases", "inputs": [source]},
               {"name": "gp", "op": "global_pool", "inputs": ["s"]},
               {"name": "gp2", "op": "global_pool", "inputs": ["pb"]},
               {"name": "cat", "op": "concat", "inputs": ["gp", "gp2"]}]
    arrays.update({"bn.gamma": np.array([1.0, -1.0]), "bn.beta": np.array([-3.0, 2.5]),
                   "bn.mean": np.zeros(2), "bn.var": np.ones(2),
                   "pb.endpoints": np.array([-1.0, 2.5, 3.0])})
    model = Model.from_dict(tiny_graph(layers, "cat", shape=(2, 1, 1), input_type="int8",
                                       value_range=value_range), arrays)
    compiled = _build(model)
    x = np.full((4, 2, 1, 1), 3) if case == "input" else rng.integers(-128, 128, (4, 2, 1, 1))
    assert np.array_equal(compiled.run(x), run_float(model, x)["cat"])


@pytest.mark.parametrize("consumer", ["int8_dense", "int8_conv", "dprelu", "add"])
def test_panet_sums_into_int8_layers_are_a_model_error(consumer):
    rng = np.random.default_rng(2)
    layers = [{"name": "pb", "op": "pa_bases", "inputs": ["input"]},
              {"name": "pc", "op": "panet_conv2d", "inputs": ["pb"], "out_channels": 2,
               "kernel": 1}]
    arrays = {"pb.endpoints": np.array([0.5]),
              "pc.weight_bases": rng.integers(0, 2, (1, 2, 2, 1, 1)).astype(np.uint8),
              "pc.phi": np.array([[0.25]])}
    if consumer == "int8_dense":
        layers.append({"name": "x", "op": "dense", "inputs": ["pc"], "precision": "int8",
                       "out_features": 2})
        arrays["x.weight"] = np.ones((2, 2), np.int64)
    elif consumer == "int8_conv":
        layers.append({"name": "x", "op": "conv2d", "inputs": ["pc"], "precision": "int8",
                       "out_channels": 2, "kernel": 1})
        arrays["x.weight"] = np.ones((2, 2, 1, 1), np.int64)
    elif consumer == "dprelu":
        layers.append({"name": "x", "op": "dprelu", "inputs": ["pc"]})
        arrays.update({"x.alpha": np.zeros(2, np.int64), "x.beta": np.zeros(2, np.int64),
                       "x.eta": np.ones(2), "x.gamma": np.ones(2)})
    else:
        layers.append({"name": "x", "op": "add", "inputs": ["pc", "pc"]})
    graph = tiny_graph(layers, "x", shape=(2, 1, 1), input_type="int8", value_range=(0, 1))
    with pytest.raises(ModelError) as error:
        Model.from_dict(graph, arrays)
    assert (error.value.layer, error.value.field) == ("x", "inputs")
