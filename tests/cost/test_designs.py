"""Every committed design has a cost report consistent with what its build writes."""

import pytest

from bnnhw.compiler import memory_images, plan_folding
from bnnhw.cost import cost_of, cost_of_compiled

from .conftest import DESIGNS, ROOT


@pytest.mark.parametrize("design", DESIGNS)
def test_design_costs_are_positive(design):
    report = cost_of(design)
    assert report.source.startswith("design")
    assert report.ace > 0 and report.cpu64 > 0 and report.bops > 0
    assert sum(report.macs.values()) > 0 and report.macs["binary"] == report.bops
    assert report.flops == 0                     # the designs are integer-only
    assert report.param_bits > 0 and report.fmap_bits > report.input_bits > 0
    assert report.ace == sum(layer.ace for layer in report.layers)


@pytest.mark.parametrize("design", DESIGNS)
def test_parameter_bits_are_the_rom_bits_of_the_build(design, designs_compiled):
    """Parameter bits = memory_map.json total (+ PA-Net phi, held outside the ROMs)."""
    compiled = designs_compiled[design]
    _, memory_map = memory_images(compiled, plan_folding(compiled))
    phi = sum(16 * layer.params["phi"].size for layer in compiled.layers
              if layer.op == "panet_conv2d")
    assert cost_of_compiled(compiled).param_bits == memory_map["total_bits"] + phi


def test_design_name_folder_and_model_file_agree():
    by_name = cost_of("xnornet").to_dict()
    by_folder = cost_of(str(ROOT / "designs" / "xnornet")).to_dict()
    by_file = cost_of(str(ROOT / "designs" / "xnornet" / "model.npz")).to_dict()
    for other in (by_folder, by_file):
        assert {k: v for k, v in other.items() if k != "source"} == \
            {k: v for k, v in by_name.items() if k != "source"}
