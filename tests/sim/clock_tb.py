"""cocotb testbench of ``tests/sim/test_simulator_clock.py``: the C++-driven clock of bnnhw's
simulator main seen from cocotb (not a pytest module; the runner imports it in the simulator).

The design: ``count`` increments on every rising edge of ``clk`` while ``enable`` is high
(``enable`` written by the testbench), ``clk`` toggles every 5 ns from time 0 (first rising
edge at 5 ns).
"""

import cocotb
from cocotb.triggers import (
    ClockCycles,
    FallingEdge,
    First,
    NextTimeStep,
    ReadOnly,
    RisingEdge,
    Timer,
)
from cocotb.utils import get_sim_time


@cocotb.test()
async def clock_edges_and_timers(dut):
    dut.enable.value = 0
    await RisingEdge(dut.clk)
    assert get_sim_time("ns") == 5, "first rising edge at 5 ns"
    await FallingEdge(dut.clk)
    assert get_sim_time("ns") == 10
    await RisingEdge(dut.clk)
    assert get_sim_time("ns") == 15
    await ReadOnly()
    start = int(dut.count.value)
    await FallingEdge(dut.clk)
    dut.enable.value = 1
    await ClockCycles(dut.clk, 7)
    await ReadOnly()
    assert int(dut.count.value) == start + 7, "one count per rising edge while enabled"
    await FallingEdge(dut.clk)
    dut.enable.value = 0
    await Timer(1000, unit="ns")           # 100 cycles with nothing for cocotb to do
    await ReadOnly()
    assert int(dut.count.value) == start + 7, "no rising edge between the last count and now"
    await FallingEdge(dut.clk)
    dut.enable.value = 1
    before = get_sim_time("ns")
    await Timer(100, unit="ns")            # 10 rising edges between two timer points
    await ReadOnly()
    assert int(dut.count.value) == start + 17, int(dut.count.value)
    await NextTimeStep()
    assert get_sim_time("ns") > before + 100


@cocotb.test()
async def value_change_wakes_on_the_edge(dut):
    dut.enable.value = 1
    await FallingEdge(dut.clk)
    seen = []
    for _ in range(4):
        timeout = Timer(100, unit="ns")
        fired = await First(dut.count.value_change, timeout)
        assert fired is not timeout, "count changes every cycle"
        seen.append((get_sim_time("ns") % 10, int(dut.count.value)))
    assert [phase for phase, _ in seen] == [5, 5, 5, 5], "changes happen at rising edges"
    values = [value for _, value in seen]
    assert values == list(range(values[0], values[0] + 4))
    dut.enable.value = 0
    timeout = Timer(200, unit="ns")
    await FallingEdge(dut.clk)
    fired = await First(dut.count.value_change, timeout)
    assert fired is timeout, "no change while disabled: the timer ends the wait"
