"""Energy proxy of a streaming network: toggles, on-chip memory traffic and operation counts.

Per inference and per engine, in pJ (docs/energy.md: the model, its constants and their
sources). A **proxy** computed from counts with 45 nm constants, not a measurement::

    from bnnhw.energy import energy_report, measure_toggles

    toggles = measure_toggles(network, images, work_dir="sim-energy", compiled=compiled)
    report = energy_report(network, compiled, toggles,
                           transistors=None)          # or bnnhw.synth's cmos per_block
    report["total"]["toggle_proxy_pj"], report["total"]["op_count_estimate_pj"]

- :func:`measure_toggles` runs the network under Verilator with toggle coverage and returns
  signal-bit toggles per inference per block (:mod:`.measure`);
- :func:`toggle_points`, :func:`parse_coverage` / :func:`toggles_by_block` read Verilator's
  ``coverage.dat``
  (:mod:`.coverage`);
- :func:`memory_traffic` counts memory bits read and written per inference from the network's
  hardware plan (:mod:`.traffic`);
- :func:`energy_report` combines them (:mod:`.model`); :func:`design_energy` does all of it
  for a design on held-out digits. Command line: ``python -m bnnhw.energy boolnet xnornet``.
"""

from .coverage import (CoverageError, ToggleCounts, TogglePoint, parse_coverage, toggle_points,
                       toggles_by_block)
from .measure import design_energy, load_design, measure_toggles
from .model import ADDER_CALIBRATION, HOROWITZ_45NM_FJ, EnergyConstants, energy_report
from .traffic import MEMORY_KINDS, memory_traffic

__all__ = ["CoverageError", "ToggleCounts", "TogglePoint", "parse_coverage", "toggle_points",
           "toggles_by_block",
           "design_energy", "load_design", "measure_toggles", "ADDER_CALIBRATION",
           "HOROWITZ_45NM_FJ", "EnergyConstants", "energy_report", "MEMORY_KINDS",
           "memory_traffic"]
