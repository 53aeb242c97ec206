"""``--inputs`` and outputs.npz rules found by the black-box test of issue 14 (items 1-4)."""

import io

import numpy as np
import pytest

from bnnhw.compiler import lower
from bnnhw.model import Model
from bnnhw.sim.inputs import InputsError, check_inputs, outputs_npz, read_inputs_file

from .model.samples import pm1, tiny_graph


def _int8_model():
    layers = [{"name": "fc", "op": "dense", "inputs": ["input"], "precision": "int8",
               "out_features": 2}]
    return Model.from_dict(tiny_graph(layers, "fc", shape=(2, 1, 1), input_type="int8",
                                      value_range=(-127, 127)),
                           {"fc.weight": np.array([[1, 0], [0, 1]], np.int8)})


def _bits_model():
    layers = [{"name": "fc", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 2}]
    return Model.from_dict(tiny_graph(layers, "fc", shape=(4, 1, 1)),
                           {"fc.weight": pm1(np.random.default_rng(0), (2, 4))})


@pytest.mark.parametrize("value", [2 ** 64 - 1, 2 ** 63 + 1, 2 ** 63])
def test_uint64_inputs_beyond_int64_are_a_range_error_naming_the_true_value(tmp_path, value):
    path = tmp_path / "x.npy"
    np.save(path, np.array([value, 5], np.uint64).reshape(1, 2, 1, 1))
    with pytest.raises(InputsError, match=rf"value {value} at \(0, 0, 0, 0\) is outside int64"):
        read_inputs_file(path)


def test_uint64_inputs_in_range_are_read_as_their_values(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([127, 5], np.uint64).reshape(1, 2, 1, 1))
    inputs, _, _ = read_inputs_file(path)
    assert inputs.ravel().tolist() == [127, 5]
    check_inputs(_int8_model(), inputs)


def test_check_inputs_compares_unsigned_values_without_wrapping():
    model = _int8_model()
    x = np.array([2 ** 64 - 1, 5], np.uint64).reshape(1, 2, 1, 1)
    with pytest.raises(InputsError, match=r"value 18446744073709551615 outside .*\[-127, 127\]"):
        check_inputs(model, x)
    with pytest.raises(ValueError, match=r"^inputs: value 18446744073709551615 at \(0, 0, 0, 0\)"):
        lower(model).check_inputs(x)


def test_bool_inputs_are_accepted_as_bits(tmp_path):
    model = _bits_model()
    path = tmp_path / "x.npy"
    x = np.array([True, False, True, True]).reshape(1, 4, 1, 1)
    np.save(path, x)
    inputs, _, _ = read_inputs_file(path)
    check_inputs(model, inputs)
    assert inputs.ravel().tolist() == [1, 0, 1, 1]
    lower(model).check_inputs(x)
    assert np.array_equal(lower(model).run(x), lower(model).run(x.astype(np.int64)))


def test_inputs_naming_a_directory_says_it_is_a_directory(tmp_path):
    with pytest.raises(InputsError, match="is a directory"):
        read_inputs_file(tmp_path)


def test_logit_scale_in_outputs_npz_is_a_scalar():
    data = outputs_npz({"logit_scale": np.float64(0.25), "rtl_labels": np.arange(3)})
    z = np.load(io.BytesIO(data))
    assert z["logit_scale"].shape == () and float(z["logit_scale"]) == 0.25
    assert z["rtl_labels"].tolist() == [0, 1, 2]
    assert outputs_npz({"logit_scale": np.float64(0.25)}) == \
        outputs_npz({"logit_scale": np.float64(0.25)})
