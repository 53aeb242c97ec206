"""Command line: ``python -m bnnhw.cost NAME [--json] [--no-layers]``.

NAME is a built-in architecture (``--list`` shows them), a design under ``designs/`` or a model
file. ``--table2`` prints our numbers next to PokeBNN Table 2 and ``--boolnet`` next to BoolNet
Tables 1 and 3 (the tables in docs/cost.md). Exit status 0, or 1 with one error line on stderr.
"""

import argparse
import json
import sys

from ..errors import BnnhwError
from .architectures import BUILTINS
from .paper import boolnet_comparison, table2_markdown
from .resolve import cost_of

EXIT_ERROR = 1


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.cost",
        description="ACE, CPU64, BOPs, FLOPs, MACs by format, parameter and feature-map bits "
                    "of a design, a model file or a built-in paper architecture.")
    parser.add_argument("name", nargs="?",
                        help="built-in architecture (see --list), design name or model file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-layers", action="store_true",
                        help="totals only (no per-layer rows)")
    parser.add_argument("--list", action="store_true", help="list the built-in architectures")
    parser.add_argument("--table2", action="store_true",
                        help="compare the built-ins with PokeBNN Table 2 (Markdown)")
    parser.add_argument("--boolnet", action="store_true",
                        help="compare the built-ins with BoolNet Tables 1 and 3 (Markdown)")
    args = parser.parse_args(argv)
    if args.list:
        for name, build in BUILTINS.items():
            print(f"{name:20s} {build().description}")
        return 0
    if args.table2 or args.boolnet:
        tables = [table2_markdown()] if args.table2 else []
        tables += [boolnet_comparison()] if args.boolnet else []
        print("\n\n".join(tables))
        return 0
    if args.name is None:
        parser.error("give NAME, or one of --list, --table2, --boolnet")
    try:
        report = cost_of(args.name)
    except (BnnhwError, ValueError, OSError) as error:
        print(f"bnnhw.cost: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(report.to_dict(layers=not args.no_layers), indent=1))
    else:
        print(report.format_text(layers=not args.no_layers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
