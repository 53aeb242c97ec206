"""Toggle activity per block from a Verilator toggle-coverage simulation, and whole designs.

:func:`measure_toggles` simulates a network twice on the same Verilator build with toggle
coverage (``bnnhw.sim.network.simulate_network(..., coverage=True)``): once on the first
``warmup`` images, once on all of them. Coverage counts the whole simulation, reset and pipeline
fill included; the difference of the two runs is the toggles of images ``warmup .. N-1`` flowing
back to back through a busy pipeline, which divided by their number gives toggles per inference
without any start-up or drain cost.

:func:`design_energy` does everything for a design under ``designs/``: compile, fold, build
the network (one :class:`bnnhw.design.Design`), measure on held-out digits and return
:func:`~.model.energy_report`.
"""

import time
from pathlib import Path

import numpy as np

from ..sim.network import StallPattern, check_results, simulate_network
from .coverage import parse_coverage, toggles_by_block
from .model import energy_report

__all__ = ["measure_toggles", "design_energy", "load_design"]


def measure_toggles(network, images, *, work_dir, compiled=None, warmup=1, cxx_opt="-O0",
                    log=None):
    """Signal-bit toggles per inference per block of ``network`` on ``images``.

    Parameters
    ----------
    network : StreamingNetwork
    images : (N, C, H, W) int array
        ``N > warmup``; the toggles are averaged over images ``warmup .. N-1``.
    work_dir : path
        The runs' files (``coverage.dat`` of the last run); the coverage model is compiled once
        per network into the user's model cache (``bnnhw.sim.model_cache``).
    compiled : CompiledNetwork, optional
        If given, the outputs of the full run are compared with golden
        (``rtl_equals_golden``).
    warmup : int
        Images in the reference run (default 1).
    cxx_opt : str
        C++ optimisation of the model: ``-O0`` compiles fastest; a short coverage run does not
        need a fast simulator.
    log : callable, optional

    Returns
    -------
    dict
        ``blocks`` (block -> ``{"toggles", "bits", "memory_toggles", "memory_bits"}``, toggles
        per inference; blocks are the network's submodules, every engine included: a wiring
        engine without signals of its own has zeros), ``network_toggles`` (their sum),
        ``images`` (images averaged over), ``warmup_images``, ``method``,
        ``cycles_per_inference`` (measured), ``rtl_equals_golden`` (``None`` without
        ``compiled``), ``seconds`` (wall time of build and both runs).
    """
    images = np.asarray(images)
    count = len(images)
    if not 1 <= warmup < count:
        raise ValueError(f"images: need more than warmup={warmup} images, got {count}")
    work_dir = Path(work_dir)
    started = time.perf_counter()
    coverage = []
    results = []
    for n in (warmup, count):
        if log:
            log(f"toggle coverage run on {n} image(s)")
        result, = simulate_network(network, images, work_dir=work_dir, runs=(StallPattern(),),
                                   counts=[n], cxx_opt=cxx_opt, coverage=True)
        results.append(result)
        coverage.append(toggles_by_block(parse_coverage(result.coverage)))
    short, full = coverage
    measured = count - warmup
    blocks = {}
    for block, counts in full.items():
        base = short.get(block)
        per_image = counts.minus(base) if base is not None else counts
        blocks[block] = per_image.scaled(1 / measured).to_dict()
    for name, _ in network.engines:
        # wiring engines (permutations, slices) have no signals of their own: their wires are
        # their producer's, counted there
        blocks.setdefault(name.replace(".", "_"), {"toggles": 0.0, "bits": 0,
                                                   "memory_toggles": 0.0, "memory_bits": 0})
    equal = None
    if compiled is not None:
        golden_logits = compiled.run(images).reshape(count, -1)
        golden_labels = compiled.classify(images)
        equal = not check_results(results[1], golden_logits, golden_labels)
    return {
        "blocks": blocks,
        "network_toggles": sum(b["toggles"] for b in blocks.values()),
        "images": measured,
        "warmup_images": warmup,
        "method": f"Verilator --coverage-toggle: (toggles of a {count}-image run - toggles of "
                  f"a {warmup}-image run) / {measured}",
        "cycles_per_inference": results[1].cycles_per_inference,
        "rtl_equals_golden": equal,
        "seconds": time.perf_counter() - started,
    }


def load_design(design, *, target_cycles=None):
    """``(network, compiled, plan, memory_map)`` of a design (a name, a folder or a
    :class:`bnnhw.design.Design`), built as ``bnnhw.build`` does."""
    design = _as_design(design, target_cycles)
    return design.network, design.compiled, design.plan, design.images.memory_map


def _as_design(design, target_cycles=None):
    from ..design import Design
    if isinstance(design, Design):
        return design
    return Design.find(design, target_cycles=target_cycles)


def design_energy(design, *, images=20, work_dir, transistors=None, log=None, cxx_opt="-O0"):
    """Energy report of a design on ``images`` inputs (plus one warm-up) of the source a
    ``--sim`` build would use: the held-out digits where the model takes them, else seeded
    random inputs of its declared type and range (:func:`bnnhw.sim.inputs.choose_inputs`).

    ``design`` is a name, a folder or a :class:`bnnhw.design.Design`; ``work_dir`` holds the
    Verilator build (reused by a rerun). Returns
    :func:`~.model.energy_report` with ``design`` and ``held_out_images`` added.
    """
    from ..sim.inputs import choose_inputs

    loaded = _as_design(design)
    network, compiled = loaded.network, loaded.compiled
    source = choose_inputs(loaded.model, energy=images + 1)
    if not 1 <= images < len(source.inputs):
        raise ValueError(f"images: expected 1 .. {len(source.inputs) - 1}, got {images}")
    toggles = measure_toggles(network, source.inputs[:images + 1], work_dir=work_dir,
                              compiled=compiled, cxx_opt=cxx_opt, log=log)
    report = energy_report(network, compiled, toggles, transistors)
    report["design"] = design if isinstance(design, str) else str(loaded.folder)
    report["held_out_images"] = (f"1 .. {images} of the {source.description} (input 0 is the "
                                 "warm-up)")
    report["cycles_per_inference"] = network.plan.cycles_per_inference
    return report
