"""`python -m bnnhw.build DESIGN --board`: a real iCEBreaker bitstream; the overflow message."""

from pathlib import Path

import pytest

from bnnhw.build import BuildError, run_build
from bnnhw.board.bitstream import _overflow_text, platform_for
from bnnhw.synth.parse import overflows, parse_utilisation

from ..model.samples import small_model, write_design

DATA = Path(__file__).resolve().parent.parent / "synth" / "data"


def test_overflow_message_names_each_resource_and_by_how_much():
    text = (DATA / "boolnet_up5k_overflow.log").read_text()
    over = overflows(parse_utilisation(text))
    assert over and all(o["over_by"] > 0 for o in over)
    message = _overflow_text(over)
    assert "ICESTORM_LC" in message and "over by" in message


def test_unknown_board_is_rejected():
    with pytest.raises(ValueError, match="--board: unknown board 'de0'"):
        platform_for("de0")


@pytest.mark.cocotb
def test_small_design_builds_an_icebreaker_bitstream(tmp_path):
    folder = write_design(tmp_path, "small", small_model(), 4096)
    out = tmp_path / "out"
    result = run_build(str(folder), out=out, board="icebreaker", log=lambda message: None)
    board = result.report["board"]
    assert board["device"].startswith("iCE40UP5K") and board["meets_timing"]
    assert 0 < board["utilisation"]["ICESTORM_LC"]["used"] <= 5280
    bitstream = out / board["bitstream"]
    assert bitstream.suffix == ".bin" and bitstream.stat().st_size > 100_000
    assert "Max frequency" in (out / "board" / "nextpnr.log").read_text()
    assert "## Board: icebreaker" in (out / "report.md").read_text()
    with pytest.raises(BuildError, match="--program: needs --board"):
        run_build(str(folder), out=tmp_path / "o2", program=True)
