"""``python -m bnnhw.compare DESIGN [DESIGN ...]``: designs side by side and the papers' claims.

Exit status: 0 written; 1 error (one line ``bnnhw.compare: error: ...`` on stderr).
"""

import argparse
import sys

from ..errors import BnnhwError
from .designs import DEFAULT_ENERGY_IMAGES
from .run import DEFAULT_FAN_IN, DEFAULT_PE_WIDTH, DEFAULT_SIMD, compare

TARGETS = ("ice40", "ecp5", "cmos")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.compare",
        description="Compare designs (accuracy, LUTs, BRAM, Fmax, inferences/s, transistors, "
                    "energy proxy, ACE) and test the papers' hardware claims with synthesized "
                    "micro-comparisons. Writes compare.md, compare.json and PNG plots.")
    parser.add_argument("designs", nargs="+", metavar="DESIGN",
                        help="design names under designs/ (e.g. boolnet xnornet panet pokebnn)")
    parser.add_argument("--builds", default="build", metavar="DIR",
                        help="build folders: DIR/DESIGN/report.json is reused when it has the "
                             "needed sections (default: build)")
    parser.add_argument("--out", default="build/compare", metavar="DIR",
                        help="output folder (default: build/compare)")
    parser.add_argument("--rebuild", action="store_true",
                        help="build every design again even if its report.json is complete")
    parser.add_argument("--synth", default=",".join(TARGETS), metavar="TARGETS",
                        help="synthesis targets a report must have (and a build runs): "
                             "comma-separated among ice40, ecp5, cmos (default: all three; "
                             "about 10 min per design for all three)")
    parser.add_argument("--energy", type=int, default=DEFAULT_ENERGY_IMAGES, metavar="N",
                        help="when a design is built: energy proxy on N held-out digits "
                             f"(default {DEFAULT_ENERGY_IMAGES}; 0: none)")
    parser.add_argument("--pe-width", type=int, default=DEFAULT_PE_WIDTH, metavar="N",
                        help=f"XNOR vs AND PE width (default {DEFAULT_PE_WIDTH}; 0: skip)")
    parser.add_argument("--fan-in", type=int, default=DEFAULT_FAN_IN, metavar="N",
                        help="fan-in of the accumulator + batch norm comparison (default "
                             f"{DEFAULT_FAN_IN}, at most 383; 0: skip)")
    parser.add_argument("--simd", type=int, default=DEFAULT_SIMD, metavar="N",
                        help=f"bits per chunk of that comparison (default {DEFAULT_SIMD})")
    parser.add_argument("--work", metavar="DIR",
                        help="keep the micro-comparisons' Yosys folders here (default: a "
                             "temporary folder, deleted)")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.synth.split(",") if t.strip()]

    def fail(message):
        print(f"bnnhw.compare: error: {message}", file=sys.stderr)
        return 1

    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        return fail(f"--synth: unknown target(s) {', '.join(unknown)}; choose from "
                    f"{', '.join(TARGETS)}")
    for name, value in (("--pe-width", args.pe_width), ("--fan-in", args.fan_in),
                        ("--energy", args.energy)):
        if value < 0:
            return fail(f"{name}: expected a number >= 0, got {value}")
    if args.energy == 1:
        return fail("--energy: expected 0 or at least 2 images (one warms up), got 1")
    if args.fan_in and (args.simd < 1 or args.fan_in % args.simd or args.fan_in > 383):
        return fail(f"--fan-in/--simd: need 1 <= simd, simd | fan_in and fan_in <= 383 (the "
                    f"exact range of an 8-bit saturating accumulator), got fan_in "
                    f"{args.fan_in}, simd {args.simd}")
    from ..design import find_design
    try:
        for design in args.designs:
            find_design(design)
    except BnnhwError as error:
        return fail(str(error))
    command = "python -m bnnhw.compare " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        compare(args.designs, builds=args.builds, out=args.out, targets=targets,
                rebuild=args.rebuild, energy=args.energy, pe_width=args.pe_width,
                fan_in=args.fan_in, simd=args.simd, work_dir=args.work, command=command)
    except BnnhwError as error:
        return fail(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
