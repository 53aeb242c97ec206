"""The one parameter-bit count: ROM image bits plus constants held in logic, by kind."""

import numpy as np
import pytest

from bnnhw.compiler import memory_images, plan_folding
from bnnhw.compiler.parameter_bits import KINDS, PHI_BITS, parameter_bits, \
    parameter_bits_by_layer
from bnnhw.cost import cost_of_compiled

from ..conftest import DESIGNS


@pytest.mark.parametrize("design", DESIGNS)
def test_total_is_the_memory_map_plus_phi(design, designs_compiled):
    compiled = designs_compiled[design]
    _, memory_map = memory_images(compiled, plan_folding(compiled))
    phi = sum(PHI_BITS * int(np.size(layer.params["phi"])) for layer in compiled.layers
              if layer.op == "panet_conv2d")
    counts = parameter_bits(compiled, memory_map)
    assert counts["total"] == memory_map["total_bits"] + phi
    assert counts["total"] == sum(counts[kind] for kind in KINDS)
    assert counts == parameter_bits(compiled)       # the default folding gives the same count


@pytest.mark.parametrize("design", DESIGNS)
def test_the_count_does_not_depend_on_the_folding(design, designs_compiled):
    compiled = designs_compiled[design]
    slow = plan_folding(compiled, target_cycles=8 * plan_folding(compiled).cycles_per_inference)
    _, memory_map = memory_images(compiled, slow)
    assert parameter_bits(compiled, memory_map) == parameter_bits(compiled)


@pytest.mark.parametrize("design", DESIGNS)
def test_cost_report_counts_the_same_bits(design, designs_compiled):
    compiled = designs_compiled[design]
    assert cost_of_compiled(compiled).param_bits == parameter_bits(compiled)["total"]


def test_kinds_follow_the_weights_and_fields(designs_compiled):
    compiled = designs_compiled["boolnet"]
    by_layer = parameter_bits_by_layer(compiled)
    for layer in compiled.layers:
        counts = by_layer.get(layer.name, {})
        if layer.op == "binary_conv2d":
            assert counts == {"binary_weights": int(np.size(layer.params["weight"]))}
        elif layer.op in ("int8_conv2d", "int8_dense"):
            assert counts["int8_weights"] == 8 * int(np.size(layer.params["weight"]))
            assert counts["biases"] == 32 * int(np.size(layer.params["bias"]))
