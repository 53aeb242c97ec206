"""Every build folder's plots (bnnhw.build.plots): each PNG opens, has the size its content asks
for and is not blank; which plots a build has follows its options."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from bnnhw.build import run_build
from bnnhw.build.plots import build_plots

from .model.samples import every_op_model, write_design


def _quiet(message):
    pass


def _check_png(data, width, min_height):
    """Opens as a PNG of ``width`` pixels and at least ``min_height``, with drawn content: many
    colours and most of the area not the background."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size[0] == width and image.size[1] >= min_height, image.size
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20
    assert (pixels < 250).any(axis=2).mean() > 0.02     # not a white page


def test_a_simulated_build_has_cycles_and_confusion_plots(tmp_path):
    design = write_design(tmp_path, "every_op", every_op_model(1, exact=True), 1000)
    out = tmp_path / "out"
    result = run_build(str(design), out=out, sim=True, images=12, log=_quiet)
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["confusion.png", "cycles.png"]
    layers = len(result.report["folding"])
    _check_png((out / "plots" / "cycles.png").read_bytes(), 800, int(100 * (1.6 + 0.32 * layers)))
    _check_png((out / "plots" / "confusion.png").read_bytes(), 600, 540)
    assert "- `plots/cycles.png`" in (out / "report.md").read_text()
    run_build(str(design), out=out, log=_quiet)            # without --sim: cycles only
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["cycles.png"]


def test_synthesis_and_energy_plots_from_a_report():
    """resources.png (per engine and target, LUT4 with carry halves) and energy.png (per engine,
    stacked parts) from the report sections ``--synth`` and ``--energy`` write."""
    blocks = {f"engine{k}": {"luts": 100 * k, "carry": 10 * k, "ffs": 50 * k} for k in range(1, 6)}
    report = {
        "design": "demo", "cycles_per_inference": 400,
        "folding": [{"layer": f"l{k}", "cycles": 100 * k} for k in range(1, 5)],
        "synthesis": {"targets": {"ecp5": {"per_block": blocks}, "ice40": {"per_block": blocks},
                                  "cmos": {"transistors": 10}}},
        "energy": {"engines": {f"engine{k}": {"logic_toggle_pj": 1.0 * k, "memory_pj": 2.0,
                                              "arithmetic_ops_pj": 0.5} for k in range(1, 6)}},
    }
    plots = build_plots(report)
    assert sorted(plots) == ["plots/cycles.png", "plots/energy.png", "plots/resources.png"]
    _check_png(plots["plots/resources.png"], 900, 640)
    _check_png(plots["plots/energy.png"], 900, 380)
    _check_png(plots["plots/cycles.png"], 800, 288)
    # deterministic: the same report gives the same bytes (no timestamp, no version)
    assert build_plots(json.loads(json.dumps(report))) == plots


def test_plots_hold_no_metadata_that_varies():
    plots = build_plots({"design": "d", "cycles_per_inference": 10,
                         "folding": [{"layer": "a", "cycles": 10}]})
    with Image.open(io.BytesIO(plots["plots/cycles.png"])) as image:
        assert not any(key in image.info for key in ("Software", "Creation Time", "date"))
