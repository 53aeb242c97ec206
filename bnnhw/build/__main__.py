"""Command line: ``python -m bnnhw.build DESIGN [--out DIR] [--target-cycles C] [--sim
[--inputs FILE] [--images N] [--trace]] [--synth ice40,ecp5,cmos] [--energy N]
[--board BOARD | --fit BOARD] [--program] [--reference qonnx]``.

DESIGN is a design name, a design folder, or an ``.onnx`` file (QONNX / FINN-ONNX, imported by
:mod:`bnnhw.importers.qonnx`; docs/import.md).

Exit status: 0 complete build (and, with ``--sim``, RTL == golden on every input), 1 error,
usage errors included (one line ``bnnhw.build: error: ...``; nothing written), 2 the simulation
found mismatches (the build folder and its report are written, naming the first one), 3
incomplete build (the report lists the missing steps). Every option is checked before the first
step runs; an ``--out`` folder that a bnnhw build did not make is refused, never replaced.
"""

import argparse
import sys

from ..errors import BnnhwError
from .steps import mismatch_text, run_build

EXIT_ERROR = 1
EXIT_MISMATCH = 2
EXIT_INCOMPLETE = 3


class UsageError(BnnhwError):
    """A command line argparse cannot parse (exit status 1, not argparse's 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def main(argv=None):
    parser = _Parser(
        prog="python -m bnnhw.build",
        description="Build Verilog, memory images and a cost report for a bnnhw design.")
    parser.add_argument("design", help="design name under designs/ (e.g. boolnet), a design "
                                       "folder, or a QONNX .onnx file (docs/import.md)")
    parser.add_argument("--out", help="output folder (default: build/DESIGN, build/STEM for "
                                      "STEM.onnx)")
    parser.add_argument("--target-cycles", type=int, metavar="C",
                        help="fold every layer to at most C cycles per inference")
    parser.add_argument("--weights", choices=("rom", "logic", "auto"),
                        help="weights in ROMs, hard-wired as logic (every binary layer; each "
                             "must be fully unrolled or folded to at most 4 weight words per "
                             "PE), or auto: logic where the folding allows it and the resource "
                             "model predicts fewer LUTs (default: the design's folding.weights, "
                             "else auto)")
    parser.add_argument("--sim", action="store_true",
                        help="simulate the Verilog (cocotb + Verilator) and compare every output "
                             "with golden: on --inputs FILE, else on the held-out digits when the "
                             "model's input is 1x8x8 and holds 0..16, else on seeded random "
                             "inputs; writes outputs.npz")
    parser.add_argument("--inputs", metavar="FILE",
                        help="with --sim / --energy / --reference: a .npy (N, C, H, W) or a .npz "
                             "with 'inputs' and optional 'labels', values in the model's input "
                             "type and range; for an .onnx design float32, what the graph "
                             "takes")
    parser.add_argument("--images", type=int, metavar="N",
                        help="with --sim: simulate the first N inputs (default all; with random "
                             "inputs N random ones besides the all-min and all-max, default 64)")
    parser.add_argument("--trace", action="store_true",
                        help="with --sim: also write the waveform (trace.vcd)")
    parser.add_argument("--synth", metavar="TARGETS", default="",
                        help="comma-separated synthesis targets among ice40, ecp5, cmos: "
                             "resources, Fmax, transistors in the report (minutes per target)")
    parser.add_argument("--energy", type=int, metavar="N",
                        help="energy proxy from toggle coverage on the first N simulation inputs "
                             "(a separate Verilator build; with --synth cmos weighted by "
                             "transistors)")
    parser.add_argument("--board", metavar="BOARD",
                        help="also build a UART classifier bitstream for an FPGA board: "
                             "icebreaker, ulx3s-25f or ulx3s-85f")
    parser.add_argument("--fit", metavar="BOARD",
                        help="build for BOARD: start at the fastest folding the resource model "
                             "predicts to fit (without --target-cycles), then double the folding "
                             "target (slower, smaller) until the bitstream fits")
    parser.add_argument("--program", action="store_true",
                        help="with --board: load the bitstream onto the attached board")
    parser.add_argument("--reference", metavar="EXECUTOR",
                        help="for an .onnx design with --inputs: also run the graph under "
                             "EXECUTOR (qonnx: qonnx's execute_onnx, in the test extra) and "
                             "report argmax and logit agreement with golden (and the RTL "
                             "with --sim)")
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"bnnhw.build: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        result = run_build(args.design, out=args.out, target_cycles=args.target_cycles,
                           weights=args.weights,
                           sim=args.sim, images=args.images, trace=args.trace,
                           synth=[t.strip() for t in args.synth.split(",") if t.strip()],
                           energy=args.energy, board=args.board, program=args.program,
                           fit=args.fit, inputs=args.inputs, reference=args.reference)
    except BnnhwError as error:
        print(f"bnnhw.build: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if not result.complete:
        print(f"bnnhw.build: wrote {result.out} (incomplete: {', '.join(result.missing)} not "
              "available yet; see report.md)", file=sys.stderr)
        return EXIT_INCOMPLETE
    sim = result.report.get("simulation")
    if sim and not sim["rtl_equals_golden"]:
        print(f"bnnhw.build: wrote {result.out}; RTL differs from golden: "
              f"{sim['mismatches']} mismatches; first: {mismatch_text(sim['first_mismatch'])}",
              file=sys.stderr)
        return EXIT_MISMATCH
    print(f"bnnhw.build: wrote {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
