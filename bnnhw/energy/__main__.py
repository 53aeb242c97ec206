"""``python -m bnnhw.energy DESIGN [DESIGN ...]``: the energy proxy of designs, side by side.

Each design is compiled and folded as ``python -m bnnhw.build`` does, simulated under Verilator
with toggle coverage on held-out digits (``--images N`` measured after one warm-up image) and
reported with :func:`bnnhw.energy.energy_report`. Prints Markdown (totals per design, the ratio
of every design to the first, and with ``--engines`` one table per design), or with ``--json``
one object ``{design: report}``. The coverage runs' files go under ``--work`` (default
``$TMPDIR/bnnhw-energy``); the Verilator models come from the user's model cache
(``bnnhw.sim.model_cache``).
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from ..errors import BnnhwError
from .measure import design_energy

_TOTALS = (("logic (toggles)", "logic_toggle_pj"), ("memory", "memory_pj"),
           ("arithmetic (ops)", "arithmetic_ops_pj"), ("toggle proxy", "toggle_proxy_pj"),
           ("op-count estimate", "op_count_estimate_pj"))


def _f(value, digits=1):
    return "-" if value is None else f"{value:,.{digits}f}"


def format_markdown(reports, *, engines=False):
    """Markdown tables of ``{design: energy_report(...)}``."""
    names = list(reports)
    lines = ["Energy PROXY per inference in pJ (45 nm constants, docs/energy.md); not a "
             "measurement.", "",
             "| design | toggles | " + " | ".join(label for label, _ in _TOTALS) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in _TOTALS) + " |"]
    for name in names:
        total = reports[name]["total"]
        lines.append(f"| {name} | {_f(total['toggles'], 0)} | " +
                     " | ".join(_f(total[key]) for _, key in _TOTALS) + " |")
    if len(names) > 1:
        base = reports[names[0]]["total"]
        lines += ["", f"Ratio to {names[0]}:", "",
                  "| design | " + " | ".join(label for label, _ in _TOTALS) + " |",
                  "| --- | " + " | ".join("---:" for _ in _TOTALS) + " |"]
        for name in names[1:]:
            total = reports[name]["total"]
            ratios = [None if not base[key] or total[key] is None else total[key] / base[key]
                      for _, key in _TOTALS]
            lines.append(f"| {name} | " + " | ".join(_f(r, 2) for r in ratios) + " |")
    if engines:
        for name in names:
            report = reports[name]
            lines += ["", f"### {name}", "",
                      "| block | toggles | memory bits r/w | bit-adders | " +
                      " | ".join(label for label, _ in _TOTALS) + " |",
                      "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in _TOTALS) + " |"]
            for block, row in {**report["engines"], **report["other_blocks"]}.items():
                lines.append(
                    f"| {block} | {_f(row['toggles'], 0)} | {row['memory_read_bits']:,} / "
                    f"{row['memory_write_bits']:,} | {row['bit_adders']:,} | " +
                    " | ".join(_f(row[key]) for _, key in _TOTALS) + " |")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send file descriptor 1 to stderr: the simulator process prints its progress there."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bnnhw.energy", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("designs", nargs="+", metavar="DESIGN")
    parser.add_argument("--images", type=int, default=20,
                        help="held-out digits measured (after one warm-up image; default 20)")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "bnnhw-energy",
                        help="coverage runs' files (one folder per design); the Verilator "
                             "models are in the user's model cache")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--engines", action="store_true", help="add a table per design")
    args = parser.parse_args(argv)

    def log(message):
        print(f"  {message}", file=sys.stderr)

    reports = {}
    for design in args.designs:
        print(f"{design}: Verilator toggle coverage build and runs", file=sys.stderr)
        try:
            with _stdout_to_stderr():
                reports[design] = design_energy(design, images=args.images,
                                                work_dir=args.work / Path(design).name, log=log)
        except (BnnhwError, ValueError, OSError) as error:
            print(f"bnnhw.energy: error: {design}: {error}", file=sys.stderr)
            return 1
        measurement = reports[design]["measurement"]
        print(f"  {measurement['seconds']:.0f} s; RTL == golden: "
              f"{measurement['rtl_equals_golden']}", file=sys.stderr)
    if args.json:
        print(json.dumps(reports, indent=1))
    else:
        print(format_markdown(reports, engines=args.engines), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
