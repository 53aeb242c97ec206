"""Classify images on a UART classifier board: ``python -m bnnhw.host``.

::

    python -m bnnhw.host --port /dev/ttyUSB0 --design boolnet --held-out 20
    python -m bnnhw.host --port COM3 --design boolnet IMAGES.npy [--labels LABELS.npy]

Sends each image as a frame of the board protocol (``docs/board-protocol.md``) and prints the
board's class for it, next to the label (held-out digits, or ``--labels``) and to the golden
model's class (the design compiled on the host: the board's bitstream must give exactly these).
First an INFO frame checks that the board runs a network of the design's shape. Line errors
(a reply with a bad CRC, no reply, the board's checksum / timeout / framing / watchdog errors)
are retried ``--retries`` times after letting the line go quiet; an element out of range or a
board that does not match the design is an error at once.

Exit status: 0 every image classified and every class equal to golden's; 1 error (the message
says which: port, design, images, board); 2 all images classified but some class differs from
golden's (the hardware is wrong).

``IMAGES.npy``: integers ``(N, C, H, W)`` (or ``(N, H, W)`` for one channel) in the network's
input range (0..16 for the digits designs). pyserial is imported only when a port is opened.
"""

import argparse
import sys
import time

import numpy as np

from . import protocol as bp
from ..errors import BnnhwError

__all__ = ["HostError", "ReplyTimeout", "BoardClient", "open_port", "load_images", "main"]

EXIT_ERROR = 1
EXIT_MISMATCH = 2

#: Line errors worth a retry (the frame or the reply was damaged on the way).
RETRIED_CODES = (bp.ERR_CHECKSUM, bp.ERR_TIMEOUT, bp.ERR_FRAMING, bp.ERR_NETWORK)


class HostError(BnnhwError, RuntimeError):
    """Anything that stops the host script; the message is printed as is."""


class ReplyTimeout(HostError):
    """The board sent no (complete) reply in time."""


def open_port(name, baud, timeout):
    """Open serial port ``name`` (8N1) with pyserial; :class:`HostError` if that fails."""
    try:
        import serial
    except ImportError:
        raise HostError("pyserial is not installed (pip install pyserial)") from None
    try:
        return serial.Serial(name, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                             timeout=timeout, write_timeout=timeout)
    except (serial.SerialException, ValueError, OSError) as error:
        raise HostError(f"--port: cannot open {name!r}: {error}") from None


class BoardClient:
    """The protocol over a pyserial-like ``port`` (``write``, ``read(n)`` honouring
    ``port.timeout``, ``flush``, ``reset_input_buffer``).

    Parameters
    ----------
    baud : int
        The line's baud rate (for the quiet time before a retry).
    reply_timeout : float
        Seconds to wait for a reply's first byte (and then for the rest).
    retries : int
        Retries of a frame after a line error.
    timeout_bits : int
        The board's inter-byte timeout (bit periods); a retry first waits until the line has
        been quiet that long, so the board has given up any partial frame.
    log : callable, optional
        Receives one line per retry.
    """

    def __init__(self, port, *, baud, reply_timeout=2.0, retries=2,
                 timeout_bits=bp.DEFAULT_TIMEOUT_BITS, log=None):
        self.port = port
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.quiet = (timeout_bits + 40 * 10) / baud + 0.05
        self.log = log or (lambda line: None)
        self.retried = 0

    def _read_reply(self, command, info):
        self.port.timeout = self.reply_timeout
        first = self.port.read(1)
        if not first:
            raise ReplyTimeout(f"no reply from the board within {self.reply_timeout:g} s")
        length = bp.reply_length(command, info, first[0])
        rest = self.port.read(length - 1)
        if len(rest) < length - 1:
            raise ReplyTimeout(f"reply cut short: {(first + rest).hex(' ')} (expected "
                               f"{length} bytes)")
        return first + rest

    def resync(self):
        """Wait until the line has been quiet for the board's timeout; drop what came."""
        self.port.timeout = self.quiet
        while self.port.read(4096):
            pass
        self.port.reset_input_buffer()

    def transact(self, frame, command, info=None):
        """Send ``frame`` and return its decoded reply, retrying line errors."""
        for attempt in range(self.retries + 1):
            try:
                self.port.write(frame)
                self.port.flush()
                return bp.decode_reply(self._read_reply(command, info), command, info)
            except bp.BoardError as error:
                if error.code not in RETRIED_CODES or attempt == self.retries:
                    raise HostError(str(error)) from None
                problem = str(error)
            except (bp.ProtocolError, ReplyTimeout) as error:
                if attempt == self.retries:
                    raise HostError(f"{error} (after {self.retries} retries)") from None
                problem = str(error)
            self.retried += 1
            self.log(f"retry {attempt + 1}/{self.retries}: {problem}")
            self.resync()
        raise AssertionError("unreachable")

    def info(self):
        return self.transact(bp.encode_info_request(), bp.INFO)

    def classify(self, image, info, *, logits=False):
        """The board's class of ``image`` (or ``(class, logits)`` with ``logits``)."""
        command = bp.CLASSIFY_LOGITS if logits else bp.CLASSIFY
        return self.transact(bp.encode_frame(image, info, command), command, info)


def load_design(name):
    """``(BoardInfo, compiled network)`` of a design (name under ``designs/`` or folder)."""
    from ..design import Design

    try:
        compiled = Design.find(name).compiled
    except (ValueError, OSError) as error:        # DesignError and ModelError are ValueErrors
        raise HostError(f"--design: {error}") from None
    return bp.BoardInfo.for_compiled(compiled), compiled


def load_images(path, info):
    """Images ``(N, C, H, W)`` from a ``.npy`` file, checked against ``info``."""
    try:
        images = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise HostError(f"{path}: cannot read images: {error}") from None
    if images.ndim == 3 and info.channels == 1:
        images = images[:, None]
    expected = (info.channels, info.height, info.width)
    if images.ndim != 4 or images.shape[1:] != expected or len(images) == 0:
        raise HostError(f"{path}: expected images of shape (N, {', '.join(map(str, expected))})"
                        f", got {images.shape}")
    for k, image in enumerate(images):
        try:
            bp.encode_frame(image, info)
        except ValueError as error:
            raise HostError(f"{path}: image {k}: {error}") from None
    return images.astype(np.int64)


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.host",
        description="Classify images on a bnnhw UART classifier board and compare with golden.")
    parser.add_argument("--port", required=True, help="serial port (/dev/ttyUSB0, COM3, ...)")
    parser.add_argument("--design", required=True,
                        help="the design the board was built from (name under designs/ or "
                             "a folder)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("images", nargs="?", help="images (.npy, (N, C, H, W) integers)")
    source.add_argument("--held-out", type=int, metavar="N",
                        help="the first N held-out digits (with their labels)")
    parser.add_argument("--labels", help="labels (.npy, N integers) for IMAGES")
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    parser.add_argument("--timeout", type=float, default=2.0, metavar="S",
                        help="seconds to wait for a reply (default 2)")
    parser.add_argument("--retries", type=int, default=2,
                        help="retries of a frame after a line error (default 2)")
    parser.add_argument("--logits", action="store_true", help="also print each image's logits")
    return parser, parser.parse_args(argv)


def run(args, *, out=print, port_opener=open_port):
    """The command without argument parsing; returns the exit status."""
    info, compiled = load_design(args.design)
    labels = None
    if args.held_out is not None:
        from ..train.data import HELD_OUT, held_out

        if not 1 <= args.held_out <= HELD_OUT:
            raise HostError(f"--held-out: expected 1 .. {HELD_OUT}, got {args.held_out}")
        images, labels = held_out()
        images = np.asarray(images[:args.held_out], dtype=np.int64)
        labels = np.asarray(labels[:args.held_out])
        for k, image in enumerate(images):
            bp.encode_frame(image, info)          # the design's range holds the digits
    else:
        images = load_images(args.images, info)
        if args.labels:
            try:
                labels = np.load(args.labels, allow_pickle=False).reshape(-1)
            except (OSError, ValueError) as error:
                raise HostError(f"--labels: cannot read {args.labels}: {error}") from None
            if len(labels) != len(images):
                raise HostError(f"--labels: {len(labels)} labels for {len(images)} images")
    if args.retries < 0 or args.timeout <= 0:
        raise HostError("--retries must be >= 0 and --timeout > 0")
    golden = np.asarray(compiled.classify(images))
    golden_logits = compiled.run(images).reshape(len(images), -1) if args.logits else None

    port = port_opener(args.port, args.baud, args.timeout)
    try:
        client = BoardClient(port, baud=args.baud, reply_timeout=args.timeout,
                             retries=args.retries, log=lambda line: out(f"  {line}"))
        board = client.info()
        if not board.matches(info):
            raise HostError(f"the board's network does not match design {args.design!r}: "
                            f"board {board}, design {info}")
        out(f"board: {info.channels}x{info.height}x{info.width} input in [{info.lo}, "
            f"{info.hi}], {info.classes} classes; {len(images)} images")
        predictions = []
        started = time.perf_counter()
        for k, image in enumerate(images):
            result = client.classify(image, info, logits=args.logits)
            label, logits = result if args.logits else (result, None)
            predictions.append(label)
            line = f"image {k:4d}: class {label}"
            if labels is not None:
                line += f"  label {int(labels[k])}"
            line += f"  golden {int(golden[k])}"
            if label != golden[k]:
                line += "  <- differs from golden"
            if logits is not None:
                line += f"  logits {logits}"
                if list(logits) != [int(v) for v in golden_logits[k]]:
                    line += " (golden " + str([int(v) for v in golden_logits[k]]) + ")"
            out(line)
        seconds = time.perf_counter() - started
    finally:
        port.close()
    predictions = np.array(predictions)
    agree = int(np.sum(predictions == golden))
    summary = f"{len(images)} images in {seconds:.2f} s ({len(images) / seconds:.1f} images/s)"
    if labels is not None:
        summary += (f"; accuracy {np.mean(predictions == labels):.1%} (golden "
                    f"{np.mean(golden == labels):.1%})")
    summary += f"; board == golden on {agree}/{len(images)}"
    if client.retried:
        summary += f"; {client.retried} retries"
    out(summary)
    return 0 if agree == len(images) else EXIT_MISMATCH


def main(argv=None, *, port_opener=open_port):
    _, args = _parse(argv)
    try:
        return run(args, port_opener=port_opener)
    except BnnhwError as error:
        print(f"bnnhw.host: error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
