"""cocotb testbench: ``bnnhw.hw.pooldense.PooledInt8Dense``.

Run by ``tests/hw/test_pooldense.py`` (harness ``pooldense``); the instance and its parameters
(``matrix`` (rows, C) int8, ``bias``, ``positions``, ``width``) come from ``BNNHW_TB_INSTANCE`` /
``BNNHW_TB_SPEC``. Maps: all zero, all one, checkerboard, then random bits; one ``C``-bit pixel per
transfer. Expectations: ``golden.int8_dense(golden.global_popcount_pool(x), W, bias)``; an output
transfer carries the ``rows`` results, row ``r`` at bits ``r*width`` (signed).

Not a pytest module: the runner imports it inside the simulator.
"""

import random

import cocotb
import numpy as np
from streams import STALLS, load_spec, run_stream

from bnnhw import golden


def bit_maps(rng, channels, positions, count):
    fixed = [[[0] * positions for _ in range(channels)], [[1] * positions for _ in range(channels)],
             [[(c + p) % 2 for p in range(positions)] for c in range(channels)]]
    fixed += [[[rng.getrandbits(1) for _ in range(positions)] for _ in range(channels)]
              for _ in range(count)]
    return np.array(fixed, dtype=np.int64)[..., None]


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_vectors(dut, stalls):
    """Edge and random maps under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    w = np.array(spec["matrix"], dtype=np.int64)
    rows, channels = w.shape
    width = spec["width"]
    x = bit_maps(rng, channels, spec["positions"], 12)
    want = golden.int8_dense(golden.global_popcount_pool(x), w, spec["bias"])
    payloads = [sum(int(bit) << c for c, bit in enumerate(image[:, p, 0]))
                for image in x for p in range(spec["positions"])]
    words = await run_stream(dut, key, payloads, len(x), stall_in=stalls[0], stall_out=stalls[1],
                             seed=rng.getrandbits(32))
    for b, word in enumerate(words):
        for r in range(rows):
            value = (word >> (r * width)) & ((1 << width) - 1)
            value -= (1 << width) if value >> (width - 1) else 0
            assert value == want[b, r], f"{key}: image {b} row {r}: got {value}, want {want[b, r]}"
    dut._log.info("%s: %d results match the golden model (stalls %s)", key, want.size, stalls)
