"""cocotb testbench: ``bnnhw.hw.threshold.ThresholdUnit`` against ``bnnhw.golden``.

Run by ``tests/hw/test_threshold_unit.py`` on a harness of several configurations; the instance
and its parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (see ``streams.load_spec``).
Spec: ``fan_in``, ``threshold`` and ``invert`` as ``(k, C)`` lists, ``width``.

Vectors: every popcount ``0..N`` on every channel (rotated so each position mixes values), the
extremes, then seeded random popcounts; expectations from ``golden.multi_slice_sign``. Not a
pytest module: the runner imports it inside the simulator.
"""

import random

import cocotb
import numpy as np
from streams import STALLS, check_stream, load_spec

from bnnhw import golden


def vectors(spec, rng, random_positions=40):
    """``(payloads, expected)``: transfer ``pos*C + c`` carries popcount ``p[c, pos]``."""
    fan_in = spec["fan_in"]
    thresholds = golden.SignThreshold(
        np.array(spec["threshold"]), np.array(spec["invert"], dtype=bool), fan_in)
    slices, channels = thresholds.threshold.shape
    exhaustive = [[(pos + c) % (fan_in + 1) for pos in range(fan_in + 1)] for c in range(channels)]
    edges = [[0] * channels, [fan_in] * channels]
    randoms = [[rng.randint(0, fan_in) for _ in range(channels)] for _ in range(random_positions)]
    p = np.concatenate([np.array(exhaustive), np.array(edges).T, np.array(randoms).T], axis=1)
    bits = golden.multi_slice_sign(p[None], thresholds)[0]  # (k*C, P), slice-major
    payloads, expected = [], []
    for pos in range(p.shape[1]):
        for c in range(channels):
            payloads.append(int(p[c, pos]))
            expected.append(sum(int(bits[n * channels + c, pos]) << n for n in range(slices)))
    return payloads, expected


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_vectors(dut, stalls):
    """Exhaustive + random popcounts under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    payloads, expected = vectors(spec, rng)
    channels = len(spec["threshold"][0])
    await check_stream(
        dut, key, payloads, expected, stalls=stalls, seed=rng.getrandbits(32),
        describe=lambda j: f"channel {j % channels}, popcount {payloads[j]}")
