"""Command line: ``python -m bnnhw.synth BUILD_DIR [--targets ice40,ecp5,cmos] [--work-dir DIR]
[--json FILE]``.

Synthesizes a folder written by ``python -m bnnhw.build`` and prints the Markdown report; exit
status 0 on success (also when the design fits no device: the report says so), 1 on error.
"""

import argparse
import json
import sys
from pathlib import Path

from ..errors import BnnhwError
from .flow import TARGETS, synthesize
from .report import report_markdown


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.synth",
        description="Synthesize a bnnhw build folder (Yosys + nextpnr) and print its costs.")
    parser.add_argument("build_dir", type=Path, help="folder written by python -m bnnhw.build")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help=f"comma-separated subset of {','.join(TARGETS)} (default: all)")
    parser.add_argument("--work-dir", type=Path,
                        help="keep the tool runs (scripts, logs, netlists) in this folder")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the result here")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    try:
        result = synthesize(args.build_dir, targets, work_dir=args.work_dir,
                            log=lambda line: print(line, file=sys.stderr, flush=True))
    except (BnnhwError, ValueError) as error:
        print(f"bnnhw.synth: error: {error}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(report_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
