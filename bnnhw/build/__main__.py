"""Command line: ``python -m bnnhw.build DESIGN [--out DIR]``."""

import argparse
import sys

from ..toolchain import ToolchainError
from .design import DesignError
from .steps import STEPS, BuildError, run_build


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.build",
        description="Build Verilog, memory images and a cost report for a bnnhw design.")
    parser.add_argument("design", help="design name under designs/ (e.g. boolnet) or a folder")
    parser.add_argument("--out", help="output folder (default: build/DESIGN)")
    args = parser.parse_args(argv)
    try:
        out = run_build(args.design, out=args.out)
    except (DesignError, BuildError, ToolchainError) as error:
        print(f"bnnhw.build: error: {error}", file=sys.stderr)
        pending = [f"  - {s.name}: {s.summary} (needs {s.missing})" for s in STEPS if s.missing]
        if pending:
            print("Not implemented yet:\n" + "\n".join(pending), file=sys.stderr)
        return 1
    print(f"bnnhw.build: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
