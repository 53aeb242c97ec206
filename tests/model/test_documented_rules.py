"""Rules docs/model-format.md settles (issue 14 item 9, add operands, clip on the output)."""

import numpy as np
import pytest

from bnnhw.compiler import lower
from bnnhw.model import Model, ModelError
from bnnhw.model.reference import run_float

from .samples import pm1, tiny_graph


def _add_model(value_range):
    layers = [{"name": "a", "op": "add", "inputs": ["input", "input"]},
              {"name": "fc", "op": "dense", "inputs": ["a"], "precision": "int8",
               "out_features": 3}]
    arrays = {"fc.weight": np.random.default_rng(0).integers(-128, 128, (3, 2))}
    return tiny_graph(layers, "fc", shape=(2, 1, 1), input_type="int8",
                      value_range=value_range), arrays


@pytest.mark.parametrize("value_range", [None, (-128, 0)])
def test_add_operand_that_can_be_minus_128_is_a_model_error(value_range):
    with pytest.raises(ModelError) as error:
        Model.from_dict(*_add_model(value_range))
    assert (error.value.layer, error.value.field) == ("a", "inputs")
    assert "[-127, 127]" in str(error.value)


def test_add_within_minus_127_127_agrees_with_the_float_model_at_the_ends():
    model = Model.from_dict(*_add_model((-127, 127)))
    x = np.array([[-127, 127], [-127, -127], [127, 127], [100, -5]]).reshape(4, 2, 1, 1)
    compiled = lower(model)
    floats = run_float(model, x)
    assert np.array_equal(compiled.run(x, keep=True)["a"], floats["a"])
    assert np.array_equal(compiled.run(x), floats["fc"])


@pytest.mark.parametrize("op", ["dense", "conv2d"])
def test_clip_on_the_output_layer_is_a_model_error(op):
    rng = np.random.default_rng(1)
    layer = {"name": "out", "op": op, "inputs": ["input"], "precision": "binary", "clip": 7}
    if op == "dense":
        layer["out_features"] = 3
        weight = pm1(rng, (3, 128))
    else:
        layer.update(out_channels=3, kernel=4)
        weight = pm1(rng, (3, 8, 4, 4))
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph([layer], "out"), {"out.weight": weight})
    assert (error.value.layer, error.value.field) == ("out", "clip")


@pytest.mark.parametrize("pad_value", [1, -1, 0])
def test_pad_value_without_padding_is_accepted_and_changes_nothing(pad_value):
    rng = np.random.default_rng(2)
    weight = pm1(rng, (3, 8, 4, 4))
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "binary",
               "out_channels": 3, "kernel": 4, "padding": 0}]
    plain = Model.from_dict(tiny_graph(layers, "c"), {"c.weight": weight})
    layers[0]["pad_value"] = pad_value
    padded = Model.from_dict(tiny_graph(layers, "c"), {"c.weight": weight})
    x = rng.integers(0, 2, (8, 8, 4, 4))
    assert np.array_equal(lower(padded).run(x), lower(plain).run(x))
    assert np.array_equal(run_float(padded, x)["c"], run_float(plain, x)["c"])


def test_bad_pad_value_without_padding_is_still_a_model_error():
    rng = np.random.default_rng(3)
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "binary",
               "out_channels": 3, "kernel": 3, "pad_value": 2}]
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "c"), {"c.weight": pm1(rng, (3, 8, 3, 3))})
    assert (error.value.layer, error.value.field) == ("c", "pad_value")


@pytest.mark.parametrize("dot, clip", [("xnor", None), ("xnor", 5), ("and", None)])
def test_dot_domain_threshold_is_on_the_layers_dot_value(dot, clip):
    """``domain: "dot"``: ``2p - N`` (XNOR), ``p`` (AND), clipped to ``[-B, B]`` with clip."""
    rng = np.random.default_rng(4)
    layer = {"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
             "out_features": 6, "dot": dot}
    if clip:
        layer["clip"] = clip
    weight = pm1(rng, (6, 8)) if dot == "xnor" else rng.integers(0, 2, (6, 8))
    threshold = np.array([-8, -5, 0, 3, 5, 6])
    layers = [layer, {"name": "t", "op": "threshold", "inputs": ["c"], "domain": "dot"},
              {"name": "gp", "op": "global_pool", "inputs": ["t"]}]
    model = Model.from_dict(tiny_graph(layers, "gp", shape=(8, 1, 1)),
                            {"c.weight": weight, "t.threshold": threshold})
    x = np.array([[(i >> b) & 1 for b in range(8)] for i in range(256)]).reshape(256, 8, 1, 1)
    p = lower(model).run(x, keep=True)["c"][:, :, 0, 0]
    v = 2 * p - 8 if dot == "xnor" else p
    if clip:
        v = np.clip(v, -clip, clip)
    expected = (v >= threshold).astype(np.uint8)
    assert np.array_equal(lower(model).run(x, keep=True)["t"][:, :, 0, 0], expected)
    assert np.array_equal(run_float(model, x)["t"][:, :, 0, 0], expected)


@pytest.mark.parametrize("x, match", [
    (np.full((2, 2, 1, 1), -128), "outside the declared range"),
    (np.full((2, 2, 1, 1), 128), "outside the declared range"),
    (np.zeros((2, 2, 2, 1), np.int64), "expected shape"),
    (np.full((2, 2, 1, 1), 0.5), "expected integers"),
])
def test_inputs_outside_the_declared_type_or_range_are_rejected_by_check_inputs(x, match):
    compiled = lower(Model.from_dict(*_add_model((-127, 127))))
    with pytest.raises(ValueError, match=rf"^inputs: .*{match}"):
        compiled.check_inputs(x)
    compiled.check_inputs(np.array([-127, 127]).reshape(1, 2, 1, 1))


def test_output_that_is_not_one_logit_per_class_is_a_model_error():
    rng = np.random.default_rng(5)
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "binary",
               "out_channels": 3, "kernel": 3}]
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "c"), {"c.weight": pm1(rng, (3, 8, 3, 3))})
    assert (error.value.layer, error.value.field) == ("c", "output")
