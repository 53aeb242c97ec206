"""Bitstreams for open FPGA boards: the network inside a UART classifier, built with YoWASP tools.

:func:`build_board` wraps a :class:`~bnnhw.hw.network.StreamingNetwork` in
:class:`~bnnhw.board.top.ClassifierBoard` (``docs/board-protocol.md``) and runs the
amaranth-boards platform's own build (Yosys, nextpnr, icepack / ecppack, all from PyPI) in a work
folder. It returns the bitstream, the nextpnr log (timing report), the parsed device utilisation
and Fmax against the board clock, and the two files of a user's own flow (``docs/boards.md``):
the board top as plain Verilog (exactly the netlist the build synthesizes) and its constraints
file (the board's file in ``constraints/``; the platform generates the same text, which
``tests/board/test_constraints.py`` checks line for line). A design that does not fit raises
:class:`BoardError` naming each overflowing resource and by how much.
"""

import subprocess
import time
from pathlib import Path

from .boards import BOARDS, board_named
from .protocol import BoardError

__all__ = ["BOARDS", "BoardError", "NAME", "build_board", "constraints_text", "platform_for",
           "plain_top_name"]

#: The board top's module name (and the stem of the platform build's files).
NAME = "bnnhw_board"
#: The terminal output of Yosys, nextpnr and the packer, kept in the work folder instead.
TOOLS_LOG = "tools.log"


def platform_for(board):
    """An amaranth-boards platform instance for ``board`` (one of :data:`BOARDS`)."""
    return board_named(board, BoardError).platform_class()()


def plain_top_name(design, board):
    """File name of the plain-Verilog board top of ``design`` (a name) for ``board``."""
    return f"bnnhw_{design}_{board.replace('-', '_')}_top.v"


def constraints_text(board, generated):
    """The constraints file of ``board`` (its file in ``constraints/``) from the platform's
    ``generated`` one: a header naming the board, its part and each port's role, then the
    platform's constraint lines as they are (its comments and empty lines dropped)."""
    spec = BOARDS[board]
    boards = [b for b in BOARDS.values() if b.constraints == spec.constraints]
    parts = ", ".join(f"{b.name} ({b.device.name})" for b in boards)
    header = [f"# bnnhw UART classifier board top (module {NAME}) on the {parts}:",
              f"# the pins it uses, as {spec.platform[0]} generates them (docs/boards.md;",
              "# tests/board/test_constraints.py checks this file against it).",
              "#   port  role  pin"]
    header += [f"#   {port}  {role}  {pin}" for port, (role, pin) in spec.pins]
    lines = [line for line in generated.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join(header + lines) + "\n"


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
    (of the board clock domain), ``clock_mhz`` (the board clock), ``meets_timing``,
    ``programmed``, ``seconds``, and for a user's own flow (``docs/boards.md``) ``top_verilog``
    (the board top as plain Verilog, module :data:`NAME`: the netlist this build synthesizes)
    and ``constraints`` (``(file name, text)``: the board's file of ``constraints/``).

    Raises :class:`BoardError` if the design does not fit the device (naming every overflowing
    resource) or a tool fails (with the tail of its log).
    """
    from .. import toolchain
    from ..synth.parse import nextpnr_failure, overflows, parse_fmax_log, parse_utilisation
    from .top import ClassifierBoard

    platform = platform_for(board)
    spec = BOARDS[board]
    family, suffix = spec.family, spec.bitstream_suffix
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    top = ClassifierBoard.for_platform(network, platform)
    started = time.monotonic()
    timing = work_dir / f"{NAME}.tim"
    failure = None
    products = plan = None
    tools_log = work_dir / TOOLS_LOG
    tools_log.unlink(missing_ok=True)
    from .. import progress
    with toolchain.board_environment(families=(family,)), \
            progress.elapsed(f"      board: {board} ({platform.device}, {platform.package}): "
                             f"Yosys + nextpnr + {spec.pack_tool} in {work_dir}", log=log), \
            toolchain.tool_output_to(tools_log):
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
                         + (f": {reason}" if reason else "") + f"\n{tail}\n(tools' output: "
                         f"{tools_log})")
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
        "top_verilog": _text(plan.files[f"{NAME}.debug.v"]),
        "constraints": (spec.constraints, constraints_text(board, _text(
            plan.files[f"{NAME}.{spec.constraints.rpartition('.')[2]}"]))),
    }


def _text(data):
    return data.decode() if isinstance(data, bytes) else data
