"""Every folding the planner picks (or accepts as an override) is one the hardware generator
can build: elaborating ``StreamingNetwork`` never raises on a plan."""

import numpy as np
import pytest

from bnnhw.compiler import FoldingError, lower, plan_folding
from bnnhw.model import Model

from ..model.samples import pm1, tiny_graph
from .generator import elaborate_network


def _build(compiled, plan):
    return elaborate_network(compiled, plan)


def _dense_on_map(channels, size, precision):
    rng = np.random.default_rng(channels * 100 + size)
    fan_in = channels * size * size
    layers = [{"name": "d", "op": "dense", "inputs": ["input"], "precision": precision,
               "out_features": 10}]
    weight = pm1(rng, (10, fan_in)) if precision == "binary" \
        else rng.integers(-128, 128, (10, fan_in))
    graph = tiny_graph(layers, "d", shape=(channels, size, size),
                       input_type="bits" if precision == "binary" else "int8")
    return lower(Model.from_dict(graph, {"d.weight": weight}))


def test_dense_on_a_multi_pixel_map_gets_a_simd_that_divides_its_channels():
    """The issue's case: 16 x 6 x 6 into a dense layer at 400 cycles."""
    compiled = _dense_on_map(16, 6, "binary")
    plan = plan_folding(compiled, target_cycles=400)
    folding = plan.by_layer["d"]
    assert 16 % folding.simd == 0 and folding.cycles <= 400
    _build(compiled, plan)


@pytest.mark.parametrize("precision", ["binary", "int8"])
@pytest.mark.parametrize("channels, size", [(16, 6), (6, 3), (12, 2), (5, 4), (3, 1), (24, 1)])
def test_every_planned_dense_folding_is_buildable(precision, channels, size):
    compiled = _dense_on_map(channels, size, precision)
    fan_in = channels * size * size
    for target in sorted({1, 2, 3, 7, 10, 40, 100, 400, 10 * fan_in}):
        try:
            plan = plan_folding(compiled, target_cycles=target)
        except FoldingError as error:
            assert (error.layer, error.field) == ("d", "target_cycles")
            continue
        _build(compiled, plan)
    for lanes in (1, 3, 17, 64):
        _build(compiled, plan_folding(compiled, max_lanes=lanes))


def _conv_net(rng, in_channels, groups, out_channels, kernel, size, precision, padding):
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": precision,
               "out_channels": out_channels, "kernel": kernel, "padding": padding,
               "groups": groups}]
    shape = (out_channels, in_channels // groups, kernel, kernel)
    if precision == "binary":
        if padding:
            layers[0]["pad_value"] = -1
        arrays = {"c.weight": pm1(rng, shape)}
        layers.append({"name": "s", "op": "sign", "inputs": ["c"]})
    else:
        arrays = {"c.weight": rng.integers(-128, 128, shape)}
        layers.append({"name": "s", "op": "requantize", "inputs": ["c"]})
        arrays["s.scale"] = np.full(out_channels, 1 / 64)
        layers.append({"name": "b", "op": "sign", "inputs": ["s"]})
    last = layers[-1]["name"]
    layers.append({"name": "gp", "op": "global_pool", "inputs": [last]})
    graph = tiny_graph(layers, "gp", shape=(in_channels, size, size),
                       input_type="bits" if precision == "binary" else "int8")
    return lower(Model.from_dict(graph, arrays))


@pytest.mark.parametrize("precision, in_channels, groups, out_channels, kernel, size, padding", [
    ("binary", 6, 1, 4, 3, 5, 1), ("binary", 6, 2, 4, 3, 4, 0), ("binary", 4, 4, 4, 3, 4, 1),
    ("binary", 6, 3, 6, 1, 3, 0), ("binary", 8, 2, 6, 2, 4, 0),
    ("int8", 6, 1, 4, 3, 4, 1), ("int8", 4, 4, 4, 3, 4, 1), ("int8", 3, 1, 6, 1, 3, 0),
])
def test_every_planned_conv_folding_is_buildable(precision, in_channels, groups, out_channels,
                                                 kernel, size, padding):
    rng = np.random.default_rng(in_channels + 10 * groups)
    compiled = _conv_net(rng, in_channels, groups, out_channels, kernel, size, precision,
                         padding)
    (folding,) = plan_folding(compiled).layers
    built = 0
    for option in folding.options():
        plan = plan_folding(compiled, overrides={"c": (option.pe, option.simd)})
        _build(compiled, plan)
        built += 1
    assert built >= 1
    for target in (1, 5, 20, 80, 1000):
        try:
            _build(compiled, plan_folding(compiled, target_cycles=target))
        except FoldingError as error:
            assert error.field == "target_cycles"


def test_grouped_int8_convolution_that_is_not_depthwise_is_a_folding_error():
    rng = np.random.default_rng(3)
    compiled = _conv_net(rng, 4, 2, 4, 3, 4, "int8", 1)
    with pytest.raises(FoldingError) as error:
        plan_folding(compiled)
    assert (error.value.layer, error.value.field) == ("c", "groups")


@pytest.mark.parametrize("override, field", [
    ((3, 1), "pe"), ((1, 5), "simd"), ((1, 18), "simd"), ((0, 1), "pe"), (("2", 1), "pe"),
    ((1, 1.5), "simd"), ((1, 2, 3), "folding"),
])
def test_override_the_generator_cannot_build_is_a_folding_error(override, field):
    compiled = _dense_on_map(16, 6, "binary")       # fan-in 576, 16 channels per pixel
    with pytest.raises(FoldingError) as error:
        plan_folding(compiled, overrides={"d": override})
    assert (error.value.layer, error.value.field) == ("d", field)


@pytest.mark.parametrize("target", [None, 40, 64, 100, 300, 1000, 5000])
def test_every_planned_folding_of_the_every_op_model_is_buildable(target):
    """PA-Net, pooled dense, grouped and depthwise engines, multi-slice thresholds."""
    from ..model.samples import every_op_model
    compiled = lower(Model.from_dict(*every_op_model(2)))
    try:
        plan = plan_folding(compiled, target_cycles=target) if target \
            else plan_folding(compiled)
    except FoldingError as error:
        assert error.field == "target_cycles"
        return
    _build(compiled, plan)


@pytest.mark.parametrize("pooled", [False, True])
def test_every_panet_and_pooled_dense_folding_option_is_buildable(pooled):
    """All (PE, SIMD) the planner offers for a PA-Net convolution and a pooled int8 dense."""
    rng = np.random.default_rng(4)
    layers = [{"name": "pb", "op": "pa_bases", "inputs": ["input"]},
              {"name": "pc", "op": "panet_conv2d", "inputs": ["pb"], "out_channels": 6,
               "kernel": 2, "padding": 1},
              {"name": "bn", "op": "batchnorm", "inputs": ["pc"], "eps": 1e-5},
              {"name": "s", "op": "sign", "inputs": ["bn"]},
              {"name": "gp", "op": "global_pool", "inputs": ["s"]}]
    arrays = {"pb.endpoints": np.array([1.0, 5.0]),
              "pc.weight_bases": rng.integers(0, 2, (2, 6, 4, 2, 2)).astype(np.uint8),
              "pc.phi": rng.integers(-64, 64, (2, 2)) / 16.0,
              "bn.gamma": rng.normal(size=6), "bn.beta": rng.normal(size=6),
              "bn.mean": rng.normal(size=6), "bn.var": rng.random(6) + 0.5}
    output = "gp"
    if pooled:
        layers.append({"name": "fc", "op": "dense", "inputs": ["gp"], "precision": "int8",
                       "out_features": 4})
        arrays["fc.weight"] = rng.integers(-128, 128, (4, 6))
        output = "fc"
    graph = tiny_graph(layers, output, shape=(4, 3, 3), input_type="uint8",
                       value_range=(0, 8))
    compiled = lower(Model.from_dict(graph, arrays))
    plan = plan_folding(compiled)
    assert plan.by_layer["pc"].channels == 4
    if pooled:
        assert plan.by_layer["fc"].pooled
    for folding in plan.layers:
        for pe in folding.pe_options():
            for simd in folding.simd_options():
                elaborate_network(compiled, plan_folding(
                    compiled, overrides={folding.layer: (pe, simd)}))
