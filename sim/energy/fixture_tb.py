"""cocotb test of ``fixture_design.CounterFifo``: reset for 2 cycles, then run FIXTURE_CYCLES."""

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge


@cocotb.test()
async def run(dut):
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await ClockCycles(dut.clk, int(os.environ["FIXTURE_CYCLES"]))
    await FallingEdge(dut.clk)
