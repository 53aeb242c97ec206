"""Zero-padded binary convolutions (``pad_value: 0``) through model, float reference, compiler
and hardware plan: the compiled network equals the float64 model (a border of real zeros) on
every consumer of the dot value, and the plan carries what the hardware needs."""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.model import Model, ModelError
from bnnhw.model.reference import run_float

from ..model.samples import _bn, pm1, tiny_graph
from .generator import elaborate_network


def _conv(name, source, out_channels, **attrs):
    return {"name": name, "op": "conv2d", "inputs": [source], "precision": "binary",
            "out_channels": out_channels, "kernel": 3, "padding": 1, "pad_value": 0, **attrs}


def _agree(graph, arrays, x, target=None):
    model = Model.from_dict(graph, arrays)
    compiled = lower(model)
    reference = run_float(model, x)
    got = {**compiled.run(x, keep=True), compiled.output: compiled.logits(x)}
    for name in reference:        # every layer the compiler keeps by name (PA-Net: 2^-F units)
        if name in got and name != "input":
            assert np.array_equal(np.asarray(got[name], np.float64),
                                  np.asarray(reference[name], np.float64)), name
    plan = plan_folding(compiled, target_cycles=target) if target else plan_folding(compiled)
    elaborate_network(compiled, plan)
    return model, compiled, plan


def _border_ties(rng, arrays, prefix, channels, n):
    """A batch norm with ties on dot values of both parities (odd v exist only with zero
    padding) and a negative-gamma channel."""
    _bn(rng, prefix, channels, arrays, fan_in=n)
    arrays[f"{prefix}.mean"][1:3] = [n - 7, -3]          # odd and even ties
    arrays[f"{prefix}.beta"][1:3] = 0.0
    arrays[f"{prefix}.gamma"][3] = -abs(arrays[f"{prefix}.gamma"][3]) - 0.1


@pytest.mark.parametrize("target", [None, 400])
def test_batchnorm_sign_maxpool_dense(target):
    rng = np.random.default_rng(0)
    n = 4 * 9
    layers = [_conv("c1", "input", 6),
              {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
              {"name": "s1", "op": "sign", "inputs": ["bn1"]},
              {"name": "p1", "op": "maxpool", "inputs": ["s1"], "kernel": 2},
              {"name": "d", "op": "dense", "inputs": ["p1"], "precision": "binary",
               "out_features": 5}]
    arrays = {"c1.weight": pm1(rng, (6, 4, 3, 3)), "d.weight": pm1(rng, (5, 6 * 3 * 3))}
    _border_ties(rng, arrays, "bn1", 6, n)
    x = rng.integers(0, 2, (64, 4, 6, 6))
    model, compiled, plan = _agree(tiny_graph(layers, "d", shape=(4, 6, 6)), arrays, x, target)
    assert model.types["c1"].hi == 2 * n
    value = compiled.values["c1"]
    assert (value.fan_in, value.dot, value.hi) == (2 * n, golden.ZERO_PADDED_XNOR, 2 * n)
    hw = hardware_plan(compiled, plan)
    engine = hw.engine("s1")
    assert engine.geometry.zero_pad and engine.geometry.pad_bit == 0
    assert engine.thresholds.fan_in == 2 * n and engine.thresholds.width == (2 * n).bit_length()
    # the border matters: the same weights with ±1 padding give other bits
    assert any(not np.array_equal(compiled.run(x, keep=True)["s1"], lower(Model.from_dict(
        tiny_graph([{**layers[0], "pad_value": pad}] + layers[1:], "d", shape=(4, 6, 6)),
        arrays)).run(x, keep=True)["s1"]) for pad in (1, -1))


def test_dot_threshold_multi_slice_and_popcount_domain_is_a_model_error():
    rng = np.random.default_rng(1)
    layers = [_conv("c1", "input", 4, stride=2, padding=[2, 1], kernel=[3, 2], groups=2),
              {"name": "t", "op": "threshold", "inputs": ["c1"], "domain": "dot"},
              {"name": "d", "op": "dense", "inputs": ["t"], "precision": "binary",
               "out_features": 3}]
    n = 2 * 3 * 2
    threshold = rng.integers(-n - 1, n + 2, (2, 4))
    threshold[0, :2] = [n, -n]
    x = rng.integers(0, 2, (64, 4, 5, 5))
    features = 2 * 4 * 4 * 3     # k * C, H_out = (5 + 4 - 3) // 2 + 1, W_out = 5 // 2 + 1
    arrays = {"c1.weight": pm1(rng, (4, 2, 3, 2)), "t.threshold": threshold,
              "t.invert": rng.integers(0, 2, (2, 4)), "d.weight": pm1(rng, (3, features))}
    _agree(tiny_graph(layers, "d", shape=(4, 5, 5)), arrays, x)
    layers[1] = {**layers[1], "domain": "popcount"}
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "d", shape=(4, 5, 5)), arrays)
    assert (error.value.layer, error.value.field) == ("t", "domain")
    assert "zero-padded" in str(error.value)


def test_clip_quantized_bn_into_int8_dense():
    rng = np.random.default_rng(2)
    layers = [_conv("c1", "input", 4, clip=5),
              {"name": "q", "op": "quantized_bn", "inputs": ["c1"], "frac_bits": 2},
              {"name": "d", "op": "dense", "inputs": ["q"], "precision": "int8",
               "out_features": 3}]
    arrays = {"c1.weight": pm1(rng, (4, 2, 3, 3)),
              "q.scale": rng.integers(-40, 40, 4), "q.bias": rng.integers(-9, 9, 4),
              "d.weight": rng.integers(-5, 5, (3, 4 * 4 * 4))}
    x = rng.integers(0, 2, (64, 2, 4, 4))
    _, compiled, _ = _agree(tiny_graph(layers, "d", shape=(2, 4, 4)), arrays, x)
    clip = compiled.layer["c1.clip"]
    assert clip.params["dot"] == golden.ZERO_PADDED_XNOR and clip.params["fan_in"] == 36
    v = golden.zero_padded_dot(compiled.run(x, keep=True)["c1"], 18)
    assert np.array_equal(compiled.run(x, keep=True)["c1.clip"], np.clip(v, -5, 5))


def test_pa_bases_on_batchnorm_of_zero_padded_counts():
    rng = np.random.default_rng(3)
    layers = [_conv("c1", "input", 3),
              {"name": "bn", "op": "batchnorm", "inputs": ["c1"], "eps": 0.0},
              {"name": "pb", "op": "pa_bases", "inputs": ["bn"]},
              {"name": "pc", "op": "panet_conv2d", "inputs": ["pb"], "out_channels": 2,
               "kernel": 4}]
    arrays = {"c1.weight": pm1(rng, (3, 2, 3, 3)),
              "bn.gamma": np.array([1.0, 0.5, 2.0]), "bn.beta": np.array([0.5, -1.0, 0.0]),
              "bn.mean": np.array([1.0, -3.0, 2.0]), "bn.var": np.array([1.0, 4.0, 1.0]),
              "pb.endpoints": np.array([-5.0, -1.0, 0.5, 3.0]),
              "pc.weight_bases": rng.integers(0, 2, (2, 2, 3, 4, 4)),
              "pc.phi": np.array([[1.0, 0.5, -0.25, 2.0], [0.75, -1.0, 1.5, 0.125]])}
    x = rng.integers(0, 2, (64, 2, 4, 4))
    _agree(tiny_graph(layers, "pc", shape=(2, 4, 4)), arrays, x)


def test_and_zero_padding_is_pad_bit_zero():
    rng = np.random.default_rng(4)
    layers = [_conv("c1", "input", 4, dot="and"),
              {"name": "t", "op": "threshold", "inputs": ["c1"]},
              {"name": "d", "op": "dense", "inputs": ["t"], "precision": "binary",
               "out_features": 3}]
    arrays = {"c1.weight": rng.integers(0, 2, (4, 2, 3, 3)),
              "t.threshold": rng.integers(0, 19, 4), "d.weight": pm1(rng, (3, 64))}
    x = rng.integers(0, 2, (64, 2, 4, 4))
    model, compiled, plan = _agree(tiny_graph(layers, "d", shape=(2, 4, 4)), arrays, x)
    minus = lower(Model.from_dict(tiny_graph([{**layers[0], "pad_value": -1}] + layers[1:], "d",
                                             shape=(2, 4, 4)), arrays))
    assert np.array_equal(compiled.run(x), minus.run(x))
    geometry = hardware_plan(compiled, plan).engine("t").geometry
    assert (geometry.pad_bit, geometry.zero_pad) == (0, False)
