# amaranth: UnusedElaboratable=no
"""``constraints/``: the board top's pin and clock constraints agree with amaranth-boards.

Each board's file in ``constraints/`` must be, line for line (every pin, every attribute, the
clock), what the board's amaranth-boards platform generates for the pins
:class:`~bnnhw.board.top.ClassifierBoard` requests, under the header
:func:`~bnnhw.board.bitstream.constraints_text` writes (the text the board build copies beside
its plain-Verilog top); and the board table (:data:`bnnhw.board.boards.BOARDS`) names the same
part, nextpnr flags, clock and pins. If amaranth-boards changes a pin, the failure prints the
new file.
"""

import re
from pathlib import Path

import pytest

from bnnhw.board.bitstream import NAME, constraints_text, platform_for
from bnnhw.board.boards import BOARDS
from bnnhw.board.top import ClassifierBoard
from bnnhw.synth.flow import DEVICES

from .helpers import StubNetwork

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints"


@pytest.fixture(scope="module", params=sorted(BOARDS))
def plan(request):
    """``(board, the platform, its build plan of the board top)``."""
    platform = platform_for(request.param)
    top = ClassifierBoard.for_platform(StubNetwork(), platform)
    return request.param, platform, platform.prepare(top, NAME)


def _generated(board, plan):
    suffix = BOARDS[board].constraints.rpartition(".")[2]
    text = plan.files[f"{NAME}.{suffix}"]
    return text.decode() if isinstance(text, bytes) else text


def _pins(text):
    """``{port: pin}`` of a .pcf or .lpf text."""
    pcf = re.findall(r"^set_io\s+(?:-\S+\s+)*(\S+)\s+(\S+)", text, re.M)
    lpf = re.findall(r'^LOCATE COMP "([^"]+)" SITE "([^"]+)";', text, re.M)
    return dict(pcf + lpf)


def test_the_committed_file_is_what_the_platform_generates(plan):
    board, _, plan = plan
    expected = constraints_text(board, _generated(board, plan))
    committed = (CONSTRAINTS / BOARDS[board].constraints).read_text()
    assert committed == expected, (f"constraints/{BOARDS[board].constraints} differs from "
                                   f"amaranth-boards; it should read:\n{expected}")


def test_every_constraint_line_of_the_platform_is_in_the_file(plan):
    """Independent of the header: the platform's own lines, in order, are the file's."""
    board, _, plan = plan
    ours = [line for line in (CONSTRAINTS / BOARDS[board].constraints).read_text().splitlines()
            if not line.startswith("#")]
    theirs = [line for line in _generated(board, plan).splitlines()
              if line.strip() and not line.startswith("#")]
    assert ours == theirs


def test_the_board_table_names_the_platforms_part_clock_and_pins(plan):
    board, platform, plan = plan
    spec = BOARDS[board]
    assert spec.device in DEVICES[spec.family]
    assert spec.device.name.startswith(platform.device)
    assert spec.clock_mhz * 1e6 == platform.default_clk_frequency
    assert spec.clock_port == f"{platform.default_clk}_0__io"
    script = plan.files[f"build_{NAME}.sh"]
    script = script.decode() if isinstance(script, bytes) else script
    assert " ".join(spec.nextpnr_args) in script                 # --up5k --package sg48, ...
    assert f".{spec.bitstream_suffix}" in script
    # exactly the pins the top uses: clock, UART rx / tx, two LEDs
    assert _pins(_generated(board, plan)) == {port: pin for port, (_, pin) in spec.pins}
    assert len(spec.pins) == 5


def test_the_ulx3s_25f_and_85f_share_one_file():
    assert BOARDS["ulx3s-25f"].constraints == BOARDS["ulx3s-85f"].constraints == "ulx3s.lpf"
    assert sorted(p.name for p in CONSTRAINTS.iterdir()) == ["icebreaker.pcf", "ulx3s.lpf"]
