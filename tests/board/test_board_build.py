"""`python -m bnnhw.build DESIGN --board`: a real iCEBreaker bitstream, the plain-Verilog board
top and .pcf beside it, and docs/boards.md's own-flow commands rebuilding the same bitstream from
them; the overflow message."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bnnhw import toolchain
from bnnhw.board.bitstream import _overflow_text, platform_for
from bnnhw.board.boards import BOARDS
from bnnhw.build import BuildError, run_build
from bnnhw.synth.parse import overflows, parse_utilisation

from ..model.samples import small_model, write_design

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "synth" / "data"
DOCS = ROOT / "docs" / "boards.md"
CONSTRAINTS = ROOT / "constraints"


def test_overflow_message_names_each_resource_and_by_how_much():
    text = (DATA / "boolnet_up5k_overflow.log").read_text()
    over = overflows(parse_utilisation(text))
    assert over and all(o["over_by"] > 0 for o in over)
    message = _overflow_text(over)
    assert "ICESTORM_LC" in message and "over by" in message


def test_unknown_board_is_rejected():
    with pytest.raises(ValueError, match="--board: unknown board 'de0'"):
        platform_for("de0")


@pytest.fixture(scope="module")
def icebreaker_build(tmp_path_factory):
    """``(build folder, report)`` of the small design built for the iCEBreaker (~30 s); what
    reached the terminal (file descriptors 1 and 2) is in ``report["terminal"]``."""
    root = tmp_path_factory.mktemp("board_build")
    folder = write_design(root, "small", small_model(), 4096)
    out = root / "out"
    terminal = root / "terminal.txt"
    with toolchain.tool_output_to(terminal):
        os.write(1, b"(the capture works)\n")
        result = run_build(str(folder), out=out, board="icebreaker", log=lambda message: None)
    return out, {**result.report, "terminal": terminal.read_text()}


@pytest.mark.cocotb
def test_the_tools_output_goes_to_a_log_not_the_terminal(icebreaker_build):
    """Whatever Yosys, nextpnr and icepack print (run quiet, they print warnings and errors: a
    failed --fit attempt's ``ERROR: Failed to expand region``) goes to the work folder's
    tools.log; nothing of theirs reaches the terminal."""
    out, report = icebreaker_build
    terminal = report["terminal"]
    assert terminal.startswith("(the capture works)"), terminal
    for line in terminal.splitlines():     # nextpnr's, Yosys' and icepack's own lines
        assert not line.startswith(("Info:", "ERROR:", "Warning:", "End of script")), line
    assert (out.parent / ".out.board" / "tools.log").is_file()


@pytest.mark.cocotb
def test_small_design_builds_an_icebreaker_bitstream(icebreaker_build, tmp_path):
    out, report = icebreaker_build
    board = report["board"]
    assert board["device"].startswith("iCE40UP5K") and board["meets_timing"]
    assert 0 < board["utilisation"]["ICESTORM_LC"]["used"] <= 5280
    bitstream = out / board["bitstream"]
    assert bitstream.suffix == ".bin" and bitstream.stat().st_size > 100_000
    assert "Max frequency" in (out / "board" / "nextpnr.log").read_text()
    assert "## Board: icebreaker" in (out / "report.md").read_text()
    with pytest.raises(BuildError, match="--program: needs --board"):
        run_build(str(out.parent / "designs" / "small"), out=tmp_path / "o2", program=True)


@pytest.mark.cocotb
def test_the_build_writes_the_plain_verilog_top_and_the_constraints_file(icebreaker_build):
    out, _ = icebreaker_build
    files = sorted(p.name for p in (out / "board").iterdir())
    assert files == ["README.md", "bnnhw_board.bin", "bnnhw_small_icebreaker_top.v",
                     "icebreaker.pcf", "nextpnr.log"]
    readme = (out / "board" / "README.md").read_text()
    assert "iceprog bnnhw_board.bin" in readme and "ICESTORM_LC " in readme
    assert "meets the 12 MHz board clock" in readme
    assert (out / "board" / "icebreaker.pcf").read_text() == \
        (CONSTRAINTS / "icebreaker.pcf").read_text()
    verilog = (out / "board" / "bnnhw_small_icebreaker_top.v").read_text()
    assert re.search(r"^module bnnhw_board\(", verilog, re.M)
    for port, _ in BOARDS["icebreaker"].pins:          # the constraints' ports are its ports
        assert re.search(rf"^\s*(input|output|inout) {port};", verilog, re.M), port


def _documented_ice40_flow():
    """The iCEBreaker command block of docs/boards.md's "Your own flow"."""
    text = DOCS.read_text()
    section = text[text.index("## Your own flow"):]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    (block,) = [b for b in blocks if "nextpnr-ice40" in b]
    return block


def test_the_documented_commands_use_the_board_tables_flags():
    text = DOCS.read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text[text.index("## Your own flow"):], re.S)
    for board, tool in (("icebreaker", "nextpnr-ice40"), ("ulx3s-85f", "nextpnr-ecp5")):
        spec = BOARDS[board]
        (block,) = [b for b in blocks if tool in b]
        assert f"{tool} {' '.join(spec.nextpnr_args)} " in block
        assert f" {spec.constraints} " in block and "-top bnnhw_board;" in block
        assert f"TOP=bnnhw_boolnet_{board.replace('-', '_')}_top\n" in block


@pytest.mark.cocotb
def test_the_documented_flow_rebuilds_the_bitstream(icebreaker_build):
    """docs/boards.md's commands, run as written (only ``TOP`` names the test's design) on the
    build's plain-Verilog top and .pcf, give the build's bitstream byte for byte."""
    out, _ = icebreaker_build
    block = _documented_ice40_flow()
    assert block.startswith("TOP=bnnhw_boolnet_icebreaker_top\n")
    script = block.replace("TOP=bnnhw_boolnet_icebreaker_top", "TOP=bnnhw_small_icebreaker_top")
    tools = {str(Path(toolchain.yosys_path()).parent), str(Path(sys.executable).parent)}
    env = dict(os.environ, PATH=os.pathsep.join([*sorted(tools), os.environ.get("PATH", "")]))
    result = subprocess.run(["bash", "-e", "-c", script], cwd=out / "board", env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    built = (out / "board" / "bnnhw_small_icebreaker_top.bin").read_bytes()
    assert built == (out / "board" / "bnnhw_board.bin").read_bytes()


@pytest.mark.cocotb
def test_board_alone_builds_the_headline_design_for_the_icebreaker(tmp_path):
    """``python -m bnnhw.build boolnet --board icebreaker``, the obvious command: boolnet's own
    folding (4,096 cycles per inference) overflows the iCEBreaker's UP5K, so the build looks for
    a folding that fits as ``--fit`` would, says so, and writes a bitstream that fits and meets
    the 12 MHz board clock (two Yosys + nextpnr runs, 3-4 min)."""
    lines = []
    out = tmp_path / "out"
    result = run_build("boolnet", out=out, board="icebreaker", log=lines.append)
    attempts = result.report["fit"]["attempts"]
    assert attempts[0]["target_cycles"] is None and not attempts[0]["fits"]
    assert attempts[-1]["fits"] and all(not a["fits"] for a in attempts[:-1])
    assert any("looking for a folding that does, as --fit icebreaker would" in line
               for line in lines)
    board = result.report["board"]
    assert board["device"].startswith("iCE40UP5K") and board["meets_timing"]
    for resource, use in board["utilisation"].items():
        assert use["used"] <= use["available"], resource
    assert (out / board["bitstream"]).stat().st_size > 100_000
    assert (out / "board" / "README.md").is_file()
