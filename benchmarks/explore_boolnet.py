"""boolnet's design space on ECP5 with ``python -m bnnhw.explore``, on 1 and on 2 Dask workers.

Issue #20. The same sweep twice, each with an empty cache of its own (so both compute every
point): once on a local Dask cluster of one worker, once on two. Each point is a real build,
simulation on the first ``--images`` held-out digits (RTL against golden) and Yosys + nextpnr on
ECP5. The two runs must give byte-identical ``results.json``; the wall times go into
``benchmarks/results/explore/README.md`` beside the sweep's table, and the 2-worker run's
``results.json``, ``results.csv`` and Pareto PNG are committed.

Run (bnnhw's venv; about an hour on 2 cores)::

    .venv/bin/python benchmarks/explore_boolnet.py [--work /tmp/explore_boolnet]
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
IMAGES = 32


def run(workers, work):
    from bnnhw.explore import explore
    out, cache = work / f"out_{workers}", work / f"cache_{workers}"
    for folder in (out, cache):
        shutil.rmtree(folder, ignore_errors=True)
    started = time.monotonic()
    result = explore("boolnet", targets=["ecp5"], points=POINTS, workers=workers,
                     images=IMAGES, out=out, cache=cache,
                     log=lambda line: print(f"[{workers}w] {line}", flush=True))
    return result, time.monotonic() - started, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/explore_boolnet")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    times, results = {}, {}
    for workers in (2, 1):
        result, seconds, out = run(workers, work)
        times[workers], results[workers] = seconds, (result, out)
    (result2, out2), (_, out1) = results[2], results[1]
    identical = (out1 / "results.json").read_bytes() == (out2 / "results.json").read_bytes()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("results.json", "results.csv", "pareto_area_speed.png"):
        shutil.copyfile(out2 / name, OUT / name)
    timing = {"points": len(result2["rows"]), "seconds_1_worker": round(times[1], 1),
              "seconds_2_workers": round(times[2], 1),
              "speedup": round(times[1] / times[2], 2), "rows_identical": identical,
              "images_per_point": IMAGES, "date": time.strftime("%Y-%m-%d")}
    (OUT / "timing.json").write_text(json.dumps(timing, indent=1, sort_keys=True) + "\n")
    _write_readme(result2["rows"], result2["pareto"], timing)
    print(json.dumps(timing, indent=1))
    return 0 if identical else 1


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
        f"**Wall time, {timing['points']} points, each run with an empty cache:** 1 worker "
        f"{timing['seconds_1_worker']:,.0f} s, 2 workers {timing['seconds_2_workers']:,.0f} s "
        f"({timing['speedup']}x) on the 2-core machine; rows identical: "
        f"{'yes' if timing['rows_identical'] else 'NO'} ({timing['date']}).",
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
    (OUT / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
