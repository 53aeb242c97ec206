"""The byte protocol of the UART classifier board (``docs/board-protocol.md``), pure Python.

Shared by the board top (:mod:`bnnhw.board.top`: constants, the CRC), the host script
(:mod:`bnnhw.board.host`, ``python -m bnnhw.host``) and the tests (frame encoding, reply
decoding). Imports nothing beyond the standard library and NumPy: ``import bnnhw.board.protocol``
loads no Amaranth (``tests/test_layering.py`` checks it).

Frames (host -> board): ``command``, the payload, then ``crc8`` of every byte before it.

- ``CLASSIFY`` (``0xA0``) / ``CLASSIFY_LOGITS`` (``0xA1``): the image's ``C*H*W`` elements, one
  byte each (two's complement for signed inputs), raster order with a pixel's channels together
  (``(y, x, c)``, the order the network streams them).
- ``INFO`` (``0xA2``): no payload.

Replies (board -> host) end in ``crc8`` of their other bytes:

- ``CLASSIFY``: ``class``, ``crc`` (2 bytes); ``class < 0x80``.
- ``CLASSIFY_LOGITS``: ``class``, each logit in ``logit_bytes`` bytes little-endian (two's
  complement, sign-extended), ``crc``.
- ``INFO``: the :class:`BoardInfo` bytes (``INFO_BYTES``), ``crc``.
- any error: ``0xE0 | code``, ``crc`` (2 bytes); the first byte of a reply is ``>= 0xE0`` exactly
  when it is an error.
"""

from dataclasses import dataclass

import numpy as np
from ..errors import BnnhwError

__all__ = [
    "CLASSIFY", "CLASSIFY_LOGITS", "INFO", "COMMANDS", "PROTOCOL_VERSION", "CRC_POLY",
    "ERROR_BASE", "ERR_CHECKSUM", "ERR_VALUE", "ERR_TIMEOUT", "ERR_FRAMING", "ERR_NETWORK",
    "ERROR_NAMES", "INFO_BYTES", "DEFAULT_TIMEOUT_BITS", "BoardError", "ProtocolError",
    "BoardInfo", "crc8", "crc8_step_matrix", "encode_frame", "encode_info_request",
    "error_reply", "reply_length", "decode_reply", "range_shape",
]

#: Commands (the first byte of a frame).
CLASSIFY = 0xA0
CLASSIFY_LOGITS = 0xA1
INFO = 0xA2
COMMANDS = (CLASSIFY, CLASSIFY_LOGITS, INFO)

PROTOCOL_VERSION = 1

#: CRC-8 polynomial x^8 + x^2 + x + 1 (CRC-8/SMBUS: init 0, MSB first, no final XOR).
CRC_POLY = 0x07

#: Error replies are ``ERROR_BASE | code``.
ERROR_BASE = 0xE0
ERR_CHECKSUM = 1   # the frame's CRC byte does not match
ERR_VALUE = 2      # CRC fine, but an element lies outside the network's input range
ERR_TIMEOUT = 3    # a frame stopped: no byte for the inter-byte timeout
ERR_FRAMING = 4    # a byte of the frame had a bad stop bit (line noise, wrong baud rate)
ERR_NETWORK = 5    # the network gave no result within the watchdog time (it was reset)

ERROR_NAMES = {
    ERR_CHECKSUM: "bad checksum",
    ERR_VALUE: "element value out of the input range",
    ERR_TIMEOUT: "frame timeout (truncated frame)",
    ERR_FRAMING: "UART framing error (bad stop bit)",
    ERR_NETWORK: "network watchdog (no result; network reset)",
}

#: Bytes of an INFO reply before its CRC.
INFO_BYTES = 10

#: The board's default inter-byte timeout inside a frame, in bit periods (17.8 ms at 115200 baud;
#: long enough for the gaps a USB serial adapter leaves between its packets).
DEFAULT_TIMEOUT_BITS = 2048


class ProtocolError(BnnhwError, ValueError):
    """A reply that does not follow the protocol (wrong length, bad CRC, unexpected byte)."""


class BoardError(BnnhwError, ValueError, RuntimeError):
    """The one error of the board package: the design cannot be built for (or programmed onto)
    the board, or the board answered with an error reply.

    ``overflows`` lists the resources a design does not fit (``bnnhw.board.bitstream``, empty
    otherwise); ``code`` is the ``ERR_*`` value of an error reply (:meth:`reply`, else ``None``).
    A ``ValueError`` (a design that does not fit) and a ``RuntimeError`` (an error reply), as
    its two forms were before they were one class.
    """

    def __init__(self, message, *, overflows=(), code=None):
        self.overflows = list(overflows)
        self.code = code
        super().__init__(message)

    @classmethod
    def reply(cls, code):
        """The error of an error reply with ``code``: ``board error 0xE2: bad length``."""
        return cls(f"board error 0x{ERROR_BASE | code:02X}: "
                   f"{ERROR_NAMES.get(code, 'unknown error code')}", code=code)


def _crc8_byte(crc, byte):
    crc ^= byte
    for _ in range(8):
        crc = ((crc << 1) ^ CRC_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


_CRC_TABLE = [_crc8_byte(0, b) for b in range(256)]


def crc8(data, crc=0):
    """CRC-8/SMBUS of ``data`` (bytes or ints 0..255), continuing from ``crc``."""
    for byte in bytes(data):
        crc = _CRC_TABLE[crc ^ byte]
    return crc


def crc8_step_matrix():
    """The CRC byte step as GF(2) columns: ``crc' = XOR of column[j] over the set bits j of
    crc ^ byte`` (the step is linear: init 0, no final XOR). Hardware builds its XOR tree from
    this."""
    return [_CRC_TABLE[1 << j] for j in range(8)]


def range_shape(lo, hi):
    """``(width, signed)`` of the smallest two's-complement / unsigned shape holding
    ``[lo, hi]`` (what Amaranth's ``Shape.cast(range(lo, hi + 1))`` gives)."""
    lo, hi = int(lo), int(hi)
    if lo < 0:
        width = max((-lo - 1).bit_length(), hi.bit_length()) + 1
        return width, True
    return max(hi.bit_length(), 1), False


@dataclass(frozen=True)
class BoardInfo:
    """What a board's network takes and returns: the INFO reply.

    ``channels, height, width``: the input image; each element is an integer in ``[lo, hi]``
    sent as one byte. ``classes`` logits come back in ``logit_bytes`` bytes each
    (``logits_signed``: two's complement).
    """

    channels: int
    height: int
    width: int
    lo: int
    hi: int
    classes: int
    logit_bytes: int
    logits_signed: bool = True
    element_bits: int = 8
    version: int = PROTOCOL_VERSION

    def __post_init__(self):
        for name in ("channels", "height", "width"):
            value = getattr(self, name)
            if not 1 <= value <= 255:
                raise ValueError(f"{name}: expected 1 .. 255, got {value}")
        if not 1 <= self.classes <= 128:
            raise ValueError(f"classes: expected 1 .. 128 (a class byte is < 0x80), got "
                             f"{self.classes}")
        if not 1 <= self.element_bits <= 8:
            raise ValueError(f"element_bits: input elements must fit one byte, got "
                             f"{self.element_bits} bits")
        if not -128 <= self.lo <= self.hi <= 255 or (self.lo < 0 and self.hi > 127):
            raise ValueError(f"lo, hi: the input range [{self.lo}, {self.hi}] must fit one "
                             f"byte (0 .. 255 or -128 .. 127)")
        if not 1 <= self.logit_bytes <= 127:
            raise ValueError(f"logit_bytes: expected 1 .. 127, got {self.logit_bytes}")

    @property
    def signed(self):
        """Whether elements are two's-complement bytes."""
        return self.lo < 0

    @property
    def elements(self):
        return self.channels * self.height * self.width

    @property
    def frame_bytes(self):
        """Length of a CLASSIFY frame: command, elements, CRC."""
        return self.elements + 2

    @classmethod
    def for_compiled(cls, compiled):
        """The info of a :class:`bnnhw.compiler.CompiledNetwork` (input value ``"input"``, output
        ``compiled.output`` of shape ``(classes, 1, 1)``)."""
        inp = compiled.values["input"]
        out = compiled.values[compiled.output]
        channels, height, width = (int(v) for v in inp.shape)
        element_bits, _ = range_shape(inp.lo, inp.hi)
        logit_width, logits_signed = range_shape(out.lo, out.hi)
        return cls(channels=channels, height=height, width=width, lo=int(inp.lo),
                   hi=int(inp.hi), classes=int(out.shape[0]),
                   logit_bytes=-(-logit_width // 8), logits_signed=logits_signed,
                   element_bits=element_bits)

    def to_bytes(self):
        """The INFO reply body (:data:`INFO_BYTES` bytes, without the CRC)."""
        return bytes([
            self.version, self.channels, self.height, self.width,
            self.element_bits | (0x80 if self.signed else 0),
            self.lo & 0xFF, self.hi & 0xFF, self.classes,
            self.logit_bytes | (0x80 if self.logits_signed else 0),
            0,
        ])

    @classmethod
    def from_bytes(cls, body):
        body = bytes(body)
        if len(body) != INFO_BYTES:
            raise ProtocolError(f"INFO reply: expected {INFO_BYTES} bytes, got {len(body)}")
        if body[0] != PROTOCOL_VERSION:
            raise ProtocolError(f"INFO reply: protocol version {body[0]}, this host speaks "
                                f"{PROTOCOL_VERSION}")
        signed = bool(body[4] & 0x80)
        lo, hi = body[5], body[6]
        if signed:
            lo, hi = (v - 256 if v >= 128 else v for v in (lo, hi))
        try:
            return cls(channels=body[1], height=body[2], width=body[3], lo=lo, hi=hi,
                       classes=body[7], logit_bytes=body[8] & 0x7F,
                       logits_signed=bool(body[8] & 0x80), element_bits=body[4] & 0x7F,
                       version=body[0])
        except ValueError as error:
            raise ProtocolError(f"INFO reply: {error}") from None

    def matches(self, other):
        """Same image geometry, input range, classes and logit encoding (``element_bits``
        aside)."""
        keys = ("channels", "height", "width", "lo", "hi", "classes", "logit_bytes",
                "logits_signed")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def encode_frame(image, info, command=CLASSIFY):
    """The frame that asks the board to classify ``image``.

    Parameters
    ----------
    image : array-like of int, shape ``(C, H, W)`` (or ``(H, W)`` when ``C == 1``)
    info : BoardInfo
    command : CLASSIFY or CLASSIFY_LOGITS

    Raises
    ------
    ValueError
        Wrong shape, non-integer elements or an element outside ``[info.lo, info.hi]``; the
        message names the first offending element ``[c, y, x]``.
    """
    if command not in (CLASSIFY, CLASSIFY_LOGITS):
        raise ValueError(f"command: expected CLASSIFY (0xA0) or CLASSIFY_LOGITS (0xA1), got "
                         f"{command!r}")
    array = np.asarray(image)
    if array.ndim == 2 and info.channels == 1:
        array = array[None]
    expected = (info.channels, info.height, info.width)
    if array.shape != expected:
        raise ValueError(f"image: expected shape {expected}, got {array.shape}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.rint(array)):
            raise ValueError("image: elements must be integers")
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iub":
        raise ValueError(f"image: elements must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    bad = np.argwhere((array < info.lo) | (array > info.hi))
    if len(bad):
        c, y, x = (int(v) for v in bad[0])
        raise ValueError(f"image: element [{c}, {y}, {x}] = {int(array[c, y, x])} is outside "
                         f"the input range [{info.lo}, {info.hi}]")
    payload = bytes(int(v) & 0xFF for v in array.transpose(1, 2, 0).reshape(-1))
    body = bytes([command]) + payload
    return body + bytes([crc8(body)])


def encode_info_request():
    """The INFO frame: ``0xA2``, its CRC."""
    return bytes([INFO, crc8([INFO])])


def error_reply(code):
    """The two bytes of error reply ``code``."""
    first = ERROR_BASE | code
    return bytes([first, crc8([first])])


def reply_length(command, info, first_byte):
    """Total length of the reply to ``command`` that starts with ``first_byte`` (``info`` may
    be ``None`` for INFO and error replies)."""
    if first_byte >= ERROR_BASE:
        return 2
    if command == INFO:
        return INFO_BYTES + 1
    if command == CLASSIFY:
        return 2
    if command == CLASSIFY_LOGITS:
        return 2 + info.classes * info.logit_bytes
    raise ValueError(f"command: unknown command {command!r}")


def decode_reply(reply, command, info=None):
    """Decode a complete reply to ``command``.

    Returns
    -------
    int (CLASSIFY), ``(label, [logits])`` (CLASSIFY_LOGITS) or :class:`BoardInfo` (INFO).

    Raises
    ------
    BoardError
        An error reply (its CRC checks).
    ProtocolError
        Wrong length, bad CRC, a class outside ``0 .. classes-1``.
    """
    reply = bytes(reply)
    if not reply:
        raise ProtocolError("empty reply")
    length = reply_length(command, info, reply[0])
    if len(reply) != length:
        raise ProtocolError(f"reply {reply.hex(' ')}: expected {length} bytes, got {len(reply)}")
    if crc8(reply[:-1]) != reply[-1]:
        raise ProtocolError(f"reply {reply.hex(' ')}: bad CRC (expected "
                            f"0x{crc8(reply[:-1]):02X})")
    if reply[0] >= ERROR_BASE:
        raise BoardError.reply(reply[0] & 0x1F)
    if command == INFO:
        return BoardInfo.from_bytes(reply[:-1])
    label = reply[0]
    if info is not None and label >= info.classes:
        raise ProtocolError(f"reply: class {label} outside 0 .. {info.classes - 1}")
    if command == CLASSIFY:
        return label
    logits = []
    n = info.logit_bytes
    for k in range(info.classes):
        value = int.from_bytes(reply[1 + k * n:1 + (k + 1) * n], "little",
                               signed=info.logits_signed)
        logits.append(value)
    return label, logits
