"""bnnhw.progress: a live tqdm line on a terminal, plain lines in CI logs (pytest's captured
output is not a terminal, as in CI)."""

import time

import pytest

from bnnhw import progress


def test_ci_output_is_plain_lines(monkeypatch, capfd):
    monkeypatch.delenv("BNNHW_PROGRESS", raising=False)
    assert not progress.is_live()
    lines = []
    with progress.elapsed("synth: ecp5: yosys", log=lines.append):
        pass
    done = 0
    with progress.counted("simulate", 8, unit="inputs", poll=lambda: done, log=lines.append):
        for done in range(1, 9):
            time.sleep(0.01)
    assert lines[0] == "synth: ecp5: yosys ..."
    counts = [line.split(": ")[1].split(" ")[0] for line in lines[1:]]
    assert counts == ["2/8", "4/8", "6/8", "8/8"]
    assert all("inputs/s" in line for line in lines[1:])
    captured = capfd.readouterr()
    assert "\r" not in captured.out + captured.err         # no bar drawn


def test_terminal_output_is_a_live_line_and_no_log(monkeypatch, capfd):
    monkeypatch.setenv("BNNHW_PROGRESS", "live")
    monkeypatch.setattr(progress, "INTERVAL", 0.05)
    assert progress.is_live()
    lines = []
    with progress.elapsed("nextpnr", log=lines.append):
        time.sleep(0.3)
    done = 0
    with progress.counted("simulate", 4, unit="inputs", poll=lambda: done, log=lines.append):
        for done in range(1, 5):
            time.sleep(0.1)
    assert lines == []
    err = capfd.readouterr().err
    assert "\r" in err and "nextpnr: 00:00" in err and "simulate:" in err and "/4" in err


@pytest.mark.parametrize("mode, live", [("plain", False), ("live", True), ("PLAIN", False)])
def test_the_environment_overrides_the_terminal_test(monkeypatch, mode, live):
    monkeypatch.setenv("BNNHW_PROGRESS", mode)
    assert progress.is_live() is live
