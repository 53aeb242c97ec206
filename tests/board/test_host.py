"""The host script (``python -m bnnhw.host``) against an emulated board.

:class:`FakeBoard` is a pyserial-like port that speaks the board protocol in Python (the golden
model of the tiny every-op design as its network) and can damage replies on request: a flipped
bit, no reply, an error reply, a wrong class. Checked: held-out digits and ``.npy`` images with
labels and logits, retries of line errors, the exit status and message of every failure (port
missing, no reply, error replies, a board that runs another network, a wrong class, bad image
files), and that importing the module does not import pyserial.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from bnnhw import host
from bnnhw.compiler import lower
from bnnhw.board import protocol as bp
from bnnhw.model import Model, save
from bnnhw.train.data import held_out

from ..model.samples import every_op_model


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    folder = tmp_path_factory.mktemp("designs") / "tiny"
    folder.mkdir()
    model = Model.from_dict(*every_op_model(1, exact=True))
    save(model, folder / "model.npz")
    (folder / "design.json").write_text(json.dumps({"folding": {"target_cycles": 1000}}))
    compiled = lower(model)
    return folder, compiled, bp.BoardInfo.for_compiled(compiled)


class FakeBoard:
    """A serial port with a board behind it. ``faults``: one entry per frame, in order:
    ``None``, ``"flip"`` (a bit of the reply), ``"drop"`` (no reply), ``("error", code)``,
    ``"wrong"`` (class + 1)."""

    def __init__(self, compiled, info, faults=(), info_override=None):
        self.compiled, self.info = compiled, info
        self.faults = list(faults)
        self.info_override = info_override
        self.timeout = None
        self.received = bytearray()
        self.pending = bytearray()
        self.frames = []
        self.closed = False

    def write(self, data):
        self.received += data
        while self.received:
            command = self.received[0]
            length = 2 if command == bp.INFO else self.info.frame_bytes
            if len(self.received) < length:
                break
            frame = bytes(self.received[:length])
            del self.received[:length]
            self.frames.append(frame)
            self.pending += self._reply(frame)
        return len(data)

    def _reply(self, frame):
        fault = self.faults.pop(0) if self.faults else None
        assert bp.crc8(frame) == 0, "the host sent a frame with a bad CRC"
        command = frame[0]
        if isinstance(fault, tuple):
            return bp.error_reply(fault[1])
        if fault == "drop":
            return b""
        if command == bp.INFO:
            body = (self.info_override or self.info).to_bytes()
        else:
            info = self.info
            image = np.frombuffer(frame[1:-1], np.uint8).astype(np.int64).reshape(
                info.height, info.width, info.channels).transpose(2, 0, 1)[None]
            label = int(self.compiled.classify(image)[0]) + (fault == "wrong")
            body = bytes([label % info.classes])
            if command == bp.CLASSIFY_LOGITS:
                for v in self.compiled.run(image).reshape(-1):
                    body += int(v).to_bytes(info.logit_bytes, "little", signed=True)
        data = bytearray(body + bytes([bp.crc8(body)]))
        if fault == "flip":
            data[0] ^= 0x01
        return bytes(data)

    def read(self, n):
        data = bytes(self.pending[:n])
        del self.pending[:n]
        return data

    def flush(self):
        pass

    def reset_input_buffer(self):
        self.pending.clear()

    def close(self):
        self.closed = True


def run_main(argv, board, capsys):
    status = host.main(argv, port_opener=lambda name, baud, timeout: board)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_held_out_digits(design, capsys):
    folder, compiled, info = design
    board = FakeBoard(compiled, info)
    status, out, err = run_main(["--port", "X", "--design", str(folder), "--held-out", "6"],
                                board, capsys)
    assert status == 0, err
    images, labels = held_out()
    golden = compiled.classify(np.asarray(images[:6], dtype=np.int64))
    for k in range(6):
        assert f"image {k:4d}: class {golden[k]}  label {labels[k]}  golden {golden[k]}" in out
    assert "board == golden on 6/6" in out and "accuracy" in out and board.closed
    assert board.frames[0] == bp.encode_info_request()
    assert board.frames[1] == bp.encode_frame(images[0], info)


def test_npy_images_with_labels_and_logits(design, tmp_path, capsys):
    folder, compiled, info = design
    images = np.random.default_rng(0).integers(0, 17, (3, 8, 8))          # (N, H, W)
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "labels.npy", np.array([1, 2, 3]))
    board = FakeBoard(compiled, info)
    status, out, err = run_main(["--port", "X", "--design", str(folder),
                                 str(tmp_path / "images.npy"), "--labels",
                                 str(tmp_path / "labels.npy"), "--logits"], board, capsys)
    assert status == 0, err
    logits = compiled.run(images[:, None]).reshape(3, -1)
    assert f"logits {[int(v) for v in logits[2]]}\n" in out and "(golden [" not in out
    assert all(frame[0] == bp.CLASSIFY_LOGITS for frame in board.frames[1:])


def test_line_errors_are_retried(design, capsys):
    folder, compiled, info = design
    # INFO; image 0: flip, checksum, ok; image 1: drop, ok; image 2: timeout, framing, ok
    faults = [None, "flip", ("error", bp.ERR_CHECKSUM), None, "drop", None,
              ("error", bp.ERR_TIMEOUT), ("error", bp.ERR_FRAMING)]
    board = FakeBoard(compiled, info, faults)
    status, out, err = run_main(["--port", "X", "--design", str(folder), "--held-out", "3"],
                                board, capsys)
    assert status == 0, err
    assert "retry 1/2: reply" in out and "bad CRC" in out and "bad checksum" in out
    assert "no reply" in out and "5 retries" in out and "board == golden on 3/3" in out


@pytest.mark.parametrize("faults, message", [
    ([None, ("error", bp.ERR_VALUE)], "0xE2: element value out of the input range"),
    ([None, "drop", "drop", "drop"], "no reply from the board within 2 s (after 2 retries)"),
    ([None] + [("error", bp.ERR_NETWORK)] * 3, "network watchdog"),
])
def test_board_failures(design, capsys, faults, message):
    folder, compiled, info = design
    board = FakeBoard(compiled, info, faults)
    status, _, err = run_main(["--port", "X", "--design", str(folder), "--held-out", "2"],
                              board, capsys)
    assert status == host.EXIT_ERROR
    assert err.startswith("bnnhw.host: error: ") and message in err
    assert board.closed


def test_a_wrong_class_exits_with_mismatch(design, capsys):
    folder, compiled, info = design
    board = FakeBoard(compiled, info, [None, None, "wrong"])
    status, out, _ = run_main(["--port", "X", "--design", str(folder), "--held-out", "3"],
                              board, capsys)
    assert status == host.EXIT_MISMATCH
    assert "<- differs from golden" in out and "board == golden on 2/3" in out


def test_a_board_with_another_network_is_refused(design, capsys):
    folder, compiled, info = design
    other = bp.BoardInfo(**{**info.__dict__, "classes": 4})
    board = FakeBoard(compiled, info, info_override=other)
    status, _, err = run_main(["--port", "X", "--design", str(folder), "--held-out", "2"],
                              board, capsys)
    assert status == host.EXIT_ERROR and "does not match design" in err
    assert len(board.frames) == 1


def never_open(name, baud, timeout):
    raise AssertionError("the port must not be opened")


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 2, 8, 8), int), r"expected images of shape \(N, 1, 8, 8\)"),
    (np.full((2, 1, 8, 8), 20), r"image 0: image: element \[0, 0, 0\] = 20"),
])
def test_bad_image_files(design, tmp_path, capsys, images, message):
    folder, _, _ = design
    np.save(tmp_path / "images.npy", images)
    status = host.main(["--port", "X", "--design", str(folder), str(tmp_path / "images.npy")],
                       port_opener=never_open)
    err = capsys.readouterr().err
    assert status == host.EXIT_ERROR
    assert re.search(message, err), err


def test_argument_errors(design, capsys):
    folder, _, _ = design
    assert host.main(["--port", "X", "--design", str(folder), "--held-out", "0"],
                     port_opener=never_open) == host.EXIT_ERROR
    assert "--held-out: expected 1 .. 360" in capsys.readouterr().err
    assert host.main(["--port", "X", "--design", "no-such-design", "--held-out", "1"],
                     port_opener=never_open) == host.EXIT_ERROR
    assert "--design: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        host.main(["--port", "X", "--design", str(folder)])            # no images
    capsys.readouterr()


def test_missing_port(design, capsys):
    pytest.importorskip("serial")
    folder, _, _ = design
    status = host.main(["--port", "/dev/bnnhw-no-such-port", "--design", str(folder),
                        "--held-out", "1"])
    assert status == host.EXIT_ERROR
    assert "--port: cannot open '/dev/bnnhw-no-such-port'" in capsys.readouterr().err


def test_module_imports_no_pyserial():
    code = "import sys, bnnhw.host; assert 'serial' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
