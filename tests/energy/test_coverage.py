"""The coverage.dat reader on a small real file (``data/counter_fifo.coverage.dat``).

The file is Verilator's own output for ``fixture_design.CounterFifo`` (a 3-bit counter feeding a
3-deep StreamFIFO) run for ``CYCLES`` = 32 cycles after reset; ``python -m
tests.energy.fixture_design`` regenerates it.
"""

import pytest

from bnnhw.energy import (CoverageError, ToggleCounts, parse_coverage, toggle_points,
                          toggles_by_block)

from .fixture_design import CYCLES, FIXTURE


def _signal(points, hierarchy, signal):
    """Toggles per bit index (both edges) of one signal."""
    bits = {}
    for p in points:
        if p.hierarchy == hierarchy and p.signal == signal:
            bits[p.index] = bits.get(p.index, 0) + p.count
    return bits


def test_points_of_the_real_file():
    points = list(toggle_points(FIXTURE))
    assert len(points) == 240 and all(p.edge in ("0->1", "1->0") for p in points)
    # the counter's bit k toggles every 2^k cycles: 32, 16, 8 transitions in 32 cycles
    assert _signal(points, "counter_fifo", "count") == \
        {"[0]": CYCLES, "[1]": CYCLES // 2, "[2]": CYCLES // 4}
    # the FIFO's write data is the counter's low bits, one hierarchy level down
    assert _signal(points, "counter_fifo.fifo.fifo", "w_data") == {"[0]": 32, "[1]": 16}
    # the clock: 34 rising and 34 falling edges (2 reset cycles + 32)
    assert _signal(points, "counter_fifo", "clk") == {"": 68}
    memory = [p for p in points if p.memory]
    assert {p.signal for p in memory} == {"storage"}
    assert sorted({p.index for p in memory}) == ["[0][0]", "[0][1]", "[1][0]", "[1][1]"]
    assert sum(p.count for p in memory) == 15


def test_per_instance_sums_leave_out_clock_and_reset():
    per_instance = parse_coverage(FIXTURE)
    assert set(per_instance) == {"counter_fifo", "counter_fifo.fifo", "counter_fifo.fifo.fifo"}
    points = list(toggle_points(FIXTURE))
    for hierarchy, counts in per_instance.items():
        mine = [p for p in points if p.hierarchy == hierarchy and p.signal not in ("clk", "rst")]
        plain = [p for p in mine if not p.memory]
        assert counts.toggles == sum(p.count for p in plain)
        assert counts.bits == len(plain) // 2          # two points (edges) per bit
        assert counts.memory_toggles == sum(p.count for p in mine if p.memory)
    fifo = per_instance["counter_fifo.fifo.fifo"]
    assert (fifo.memory_bits, fifo.memory_toggles) == (4, 15)
    assert per_instance["counter_fifo"].memory_bits == 0
    with_clock = parse_coverage(FIXTURE, exclude=())
    assert with_clock["counter_fifo"].toggles - per_instance["counter_fifo"].toggles == 68 + 2
    assert with_clock["counter_fifo"].bits - per_instance["counter_fifo"].bits == 2


def test_blocks_below_a_prefix():
    per_instance = parse_coverage(FIXTURE)
    blocks = toggles_by_block(per_instance, prefix="counter_fifo")
    assert list(blocks) == ["fifo"]       # the prefix's own wires are left out
    assert blocks["fifo"] == per_instance["counter_fifo.fifo"] + \
        per_instance["counter_fifo.fifo.fifo"]
    assert toggles_by_block(per_instance) == {}    # no bnnhw_sim.harness.network in this file


def test_text_input_and_other_point_types():
    text = FIXTURE.read_text(encoding="latin-1")
    assert parse_coverage(text) == parse_coverage(FIXTURE)
    line = "C '\x01t\x02line\x01page\x02v_line/top\x01o\x02block\x01h\x02top' 7\n"
    assert list(toggle_points("# SystemC::Coverage-3\n" + line)) == []
    with pytest.raises(CoverageError, match="no toggle coverage points"):
        parse_coverage("# SystemC::Coverage-3\n" + line)


@pytest.mark.parametrize("line, message", [
    ("X 'abc' 3", "expected C '<key>' <count>"),
    ("C '\x01t\x02toggle\x01o\x02a:0->1' x", "no count"),
    ("C '\x01t\x02toggle\x01o\x02a:up' 3", "is not signal"),
    ("C '\x01t\x02toggle\x01oa:0->1' 3", "no value separator"),
])
def test_malformed_lines_are_named(line, message):
    with pytest.raises(CoverageError, match=message) as error:
        list(toggle_points("# header\n" + line + "\n"))
    assert "line 2" in str(error.value)


def test_toggle_count_arithmetic():
    a, b = ToggleCounts(100, 10, 8, 4), ToggleCounts(40, 10, 2, 4)
    assert a.minus(b) == ToggleCounts(60, 10, 6, 4)
    assert a.minus(b).scaled(0.5) == ToggleCounts(30, 10, 3, 4)
    assert (a + b).bits == 20
