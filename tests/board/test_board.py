# amaranth: UnusedElaboratable=no
"""The whole classifier board (``bnnhw.board.top.ClassifierBoard``) in the Amaranth simulator.

A stub network (``helpers.StubNetwork``: stalls its input pseudo-randomly, answers a few cycles
after the last pixel) stands in for the real one, and the serial line is bit-banged at 8 clock
cycles per bit: frames from ``board_protocol.encode_frame``, replies decoded from ``uart_tx``
as a host's UART would. Checked: classes, logits and INFO replies; every error reply (bad CRC,
bad value, truncated frame, framing error, network watchdog) followed by a good frame; bytes
while the board is busy; the LEDs; random garbage never hangs the board (a good frame is answered
after every burst). Platform elaboration for the iCEBreaker and the ULX3S (resources, clock
check) and the parameter checks. The same board with the real network runs under Verilator in
``test_board_rtl.py``.
"""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from bnnhw.board import protocol as bp
from bnnhw.board.top import ClassifierBoard, board_info

from .helpers import StubNetwork, decode_line, stub_result, uart_bits

DIVISOR = 8
CLK = 1_000_000
BAUD = CLK // DIVISOR
TIMEOUT_BITS = 30


def make_board(watchdog=600, **stub_args):
    return ClassifierBoard(StubNetwork(**stub_args), clk_freq=CLK, baud=BAUD,
                           timeout_bits=TIMEOUT_BITS, watchdog_cycles=watchdog)


def run_board(board, script, *, tail=None):
    """Play ``script`` (items: ``bytes`` sent back to back, an int = idle cycles, or a list of
    line levels) into ``uart_rx``; return ``(replies [(byte, stop_ok, cycle)], leds
    [(cycle, status, error)] at every change, the rx levels)``."""
    levels = [1] * 3
    for item in script:
        if isinstance(item, int):
            levels += [1] * item
        elif isinstance(item, (bytes, bytearray)):
            levels += uart_bits(item, DIVISOR)
        else:
            levels += list(item)
    levels += [1] * (tail if tail is not None else 2000)
    tx_levels, leds = [], []

    async def testbench(ctx):
        last = None
        for cycle, level in enumerate(levels):
            ctx.set(board.uart_rx, level)
            _, _, tx, status, error = await ctx.tick().sample(board.uart_tx, board.led_status,
                                                              board.led_error)
            tx_levels.append(tx)
            if (status, error) != last:
                leds.append((cycle, status, error))
                last = (status, error)

    sim = Simulator(board)
    sim.add_clock(1 / CLK)
    sim.add_testbench(testbench)
    sim.run()
    return decode_line(tx_levels, DIVISOR), leds, levels


def split_replies(decoded, commands, info):
    """Cut the received bytes into replies for ``commands`` (in order); return the decoded
    values (or ``BoardError`` instances)."""
    data = [b for b, ok, _ in decoded]
    assert all(ok for _, ok, _ in decoded), "a reply byte with a bad stop bit"
    out = []
    for command in commands:
        assert data, f"no reply for command {command:#x}; got {out}"
        n = bp.reply_length(command, info, data[0])
        reply, data = bytes(data[:n]), data[n:]
        try:
            out.append(bp.decode_reply(reply, command, info))
        except bp.BoardError as error:
            out.append(error)
    assert not data, f"extra bytes after the replies: {bytes(data).hex(' ')}"
    return out


def codes(results):
    return [r.code if isinstance(r, bp.BoardError) else r for r in results]


GAP = 1600      # idle cycles after a frame: the reply (<= 12 bytes = 960 cycles) and the network


def images(n, seed=0, info=None):
    info = info or bp.BoardInfo(channels=2, height=2, width=3, lo=0, hi=16, classes=5,
                                logit_bytes=2, element_bits=5)
    rng = np.random.default_rng(seed)
    return rng.integers(info.lo, info.hi + 1, (n, info.channels, info.height, info.width))


def test_classifies_images_and_sends_logits_and_info():
    board = make_board()
    info = board.info
    assert info == board_info(board.network)
    batch = images(5)
    script, commands = [], []
    for k, image in enumerate(batch):
        command = bp.CLASSIFY_LOGITS if k == 2 else bp.CLASSIFY
        script += [bp.encode_frame(image, info, command), GAP]
        commands.append(command)
    script += [bp.encode_info_request(), GAP]
    commands.append(bp.INFO)
    decoded, leds, _ = run_board(board, script)
    results = split_replies(decoded, commands, info)
    expected = [stub_result(image)[0] for image in batch]
    assert results[:2] + results[3:5] == expected[:2] + expected[3:5]
    assert results[2] == stub_result(batch[2])
    assert results[5] == info
    # the status LED toggles once per classified image, the error LED stays dark
    assert [s for _, s, _ in leds] == [0, 1, 0, 1, 0, 1]
    assert all(e == 0 for _, _, e in leds)


def test_reply_follows_the_frame_quickly():
    board = make_board()
    frame = bp.encode_frame(images(1)[0], board.info)
    decoded, _, levels = run_board(board, [frame])
    end_of_frame = 3 + len(frame) * 10 * DIVISOR
    first_reply = decoded[0][2]
    # the stop bit of the CRC byte is sampled mid-bit; then 6 pixels through a stalling stub
    assert 0 < first_reply - end_of_frame < 80


def test_error_replies_and_recovery():
    board = make_board(hi=16)
    info = board.info
    good = bp.encode_frame(images(1, 1)[0], info)
    bad_crc = good[:-1] + bytes([good[-1] ^ 0x40])
    body = bytes([bp.CLASSIFY, 31]) + good[2:-1]          # 31 > hi
    bad_value = body + bytes([bp.crc8(body)])
    truncated = good[:6]
    # a framing error: byte 4 of the frame with its stop bit low, then the rest of the frame
    framing = uart_bits(good[:5], DIVISOR, stop_bits=[1, 1, 1, 1, 0]) + [1] * DIVISOR + \
        uart_bits(good[5:], DIVISOR)
    timeout = board.timeout_cycles
    script = [bad_crc, GAP, good, GAP, bad_value, GAP, truncated, timeout + GAP, good, GAP,
              framing, timeout + GAP, good, GAP]
    commands = [bp.CLASSIFY] * 7
    decoded, leds, _ = run_board(board, script)
    label = stub_result(images(1, 1)[0])[0]
    assert codes(split_replies(decoded, commands, info)) == [
        bp.ERR_CHECKSUM, label, bp.ERR_VALUE, bp.ERR_TIMEOUT, label, bp.ERR_FRAMING, label]
    # the error LED lights after each error reply and goes out after the next good one
    errors = [e for _, _, e in leds]
    assert errors.count(1) >= 4 and errors[-1] == 0


def test_garbage_and_bytes_while_busy_are_dropped():
    board = make_board(delay=400)       # a slow network: the junk arrives while it computes
    info = board.info
    batch = images(2, 2)
    f0, f1 = (bp.encode_frame(image, info) for image in batch)
    garbage = bytes([0x00, 0x55, 0xFF, 0x10, 0x9F, 0xE3])
    # junk sent right behind a frame arrives while the board waits for the network: dropped
    script = [garbage, 50, f0, bytes([0xA0, 0xA1, 0x05]), GAP, f1, GAP]
    decoded, _, _ = run_board(board, script)
    assert split_replies(decoded, [bp.CLASSIFY] * 2, info) == \
        [stub_result(image)[0] for image in batch]


def test_network_watchdog_resets_the_network():
    board = make_board(hang_first=True)
    info = board.info
    batch = images(2, 3)
    script = [bp.encode_frame(batch[0], info), board.watchdog_cycles + GAP,
              bp.encode_frame(batch[1], info), GAP]
    decoded, _, _ = run_board(board, script)
    assert codes(split_replies(decoded, [bp.CLASSIFY] * 2, info)) == \
        [bp.ERR_NETWORK, stub_result(batch[1])[0]]


@pytest.mark.parametrize("seed", range(4))
def test_random_garbage_never_hangs_the_board(seed):
    """Bursts of random bytes (random stop bits, random command bytes and frame pieces among
    them), each followed by a quiet period of one timeout plus the longest reply; after every
    burst a good frame gets its correct reply. Replies to the garbage itself must still be
    well-formed replies of the protocol."""
    board = make_board()
    info = board.info
    rng = random.Random(seed)
    good_images = images(3, 10 + seed)
    quiet = board.timeout_cycles + board.watchdog_cycles + GAP
    script, markers = [], []
    for image in good_images:
        pieces = []
        for _ in range(rng.randrange(1, 6)):
            choice = rng.random()
            if choice < 0.3:
                frame = bp.encode_frame(images(1, rng.randrange(99))[0], info)
                pieces.append(frame[:rng.randrange(1, len(frame))])
            elif choice < 0.5:
                pieces.append(bytes([rng.choice(bp.COMMANDS)]))
            else:
                n = rng.randrange(1, 20)
                data = bytes(rng.randrange(256) for _ in range(n))
                stops = [int(rng.random() > 0.2) for _ in range(n)]
                pieces.append(uart_bits(data, DIVISOR, stop_bits=stops) + [1] * DIVISOR)
        for piece in pieces:
            script.append(piece)
            script.append(rng.choice([0, 3, 40]))
        script.append(quiet)
        markers.append(len(script))
        script += [bp.encode_frame(image, info), GAP]
    decoded, _, levels = run_board(board, script)
    assert all(ok for _, ok, _ in decoded)
    # the reply to each good frame is the last reply before the next burst starts
    starts = _script_cycles(script)
    for k, (image, marker) in enumerate(zip(good_images, markers)):
        begin = starts[marker]
        end = starts[marker + 2] if marker + 2 < len(starts) else len(levels)
        window = bytes(b for b, _, cycle in decoded if begin <= cycle < end)
        assert bp.decode_reply(window, bp.CLASSIFY, info) == stub_result(image)[0], k


def _script_cycles(script):
    """Start cycle of each script item (as :func:`run_board` lays them out)."""
    starts, cycle = [], 3
    for item in script:
        starts.append(cycle)
        if isinstance(item, int):
            cycle += item
        elif isinstance(item, (bytes, bytearray)):
            cycle += len(uart_bits(item, DIVISOR))
        else:
            cycle += len(item)
    return starts


def test_signed_inputs():
    board = make_board(channels=1, height=2, width=2, lo=-8, hi=7, classes=3)
    info = board.info
    assert info.signed and info.element_bits == 4
    batch = images(3, 4, info)
    script = []
    for image in batch:
        script += [bp.encode_frame(image, info, bp.CLASSIFY_LOGITS), GAP]
    decoded, _, _ = run_board(board, script)
    assert split_replies(decoded, [bp.CLASSIFY_LOGITS] * 3, info) == \
        [stub_result(image, 3) for image in batch]


# --- platforms ----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform_name", ["icebreaker", "ulx3s"])
def test_platform_elaboration_requests_uart_and_leds(platform_name):
    """The build plan's pin constraints: the FTDI UART, two LEDs, the default clock."""
    from amaranth.hdl import Fragment

    if platform_name == "icebreaker":
        from amaranth_boards.icebreaker import ICEBreakerPlatform as Platform
        clk, suffix = 12e6, ".pcf"
        pins = ["set_io uart_0__rx__io 6", "set_io uart_0__tx__io 9", "set_io led_g_0__io 37",
                "set_io led_r_0__io 11", "set_io clk12_0__io 35"]
    else:
        from amaranth_boards.ulx3s import ULX3S_85F_Platform as Platform
        clk, suffix = 25e6, ".lpf"
        pins = ['"uart_0__rx__io" SITE "M1"', '"uart_0__tx__io" SITE "L4"',
                '"led_0__io" SITE "B2"', '"led_1__io" SITE "C2"', '"clk25_0__io" SITE "G2"']
    board = ClassifierBoard.for_platform(StubNetwork(), Platform(), baud=115200)
    assert board.clk_freq == clk
    plan = Platform().prepare(board, name="top")
    (constraints,) = [text for name, text in plan.files.items() if name.endswith(suffix)]
    for pin in pins:
        assert pin in constraints
    with pytest.raises(ValueError, match="^clk_freq: "):
        Fragment.get(ClassifierBoard(StubNetwork(), clk_freq=clk * 2, baud=115200),
                     Platform())


def test_parameter_checks():
    stub = StubNetwork()
    with pytest.raises(ValueError, match="^baud: "):
        ClassifierBoard(stub, clk_freq=12e6, baud=5_000_000)
    with pytest.raises(ValueError, match="^clk_freq: "):
        ClassifierBoard(stub, clk_freq=-1)
    with pytest.raises(ValueError, match="^timeout_bits: "):
        ClassifierBoard(stub, clk_freq=12e6, timeout_bits=5)
    with pytest.raises(ValueError, match="^watchdog_cycles: "):
        ClassifierBoard(stub, clk_freq=12e6, watchdog_cycles=2)
    with pytest.raises(ValueError, match="^network: element_bits: "):
        ClassifierBoard(StubNetwork(lo=0, hi=300), clk_freq=12e6)
    with pytest.raises(ValueError, match="^network: classes"):
        ClassifierBoard(StubNetwork(classes=200, logit_width=12), clk_freq=12e6)
    board = ClassifierBoard(stub, clk_freq=12e6)
    assert board.divisor == 104 and board.timeout_cycles == 2048 * 104
    assert board.frame_seconds == pytest.approx(14 * 10 * 104 / 12e6)
