# amaranth: UnusedElaboratable=no
"""The board's frame parser (``bnnhw.board.top.FrameParser``) in the Amaranth simulator.

Bytes go straight into its stream (no UART), each followed by a few idle cycles. Checked: the
image-buffer writes (pixel address, channel lane, element bits) of a good frame, the status of
every error (bad CRC, value out of range - CRC taking precedence -, truncated frame, framing
error with a drain until the line is quiet), INFO frames, garbage before a command, bytes while
disabled, and that every frame ends in exactly one ``done`` pulse.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from bnnhw.board import protocol as bp
from bnnhw.board.top import FrameParser, crc8_next

TIMEOUT = 40
INFO = bp.BoardInfo(channels=2, height=2, width=3, lo=0, hi=16, classes=5, logit_bytes=2,
                    element_bits=5)
SIGNED = bp.BoardInfo(channels=1, height=2, width=2, lo=-8, hi=7, classes=3, logit_bytes=1,
                      element_bits=4)


def run_parser(info, events, *, enable=lambda cycle: 1, tail=None):
    """``events``: ``("byte", value)``, ``("error",)`` (a framing-error pulse) or
    ``("idle", cycles)``; bytes and errors take one cycle, followed by 3 idle cycles. Returns
    ``(writes {(addr, lane): data}, dones [(cycle, command, status)])``."""
    dut = FrameParser(info, timeout_cycles=TIMEOUT)
    writes, dones = {}, []
    w = info.element_bits
    tail = 2 * TIMEOUT + 10 if tail is None else tail

    async def testbench(ctx):
        cycle = 0

        async def tick(valid=0, payload=0, error=0):
            nonlocal cycle
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.payload, payload)
            ctx.set(dut.frame_error, error)
            ctx.set(dut.enable, enable(cycle))
            _, _, en, addr, data, done, command, status = await ctx.tick().sample(
                dut.w_en, dut.w_addr, dut.w_data, dut.done, dut.command, dut.status)
            for lane in range(info.channels):
                if en >> lane & 1:
                    writes[(addr, lane)] = (data >> (lane * w)) & ((1 << w) - 1)
            if done:
                dones.append((cycle, command, status))
            cycle += 1

        for event in events:
            if event[0] == "byte":
                await tick(1, event[1])
            elif event[0] == "error":
                await tick(error=1)
            if event[0] == "idle":
                for _ in range(event[1]):
                    await tick()
            else:
                for _ in range(3):
                    await tick()
        for _ in range(tail):
            await tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return writes, dones


def as_events(data):
    return [("byte", b) for b in data]


def image_for(info, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(info.lo, info.hi + 1, (info.channels, info.height, info.width))


def test_crc_network_matches_the_protocol():
    from amaranth.hdl import Module, Signal

    m = Module()
    crc, byte, out = Signal(8), Signal(8), Signal(8)
    m.d.comb += out.eq(crc8_next(crc, byte))

    async def testbench(ctx):
        for c in (0x00, 0x01, 0x5A, 0x80, 0xFF):
            for b in range(256):
                ctx.set(crc, c)
                ctx.set(byte, b)
                assert ctx.get(out) == bp.crc8([b], c), (c, b)

    sim = Simulator(m)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("info", [INFO, SIGNED], ids=["unsigned_2ch", "signed_1ch"])
def test_good_frame_writes_every_element(info):
    image = image_for(info)
    frame = bp.encode_frame(image, info)
    writes, dones = run_parser(info, as_events(frame))
    assert [(c, s) for _, c, s in dones] == [(bp.CLASSIFY, 0)]
    mask = (1 << info.element_bits) - 1
    expected = {(y * info.width + x, c): int(image[c, y, x]) & mask
                for c in range(info.channels) for y in range(info.height)
                for x in range(info.width)}
    assert writes == expected


def test_logits_and_info_commands():
    frame = bp.encode_frame(image_for(INFO, 1), INFO, bp.CLASSIFY_LOGITS)
    _, dones = run_parser(INFO, as_events(frame + bp.encode_info_request()))
    assert [(c, s) for _, c, s in dones] == [(bp.CLASSIFY_LOGITS, 0), (bp.INFO, 0)]


def test_bad_checksum_and_bad_value():
    frame = bytearray(bp.encode_frame(image_for(INFO, 2), INFO))
    bad_crc = bytes(frame[:-1]) + bytes([frame[-1] ^ 0x01])
    body = bytes([bp.CLASSIFY, 17]) + bytes(frame[2:-1])         # 17 > hi = 16, CRC right
    bad_value = body + bytes([bp.crc8(body)])
    both = body + bytes([bp.crc8(body) ^ 0xFF])
    _, dones = run_parser(INFO, as_events(bad_crc + bad_value + both + bytes(frame)))
    assert [s for _, _, s in dones] == [bp.ERR_CHECKSUM, bp.ERR_VALUE, bp.ERR_CHECKSUM, 0]


def test_signed_range_check():
    image = image_for(SIGNED, 3)
    body = bytes([bp.CLASSIFY]) + bytes(int(v) & 0xFF for v in image.reshape(-1))
    for value, status in [(-8, 0), (7, 0), (-9, bp.ERR_VALUE), (8, bp.ERR_VALUE)]:
        patched = body[:1] + bytes([value & 0xFF]) + body[2:]
        _, dones = run_parser(SIGNED, as_events(patched + bytes([bp.crc8(patched)])))
        assert [s for _, _, s in dones] == [status], value


def test_truncated_frame_times_out_then_a_good_frame_passes():
    frame = bp.encode_frame(image_for(INFO, 4), INFO)
    events = as_events(frame[:7]) + [("idle", TIMEOUT + 5)] + as_events(frame)
    _, dones = run_parser(INFO, events)
    assert [s for _, _, s in dones] == [bp.ERR_TIMEOUT, 0]
    # the timeout fires TIMEOUT cycles (+1) after the last byte
    last_byte = 7 * 4 - 4
    assert dones[0][0] - last_byte in (TIMEOUT + 1, TIMEOUT + 2)


def test_garbage_before_a_frame_is_dropped():
    frame = bp.encode_frame(image_for(INFO, 5), INFO)
    garbage = bytes([0x00, 0xFF, 0x13, 0x9F, 0xA3, 0xE1, 0x10])
    _, dones = run_parser(INFO, as_events(garbage + frame))
    assert [(c, s) for _, c, s in dones] == [(bp.CLASSIFY, 0)]


def test_framing_error_drains_until_quiet():
    frame = bp.encode_frame(image_for(INFO, 6), INFO)
    # an error in the middle, then the rest of the frame and more garbage keep it draining;
    # one FRAMING report once the line is quiet for the timeout, then a good frame
    events = as_events(frame[:5]) + [("error",)] + as_events(frame[6:]) + \
        [("idle", 20), ("error",)] + as_events(frame) + [("idle", TIMEOUT + 5)] + \
        as_events(frame)
    _, dones = run_parser(INFO, events)
    assert [s for _, _, s in dones] == [bp.ERR_FRAMING, 0]
    assert dones[0][0] > len(frame) * 2 * 4 + 20


def test_framing_error_outside_a_frame_is_ignored():
    frame = bp.encode_frame(image_for(INFO, 7), INFO)
    _, dones = run_parser(INFO, [("error",)] + as_events(frame))
    assert [s for _, _, s in dones] == [0]


def test_disabled_parser_drops_commands():
    frame = bp.encode_frame(image_for(INFO, 8), INFO)
    # disabled during the first copy of the frame: its elements are garbage, its CRC byte is
    # not a command (checked below), so only the second copy counts
    assert frame[-1] not in bp.COMMANDS
    n = len(frame) * 4
    _, dones = run_parser(INFO, as_events(frame + frame), enable=lambda cycle: int(cycle >= n))
    assert [s for _, _, s in dones] == [0]


def test_parameter_checks():
    with pytest.raises(ValueError, match="^timeout_cycles: "):
        FrameParser(INFO, timeout_cycles=0)
