# amaranth: UnusedElaboratable=no
"""The board's byte protocol (``bnnhw.board.protocol``), pure Python.

CRC-8/SMBUS against its published check value and its linearity (the hardware XOR network is
built from the step matrix); frame layout (command, elements in ``(y, x, c)`` order, CRC) for
unsigned and signed inputs and the encoder's checks; every reply kind decoded, error replies,
damaged replies rejected; INFO round trip; the host-side ``BoardInfo.for_compiled`` equals what
the hardware reports for a real network; ``range_shape`` equals Amaranth's shapes.
"""

import re

import numpy as np
import pytest
from amaranth.hdl import Fragment, Shape

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.board import protocol as bp
from bnnhw.board.top import board_info
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model

from ..model.samples import every_op_model

DIGITS = bp.BoardInfo(channels=1, height=8, width=8, lo=0, hi=16, classes=10, logit_bytes=3,
                      element_bits=5)
RGB = bp.BoardInfo(channels=3, height=2, width=2, lo=-4, hi=3, classes=4, logit_bytes=2,
                   element_bits=3)


def test_crc8_check_value_and_properties():
    assert bp.crc8(b"123456789") == 0xF4          # CRC-8/SMBUS check value
    assert bp.crc8(b"") == 0 and bp.crc8(b"\x00") == 0
    data = bytes(range(50))
    assert bp.crc8(data + bytes([bp.crc8(data)])) == 0
    assert bp.crc8(data[20:], bp.crc8(data[:20])) == bp.crc8(data)
    # linear in crc ^ byte: the step matrix reproduces every step
    columns = bp.crc8_step_matrix()
    for crc in (0, 0x37, 0xFF):
        for byte in range(256):
            x, expected = crc ^ byte, 0
            for j in range(8):
                if x >> j & 1:
                    expected ^= columns[j]
            assert bp.crc8([byte], crc) == expected
    # every single-bit error and every two-byte swap in a digit frame is detected
    frame = bp.encode_frame(np.arange(64).reshape(1, 8, 8) % 17, DIGITS)
    for position in range(len(frame) * 8):
        damaged = bytearray(frame)
        damaged[position // 8] ^= 1 << position % 8
        assert bp.crc8(damaged) != 0
    for k in range(1, len(frame) - 2):
        swapped = bytearray(frame)
        swapped[k], swapped[k + 1] = swapped[k + 1], swapped[k]
        if swapped != frame:
            assert bp.crc8(swapped) != 0


def test_frame_layout_unsigned_single_channel():
    image = np.arange(64).reshape(1, 8, 8) % 17
    frame = bp.encode_frame(image, DIGITS)
    assert len(frame) == DIGITS.frame_bytes == 66
    assert frame[0] == bp.CLASSIFY and list(frame[1:-1]) == list(image.reshape(-1))
    assert frame[-1] == bp.crc8(frame[:-1])
    assert bp.encode_frame(image[0], DIGITS) == frame            # (H, W) for one channel
    assert bp.encode_frame(image, DIGITS, bp.CLASSIFY_LOGITS)[0] == bp.CLASSIFY_LOGITS
    assert bp.encode_frame(image.astype(float), DIGITS) == frame


def test_frame_layout_channels_together_and_signed():
    image = np.array([[[-4, 3], [0, 1]], [[2, -1], [-2, 0]], [[1, 1], [3, -3]]])  # (3, 2, 2)
    frame = bp.encode_frame(image, RGB)
    expected = [v & 0xFF for y in range(2) for x in range(2) for v in image[:, y, x]]
    assert list(frame[1:-1]) == expected


@pytest.mark.parametrize("image, message", [
    (np.zeros((2, 8, 8)), r"shape \(1, 8, 8\)"),
    (np.full((1, 8, 8), 17), r"element \[0, 0, 0\] = 17 is outside the input range \[0, 16\]"),
    (np.full((1, 8, 8), 0.5), "integers"),
    (np.full((1, 8, 8), "a"), "integers"),
])
def test_frame_checks(image, message):
    with pytest.raises(ValueError, match=message):
        bp.encode_frame(image, DIGITS)
    with pytest.raises(ValueError, match="^command: "):
        bp.encode_frame(np.zeros((1, 8, 8), int), DIGITS, bp.INFO)


def reply(*data):
    return bytes(data) + bytes([bp.crc8(data)])


def test_decode_replies():
    assert bp.decode_reply(reply(7), bp.CLASSIFY, DIGITS) == 7
    logits = [-421463, 5, 0, -1, 421463, 1, 2, 3, 4, 9]
    body = bytes([3]) + b"".join(v.to_bytes(3, "little", signed=True) for v in logits)
    assert bp.decode_reply(body + bytes([bp.crc8(body)]), bp.CLASSIFY_LOGITS, DIGITS) == \
        (3, logits)
    assert bp.decode_reply(reply(*DIGITS.to_bytes()), bp.INFO) == DIGITS
    assert bp.decode_reply(reply(*RGB.to_bytes()), bp.INFO) == RGB
    for code in (bp.ERR_CHECKSUM, bp.ERR_VALUE, bp.ERR_TIMEOUT, bp.ERR_FRAMING, bp.ERR_NETWORK):
        with pytest.raises(bp.BoardError, match=re.escape(bp.ERROR_NAMES[code])) as caught:
            bp.decode_reply(bp.error_reply(code), bp.CLASSIFY_LOGITS, DIGITS)
        assert caught.value.code == code
        assert bp.reply_length(bp.CLASSIFY_LOGITS, DIGITS, bp.error_reply(code)[0]) == 2
    assert bp.reply_length(bp.CLASSIFY_LOGITS, DIGITS, 3) == 2 + 10 * 3
    assert bp.reply_length(bp.INFO, None, bp.PROTOCOL_VERSION) == bp.INFO_BYTES + 1


@pytest.mark.parametrize("data, command, message", [
    (b"", bp.CLASSIFY, "empty"),
    (bytes([7, 0]), bp.CLASSIFY, "bad CRC"),
    (reply(7) + b"\x00", bp.CLASSIFY, "expected 2 bytes"),
    (reply(12), bp.CLASSIFY, "class 12 outside"),
    (reply(2, *DIGITS.to_bytes()[1:]), bp.INFO, "protocol version 2"),
    (reply(*DIGITS.to_bytes()[:-1]), bp.INFO, "expected 11 bytes"),
])
def test_damaged_replies(data, command, message):
    with pytest.raises(bp.ProtocolError, match=message):
        bp.decode_reply(data, command, DIGITS)


def test_board_info_checks_and_compatibility():
    with pytest.raises(ValueError, match="^classes: "):
        bp.BoardInfo(channels=1, height=8, width=8, lo=0, hi=16, classes=200, logit_bytes=1)
    with pytest.raises(ValueError, match="^lo, hi: "):
        bp.BoardInfo(channels=1, height=8, width=8, lo=-1, hi=200, classes=2, logit_bytes=1)
    with pytest.raises(ValueError, match="^height: "):
        bp.BoardInfo(channels=1, height=256, width=8, lo=0, hi=1, classes=2, logit_bytes=1)
    other = bp.BoardInfo(**{**DIGITS.__dict__, "element_bits": 8})
    assert other.matches(DIGITS) and not RGB.matches(DIGITS)


def test_host_info_equals_the_hardware_info():
    compiled = lower(Model.from_dict(*every_op_model(1, exact=True)))
    plan = plan_folding(compiled, target_cycles=1000)
    network = StreamingNetwork(hardware_plan(compiled, plan))
    Fragment.get(network, None)    # elaborated: no unused-elaboratable warning at any later gc
    assert bp.BoardInfo.for_compiled(compiled) == board_info(network)
    assert board_info(network).logit_bytes == -(-network.logits_format.width // 8)


def test_range_shape_matches_amaranth():
    for lo, hi in [(0, 0), (0, 1), (0, 16), (0, 255), (-1, 0), (-128, 127), (-4, 3), (-5, 3),
                   (-3, 4), (-421463, 421463), (0, 85888), (-85888, 85888), (7, 9)]:
        shape = Shape.cast(range(lo, hi + 1))
        assert bp.range_shape(lo, hi) == (max(shape.width, 1), shape.signed), (lo, hi)
