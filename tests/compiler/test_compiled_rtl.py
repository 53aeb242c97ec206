"""The generated hardware equals golden on the compiler corner cases of issue 14: a partial
slice from channel 0 into a binary convolution, a concatenation of XNOR (clipped) and AND
popcounts under one batch norm and multi-slice sign, a dot-domain threshold, a PA-Net output
layer, a network without a matrix layer."""

import numpy as np
import pytest

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model
from bnnhw.model.reference import run_float
from bnnhw.sim.diagnose import first_difference

from ..model.samples import pm1, tiny_graph


def _mixed_concat_model():
    rng = np.random.default_rng(7)
    layers = [
        {"name": "c1", "op": "dense", "inputs": ["input"], "precision": "binary",
         "out_features": 4, "clip": 20},
        {"name": "c2", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 3, "kernel": 4, "dot": "and"},
        {"name": "cat", "op": "concat", "inputs": ["c1", "c2"]},
        {"name": "bn", "op": "batchnorm", "inputs": ["cat"], "eps": 1e-5},
        {"name": "s", "op": "sign", "inputs": ["bn"], "biases": [-0.5, 0.5]},
        {"name": "part", "op": "slice", "inputs": ["s"], "start": 0, "stop": 9},
        {"name": "c3", "op": "conv2d", "inputs": ["part"], "precision": "binary",
         "out_channels": 4, "kernel": 1},
        {"name": "t2", "op": "threshold", "inputs": ["c3"], "domain": "dot"},
        {"name": "fc", "op": "dense", "inputs": ["t2"], "precision": "binary",
         "out_features": 5}]
    arrays = {"c1.weight": pm1(rng, (4, 128)), "c2.weight": rng.integers(0, 2, (3, 8, 4, 4)),
              "bn.gamma": rng.normal(size=7), "bn.beta": rng.normal(size=7),
              "bn.mean": rng.normal(size=7) * 6, "bn.var": rng.random(7) + 0.5,
              "c3.weight": pm1(rng, (4, 9, 1, 1)), "t2.threshold": rng.integers(-9, 10, 4),
              "fc.weight": pm1(rng, (5, 4))}
    return Model.from_dict(tiny_graph(layers, "fc"), arrays)


def _panet_output_model():
    rng = np.random.default_rng(8)
    layers = [{"name": "a", "op": "add", "inputs": ["input", "input"]},
              {"name": "pb", "op": "pa_bases", "inputs": ["a"]},
              {"name": "pc", "op": "panet_conv2d", "inputs": ["pb"], "out_channels": 5,
               "kernel": 4}]
    arrays = {"pb.endpoints": np.array([-50.5, 0.0, 60.0]),
              "pc.weight_bases": rng.integers(0, 2, (2, 5, 2, 4, 4)).astype(np.uint8),
              "pc.phi": rng.integers(-(1 << 9), 1 << 9, (2, 3)) / 2.0 ** 7}
    graph = tiny_graph(layers, "pc", shape=(2, 4, 4), input_type="int8",
                       value_range=(-127, 127))
    return Model.from_dict(graph, arrays)


def _no_matrix_model():
    layers = [{"name": "mp", "op": "maxpool", "inputs": ["input"], "kernel": 2},
              {"name": "gp", "op": "global_pool", "inputs": ["mp"]}]
    return Model.from_dict(tiny_graph(layers, "gp"), {})


def _network(model, target):
    compiled = lower(model)
    plan = plan_folding(compiled, target_cycles=target)
    return compiled, StreamingNetwork(hardware_plan(compiled, plan))


def _images(model, count, seed):
    lo, hi = model.input_range
    rng = np.random.default_rng(seed)
    images = rng.integers(lo, hi + 1, (count, *model.input_shape))
    images[0], images[1] = lo, hi
    return images


@pytest.mark.parametrize("make", [_mixed_concat_model, _panet_output_model, _no_matrix_model])
def test_compiler_corner_cases_equal_golden_in_amaranth_sim(make):
    model = make()
    compiled, network = _network(model, 64)
    images = _images(model, 3, 1)
    assert np.array_equal(compiled.logits(images), run_float(model, images)[model.output])
    for image in images:
        assert first_difference(network, compiled, image) is None


@pytest.mark.cocotb
def test_mixed_concat_and_partial_slice_network_equals_golden_verilator(tmp_path):
    """Under Verilator, full rate and random stalls on both sides: every label and logit."""
    from bnnhw.sim.network import StallPattern, check_results, simulate_network

    model = _mixed_concat_model()
    compiled, network = _network(model, 64)
    images = _images(model, 12, 2)
    results = simulate_network(network, images, work_dir=tmp_path / "sim",
                               runs=[StallPattern(), StallPattern(input=0.3, output=0.3,
                                                                  seed=7)])
    logits = compiled.run(images).reshape(len(images), -1)
    for result in results:
        assert not result.timed_out and len(result.labels) == len(images)
        assert check_results(result, logits, compiled.classify(images)) == []
