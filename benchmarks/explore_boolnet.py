"""boolnet's design space on ECP5 with ``python -m bnnhw.explore``, on 1 and on 2 Dask workers.

Issue #20. The full sweep (12 points) runs twice, each time with an empty cache of its own: on a
local Dask cluster of two workers and on one of one worker. Each point is a real build,
simulation on the first ``--images`` held-out digits (RTL against golden) and Yosys + nextpnr on
ECP5. Both runs must give the same rows; the 1-worker run's ``results.json``, ``results.csv`` and
Pareto PNG are committed. A subset (the four slowest foldings, the cheapest to place) is then
timed again on 1 and 2 workers back to back (a same-run ratio on a shared machine). Wall times
go into ``benchmarks/results/explore/README.md`` and ``timing.json``.

Run (bnnhw's venv; about 1 h 40 min on 2 cores)::

    .venv/bin/python benchmarks/explore_boolnet.py [--work /tmp/explore_boolnet]
        [--full-from-2 DIR] [--full-from-1 DIR]   # earlier full runs' output folders
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "explore"
#: 12 points: the cycle targets from 256 (full rate, 4 per input pixel) doubling to fully folded,
#: weights auto; and ROM weights at 256 and 1024 (where auto may hard-wire layers).
POINTS = ("cycles=256,512,1024,2048,4096,8192,16384,32768,65536,147456;weights=auto"
          " | cycles=256,1024;weights=rom")
#: The back-to-back 1-vs-2-worker comparison: four points of the full sweep.
TIMING_POINTS = "cycles=16384,32768,65536,147456;weights=auto"
IMAGES = 32


def run(points, workers, out, cache):
    """``(explore result, wall seconds)`` of ``points`` on ``workers`` with an empty cache."""
    from bnnhw.explore import explore
    for folder in (out, cache):
        shutil.rmtree(folder, ignore_errors=True)
    started = time.monotonic()
    result = explore("boolnet", targets=["ecp5"], points=points, workers=workers,
                     images=IMAGES, out=out, cache=cache,
                     log=lambda line: print(f"[{out.name}] {line}", flush=True))
    return result, time.monotonic() - started


def _rows_without_keys(folder):
    rows = json.loads((folder / "results.json").read_text())["points"]
    return [{k: v for k, v in r.items() if k != "key"} for r in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/explore_boolnet")
    parser.add_argument("--full-from-2", help="an earlier 2-worker full run's output folder")
    parser.add_argument("--full-from-1", help="an earlier 1-worker full run's output folder")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    full = {}
    for workers, given in ((2, args.full_from_2), (1, args.full_from_1)):
        folder = Path(given) if given else work / f"full_{workers}"
        if not given:
            run(POINTS, workers, folder, work / f"cache_full_{workers}")
        report = json.loads((folder / "run.json").read_text())
        assert report["computed"] >= 12 and report["workers"] == workers, report
        full[workers] = (folder, report["seconds"])
    # keys include bnnhw's own files: equal when both runs had the same code
    same_rows = _rows_without_keys(full[1][0]) == _rows_without_keys(full[2][0])
    times = {}
    for workers in (1, 2):
        _, times[workers] = run(TIMING_POINTS, workers, work / f"timing_{workers}",
                                work / f"timing_cache_{workers}")
    identical = (work / "timing_1" / "results.json").read_bytes() == \
        (work / "timing_2" / "results.json").read_bytes()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("results.json", "results.csv", "pareto_area_speed.png"):
        shutil.copyfile(full[1][0] / name, OUT / name)
    document = json.loads((OUT / "results.json").read_text())
    timing = {"full_sweep": {"points": len(document["points"]),
                             "seconds_1_worker": full[1][1], "seconds_2_workers": full[2][1],
                             "speedup": round(full[1][1] / full[2][1], 2),
                             "rows_identical": same_rows},
              "comparison": {"points": TIMING_POINTS, "seconds_1_worker": round(times[1], 1),
                             "seconds_2_workers": round(times[2], 1),
                             "speedup": round(times[1] / times[2], 2),
                             "results_identical": identical},
              "images_per_point": IMAGES, "date": time.strftime("%Y-%m-%d")}
    (OUT / "timing.json").write_text(json.dumps(timing, indent=1, sort_keys=True) + "\n")
    _write_readme(document["points"], document["pareto"], timing)
    print(json.dumps(timing, indent=1))
    return 0 if identical and same_rows else 1


def _write_readme(rows, pareto, timing):
    front = set(pareto["area_speed"]["keys"])
    lines = [
        "# boolnet design space on ECP5 (`python -m bnnhw.explore`)",
        "",
        "Issue #20; written by `benchmarks/explore_boolnet.py`. Each point: `python -m "
        "bnnhw.build boolnet --target-cycles C --weights W --sim --images "
        f"{timing['images_per_point']} --synth ecp5` (RTL against golden on the first held-out "
        "digits, Yosys + nextpnr-ecp5, the smallest ECP5 it fits). `*`: on the LUT4 vs "
        "inferences/s Pareto front (`pareto_area_speed.png`).",
        "",
        f"**Wall time** ({timing['date']}, the 2-core machine, each run with an empty cache): "
        f"the {timing['full_sweep']['points']} points on 1 worker "
        f"{timing['full_sweep']['seconds_1_worker']:,.0f} s, on 2 workers "
        f"{timing['full_sweep']['seconds_2_workers']:,.0f} s "
        f"({timing['full_sweep']['speedup']}x; separate runs); rows identical: "
        f"{'yes' if timing['full_sweep']['rows_identical'] else 'NO'}. Back to back on "
        f"`--points \"{timing['comparison']['points']}\"`: 1 worker "
        f"{timing['comparison']['seconds_1_worker']:,.0f} s, 2 workers "
        f"{timing['comparison']['seconds_2_workers']:,.0f} s "
        f"({timing['comparison']['speedup']}x); results.json byte-identical: "
        f"{'yes' if timing['comparison']['results_identical'] else 'NO'}.",
        "",
        "| front | target cycles | weights | cycles | LUT4 | FF | BRAM | DSP | Fmax MHz | "
        "inferences/s | Mops/LUT4 | device | RTL = golden | accuracy |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- "
        "| ---: |",
    ]

    def fmt(value, spec=","):
        return "-" if value is None else format(value, spec)

    for r in sorted(rows, key=lambda r: (r["weights"], r["cycles_target"])):
        if r["error"]:
            lines.append(f"| | {r['cycles_target']} | {r['weights']} | error: {r['error']} "
                         "| | | | | | | | | | |")
            continue
        lines.append(
            f"| {'*' if r['key'] in front else ''} | {r['cycles_target']:,} | {r['weights']} | "
            f"{r['cycles_per_inference']:,} | {fmt(r['lut4'])} | {fmt(r['ff'])} | "
            f"{fmt(r['bram'])} | {fmt(r['dsp'])} | {fmt(r['fmax_mhz'])} | "
            f"{fmt(r['inferences_per_second'], ',.0f')} | {fmt(r['mops_per_lut4'])} | "
            f"{r['device'] or '-'} | {'yes' if r['rtl_equals_golden'] else 'NO'} | "
            f"{fmt(r['accuracy'], '.3f')} |")
    lines += ["", "Files: `results.json` / `results.csv` (every row, the fronts' keys), "
              "`pareto_area_speed.png`, `timing.json`.", ""]
    lines += _energy_section()
    (OUT / "README.md").write_text("\n".join(lines))


#: The sweep with the energy proxy, committed in ``energy/`` (run by hand: the command below).
ENERGY_COMMAND = ('python -m bnnhw.explore boolnet --targets ecp5 --points '
                  '"cycles=4096,16384,65536,147456" --energy 8 --images 32 '
                  '--out benchmarks/results/explore/energy')


def _energy_section():
    folder = OUT / "energy"
    if not (folder / "results.json").exists():
        return []
    rows = json.loads((folder / "results.json").read_text())["points"]
    seconds = json.loads((folder / "run.json").read_text())["seconds"]
    lines = ["## With the energy proxy (`energy/`)", "",
             f"`{ENERGY_COMMAND}` (2 workers, {seconds:,.0f} s): the toggle energy proxy on the "
             "first 8 digits (`docs/energy.md`), so `energy/pareto_energy_accuracy.png` has its "
             "axes. Every folding computes the same integers (RTL = golden), so accuracy is the "
             "same at every point and the front is the folding of least energy per inference.",
             "", "| target cycles | cycles | LUT4 | accuracy | energy proxy pJ / inference |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['cycles_target']:,} | {r['cycles_per_inference']:,} | "
                     f"{r['lut4']:,} | {r['accuracy']:.3f} | {r['energy_pj']:,.0f} |")
    return lines + [""]


if __name__ == "__main__":
    sys.exit(main())
