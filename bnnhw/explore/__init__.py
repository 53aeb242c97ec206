"""Design-space exploration: foldings x weight modes x targets on Dask, Pareto fronts.

``python -m bnnhw.explore DESIGN`` (``docs/explore.md``) or :func:`explore`. Modules:
:mod:`.points` (the points and their content keys), :mod:`.evaluate` (one point: build,
simulation, synthesis), :mod:`.cache` (rows by key), :mod:`.sweep` (Dask or serial),
:mod:`.pareto` (fronts, PNGs).
"""

import csv
import io
import json
import tempfile
from pathlib import Path

from .cache import write_atomically
from .evaluate import ROW_FIELDS, evaluate_point
from .pareto import pareto_front, plot_fronts, speed_axis
from .points import ExploreError, Point, default_cycles, design_digest, parse_points, point_key
from .sweep import SweepResult, run_sweep

__all__ = ["explore", "ExploreError", "Point", "run_sweep", "SweepResult", "evaluate_point",
           "pareto_front", "parse_points", "point_key", "default_cache", "OUT_MARKER"]

#: File that marks a folder as an explore output (the only kind of non-empty folder ``--out``
#: writes into).
OUT_MARKER = ".bnnhw-explore"
#: Every file an explore output may hold besides the marker.
OUTPUT_FILES = ("results.json", "results.csv", "run.json", "pareto_area_speed.png",
                "pareto_energy_accuracy.png")


def default_cache():
    """The user's explore cache: ``bnnhw/explore`` in the bnnhw cache folder."""
    from ..sim.model_cache import cache_root
    return cache_root() / "explore"


def _check_out(out):
    if out.exists() and not out.is_dir():
        raise ExploreError(f"--out: {out} is a file")
    if out.is_dir() and any(out.iterdir()) and not (out / OUT_MARKER).exists():
        raise ExploreError(f"--out: {out} is a non-empty folder that is not an earlier "
                           f"explore output; nothing was written (give a new or empty folder)")


def _publish(out, files):
    """Write ``files`` (name -> bytes) into ``out``, each through a temporary file and a
    rename (no half-written file), and remove an earlier run's :data:`OUTPUT_FILES` that this
    run does not write (an energy plot of a sweep run with ``--energy``, say); nothing else in
    the folder is touched."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in {OUT_MARKER: b"bnnhw explore output\n", **files}.items():
        write_atomically(out / name, data)
    for name in OUTPUT_FILES:
        if name not in files:
            (out / name).unlink(missing_ok=True)


def _csv(rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(ROW_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in ROW_FIELDS})
    return text.getvalue().encode()


def explore(design, *, targets=("ecp5",), points="", scheduler=None, workers=2, serial=False,
            images=32, synth=True, energy=0, out=None, cache=None, log=print):
    """Run a sweep of ``design`` and write its results; returns ``{"out", "rows", "pareto",
    "sweep"}`` (``sweep`` the :class:`SweepResult`). See ``docs/explore.md``."""
    from ..compiler import plan_folding
    from ..design import Design, DesignError, find_design
    from ..errors import BnnhwError
    for name, value, low in (("--workers", workers, 1), ("--images", images, 0),
                             ("--energy", energy, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ExploreError(f"{name}: expected an integer of at least {low}, got {value!r}")
    if energy == 1:
        raise ExploreError("--energy: expected 0 (off) or at least 2 inputs, got 1")
    try:
        folder = find_design(str(design)).resolve()
        built = Design(folder)
        compiled = built.compiled
    except (DesignError, BnnhwError) as error:
        raise ExploreError(str(error)) from None
    pixels = int(compiled.input_shape[1]) * int(compiled.input_shape[2])
    fully_folded = plan_folding(compiled).cycles_per_inference
    chosen = parse_points(points, list(targets), default_cycles(pixels, fully_folded))
    out = Path(out) if out else Path("explore") / folder.name
    _check_out(out)
    cache = Path(cache) if cache else default_cache()
    settings = {"images": images, "synth": bool(synth), "energy": energy}
    digest = design_digest(folder)
    keyed = [(p, point_key(digest, p, settings)) for p in chosen]
    log(f"explore: {folder.name}: {len(keyed)} points ({', '.join(sorted(set(targets)))}; "
        f"{'synthesis' if synth else 'resource model'}, {images} inputs simulated each)")
    result = run_sweep(folder, keyed, settings, cache=cache, scheduler=scheduler,
                       workers=workers, serial=serial, log=log)
    rows = result.rows
    speed, _ = speed_axis(rows)
    fronts = {"area_speed": {"minimize": "lut4", "maximize": speed,
                             "keys": sorted(pareto_front(rows, "lut4", speed))},
              "energy_accuracy": {"minimize": "energy_pj", "maximize": "accuracy",
                                  "keys": sorted(pareto_front(rows, "energy_pj", "accuracy"))}}
    # results.json holds only what the points determine (byte-identical for any worker count
    # or order); run.json how this run went
    document = {"design": folder.name, "targets": sorted(set(targets)), "settings": settings,
                "points": rows, "pareto": fronts}
    run = {"seconds": round(result.seconds, 1), "workers": result.workers,
           "scheduler": scheduler, "serial": bool(serial), "dashboard": result.dashboard,
           "cached": len(result.cached), "computed": len(result.computed)}
    with tempfile.TemporaryDirectory() as work:
        plots = plot_fronts(rows, Path(work), folder.name)
        files = {name: (Path(work) / name).read_bytes() for name in plots}
    files["results.json"] = (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()
    files["results.csv"] = _csv(rows)
    files["run.json"] = (json.dumps(run, indent=1, sort_keys=True) + "\n").encode()
    _publish(out, files)
    failed = [r for r in rows if r.get("error")]
    if failed:
        log(f"explore: {len(failed)} points did not build: " + "; ".join(
            f"{r['target']} @ {r['cycles_target']} ({r['weights']}): {r['error']}"
            for r in failed[:3]))
    return {"out": out, "rows": rows, "pareto": fronts, "sweep": result, "run": run}
