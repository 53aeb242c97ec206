"""cocotb testbench of the whole classifier board top (``tests/board/test_board_rtl.py``).

The Verilog top ``bnnhw_board`` is a :class:`bnnhw.board.top.ClassifierBoard` around the tiny
every-op network; its ports are ``clk``, ``rst``, ``uart_rx``, ``uart_tx``, ``led_status``,
``led_error``. Everything goes through the serial line with real bit timing: :class:`UartSender`
drives ``uart_rx`` (8N1, ``divisor`` clock cycles per bit, optionally a bad stop bit),
:class:`UartMonitor` decodes ``uart_tx`` by sampling each bit in its middle, as a host UART does,
and fails on a bad stop bit. Frames and replies use :mod:`bnnhw.board.protocol`, the module
the host script uses.

The job (``BNNHW_TB_SPEC``): ``divisor``, ``timeout_cycles``, ``info`` (the board's
``BoardInfo`` fields), ``images`` (held-out digits ``(N, C, H, W)``), ``labels`` (golden
classes), ``logits`` (golden logits) and ``reply_cycles`` (how long to wait for a reply).

Not a pytest module: the runner imports it inside the simulator.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer

from bnnhw.board import protocol as bp

PERIOD_NS = 10


def load_job():
    with open(os.environ["BNNHW_TB_SPEC"]) as file:
        job = json.load(file)
    job["info"] = bp.BoardInfo(**job["info"])
    job["images"] = np.array(job["images"], dtype=np.int64)
    return job


class UartSender:
    """Drives ``uart_rx``: each bit holds for ``divisor`` clock cycles, changing at falling
    clock edges (one timer per bit, not per cycle: Python wakes up once per bit)."""

    def __init__(self, dut, divisor):
        self.dut, self.divisor = dut, divisor
        self.bit = Timer(divisor * PERIOD_NS, unit="ns")
        dut.uart_rx.value = 1

    async def send(self, data, *, bad_stop=()):
        """Send ``data``; bytes whose index is in ``bad_stop`` get a low stop bit (followed by
        one idle bit, as the line must go high before the next start bit)."""
        await FallingEdge(self.dut.clk)
        for k, byte in enumerate(bytes(data)):
            stop = 0 if k in bad_stop else 1
            for level in [0] + [(byte >> b) & 1 for b in range(8)] + [stop]:
                self.dut.uart_rx.value = level
                await self.bit
            if not stop:
                self.dut.uart_rx.value = 1
                await self.bit
        self.dut.uart_rx.value = 1

    async def idle(self, cycles):
        self.dut.uart_rx.value = 1
        await Timer(cycles * PERIOD_NS, unit="ns")


class UartMonitor:
    """Decodes ``uart_tx`` into :attr:`received` (bytes, in order)."""

    def __init__(self, dut, divisor):
        self.dut, self.divisor = dut, divisor
        self.received = bytearray()
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        dut, divisor = self.dut, self.divisor
        half = Timer((divisor // 2) * PERIOD_NS + PERIOD_NS // 2, unit="ns")
        bit = Timer(divisor * PERIOD_NS, unit="ns")
        while True:
            await FallingEdge(dut.uart_tx)
            await half                  # the middle of the start bit (between clock edges)
            assert int(dut.uart_tx.value) == 0, "uart_tx: start bit shorter than half a bit"
            byte = 0
            for b in range(8):
                await bit
                byte |= int(dut.uart_tx.value) << b
            await bit
            assert int(dut.uart_tx.value) == 1, f"uart_tx: bad stop bit after byte {byte:#04x}"
            self.received.append(byte)

    def take(self):
        data = bytes(self.received)
        self.received.clear()
        return data

    async def reply(self, command, info, max_cycles):
        """The next complete reply to ``command`` (raw bytes); fails after ``max_cycles``."""
        waited = 0
        while True:
            if self.received:
                length = bp.reply_length(command, info, self.received[0])
                if len(self.received) >= length:
                    data = bytes(self.received[:length])
                    del self.received[:length]
                    return data
            assert waited < max_cycles, (
                f"no complete reply to command {command:#04x} within {max_cycles} cycles "
                f"(got {bytes(self.received).hex(' ') or 'nothing'})")
            await Timer(10 * self.divisor * PERIOD_NS, unit="ns")     # one byte time
            waited += 10 * self.divisor


async def start(dut, job):
    # The clock is the simulator's: run_cocotb(clock="clk") toggles it in C++ every 5 ns.
    sender = UartSender(dut, job["divisor"])
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    monitor = UartMonitor(dut, job["divisor"])
    return sender, monitor


async def transact(sender, monitor, frame, command, job, **send_args):
    await sender.send(frame, **send_args)
    return await monitor.reply(command, job["info"], job["reply_cycles"])


def expect_error(reply, code, command, info):
    try:
        bp.decode_reply(reply, command, info)
    except bp.BoardError as error:
        assert error.code == code, f"expected error {code}, got {error.code}"
        return
    raise AssertionError(f"expected error reply {code}, got {reply.hex(' ')}")


@cocotb.test()
async def classify_held_out_digits(dut):
    """Every held-out digit of the job as a serial frame; the class must be golden's. The
    first image also asks for its logits; an INFO frame describes the network."""
    job = load_job()
    info = job["info"]
    sender, monitor = await start(dut, job)
    reply = await transact(sender, monitor, bp.encode_info_request(), bp.INFO, job)
    assert bp.decode_reply(reply, bp.INFO) == info
    status_before = int(dut.led_status.value)
    for k, image in enumerate(job["images"]):
        command = bp.CLASSIFY_LOGITS if k == 0 else bp.CLASSIFY
        frame = bp.encode_frame(image, info, command)
        reply = await transact(sender, monitor, frame, command, job)
        result = bp.decode_reply(reply, command, info)
        if command == bp.CLASSIFY_LOGITS:
            label, logits = result
            assert logits == job["logits"][k], f"image {k}: logits {logits}, golden " \
                                               f"{job['logits'][k]}"
        else:
            label = result
        assert label == job["labels"][k], f"image {k}: class {label}, golden {job['labels'][k]}"
        dut._log.info("image %d: class %d (golden %d)", k, label, job["labels"][k])
    n = len(job["images"])
    assert int(dut.led_status.value) == status_before ^ (n & 1), "led_status toggles per image"
    assert int(dut.led_error.value) == 0
    await Timer(20 * job["divisor"] * PERIOD_NS, unit="ns")
    assert monitor.take() == b"", "extra bytes after the last reply"


@cocotb.test()
async def corrupted_frames_recover(dut):
    """Bad checksum, out-of-range value, garbage, a truncated frame, a framing error and a burst
    of command bytes: each gets its error reply (or none, for garbage) and the next good frame
    is classified correctly."""
    job = load_job()
    info = job["info"]
    timeout = job["timeout_cycles"]
    sender, monitor = await start(dut, job)
    images, labels = job["images"], job["labels"]
    good = [bp.encode_frame(image, info) for image in images]

    async def check_good(k):
        reply = await transact(sender, monitor, good[k], bp.CLASSIFY, job)
        assert bp.decode_reply(reply, bp.CLASSIFY, info) == labels[k], f"image {k} after error"

    # 1. bad checksum
    bad = good[0][:-1] + bytes([good[0][-1] ^ 0x10])
    expect_error(await transact(sender, monitor, bad, bp.CLASSIFY, job), bp.ERR_CHECKSUM,
                 bp.CLASSIFY, info)
    assert int(dut.led_error.value) == 1
    await check_good(0)
    assert int(dut.led_error.value) == 0

    # 2. an element out of range (the CRC is right)
    body = bytearray(good[1][:-1])
    body[5] = info.hi + 1
    expect_error(await transact(sender, monitor, bytes(body) + bytes([bp.crc8(body)]),
                                bp.CLASSIFY, job), bp.ERR_VALUE, bp.CLASSIFY, info)
    await check_good(1)

    # 3. garbage that holds no command byte: no reply at all, the good frame right behind it
    garbage = bytes([0x00, 0x10, 0xFF, 0x7E, 0x13, 0xE1, 0x5A])
    await sender.send(garbage)
    await check_good(2)

    # 4. a truncated frame: after the inter-byte timeout a timeout error, then a good frame
    reply = await transact(sender, monitor, good[3][:20], bp.CLASSIFY, job)
    expect_error(reply, bp.ERR_TIMEOUT, bp.CLASSIFY, info)
    await check_good(3)

    # 5. a bad stop bit in the middle of a frame: the rest of the frame is drained, one
    # framing error once the line is quiet
    reply = await transact(sender, monitor, good[4], bp.CLASSIFY, job, bad_stop={10})
    expect_error(reply, bp.ERR_FRAMING, bp.CLASSIFY, info)
    await check_good(4)

    # 6. a frame whose header byte is lost: its elements are dropped as garbage; its CRC byte
    # may look like a command, so wait out one timeout (and read whatever came), then resend
    await sender.send(good[5][1:])
    await sender.idle(timeout + job["reply_cycles"])
    leftover = monitor.take()
    assert len(leftover) in (0, 2), f"unexpected reply to a headless frame: {leftover.hex(' ')}"
    await check_good(5)

    # 7. a burst of command bytes and half frames, then quiet: the board is ready again
    await sender.send(bytes([bp.CLASSIFY, bp.INFO, bp.CLASSIFY_LOGITS]) + good[6][:30])
    await sender.idle(timeout + job["reply_cycles"])
    monitor.take()
    await check_good(6)
    await Timer(20 * job["divisor"] * PERIOD_NS, unit="ns")
    assert monitor.take() == b"", "extra bytes after the last reply"
