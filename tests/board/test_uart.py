# amaranth: UnusedElaboratable=no
"""UART receiver and transmitter (``bnnhw.board.uart``) in the Amaranth simulator.

Receiver: random bytes at several divisors, with the sender's baud rate off by up to +-2.5 %,
back to back and with gaps; bad stop bits are flagged and dropped and the receiver recovers
(also from a long break); glitches shorter than half a bit are not start bits; mid-bit sampling
(the byte is ready a fixed number of cycles after its start edge); ``valid`` holds until
``ready``, overruns are flagged. Transmitter: every bit exactly ``divisor`` cycles, bytes back to
back without a gap, idle high; a TX -> RX loopback. Parameter checks of ``uart_divisor``.
"""

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from bnnhw.board.uart import UARTReceiver, UARTTransmitter, uart_divisor

from .helpers import decode_line, uart_bits


def run_receiver(levels, divisor, *, ready=None, tail=None):
    """Drive ``levels`` into a receiver; return ``(bytes [(value, cycle)], errors [cycle],
    overruns [cycle])``. ``ready(cycle)`` gives ``o.ready`` (default always)."""
    dut = UARTReceiver(clk_freq=divisor * 1000, baud=1000)
    got, errors, overruns = [], [], []
    tail = 4 * divisor if tail is None else tail

    async def testbench(ctx):
        for cycle, level in enumerate(list(levels) + [1] * tail):
            ctx.set(dut.rx, level)
            ctx.set(dut.o.ready, 1 if ready is None else ready(cycle))
            _, _, valid, rdy, payload, error, overrun = await ctx.tick().sample(
                dut.o.valid, dut.o.ready, dut.o.payload, dut.frame_error, dut.overrun)
            if valid and rdy:
                got.append((payload, cycle))
            if error:
                errors.append(cycle)
            if overrun:
                overruns.append(cycle)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return got, errors, overruns


# 4 cycles per bit leave no margin for a baud error (sampling is +-1 cycle of mid-bit)
@pytest.mark.parametrize("divisor, error", [(4, 0.0)] + [
    (divisor, error) for divisor in (7, 8, 16) for error in (0.0, -0.025, 0.025)])
def test_receiver_reads_back_to_back_bytes(divisor, error):
    rng = random.Random(divisor)
    data = bytes([0x00, 0xFF, 0x55, 0xAA] + [rng.randrange(256) for _ in range(12)])
    got, errors, _ = run_receiver(uart_bits(data, divisor, error=error), divisor)
    assert bytes(b for b, _ in got) == data
    assert errors == []


def test_receiver_samples_mid_bit_and_handles_gaps():
    divisor = 16
    data = bytes([0x3C, 0xC3, 0x01])
    levels = [1] * 5 + uart_bits(data, divisor, gap=23)
    got, _, _ = run_receiver(levels, divisor)
    assert bytes(b for b, _ in got) == data
    starts = [t for _, _, t in decode_line(levels, divisor)]
    # the stop bit is sampled mid-bit (start + 9.5 bits, +2 synchroniser, +1 detection, +1
    # output register): the byte is out well before the end of the stop bit
    for (_, cycle), start in zip(got, starts):
        assert cycle - start == 9 * divisor + divisor // 2 + 3


def test_receiver_ignores_glitches_shorter_than_half_a_bit():
    divisor = 16
    levels = [1] * 10 + [0] * 5 + [1] * 40 + uart_bits(b"\x5a", divisor)
    got, errors, _ = run_receiver(levels, divisor)
    assert [b for b, _ in got] == [0x5A] and errors == []


def test_framing_error_drops_the_byte_and_recovers():
    divisor = 8
    data = b"\x11\x22\x33\x44"
    # byte 1's stop bit is low; the line returns high for a bit before byte 2
    levels = uart_bits(data[:2], divisor, stop_bits=[1, 0]) + [1] * divisor + \
        uart_bits(data[2:], divisor)
    got, errors, _ = run_receiver(levels, divisor)
    assert [b for b, _ in got] == [0x11, 0x33, 0x44]
    assert len(errors) == 1


def test_break_gives_one_framing_error_then_recovers():
    divisor = 8
    levels = [1] * 8 + [0] * (divisor * 40) + [1] * (2 * divisor) + uart_bits(b"\xa0", divisor)
    got, errors, _ = run_receiver(levels, divisor)
    assert [b for b, _ in got] == [0xA0]
    assert len(errors) == 1


def test_valid_holds_until_ready_and_overrun_is_flagged():
    divisor = 8
    data = b"\x01\x02\x03"
    levels = uart_bits(data, divisor)
    # not ready at all until the end: byte 1 is replaced by byte 2 (overrun), then byte 3
    got, _, overruns = run_receiver(levels, divisor,
                                    ready=lambda cycle: int(cycle >= len(levels) + divisor))
    assert [b for b, _ in got] == [0x03]
    assert len(overruns) == 2


def run_transmitter(data, divisor, *, gaps=None):
    """Send ``data`` (``gaps[k]`` idle cycles before offering byte ``k``); return the line level
    per cycle and the cycles at which each byte was accepted."""
    dut = UARTTransmitter(clk_freq=divisor * 1000, baud=1000)
    levels, accepted = [], []

    async def testbench(ctx):
        cycle = 0
        k = 0
        wait = (gaps or [0] * len(data))[0]
        idle_after = 0
        while True:
            offering = k < len(data) and wait == 0
            ctx.set(dut.i.valid, offering)
            if offering:
                ctx.set(dut.i.payload, data[k])
            _, _, tx, ready = await ctx.tick().sample(dut.tx, dut.i.ready)
            levels.append(tx)
            if offering and ready:
                accepted.append(cycle)
                k += 1
                if k < len(data):
                    wait = (gaps or [0] * len(data))[k]
            elif wait:
                wait -= 1
            cycle += 1
            if k == len(data):
                idle_after += 1
                if idle_after > 12 * divisor:
                    break

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return levels, accepted


@pytest.mark.parametrize("divisor", [4, 9, 16])
def test_transmitter_bit_timing_back_to_back(divisor):
    rng = random.Random(divisor)
    data = bytes([0x00, 0xFF] + [rng.randrange(256) for _ in range(6)])
    levels, accepted = run_transmitter(data, divisor)
    # no gap: a new byte every 10 bit periods
    assert [b - a for a, b in zip(accepted, accepted[1:])] == [10 * divisor] * (len(data) - 1)
    first = levels.index(0)
    for k, byte in enumerate(data):
        start = first + 10 * divisor * k
        expected = [0] + [(byte >> b) & 1 for b in range(8)] + [1]
        for n, level in enumerate(expected):
            bit = levels[start + n * divisor:start + (n + 1) * divisor]
            assert bit == [level] * divisor, f"byte {k} bit {n}"
    assert levels[:first] == [1] * first and set(levels[first + 10 * divisor * len(data):]) == {1}
    assert [b for b, ok, _ in decode_line(levels, divisor)] == list(data)


def test_transmitter_with_gaps_and_reset_level():
    divisor = 8
    data = b"\x81\x7e\x00"
    levels, accepted = run_transmitter(data, divisor, gaps=[3, 50, 1])
    decoded = decode_line(levels, divisor)
    assert [b for b, ok, _ in decoded] == list(data) and all(ok for _, ok, _ in decoded)
    assert levels[0] == 1


def test_loopback():
    divisor = 6
    tx = UARTTransmitter(clk_freq=6e6, baud=1e6)
    rx = UARTReceiver(clk_freq=6e6, baud=1e6)
    m = Module()
    m.submodules.tx, m.submodules.rx = tx, rx
    m.d.comb += rx.rx.eq(tx.tx)
    data = bytes(random.Random(3).randrange(256) for _ in range(20))
    got = []

    async def source(ctx):
        for byte in data:
            ctx.set(tx.i.valid, 1)
            ctx.set(tx.i.payload, byte)
            await ctx.tick().until(tx.i.ready)
        ctx.set(tx.i.valid, 0)

    async def sink(ctx):
        ctx.set(rx.o.ready, 1)
        for _ in range(12 * divisor * len(data)):
            _, _, valid, payload = await ctx.tick().sample(rx.o.valid, rx.o.payload)
            if valid:
                got.append(payload)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    assert bytes(got) == data
    assert tx.divisor == rx.divisor == divisor and tx.actual_baud == 1e6


def test_divisor_checks():
    assert uart_divisor(12e6, 115200) == 104          # 0.16 % off
    assert uart_divisor(25e6, 115200) == 217
    assert uart_divisor(1e6, 125000) == 8
    with pytest.raises(ValueError, match=r"^baud: .*at least 4"):
        uart_divisor(12e6, 4_000_000)
    with pytest.raises(ValueError, match=r"^baud: .*off"):
        uart_divisor(12e6, 2_200_000)                  # divisor 5: 2.4 MBd, 9 % off
    with pytest.raises(ValueError, match=r"^clk_freq: "):
        UARTReceiver(clk_freq=0, baud=9600)
    with pytest.raises(ValueError, match=r"^baud: "):
        UARTTransmitter(clk_freq=12e6, baud=-1)
