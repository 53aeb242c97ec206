"""Compiled network == float64 evaluation of the model file on the corner cases of issue 14:
partial slices, concatenations of popcounts, dot-domain thresholds, signs and PA-Net bases on
popcounts, networks without a matrix layer, PA-Net output units."""

import numpy as np
import pytest

from bnnhw.compiler import lower, plan_folding
from bnnhw.model import Model, ModelError
from bnnhw.model.reference import run_float

from ..model.samples import pm1, tiny_graph
from .generator import elaborate_network


def _agree(graph, arrays, x, *, target=None, scale=False):
    """Lower, compare output with ``run_float``, plan, make images, build the generator."""
    model = Model.from_dict(graph, arrays)
    compiled = lower(model)
    expected = np.asarray(run_float(model, x)[model.output], np.float64)
    got = compiled.logits(x) if scale else np.asarray(compiled.run(x), np.float64)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)
    plan = plan_folding(compiled, target_cycles=target) if target else plan_folding(compiled)
    elaborate_network(compiled, plan)
    return model, compiled, plan


def _bits(rng, shape, count=16):
    return rng.integers(0, 2, (count, *shape))


@pytest.mark.parametrize("target", [None, 200])
def test_slice_from_channel_zero_into_binary_conv_is_not_folded_as_a_permutation(target):
    rng = np.random.default_rng(0)
    layers = [{"name": "s", "op": "slice", "inputs": ["input"], "start": 0, "stop": 4},
              {"name": "c", "op": "conv2d", "inputs": ["s"], "precision": "binary",
               "out_channels": 6, "kernel": 3, "padding": 1, "pad_value": 1},
              {"name": "t", "op": "threshold", "inputs": ["c"]},
              {"name": "d", "op": "dense", "inputs": ["t"], "precision": "binary",
               "out_features": 5}]
    arrays = {"c.weight": pm1(rng, (6, 4, 3, 3)), "t.threshold": rng.integers(0, 37, 6),
              "d.weight": pm1(rng, (5, 96))}
    _, compiled, _ = _agree(tiny_graph(layers, "d"), arrays, _bits(rng, (8, 4, 4)),
                            target=target)
    assert compiled.layer["s"].op == "permute"   # kept as wiring
    assert compiled.layer["c"].inputs == ("s",)


def test_slice_from_channel_zero_into_int8_dense_compiles_and_makes_images():
    rng = np.random.default_rng(1)
    layers = [{"name": "s", "op": "slice", "inputs": ["input"], "start": 0, "stop": 4},
              {"name": "d", "op": "dense", "inputs": ["s"], "precision": "int8",
               "out_features": 5}]
    arrays = {"d.weight": rng.integers(-128, 128, (5, 64))}
    x = rng.integers(-128, 128, (16, 8, 4, 4))
    _agree(tiny_graph(layers, "d", input_type="int8"), arrays, x, target=100)


def test_full_permutation_still_folds_into_the_weights():
    rng = np.random.default_rng(2)
    layers = [{"name": "s", "op": "slice", "inputs": ["input"], "start": 0, "stop": 8},
              {"name": "sh", "op": "shuffle", "inputs": ["s"], "groups": 2},
              {"name": "d", "op": "dense", "inputs": ["sh"], "precision": "binary",
               "out_features": 5}]
    arrays = {"d.weight": pm1(rng, (5, 128))}
    _, compiled, _ = _agree(tiny_graph(layers, "d"), arrays, _bits(rng, (8, 4, 4)))
    assert [layer.op for layer in compiled.layers] == ["binary_dense"]


def _two_binary_layers(rng, second_dot="and", clip=None):
    first = {"name": "c1", "op": "dense", "inputs": ["input"], "precision": "binary",
             "out_features": 4}
    if clip is not None:
        first["clip"] = clip
    layers = [first,
              {"name": "c2", "op": "conv2d", "inputs": ["input"], "precision": "binary",
               "out_channels": 3, "kernel": 4, "dot": second_dot},
              {"name": "cat", "op": "concat", "inputs": ["c1", "c2"]}]
    arrays = {"c1.weight": pm1(rng, (4, 128)),
              "c2.weight": pm1(rng, (3, 8, 4, 4)) if second_dot == "xnor"
              else rng.integers(0, 2, (3, 8, 4, 4))}
    return layers, arrays


def _head(rng, source, channels, arrays):
    arrays["fc.weight"] = pm1(rng, (3, channels))
    return {"name": "fc", "op": "dense", "inputs": [source], "precision": "binary",
            "out_features": 3}


@pytest.mark.parametrize("second_dot, clip", [("and", None), ("xnor", None), ("and", 20)])
def test_batchnorm_sign_after_concat_of_popcounts_sees_each_parts_dot_value(second_dot, clip):
    rng = np.random.default_rng(3)
    layers, arrays = _two_binary_layers(rng, second_dot, clip)
    layers += [{"name": "bn", "op": "batchnorm", "inputs": ["cat"], "eps": 1e-5},
               {"name": "s", "op": "sign", "inputs": ["bn"], "biases": [-0.5, 0.5]}]
    arrays.update({"bn.gamma": rng.normal(size=7), "bn.beta": rng.normal(size=7),
                   "bn.mean": rng.normal(size=7) * 8, "bn.var": rng.random(7) + 0.5})
    layers.append(_head(rng, "s", 14, arrays))
    model, compiled, _ = _agree(tiny_graph(layers, "fc"), arrays, _bits(rng, (8, 4, 4), 64))
    # the sign bits themselves agree with the float model (not only the logits)
    x = _bits(rng, (8, 4, 4), 64)
    assert np.array_equal(compiled.run(x, keep=True)["s"], run_float(model, x)["s"])


@pytest.mark.parametrize("domain", ["popcount", "dot"])
def test_threshold_after_concat_of_popcounts_uses_each_parts_fan_in(domain):
    rng = np.random.default_rng(4)
    layers, arrays = _two_binary_layers(rng)
    layers.append({"name": "t", "op": "threshold", "inputs": ["cat"], "domain": domain})
    arrays["t.threshold"] = rng.integers(-130, 130, 7) if domain == "dot" \
        else rng.integers(0, 129, 7)
    arrays["t.invert"] = rng.random(7) < 0.5
    layers.append(_head(rng, "t", 7, arrays))
    model, compiled, _ = _agree(tiny_graph(layers, "fc"), arrays, _bits(rng, (8, 4, 4), 64))
    x = _bits(rng, (8, 4, 4), 64)
    assert np.array_equal(compiled.run(x, keep=True)["t"], run_float(model, x)["t"])


def test_slice_and_shuffle_of_a_mixed_concat_keep_each_channels_dot_value():
    rng = np.random.default_rng(5)
    layers, arrays = _two_binary_layers(rng, "and", clip=9)
    layers[2]["inputs"] = ["c1", "c2", "c1"]                  # 4 XNOR, 3 AND, 4 XNOR channels
    layers += [{"name": "part", "op": "slice", "inputs": ["cat"], "start": 2, "stop": 10},
               {"name": "sh", "op": "shuffle", "inputs": ["part"], "groups": 2},
               {"name": "s", "op": "sign", "inputs": ["sh"]}]
    layers.append(_head(rng, "s", 8, arrays))
    model, compiled, _ = _agree(tiny_graph(layers, "fc"), arrays, _bits(rng, (8, 4, 4), 64))
    xnor, and_ = (128, "xnor", 9), (128, "and", None)
    assert model.types["part"].detail["channel_dots"] == (xnor, xnor) + (and_,) * 3 + (xnor,) * 3
    # shuffle with 2 groups of 4: output i takes input (i % 2) * 4 + i // 2
    assert model.types["sh"].detail["channel_dots"] == (xnor, and_, xnor, xnor, and_, xnor,
                                                        and_, xnor)
    x = _bits(rng, (8, 4, 4), 64)
    assert np.array_equal(compiled.run(x, keep=True)["s"], run_float(model, x)["s"])


def test_quantized_bn_after_a_mixed_concat_is_a_model_error():
    rng = np.random.default_rng(6)
    layers, arrays = _two_binary_layers(rng, "xnor", clip=20)
    layers.append({"name": "q", "op": "quantized_bn", "inputs": ["cat"], "frac_bits": 4})
    arrays.update({"q.scale": np.ones(7, np.int16), "q.bias": np.zeros(7, np.int16)})
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "q"), arrays)
    assert (error.value.layer, error.value.field) == ("q", "inputs")


def test_concat_of_popcounts_with_other_integers_is_a_model_error():
    rng = np.random.default_rng(7)
    layers = [{"name": "c1", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 4},
              {"name": "gp", "op": "global_pool", "inputs": ["input"]},
              {"name": "cat", "op": "concat", "inputs": ["c1", "gp"]}]
    arrays = {"c1.weight": pm1(rng, (4, 128))}
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "cat"), arrays)
    assert (error.value.layer, error.value.field) == ("cat", "inputs")


@pytest.mark.parametrize("dot", ["xnor", "and"])
@pytest.mark.parametrize("op", ["sign", "pa_bases"])
def test_sign_and_pa_bases_directly_on_popcounts_see_the_dot_value(dot, op):
    rng = np.random.default_rng(8)
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "binary",
               "out_channels": 4, "kernel": 3, "dot": dot, "clip": 30}]
    if dot == "and":
        del layers[0]["clip"]
    weight = pm1(rng, (4, 8, 3, 3)) if dot == "xnor" else rng.integers(0, 2, (4, 8, 3, 3))
    arrays = {"c.weight": weight}
    layers.append({"name": "b", "op": op, "inputs": ["c"]})
    bases = 1
    if op == "pa_bases":
        arrays["b.endpoints"] = np.array([-20.0, -3.5, 0.0, 11.0, 40.0])
        bases = 5
    layers.append({"name": "gp", "op": "global_pool", "inputs": ["b"]})
    model, compiled, _ = _agree(tiny_graph(layers, "gp"), arrays, _bits(rng, (8, 4, 4), 64))
    x = _bits(rng, (8, 4, 4), 64)
    assert np.array_equal(compiled.run(x, keep=True)["b"], run_float(model, x)["b"])
    assert model.types["b"].channels == 4 * bases


@pytest.mark.parametrize("output", ["gp", "perm"])
def test_network_without_a_matrix_layer_plans_and_builds(output):
    rng = np.random.default_rng(9)
    layers = [{"name": "pool", "op": "maxpool", "inputs": ["input"], "kernel": 2},
              {"name": "gp", "op": "global_pool", "inputs": ["pool"]}]
    if output == "perm":
        layers.append({"name": "perm", "op": "shuffle", "inputs": ["gp"], "groups": 2})
    _, compiled, plan = _agree(tiny_graph(layers, output), {}, _bits(rng, (8, 4, 4)))
    assert plan.layers == ()
    assert plan.cycles_per_inference == 16     # the input's pixels, one per cycle
    assert plan.to_dict()["cycles_per_inference"] == 16


def _panet_output(rng, phi):
    layers = [{"name": "bases", "op": "pa_bases", "inputs": ["input"]},
              {"name": "pc", "op": "panet_conv2d", "inputs": ["bases"], "out_channels": 5,
               "kernel": 4}]
    arrays = {"bases.endpoints": np.array([2.0, 6.0, 11.0]),
              "pc.weight_bases": rng.integers(0, 2, (2, 5, 2, 4, 4)).astype(np.uint8),
              "pc.phi": phi}
    return tiny_graph(layers, "pc", shape=(2, 4, 4), input_type="uint8",
                      value_range=(0, 16)), arrays


def test_panet_output_logits_are_in_model_units_through_output_scale():
    rng = np.random.default_rng(10)
    phi = rng.integers(-(1 << 10), 1 << 10, (2, 3)) / 2.0 ** 8     # exactly representable
    graph, arrays = _panet_output(rng, phi)
    x = rng.integers(0, 17, (64, 2, 4, 4))
    model, compiled, _ = _agree(graph, arrays, x, scale=True)
    assert compiled.output_scale == 2.0 ** -compiled.output_frac_bits < 1
    raw = compiled.run(x)
    assert np.array_equal(raw * compiled.output_scale, run_float(model, x)["pc"])
    # the class is the same in either unit
    assert np.array_equal(compiled.classify(x),
                          np.argmax(run_float(model, x)["pc"].reshape(len(x), -1), axis=1))


def test_output_scale_is_one_for_integer_logits():
    rng = np.random.default_rng(11)
    layers = [{"name": "d", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 3}]
    model = Model.from_dict(tiny_graph(layers, "d"), {"d.weight": pm1(rng, (3, 128))})
    compiled = lower(model)
    assert compiled.output_scale == 1.0 and compiled.output_frac_bits == 0


@pytest.mark.parametrize("phi", [-1e300, 1e20, 40000.0])
def test_phi_beyond_16_bits_is_a_model_error_naming_phi(phi):
    rng = np.random.default_rng(12)
    graph, arrays = _panet_output(rng, np.full((2, 3), 0.5))
    arrays["pc.phi"][1, 2] = phi
    with pytest.raises(ModelError) as error:
        lower(Model.from_dict(graph, arrays))
    assert (error.value.layer, error.value.field) == ("pc", "phi")


def test_fixed_point_never_wraps_large_values():
    from bnnhw.compiler import ConversionError, fixed_point
    with pytest.raises(ConversionError, match="^values:"):
        fixed_point(np.array([1.0, -2.0 ** 64]))
    raw, frac_bits, error = fixed_point(np.array([0.5, -3.25]))
    assert raw.tolist() == [4096, -26624] and frac_bits == 13 and error == 0
