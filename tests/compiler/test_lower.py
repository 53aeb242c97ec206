"""Compiled integer network == float64 evaluation of the model file, layer by layer."""

import numpy as np
import pytest

from bnnhw.compiler import lower
from bnnhw.model import Model, ModelError
from bnnhw.model.reference import classify_float, run_float

from ..model.samples import every_op_model


def _compare(model, compiled, x):
    floats = run_float(model, x)
    ints = compiled.run(x, keep=True)
    checked = 0
    for layer in model.layers:
        t = model.types[layer.name]
        if t.kind == "real" or layer.name not in ints:
            continue  # batch norms fold into their sign; folded permutations have no output
        got = np.asarray(ints[layer.name])
        if t.source == "fixed":
            got = got * 2.0 ** -compiled.values[layer.name].frac_bits
        expected = np.asarray(floats[layer.name])
        assert got.shape == expected.shape, layer.name
        assert np.array_equal(got.astype(np.float64), expected.astype(np.float64)), layer.name
        checked += 1
    return checked


@pytest.mark.parametrize("seed", range(12))
def test_compiled_equals_float_model_on_every_layer(seed):
    model = Model.from_dict(*every_op_model(seed, exact=True))
    compiled = lower(model)
    x = np.random.default_rng(100 + seed).integers(0, 17, (64, 1, 8, 8))
    assert _compare(model, compiled, x) >= 20
    assert np.array_equal(compiled.classify(x), classify_float(model, x))


def test_ties_are_exercised():
    """The samples put BN ties on reachable integers: some popcount hits a tie exactly."""
    from bnnhw import golden
    graph, arrays = every_op_model(0, exact=True)
    a, b = golden.bn_affine(arrays["bn1.gamma"], arrays["bn1.beta"], arrays["bn1.mean"],
                            arrays["bn1.var"], 1e-5)
    s = np.arange(-72, 73, 2)
    assert ((a[:, None] * s[None, :] + b[:, None]) == 0).any()


def test_shuffle_into_ungrouped_conv_folds_into_weights():
    graph, arrays = every_op_model(1, exact=True)
    # make the shuffle feed the AND conv directly (groups = 1), then pool after it
    layers = graph["layers"]
    names = [layer["name"] for layer in layers]
    pool = layers.pop(names.index("pool"))
    conv = next(layer for layer in layers if layer["name"] == "c4")
    conv["inputs"] = ["shuf"]
    conv["kernel"] = 1
    arrays["c4.weight"] = np.random.default_rng(5).integers(0, 2, (6, 8, 1, 1))
    assert pool["name"] == "pool"
    model = Model.from_dict(graph, arrays)
    compiled = lower(model)
    assert "shuf" not in compiled.layer and compiled.layer["c4"].inputs == ("cat",)
    x = np.random.default_rng(7).integers(0, 17, (32, 1, 8, 8))
    assert _compare(model, compiled, x) >= 20


def test_negative_bn_scale_before_pa_bases_is_a_clear_error():
    graph, arrays = every_op_model(0)
    arrays["bn4.gamma"][:] = -1.0
    arrays["bn4.beta"][:] = 0.0
    arrays["bn4.mean"][:] = 4.0  # the sign flips inside the popcount range 0..8
    with pytest.raises(ModelError, match="layer 'bn4': gamma: PA-Net bases need a rising"):
        lower(Model.from_dict(graph, arrays))


def test_requantize_scale_out_of_range_is_a_clear_error():
    graph, arrays = every_op_model(0)
    arrays["stem_q.scale"][3] = 70000.0
    with pytest.raises(ModelError, match="layer 'stem_q': scale: "):
        lower(Model.from_dict(graph, arrays))
