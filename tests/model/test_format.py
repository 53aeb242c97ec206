"""Model file format: round trip, determinism, and one clear error per kind of bad file."""

import copy
import zipfile

import numpy as np
import pytest

from bnnhw.model import Model, ModelError, load, save
from bnnhw.model.container import write_container

from .samples import every_op_model


def _model(seed=0):
    return Model.from_dict(*every_op_model(seed))


def test_every_op_sample_validates_with_expected_types():
    model = _model()
    types = model.types
    assert types["ms1"].shape == (32, 4, 4) and types["ms1"].bases == 4
    assert types["c2"].detail == {"fan_in": 72, "op": "xnor", "clip": None}
    assert types["pa4"].shape == (18, 2, 2) and types["pa4"].bases == 3
    assert types["fc"].kind == "int" and types["fc"].shape == (10, 1, 1)
    assert {layer.op for layer in model.layers} >= {
        "conv2d", "dense", "batchnorm", "sign", "threshold", "requantize", "quantized_bn",
        "dprelu", "add", "maxpool", "global_pool", "slice", "concat", "shuffle", "pa_bases",
        "panet_conv2d"}


def test_save_load_save_is_byte_identical(tmp_path):
    save(_model(), tmp_path / "a.npz")
    save(load(tmp_path / "a.npz"), tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_round_trip_keeps_graph_and_arrays(tmp_path):
    model = _model(3)
    save(model, tmp_path / "m.npz")
    again = load(tmp_path / "m.npz")
    assert again.to_dict() == model.to_dict()
    before, after = model.arrays(), again.arrays()
    assert before.keys() == after.keys()
    for key in before:
        assert np.array_equal(before[key], after[key]) and before[key].dtype == after[key].dtype


def test_saved_file_is_a_plain_npz(tmp_path):
    save(_model(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as archive:
        assert "graph.json" in archive.files and "c1.weight" in archive.files
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    import bnnhw.model.container as container

    def explode(array):
        raise RuntimeError("disk full")
    monkeypatch.setattr(container, "_npy_bytes", explode)
    with pytest.raises(RuntimeError):
        save(_model(), tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def _layer(graph, name):
    return next(layer for layer in graph["layers"] if layer["name"] == name)


def _drop(arrays, key):
    del arrays[key]


# (description, mutation of (graph, arrays), expected layer, expected field)
BAD = [
    ("missing array", lambda g, a: _drop(a, "c1.weight"), "c1", "weight"),
    ("wrong shape", lambda g, a: a.__setitem__("c1.weight", a["c1.weight"][:, :4]),
     "c1", "weight"),
    ("non ±1 binary weight", lambda g, a: a["c1.weight"].__setitem__((0, 0, 0, 0), 0),
     "c1", "weight"),
    ("float binary weight", lambda g, a: a.__setitem__("c1.weight", a["c1.weight"] * 0.5),
     "c1", "weight"),
    ("var < 0", lambda g, a: a["bn1.var"].__setitem__(2, -1.0), "bn1", "var"),
    ("nan gamma", lambda g, a: a["bn1.gamma"].__setitem__(0, np.nan), "bn1", "gamma"),
    ("k and bias count disagree", lambda g, a: _layer(g, "ms1").__setitem__("k", 3),
     "ms1", "biases"),
    ("unknown op", lambda g, a: _layer(g, "s3").__setitem__("op", "xor_pool"), "s3", "op"),
    ("dangling branch", lambda g, a: _layer(g, "cat").__setitem__("inputs", ["left", "left"]),
     "s3", "inputs"),
    ("input from a later layer", lambda g, a: _layer(g, "c1").__setitem__("inputs", ["c2"]),
     "c1", "inputs"),
    ("unknown attribute", lambda g, a: _layer(g, "c1").__setitem__("strides", 2), "c1",
     "strides"),
    ("stray array", lambda g, a: a.__setitem__("c1.bias", np.zeros(8)), "c1", "bias"),
    ("array of no layer", lambda g, a: a.__setitem__("ghost.weight", np.zeros(8)), "ghost",
     "weight"),
    ("groups do not divide", lambda g, a: _layer(g, "c2").__setitem__("groups", 3), "c2",
     "groups"),
    ("pad value 2", lambda g, a: _layer(g, "c1").__setitem__("pad_value", 2), "c1",
     "pad_value"),
    ("pad value true", lambda g, a: _layer(g, "c1").__setitem__("pad_value", True), "c1",
     "pad_value"),
    ("binary conv on int8", lambda g, a: _layer(g, "c1").__setitem__("inputs", ["stem_q"]),
     "c1", "inputs"),
    ("batch norm feeding a conv", lambda g, a: _layer(g, "c2").__setitem__("inputs", ["bn1"]),
     "c2", "inputs"),
    ("batch norm feeding a slice", lambda g, a: (
        g["layers"].insert(6, {"name": "bn1s", "op": "slice", "inputs": ["bn1"], "start": 0,
                               "stop": 8}),
        _layer(g, "ms1").__setitem__("inputs", ["bn1s"])), "bn1", "op"),
    ("int8 weight out of range", lambda g, a: a["stem.weight"].__setitem__((0, 0, 0, 0), 300),
     "stem", "weight"),
    ("negative requant scale", lambda g, a: a["stem_q.scale"].__setitem__(1, -0.5), "stem_q",
     "scale"),
    ("quantized bn scale over int16",
     lambda g, a: a.__setitem__("qbn3.scale", np.full(4, 40000)), "qbn3", "scale"),
    ("quantized bn without clip", lambda g, a: _layer(g, "c3").pop("clip"), "qbn3", "inputs"),
    ("threshold wrong channels", lambda g, a: a.__setitem__("t2.threshold", np.zeros(5, int)),
     "t2", "threshold"),
    ("endpoints not increasing",
     lambda g, a: a.__setitem__("pa4.endpoints", np.array([1.0, 0.0, 2.0])), "pa4",
     "endpoints"),
    ("phi shape", lambda g, a: a.__setitem__("pc5.phi", np.zeros((3, 3))), "pc5", "phi"),
    ("duplicate name", lambda g, a: _layer(g, "s3").__setitem__("name", "c3"), "c3", "name"),
    ("slice past the end", lambda g, a: _layer(g, "right").__setitem__("stop", 9), "right",
     "stop"),
    ("add shape mismatch", lambda g, a: _layer(g, "res").__setitem__("inputs",
                                                                    ["qbn3", "stem_q"]),
     "res", "inputs"),
    ("output not a layer", lambda g, a: g.__setitem__("output", "nowhere"), None, "output"),
    ("output gives bits", lambda g, a: (g.__setitem__("output", "s5"), g["layers"].pop(),
                                         g["layers"].pop(), _drop(a, "fc.weight")),
     "s5", "output"),
    ("bad input shape", lambda g, a: g["input"].__setitem__("shape", [8, 8]), None,
     "input.shape"),
    ("wrong format tag", lambda g, a: g.__setitem__("format", "onnx"), None, "format"),
    ("kernel too big", lambda g, a: _layer(g, "c1").__setitem__("kernel", 9), "c1", "kernel"),
]


@pytest.mark.parametrize("mutate, layer, field", [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_bad_model_gives_one_error_naming_layer_and_field(tmp_path, mutate, layer, field):
    graph, arrays = every_op_model()
    graph = copy.deepcopy(graph)
    mutate(graph, arrays)
    path = tmp_path / "bad.npz"
    write_container(path, graph, arrays)
    with pytest.raises(ModelError) as error:
        load(path)
    assert error.value.layer == layer
    assert error.value.field == field
    where = "model" if layer is None else f"layer {layer!r}"
    assert str(error.value).startswith(f"{where}: {field}: ")


def test_unreadable_file_is_a_model_error(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a bnnhw model file"):
        load(path)
    with pytest.raises(ModelError, match="no such file"):
        load(tmp_path / "missing.npz")
