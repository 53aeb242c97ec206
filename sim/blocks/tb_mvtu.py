"""cocotb testbench: ``bnnhw.hw.mvtu.BinaryMVTU`` against the compiled network's threshold layer.

Run by ``tests/hw/test_mvtu.py`` on a harness of several configurations; the instance and its
parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (see ``streams.load_spec``).
Spec: ``model``, ``pe``, ``simd``, ``slices`` (k), ``folds`` (NF), ``payloads`` (the input chunks:
edge vectors (all zeros, all ones, weight row 0 and its complement), then seeded random vectors,
``fan_in / simd`` chunks each in hardware fan-in order) and ``expected`` (one payload per output
transfer: lane ``p``, bit ``n`` at payload bit ``p*k + n`` = channel ``n*rows + nf*pe + p`` of
``compiled.run(x, keep=True)["sg1"]``). The expectations are computed by the pytest side from the
compiled network (golden on exactly what the ROMs hold); this testbench drives them under random
stalls and checks the stream rules. Not a pytest module: the runner imports it inside the
simulator.
"""

import random

import cocotb
from streams import STALLS, check_stream, load_spec


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def compiled_vectors(dut, stalls):
    """Edge + random vectors back to back under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    folds = spec["folds"]
    await check_stream(
        dut, key, spec["payloads"], spec["expected"], stalls=stalls, seed=rng.getrandbits(32),
        describe=lambda j: f"vector {j // folds}, neuron fold {j % folds}")


@cocotb.test()
async def repeated_with_reset(dut):
    """The same stream twice (a reset between): counters restart, so results repeat exactly."""
    key, spec = load_spec()
    for round_ in range(2):
        await check_stream(dut, key, spec["payloads"], spec["expected"], stalls=(0.5, 0.5),
                           seed=round_)
