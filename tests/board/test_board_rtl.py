# amaranth: UnusedElaboratable=no
"""The classifier board top with the real (tiny every-op) network under cocotb + Verilator.

Serial frames with real UART bit timing (8 clock cycles per bit) carry held-out digits into the
emitted Verilog of ``ClassifierBoard``; every reply's class (and one image's logits) must be
golden's (``CompiledNetwork.classify`` / ``run``). A second cocotb test sends corrupted frames
(bad checksum, bad value, garbage, a truncated frame, a framing error, a lost header, a burst of
command bytes) and checks each error reply and that the next good frame is classified
correctly. Testbench: ``sim/board/tb_board.py``; one Verilator model (the user's model cache,
the clock driven in C++ by bnnhw's simulator main) serves both tests.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from amaranth.back import verilog

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.board.top import ClassifierBoard
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model
from bnnhw.sim import run_cocotb, write_source
from bnnhw.train.data import held_out

from ..model.samples import every_op_model

pytestmark = pytest.mark.cocotb

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build" / "board"
TB = ROOT.parent / "sim" / "board" / "tb_board.py"
DIVISOR = 8
BAUD = 115_200
IMAGES = 8
TIMEOUT_BITS = 64
#: C++ optimisation of the model: -O0 builds fastest; with the clock in C++ and only the top
#: module visible to cocotb both runs still take only seconds.
CXX_OPT = "-O0"


@pytest.fixture(scope="module")
def board_build():
    compiled = lower(Model.from_dict(*every_op_model(1, exact=True)))
    plan = plan_folding(compiled, target_cycles=1000)
    network = StreamingNetwork(hardware_plan(compiled, plan))
    board = ClassifierBoard(network, clk_freq=DIVISOR * BAUD, baud=BAUD,
                            timeout_bits=TIMEOUT_BITS)
    assert board.divisor == DIVISOR
    source = write_source(BUILD / "bnnhw_board.v", verilog.convert(board, name="bnnhw_board",
                                                                  emit_src=False))
    images, _ = held_out()
    images = np.asarray(images[:IMAGES], dtype=np.int64)
    info = board.info
    job = {
        "divisor": DIVISOR,
        "timeout_cycles": board.timeout_cycles,
        "reply_cycles": board.timeout_cycles + 20 * network.cycles_per_inference + 30 * 10 *
        DIVISOR,
        "info": {k: getattr(info, k) for k in ("channels", "height", "width", "lo", "hi",
                                               "classes", "logit_bytes", "logits_signed",
                                               "element_bits")},
        "images": images.tolist(),
        "labels": [int(v) for v in compiled.classify(images)],
        "logits": compiled.run(images).reshape(IMAGES, -1).astype(int).tolist(),
    }
    spec = write_source(BUILD / "job.json", json.dumps(job))
    return source, spec


@pytest.mark.parametrize("testcase", ["classify_held_out_digits", "corrupted_frames_recover"])
def test_board_top(board_build, testcase, tmp_path):
    source, spec = board_build
    run_cocotb(verilog_sources=[source], toplevel="bnnhw_board", test_module=TB,
               test_dir=tmp_path, testcase=testcase, cxx_opt=CXX_OPT, clock="clk",
               public="top",
               extra_env={"BNNHW_TB_SPEC": str(spec)}, seed=1)
