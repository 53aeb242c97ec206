"""Command line: ``python -m bnnhw.build DESIGN [--out DIR] [--target-cycles C]``.

Exit status: 0 complete build, 1 error (nothing written), 3 incomplete build (the artefacts that
exist are written; the report lists the missing steps).
"""

import argparse
import sys

from ..toolchain import ToolchainError
from .design import DesignError
from .steps import BuildError, run_build

EXIT_ERROR = 1
EXIT_INCOMPLETE = 3


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.build",
        description="Build Verilog, memory images and a cost report for a bnnhw design.")
    parser.add_argument("design", help="design name under designs/ (e.g. boolnet) or a folder")
    parser.add_argument("--out", help="output folder (default: build/DESIGN)")
    parser.add_argument("--target-cycles", type=int, metavar="C",
                        help="fold every layer to at most C cycles per inference")
    args = parser.parse_args(argv)
    try:
        result = run_build(args.design, out=args.out, target_cycles=args.target_cycles)
    except (DesignError, BuildError, ToolchainError) as error:
        print(f"bnnhw.build: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if not result.complete:
        print(f"bnnhw.build: wrote {result.out} (incomplete: {', '.join(result.missing)} not "
              "available yet; see report.md)", file=sys.stderr)
        return EXIT_INCOMPLETE
    print(f"bnnhw.build: wrote {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
