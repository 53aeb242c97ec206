"""Evaluate one design point: build, simulate a subset, synthesize.

:func:`evaluate_point` is what a Dask task runs (and the serial sweep calls): a plain function of
JSON-serializable arguments returning a JSON-serializable row, so any worker on any machine with
bnnhw installed and the design folder readable can run it. The build goes to a temporary folder
that is removed afterwards; the client caches the row (:mod:`.cache`).

A row holds only what the point determines (no times, no host names): the same key gives the
same row on every machine and in every order.
"""

import tempfile
from pathlib import Path

__all__ = ["evaluate_point", "ROW_FIELDS"]

#: The fields of a result row, in the order of the CSV's columns.
ROW_FIELDS = ("key", "design", "target", "cycles_target", "weights", "cycles_per_inference",
              "resources", "lut4", "ff", "bram", "dsp", "fits", "device", "fmax_mhz",
              "inferences_per_second", "inferences_per_mcycle", "mops_per_lut4", "images",
              "rtl_equals_golden", "accuracy", "energy_images", "energy_pj", "binary_ops",
              "error")


def _row(report, design, point, settings, key):
    target = point["target"]
    cycles = report["cycles_per_inference"]
    binary_ops = 2 * int(report["cost"]["macs"]["binary"])
    row = {"key": key, "design": design, "target": target, "cycles_target": point["cycles"],
           "weights": point["weights"], "cycles_per_inference": cycles,
           "inferences_per_mcycle": round(1e6 / cycles, 3), "binary_ops": binary_ops,
           "images": settings["images"], "energy_images": settings["energy"], "error": None}
    if settings["synth"]:
        from ..synth.parse import lut4_equivalent
        synth = report["synthesis"]["targets"][target]
        lut4 = lut4_equivalent(target, synth)
        fmax = synth.get("fmax_mhz")
        row.update(resources="synthesis", lut4=lut4, ff=synth["ffs"], bram=synth["bram"],
                   dsp=synth["dsp"], fits=bool(synth.get("fits")), device=synth.get("device"),
                   fmax_mhz=fmax)
    else:
        predicted = report["predicted_resources"][target]
        lut4 = predicted["luts"]
        fmax = None
        row.update(resources="resource model", lut4=lut4, ff=predicted["ffs"],
                   bram=predicted["bram"], dsp=predicted["dsp"], fits=None, device=None,
                   fmax_mhz=None)
    ips = None if fmax is None else round(fmax * 1e6 / cycles, 1)
    row["inferences_per_second"] = ips
    row["mops_per_lut4"] = None if ips is None or not lut4 else \
        round(ips * binary_ops / 1e6 / lut4, 3)
    sim = report.get("simulation")
    row["rtl_equals_golden"] = None if sim is None else bool(sim["rtl_equals_golden"])
    row["accuracy"] = None if sim is None else sim.get("rtl_accuracy")
    energy = report.get("energy")
    row["energy_pj"] = None if energy is None else round(energy["total"]["toggle_proxy_pj"], 3)
    return {field: row.get(field) for field in ROW_FIELDS}


def evaluate_point(design, point, settings, key):
    """Evaluate ``point`` (``{"target", "cycles", "weights"}``) of ``design`` (a design folder
    or name) under ``settings`` (``{"images", "synth", "energy"}``) and return its row, whose
    ``key`` is ``key``.

    A point the build refuses (a cycle target the design cannot meet, a folding that does not
    fit any device of the target) is a row with ``error`` set, cached like any other: it is the
    point's result."""
    from ..build import BuildError, run_build
    name = Path(str(design)).name
    with tempfile.TemporaryDirectory(prefix="bnnhw-explore-") as work:
        try:
            result = run_build(str(design), out=Path(work) / "build",
                               target_cycles=int(point["cycles"]), weights=point["weights"],
                               sim=settings["images"] > 0,
                               images=settings["images"] or None,
                               synth=(point["target"],) if settings["synth"] else (),
                               energy=settings["energy"] or None, log=lambda line: None)
            row = _row(result.report, name, point, settings, key)
        except BuildError as error:
            row = {field: None for field in ROW_FIELDS}
            row.update(key=key, design=name, target=point["target"],
                       cycles_target=point["cycles"], weights=point["weights"],
                       error=str(error).splitlines()[0])
    return row
