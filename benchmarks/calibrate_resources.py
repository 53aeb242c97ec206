"""Calibrate the planner's resource model (``bnnhw.compiler.resources``) on Yosys' counts.

Run by hand, in two steps::

    python benchmarks/calibrate_resources.py collect [--designs ...] [--cycles ...]
                                                     [--weights auto rom] [--targets ecp5 ice40]
    python benchmarks/calibrate_resources.py fit

``collect`` builds each point (``python -m bnnhw.build DESIGN --target-cycles C --weights W``,
no simulation), synthesizes it with Yosys only (no place and route: the counts the reports
give as LUT4/FF come from Yosys' ``stat``) with every engine kept as its own module, and merges
the per-engine counts into ``benchmarks/results/resource_calibration.json`` (key: design, cycle
target, weights, target; the latest run wins). A point whose folding the planner refuses is
skipped with its reason.

LUT4 are every LUT4 a point occupies (ECP5: cells plus two per CCU2C carry cell). ``fit`` first
adds the placed sweep points of ``throughput.json`` (their per-engine Yosys counts) to the data,
then recomputes every point's engine features from its build plan (so the data outlives a
change of features), fits the coefficients of each target and resource by non-negative least
squares, writes them to ``bnnhw/compiler/resource_coefficients.json`` (package data the planner
reads) and the fit's error to ``benchmarks/results/resource_calibration.md``: per point, the
predicted and synthesized totals, in-sample and leave-one-design-out (the model fitted without
any point of that design).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bnnhw.synth.parse import lut4_equivalent

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DATA = RESULTS / "resource_calibration.json"
REPORT = RESULTS / "resource_calibration.md"
COEFFICIENTS = ROOT / "bnnhw" / "compiler" / "resource_coefficients.json"
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")
CYCLES = {"boolnet": (64, 128, 256, 1024, 4096, 16384),
          "xnornet": (64, 128, 256, 1024, 4096, 16384),
          "panet": (64, 128, 256, 1024, 4096, 16384),
          "pokebnn": (144, 288, 576, 1152, 4608, 18432)}
KEY = ("design", "cycle_target", "weights", "target")
THROUGHPUT = RESULTS / "throughput.json"
#: How a row's LUT4 were counted (``bnnhw.synth.parse.lut4_equivalent``: ECP5 LUT4 cells plus
#: two per CCU2C carry cell).
LUT4_RULE = "lut4_equivalent"


def _counts(target, res):
    """The model's resources of one Yosys count: LUT4 with carry halves, FF, BRAM, DSP."""
    return {"luts": lut4_equivalent(target, res), "ffs": res["ffs"], "bram": res["bram"],
            "dsp": res["dsp"]}


def _with_sweep_points(rows):
    """``rows`` plus the placed sweep points of ``throughput.json`` that carry per-engine Yosys
    counts (the same data; a sweep point replaces a collected one of the same key), minus ECP5
    rows counted before LUT4 included carry cells (iCE40's count did not change)."""
    sweep = json.loads(THROUGHPUT.read_text()) if THROUGHPUT.exists() else []
    points = [{"design": r["design"], "cycle_target": r["cycle_target"], "weights": r["weights"],
               "target": r["target"], "commit": None, "lut4_rule": LUT4_RULE,
               "source": "throughput.json",
               "total": {"luts": r["lut4"], "ffs": r["ff"], "bram": r["bram"], "dsp": r["dsp"]},
               "per_block": r["per_block"], "folding": r["folding"], "yosys": ""}
              for r in sweep if r.get("impl") == "ours" and r.get("per_block")]
    keys = {tuple(p[k] for k in KEY) for p in points}
    kept, stale = [], 0
    for row in rows:
        if tuple(row[k] for k in KEY) in keys:
            continue
        if row.get("lut4_rule") != LUT4_RULE:
            if row["target"] == "ecp5":
                stale += 1
                continue
            row = {**row, "lut4_rule": LUT4_RULE}
        kept.append(row)
    if stale:
        print(f"dropped {stale} ECP5 points counted without carry cells; `collect --missing` "
              "measures them again", file=sys.stderr)
    return kept + points


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _load():
    return json.loads(DATA.read_text()) if DATA.exists() else []


def _save(rows):
    rows = sorted(rows, key=lambda r: tuple(str(r[k]).zfill(8) for k in KEY))
    DATA.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")


def collect(args):
    from bnnhw.build import BuildError, run_build
    from bnnhw.synth import SynthError, synthesize

    commit = _commit()
    with tempfile.TemporaryDirectory() as work:
        for design in args.designs:
            for cycles in args.cycles or CYCLES[design]:
                for weights in args.weights:
                    have = {tuple(r[k] for k in KEY) for r in _load()
                            if r.get("lut4_rule") == LUT4_RULE or r["target"] != "ecp5"}
                    if args.missing and all((design, cycles, weights, t) in have
                                            for t in args.targets):
                        continue
                    out = Path(work) / f"{design}-{cycles}-{weights}"
                    try:
                        built = run_build(design, out=out, target_cycles=cycles, weights=weights,
                                  log=lambda message: None)
                    except BuildError as error:
                        print(f"{design}@{cycles} {weights}: skipped: {error}", flush=True)
                        continue
                    for target in args.targets:
                        started = time.monotonic()
                        try:
                            result = synthesize(out, [target], log=None, place=False,
                                                work_dir=Path(work) / f"synth-{target}")
                        except SynthError as error:
                            print(f"{design}@{cycles} {weights} {target}: Yosys failed: "
                                  f"{str(error).splitlines()[0]}", flush=True)
                            continue
                        res = result["targets"][target]
                        row = {"design": design, "cycle_target": cycles, "weights": weights,
                               "target": target, "commit": commit, "lut4_rule": LUT4_RULE,
                               "total": _counts(target, res),
                               "per_block": {name: _counts(target, b)
                                             for name, b in res["per_block"].items()},
                               "folding": built.report["folding"],
                               "yosys": res["tools"]["yosys"],
                               "seconds": round(time.monotonic() - started, 1)}
                        rows = [r for r in _load() if tuple(r[k] for k in KEY)
                                != tuple(row[k] for k in KEY)] + [row]
                        _save(rows)
                        print(f"{design}@{cycles} {weights} {target}: {row['total']} "
                              f"({row['seconds']} s)", flush=True)
    return 0


def fit(args):
    from bnnhw.compiler import resources

    rows = _with_sweep_points(_load())
    _save(rows)
    if not rows:
        print(f"no calibration data in {DATA}; run `collect` first", file=sys.stderr)
        return 1
    from bnnhw.design import Design

    compiled = {}

    def compiled_of(design):
        if design not in compiled:
            compiled[design] = Design.find(design).compiled
        return compiled[design]

    samples = resources.calibration_samples(rows, compiled_of)
    model = resources.fit_model(samples)
    COEFFICIENTS.write_text(json.dumps(model.to_dict(), indent=1, sort_keys=True) + "\n")
    REPORT.write_text(resources.calibration_report(samples, model, data=DATA.name))
    print(REPORT.read_text())
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="build and synthesize (Yosys only) the points")
    c.add_argument("--designs", nargs="+", default=list(DESIGNS))
    c.add_argument("--cycles", nargs="+", type=int)
    c.add_argument("--weights", nargs="+", default=["auto"], choices=("rom", "logic", "auto"))
    c.add_argument("--targets", nargs="+", default=["ecp5", "ice40"], choices=("ecp5", "ice40"))
    c.add_argument("--missing", action="store_true",
                   help="only points not in the data yet")
    sub.add_parser("fit", help="fit the coefficients and write the error report")
    args = parser.parse_args(argv)
    return collect(args) if args.command == "collect" else fit(args)


if __name__ == "__main__":
    sys.exit(main())
