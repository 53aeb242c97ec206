"""cocotb testbench: ``bnnhw.hw.fixed`` units against ``bnnhw.golden.fixed``.

Run by ``tests/hw/test_fixed_units.py`` on a harness holding three configurations of each unit;
the instance and its parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (see
``streams.load_spec``). ``spec["kind"]`` is ``quantized_bn``, ``requantize``, ``dprelu`` or
``saturating_add``; the other fields are the unit's constructor arguments.

Vectors: every int8 input on every channel (rotated per channel) for the int8-input units, edge
values (int32 extremes, rounding ties, saturation boundaries) and seeded random values, all
streamed position-major (transfer ``pos*C + c`` is channel ``c``). Not a pytest module: the runner
imports it inside the simulator.
"""

import random

import cocotb
import numpy as np
from streams import STALLS, check_stream, load_spec

from bnnhw import golden

INT32 = (-(1 << 31), (1 << 31) - 1)


def every_int8(channels, lo, hi, rng, extra=64):
    """``(P, C)``: each value of ``[lo, hi]`` on every channel, then ``extra`` random rows."""
    values = np.arange(lo, hi + 1)
    rows = np.stack([np.roll(values, 29 * c) for c in range(channels)], axis=1)
    randoms = np.array([[rng.randint(lo, hi) for _ in range(channels)] for _ in range(extra)])
    return np.concatenate([rows, randoms])


def int32_inputs(channels, shift, rng, extra=120):
    """``(P, C)`` int32 accumulators: extremes, ties and saturation edges, then random values."""
    half = 1 << (shift - 1) if shift else 0
    special = [INT32[0], INT32[1], 0, 1, -1, half, -half, 3 * half, -3 * half]
    for edge in (127, 128, -127, -128):
        special += [(edge << shift) + offset for offset in (-half, 0, half)]
    special = [v for v in special if INT32[0] <= v <= INT32[1]]
    rows = np.array([[v] * channels for v in special])
    randoms = np.array([[rng.choice([1, -1]) * rng.getrandbits(rng.randint(1, 31))
                         for _ in range(channels)] for _ in range(extra)])
    return np.concatenate([rows, randoms])


def vectors(spec, rng):
    """``(payloads, expected)`` for one instance."""
    kind = spec["kind"]
    if kind == "quantized_bn":
        x = every_int8(len(spec["scale"]), -127, 127, rng)
        y = golden.quantized_bn(x, spec["scale"], spec["bias"], spec["frac_bits"])
    elif kind == "requantize":
        x = int32_inputs(len(spec["multiplier"]), spec["shift"], rng)
        y = golden.requantize(x, spec["multiplier"], spec["shift"])
    elif kind == "dprelu":
        x = every_int8(len(spec["alpha"]), -128, 127, rng)
        y = golden.dprelu(x, spec["alpha"], spec["beta"], spec["eta"], spec["gamma"],
                          spec["frac_bits"])
    elif kind == "saturating_add":
        bound = spec["bound"]
        edges = [-bound, -bound + 1, -1, 0, 1, bound - 1, bound]
        pairs = [(a, b) for a in range(-bound, bound + 1) for b in edges]
        pairs += [(rng.randint(-bound, bound), rng.randint(-bound, bound)) for _ in range(200)]
        x, r = np.array(pairs).T
        payloads = [(int(a) & 0xFF) | ((int(b) & 0xFF) << 8) for a, b in pairs]
        return payloads, golden.saturating_add(x, r, bound).tolist()
    else:
        raise ValueError(f"spec: unknown kind {kind!r}")
    return x.ravel().tolist(), y.ravel().tolist()


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_vectors(dut, stalls):
    """Every / edge / random input under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    payloads, expected = vectors(spec, rng)
    await check_stream(
        dut, key, payloads, expected, signed=True, stalls=stalls, seed=rng.getrandbits(32),
        describe=lambda j: f"{spec['kind']} input {payloads[j]} (transfer {j})")
