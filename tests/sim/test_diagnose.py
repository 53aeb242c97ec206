"""Mismatch diagnosis: a fault injected into one layer's ROM words is found in that layer."""

from dataclasses import replace

import numpy as np
import pytest

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.hw.engines import PixelFormat
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model
from bnnhw.sim.diagnose import expected_pixels, first_difference

from ..model.samples import every_op_model


@pytest.fixture(scope="module")
def tiny():
    compiled = lower(Model.from_dict(*every_op_model(1, exact=True)))
    plan = plan_folding(compiled, target_cycles=1000)
    image = np.random.default_rng(5).integers(0, 17, (1, 8, 8))
    return compiled, hardware_plan(compiled, plan), image


def _flip_first_bit(hardware, layer):
    """``hardware`` with bit 0 of the first weight word of ``layer``'s PE 0 flipped."""
    def faulty(engine):
        if layer not in engine.layers or not engine.weights:
            return engine
        first = engine.weights[0]
        return replace(engine, weights=((first[0] ^ 1, *first[1:]), *engine.weights[1:]))

    return replace(hardware, engines=tuple(faulty(e) for e in hardware.engines))


def test_expected_pixels_packs_channels_and_twos_complement():
    value = np.array([[[1, -2]], [[-1, 3]]])            # (C=2, H=1, W=2)
    fmt = PixelFormat(2, __import__("amaranth").hdl.signed(3))
    assert expected_pixels(value, fmt) == [1 | (7 << 3), 6 | (3 << 3)]
    with pytest.raises(ValueError, match="3 channels"):
        expected_pixels(np.zeros((3, 1, 1)), fmt)


def test_fault_free_network_has_no_difference(tiny):
    compiled, hardware, image = tiny
    network = StreamingNetwork(hardware)
    assert first_difference(network, compiled, image) is None


@pytest.mark.parametrize("layer", ["stem", "fc"])
def test_weight_fault_is_located_in_its_layer(tiny, layer):
    compiled, hardware, image = tiny
    network = StreamingNetwork(_flip_first_bit(hardware, layer))
    found = first_difference(network, compiled, image)
    assert found is not None and found["layer"] == layer
    assert found["expected"] != found["got"]
    assert 0 <= found["channel"] < network.format_of(layer).elements
    # the reported bit is where the two element values first differ
    assert (found["expected"] ^ found["got"]) >> found["bit"] & 1
