"""Bitstreams for open FPGA boards: the network inside a UART classifier, built with YoWASP tools.

:func:`build_board` wraps a :class:`~bnnhw.hw.network.StreamingNetwork` in
:class:`~bnnhw.hw.board.ClassifierBoard` (``docs/board-protocol.md``) and runs the
amaranth-boards platform's own build (Yosys, nextpnr, icepack / ecppack, all from PyPI) in a work
folder. It returns the bitstream, the nextpnr log (timing report) and the parsed device
utilisation and Fmax against the board clock. A design that does not fit raises
:class:`BoardError` naming each overflowing resource and by how much.
"""

import importlib
import subprocess
import time
from pathlib import Path

__all__ = ["BOARDS", "BoardError", "build_board"]

#: board name -> (amaranth-boards module, platform class, FPGA family, bitstream suffix)
BOARDS = {
    "icebreaker": ("amaranth_boards.icebreaker", "ICEBreakerPlatform", "ice40", "bin"),
    "ulx3s-25f": ("amaranth_boards.ulx3s", "ULX3S_25F_Platform", "ecp5", "bit"),
    "ulx3s-85f": ("amaranth_boards.ulx3s", "ULX3S_85F_Platform", "ecp5", "bit"),
}

NAME = "bnnhw_board"


class BoardError(ValueError):
    """The design cannot be built for the board (does not fit, or a tool failed)."""

    def __init__(self, message, *, overflows=()):
        self.overflows = list(overflows)
        super().__init__(message)


def platform_for(board):
    """An amaranth-boards platform instance for ``board`` (one of :data:`BOARDS`)."""
    if board not in BOARDS:
        raise BoardError(f"--board: unknown board {board!r}; choose one of "
                         f"{', '.join(sorted(BOARDS))}")
    module, cls, _, _ = BOARDS[board]
    return getattr(importlib.import_module(module), cls)()


def _overflow_text(items):
    return "; ".join(f"{o['resource']} {o['used']}/{o['available']} (over by {o['over_by']}, "
                     f"{100 * o['used'] / o['available']:.0f} %)" for o in items)


def _synthesize_from_verilog(plan):
    """Make the plan's Yosys script read Amaranth's Verilog of the design instead of its RTLIL.

    Both describe the same netlist, but Yosys honours a memory's ``no_rw_check`` attribute
    (``bnnhw/hw/_memory.py``: buffers that never read a word as it is written) only when it
    folds a read register into the memory itself, which happens for the Verilog (a register
    after an asynchronous read) and not for Amaranth's RTLIL (read ports already synchronous).
    From RTLIL every buffer would get collision logic: about 570 more iCE40 logic cells for
    boolnet, the difference between fitting the iCEBreaker and not. ``bnnhw.synth`` reads the
    same Verilog, so the board's utilisation matches its numbers.
    """
    script = f"{NAME}.ys"
    text = plan.files.get(script)
    if isinstance(text, bytes):
        text = text.decode()
    if text and f"read_rtlil {NAME}.il" in text and f"{NAME}.debug.v" in plan.files:
        plan.files[script] = text.replace(f"read_rtlil {NAME}.il",
                                          f"read_verilog -sv {NAME}.debug.v")


def build_board(network, board, work_dir, *, program=False, log=print):
    """Build (and with ``program`` load) a bitstream of ``network`` for ``board``.

    Returns a dict: ``board``, ``device``, ``bitstream`` (file name), ``bitstream_bytes``,
    ``timing_log`` (nextpnr's log text), ``utilisation`` ({bel: {used, available}}), ``fmax_mhz``
    (of the board clock domain), ``clock_mhz`` (the board clock), ``meets_timing``, ``seconds``.

    Raises :class:`BoardError` if the design does not fit the device (naming every overflowing
    resource) or a tool fails (with the tail of its log).
    """
    from .. import toolchain
    from ..hw.board import ClassifierBoard
    from ..synth.parse import nextpnr_failure, overflows, parse_fmax_log, parse_utilisation

    platform = platform_for(board)
    _, _, family, suffix = BOARDS[board]
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    top = ClassifierBoard.for_platform(network, platform)
    started = time.monotonic()
    log(f"      board: {board} ({platform.device}, {platform.package}): Yosys + nextpnr + "
        f"{'icepack' if family == 'ice40' else 'ecppack'} in {work_dir}")
    timing = work_dir / f"{NAME}.tim"
    failure = None
    products = None
    with toolchain.board_environment(families=(family,)):
        try:
            # prepare + execute_local rather than Platform.build: build() insists on the
            # programmer (openFPGALoader / iceprog, not on PyPI) even when not programming
            # emit_src=False: no absolute source paths in the netlist (the same bitstream
            # from any checkout)
            plan = platform.prepare(top, NAME, debug_verilog=True, emit_src=False)
            _synthesize_from_verilog(plan)
            products = plan.execute_local(str(work_dir))
        except (subprocess.CalledProcessError, RuntimeError, OSError) as error:
            failure = error
    text = timing.read_text(errors="replace") if timing.exists() else ""
    utilisation = parse_utilisation(text)
    over = overflows(utilisation)
    if over:
        raise BoardError(f"board: the design does not fit the {board} ({platform.device}): "
                         f"{_overflow_text(over)}; a larger --target-cycles (or --fit {board}) "
                         "folds it smaller", overflows=over)
    bitstream = work_dir / f"{NAME}.{suffix}"
    if failure is not None or not bitstream.exists():
        reason = nextpnr_failure(text) if text else None
        tail = "\n".join(text.splitlines()[-15:]) if text else str(failure)
        raise BoardError(f"board: building for {board} failed"
                         + (f": {reason}" if reason else "") + f"\n{tail}")
    if program:
        from amaranth._toolchain import ToolNotFound
        try:
            platform.toolchain_program(products, NAME)
        except ToolNotFound as error:
            raise BoardError(f"--program: {error} (the bitstream is built: "
                             f"{bitstream})") from None
        except (subprocess.CalledProcessError, OSError) as error:
            raise BoardError(f"--program: loading the bitstream failed: {error}") from None
    clock_mhz = platform.default_clk_frequency / 1e6
    fmax = parse_fmax_log(text)
    achieved = min((f["achieved"] for f in fmax.values()), default=None)
    return {
        "board": board, "device": f"{platform.device} {platform.package}",
        "bitstream": f"{NAME}.{suffix}", "bitstream_bytes": bitstream.read_bytes(),
        "timing_log": text, "utilisation": utilisation, "fmax_mhz": achieved,
        "clock_mhz": clock_mhz,
        "meets_timing": achieved is not None and achieved >= clock_mhz,
        "programmed": bool(program), "seconds": time.monotonic() - started,
    }
