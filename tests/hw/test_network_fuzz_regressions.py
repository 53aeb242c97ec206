# amaranth: UnusedElaboratable=no
"""Network-generator bugs the model fuzzer (tests/fuzz) found, each as its smallest model.

Every model here is valid; each used to end in a raw traceback from ``StreamingNetwork``. Now
each builds, and one image per case runs in the Amaranth simulator equal to golden.
"""

import numpy as np

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.hw.engines import PixelFormat
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model
from bnnhw.sim.diagnose import first_difference


def _graph(input_spec, layers, output):
    return {"format": "bnnhw-model", "version": 1, "name": "regression", "input": input_spec,
            "layers": layers, "output": output}


def _build_and_compare(model, images):
    compiled = lower(model)
    plan = plan_folding(compiled)
    network = StreamingNetwork(hardware_plan(compiled, plan))
    for image in images:
        assert first_difference(network, compiled, image) is None
    return network


def test_panet_conv_reading_a_channel_engine_builds():
    """A ``panet_conv2d`` reading a threshold's output: the producer asks whether its reader
    takes pixels at once, which read the PA-Net layer's kernel from a ``weight`` it does not
    have (``KeyError: 'weight'``); the kernel is in ``weight_bases``."""
    rng = np.random.default_rng(0)
    layers = [
        {"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 2, "kernel": 1},
        {"name": "t", "op": "threshold", "inputs": ["c"]},
        {"name": "p", "op": "panet_conv2d", "inputs": ["t"], "out_channels": 3, "kernel": 2},
    ]
    arrays = {"c.weight": rng.choice([-1, 1], (2, 2, 1, 1)).astype(np.int8),
              "t.threshold": np.array([1, 2]),
              "p.weight_bases": rng.integers(0, 2, (2, 3, 2, 2, 2)).astype(np.uint8),
              "p.phi": np.array([[1.0], [-0.5]])}
    model = Model.from_dict(_graph({"shape": [2, 2, 2], "type": "bits"}, layers, "p"), arrays)
    images = rng.integers(0, 2, (3, 2, 2, 2))
    _build_and_compare(model, images)


def test_constant_value_gets_a_one_bit_element():
    """An int8 layer with all-zero weights and no bias has the range [0, 0]: its stream element
    was ``unsigned(0)``, and the requantize engine's serializer refused ``width: 0``."""
    layers = [
        {"name": "fc", "op": "dense", "inputs": ["input"], "precision": "int8",
         "out_features": 3},
        {"name": "q", "op": "requantize", "inputs": ["fc"]},
    ]
    arrays = {"fc.weight": np.zeros((3, 4), np.int8), "q.scale": np.array([0.5, 1.0, 2.0])}
    model = Model.from_dict(_graph({"shape": [1, 2, 2], "type": "int8"}, layers, "q"), arrays)
    images = np.array([[[[-128, 127], [0, 5]]]])
    network = _build_and_compare(model, images)
    assert network.format_of("fc").width == 1
    assert PixelFormat.for_range(3, 0, 0).width == 1
    assert PixelFormat.for_range(3, -1, -1).width == 1
