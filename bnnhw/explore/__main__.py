"""``python -m bnnhw.explore DESIGN``: sweep foldings x weight modes x targets on Dask.

See ``docs/explore.md``. Exit status 0 when every point ran (a point the build refuses is a row
with its error), 1 on a bad option (one line on stderr).
"""

import argparse
import sys

from . import ExploreError, explore

DESCRIPTION = ("Sweep a design's foldings x weight modes x FPGA targets (build, simulation on a "
               "subset, synthesis per point) on a Dask cluster; results as JSON/CSV and Pareto "
               "PNGs, cached per point.")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bnnhw.explore", description=DESCRIPTION)
    parser.add_argument("design", help="design name under designs/ (e.g. boolnet) or folder")
    parser.add_argument("--targets", default="ecp5",
                        help="comma-separated FPGA targets among ecp5, ice40 (default ecp5)")
    parser.add_argument("--points", default="",
                        help="'cycles=A,B,...;weights=auto,rom,logic' (default: the input's "
                             "pixels doubling up to fully folded; weights auto)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="an existing Dask scheduler (tcp://host:8786); default: a local "
                             "cluster of --workers processes")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the local cluster (default 2)")
    parser.add_argument("--serial", action="store_true",
                        help="no Dask: evaluate the points one after another here")
    parser.add_argument("--images", type=int, default=32,
                        help="inputs simulated per point, RTL against golden (default 32; 0: "
                             "no simulation)")
    parser.add_argument("--no-synth", action="store_true",
                        help="resources from the resource model instead of Yosys + nextpnr "
                             "(no Fmax: throughput in inferences per million cycles)")
    parser.add_argument("--energy", type=int, default=0, metavar="N",
                        help="energy proxy from toggles on N inputs per point (default off)")
    parser.add_argument("--out", help="output folder (default explore/DESIGN)")
    parser.add_argument("--cache", help="result cache folder (default: the user's cache, "
                                        "bnnhw/explore)")
    args = parser.parse_args(argv)
    try:
        result = explore(args.design, targets=[t.strip() for t in args.targets.split(",")
                                               if t.strip()],
                         points=args.points, scheduler=args.scheduler, workers=args.workers,
                         serial=args.serial, images=args.images, synth=not args.no_synth,
                         energy=args.energy, out=args.out, cache=args.cache,
                         log=lambda line: print(line, flush=True))
    except ExploreError as error:
        print(f"bnnhw.explore: error: {error}", file=sys.stderr)
        return 1
    print(f"bnnhw.explore: wrote {result['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
