"""Operating points of each design, smallest to fastest: resources, Fmax, measured throughput.

Run by hand (minutes per point: Verilator, then Yosys and nextpnr per target)::

    python benchmarks/throughput.py [--designs boolnet ...] [--cycles 64 256 4096]
                                    [--targets ecp5 ice40] [--weights auto] [--images N]

Each point is ``python -m bnnhw.build DESIGN --target-cycles C --weights W --sim --synth
TARGETS``: the RTL is simulated against golden (on the held-out digits, all 360 unless
``--images``) and the point is kept only if every output is bit-exact; cycles per inference
are the simulation's *measured* steady-state figure, Fmax nextpnr's after routing, so
``inferences_per_second = fmax * 1e6 / measured cycles``. Binary operations per inference
follow FINN's convention, two per MAC (binary and int8 MACs of ``python -m bnnhw.cost``);
``mops_per_lut4 = ops * inferences_per_second / 1e6 / lut4``. A point that does not fit the
target's largest device is recorded with ``fits: false`` and its LUT4 count.

LUT4 counts every LUT4 a design occupies: on ECP5 the LUT4 cells plus two per CCU2C carry
cell (``bnnhw.synth.parse.lut4_equivalent``). ``--recount`` brings rows recorded before that
rule up to date (Yosys only, same folding). ``--repredict`` runs no tool: it recomputes every row's predicted resources from its recorded
folding with the current resource model (after ``calibrate_resources.py fit``).

Rows are merged into ``benchmarks/results/throughput.json`` (key: design, target, cycle target,
weights; the latest run wins) after every point, so an interrupted sweep keeps what it measured;
``throughput.md`` is the table.
"""

import argparse
import fcntl
import json
import sys
import tempfile
import time
from pathlib import Path

from bnnhw.build import BuildError, run_build
from bnnhw.synth.parse import lut4_equivalent

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
JSON = RESULTS / "throughput.json"
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")
#: Cycle targets per design, fastest first: the fastest each design's layers allow, down to
#: fully folded (147,456 cycles: PE = SIMD = 1 everywhere).
CYCLES = {"boolnet": (64, 256, 1024, 4096, 147456), "xnornet": (64, 256, 1024, 4096, 147456),
          "panet": (64, 256, 1024, 4096, 147456), "pokebnn": (144, 576, 1152, 4608, 147456)}
KEY = ("design", "target", "cycle_target", "weights")
#: What a row keeps of each layer's folding: enough for ``restore_folding`` to rebuild the plan.
FOLDING_KEYS = ("layer", "pe", "simd", "weights", "pooled")


def _rows_of(design, cycles, targets, weights, images, root):
    """One row per synthesis target for ``design`` folded to ``cycles``."""
    out = root / f"{design}-{cycles}-{weights}"
    started = time.monotonic()
    result = run_build(design, out=out, target_cycles=cycles, weights=weights, sim=True,
                       images=images, synth=list(targets),
                       log=lambda message: print(f"  {design}@{cycles}: {message}", flush=True))
    report = result.report
    sim = report["simulation"]
    macs = report["cost"]["macs"]
    ops = 2 * sum(macs.values())
    layers = report["folding"]
    modes = sorted({f["weights"] for f in layers if f["op"].startswith("binary")})
    rows = []
    for target in targets:
        synth = report["synthesis"]["targets"][target]
        measured = sim["measured_cycles_per_inference"]
        fmax = synth.get("fmax_mhz")
        ips = fmax * 1e6 / measured if fmax and measured else None
        lut4 = lut4_equivalent(target, synth)
        predicted = (report.get("predicted_resources") or {}).get(target)
        rows.append({
            "design": design, "target": target, "impl": "ours", "cycle_target": cycles,
            "weights": weights, "binary_layer_weights": "+".join(modes) or "none",
            "cycles_per_inference": measured,
            "cycles_predicted": report["cycles_per_inference"],
            "bit_exact": bool(sim["rtl_equals_golden"]), "images": sim["images"],
            "fits": bool(synth["fits"]), "device": synth.get("device"),
            "fmax_mhz": fmax, "inferences_per_second": round(ips) if ips else None,
            "lut4": lut4, "lut4_cells": synth["luts"], "carry": synth["carry"],
            "ff": synth["ffs"], "bram": synth["bram"], "dsp": synth["dsp"],
            **_prediction_fields(predicted, lut4),
            "ops_per_inference": ops,
            "mops_per_lut4": round(ops * ips / 1e6 / lut4, 2) if ips and lut4 else None,
            "folding": [{k: f[k] for k in FOLDING_KEYS} for f in layers],
            "per_block": _blocks(target, synth["per_block"]),
            "seconds": round(time.monotonic() - started, 1),
            "date": time.strftime("%Y-%m-%d"),
        })
    return rows


def _blocks(target, per_block):
    """Per-engine Yosys counts in the resource model's terms (LUT4 with carry halves)."""
    return {name: {"luts": lut4_equivalent(target, b), "ffs": b["ffs"], "bram": b["bram"],
                   "dsp": b["dsp"]} for name, b in per_block.items()}


def recount(root):
    """Rows recorded before LUT4 counted carry cells: the same folding synthesized again with
    Yosys only (deterministic: the same LUT4 cells, now with the carry count and per-engine
    counts); LUT4, M ops/s per LUT4 and predictions are recomputed."""
    from bnnhw.synth import synthesize
    rows = json.loads(JSON.read_text())
    for row in rows:
        if row.get("impl") != "ours" or "carry" in row:
            continue
        name = f"{row['design']}@{row['cycle_target']} {row['target']}"
        out = root / f"{row['design']}-{row['cycle_target']}-{row['target']}"
        built = run_build(row["design"], out=out, target_cycles=row["cycle_target"],
                          weights=row["weights"], log=lambda message: None)
        folding = [{k: f[k] for k in FOLDING_KEYS} for f in built.report["folding"]]
        if folding != row["folding"]:
            print(f"{name}: the planner now chooses another folding; run the point again",
                  file=sys.stderr)
            continue
        synth = synthesize(out, [row["target"]], log=None, place=False,
                           work_dir=root / f"synth-{out.name}")["targets"][row["target"]]
        if synth["luts"] != row["lut4"]:
            print(f"{name}: Yosys now gives {synth['luts']} LUT4 cells, not the recorded "
                  f"{row['lut4']}; run the point again", file=sys.stderr)
            continue
        lut4 = lut4_equivalent(row["target"], synth)
        ips = row["inferences_per_second"]
        row.update(lut4=lut4, lut4_cells=synth["luts"], carry=synth["carry"],
                   per_block=_blocks(row["target"], synth["per_block"]),
                   mops_per_lut4=round(row["ops_per_inference"] * ips / 1e6 / lut4, 2)
                   if ips else None)
        _merge([row])
        print(f"{name}: {lut4} LUT4 ({synth['luts']} cells, {synth['carry']} carry)",
              flush=True)


def _merge(rows):
    with open(RESULTS / ".throughput.lock", "w") as lock:   # sweeps may run side by side
        fcntl.flock(lock, fcntl.LOCK_EX)
        _merge_locked(rows)


def _merge_locked(rows):
    old = json.loads(JSON.read_text()) if JSON.exists() else []
    keys = {tuple(r[k] for k in KEY) for r in rows}
    merged = [r for r in old if tuple(r[k] for k in KEY) not in keys] + rows
    merged.sort(key=lambda r: (DESIGNS.index(r["design"]) if r["design"] in DESIGNS else 99,
                               r["target"], r.get("impl", ""), r["cycle_target"]))
    JSON.write_text(json.dumps(merged, indent=1) + "\n")
    _write_markdown(merged)


def _prediction_fields(predicted, lut4):
    """The row fields of the resource model's ``predicted`` totals against ``lut4``."""
    return {
        "lut4_predicted": predicted["luts"] if predicted else None,
        "ff_predicted": predicted["ffs"] if predicted else None,
        "bram_predicted": predicted["bram"] if predicted else None,
        "dsp_predicted": predicted["dsp"] if predicted else None,
        "lut4_prediction_error": round(predicted["luts"] / lut4 - 1, 4)
        if predicted and lut4 else None,
    }


def repredict():
    """Every row with a recorded folding gets the current model's predictions."""
    from bnnhw.compiler import hardware_plan
    from bnnhw.compiler.folding import restore_folding
    from bnnhw.compiler.resources import predict_plan
    from bnnhw.design import Design
    with open(RESULTS / ".throughput.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = json.loads(JSON.read_text())
        compiled = {}
        for row in rows:
            if row.get("impl") != "ours" or not row.get("folding"):
                continue
            if row["design"] not in compiled:
                compiled[row["design"]] = Design.find(row["design"]).compiled
            plan = hardware_plan(compiled[row["design"]],
                                 restore_folding(compiled[row["design"]], row["folding"]))
            row.update(_prediction_fields(predict_plan(plan, row["target"])["total"],
                                          row["lut4"]))
        _merge_locked(rows)


def _split(row):
    """``cells + 2 x carry`` of an ECP5 row (iCE40: its SB_LUT4 cells)."""
    if "carry" not in row:
        return "not recounted"
    if row["target"] != "ecp5":
        return f"{row['lut4_cells']:,}"
    return f"{row['lut4_cells']:,} + 2 x {row['carry']:,}"


def _predicted(row):
    """The planner's LUT4 prediction and its error against the synthesized count."""
    if row.get("lut4_predicted") is None:
        return "-"
    return f"{row['lut4_predicted']:,} ({row['lut4_prediction_error']:+.1%})"


def _write_markdown(rows):
    lines = ["# Throughput per LUT: operating points (`python benchmarks/throughput.py`)", "",
             "Measured cycles per inference (Verilator, bit-exact to golden), nextpnr Fmax after "
             "routing; ops = 2 per MAC (binary and int8), FINN's convention. LUT4: every LUT4 "
             "the design occupies after Yosys, on ECP5 the LUT4 cells plus two per CCU2C carry "
             "cell (`bnnhw.synth.parse.lut4_equivalent`). LUT4 predicted: the planner's "
             "resource model (`bnnhw.compiler.resources`), error against that count.", "",
             "| design | target | cycle target | weights | cycles measured | Fmax MHz | inf/s | "
             "LUT4 | (cells + 2 x CCU2C) | LUT4 predicted | FF | BRAM | DSP | M ops/s per LUT4 | "
             "bit-exact | fits |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
             " ---: | ---: | --- | --- |"]
    for r in rows:
        if r.get("impl") != "ours":
            continue
        ips = f"{r['inferences_per_second']:,}" if r["inferences_per_second"] else "-"
        lines.append(f"| {r['design']} | {r['target']} | {r['cycle_target']} | "
                     f"{r['binary_layer_weights']} | {r['cycles_per_inference']} | "
                     f"{r['fmax_mhz'] or '-'} | {ips} | {r['lut4']:,} | {_split(r)} | "
                     f"{_predicted(r)} | "
                     f"{r['ff']:,} | "
                     f"{r['bram']} | {r['dsp']} | {r['mops_per_lut4'] or '-'} | "
                     f"{'yes' if r['bit_exact'] else 'NO'} | "
                     f"{r['device'] if r['fits'] else 'no'} |")
    errors = [abs(r["lut4_prediction_error"]) for r in rows
              if r.get("impl") == "ours" and r.get("lut4_prediction_error") is not None]
    if errors:
        within = sum(e <= 0.15 for e in errors)
        mean = 100 * sum(errors) / len(errors)
        lines += ["", f"LUT4 predicted vs synthesized: mean |error| {mean:.1f} % over "
                      f"{len(errors)} points, max {100 * max(errors):.1f} %; {within} of "
                      f"{len(errors)} within 15 %."]
    (RESULTS / "throughput.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS))
    parser.add_argument("--cycles", nargs="+", type=int,
                        help="cycle targets (default: the design's list in CYCLES)")
    parser.add_argument("--targets", nargs="+", default=["ecp5"], choices=("ecp5", "ice40"))
    parser.add_argument("--weights", default="auto", choices=("rom", "logic", "auto"))
    parser.add_argument("--images", type=int, help="simulated digits (default all 360)")
    parser.add_argument("--repredict", action="store_true",
                        help="only recompute the predictions of the recorded rows")
    parser.add_argument("--recount", action="store_true",
                        help="re-synthesize (Yosys only) rows recorded without carry cells")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    if args.repredict:
        repredict()
        return 0
    if args.recount:
        with tempfile.TemporaryDirectory() as work:
            recount(Path(work))
        return 0
    with tempfile.TemporaryDirectory() as work:
        for design in args.designs:
            for cycles in args.cycles or CYCLES[design]:
                try:
                    rows = _rows_of(design, cycles, args.targets, args.weights, args.images,
                                    Path(work))
                except BuildError as error:
                    print(f"{design}@{cycles}: {error}", file=sys.stderr)
                    continue
                _merge(rows)
                for row in rows:
                    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
