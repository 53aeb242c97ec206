"""cocotb testbench: ``bnnhw.hw.int8mac.Int8MAC`` and ``bnnhw.hw.panet.PANetCombiner``.

Run by ``tests/hw/test_int8mac.py`` (harness ``int8mac``) and ``tests/hw/test_panet_unit.py``
(harness ``panet``), one Verilator build per family holding several configurations; the instance
and its parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (``streams.load_spec``).

- ``kind == "int8mac"``: ``matrix`` (rows, fan_in) int8, ``bias``, ``pe``, ``simd``,
  ``depthwise``. Vectors: all -128, all 127, alternating extremes, zero, then random int8;
  expectations from ``golden.int8_dense`` (dense mode; a vector is ``fan_in/simd`` transfers of
  ``simd`` bytes, element ``i`` at bits ``8i``) or ``golden.int8_conv2d`` with ``groups = rows``
  (depthwise: each channel its own window, transfer ``(nf, sf)`` holds ``pe`` lanes of ``simd``
  bytes). Output transfers carry ``pe`` int32 lanes (lane ``p`` at bits ``32p``).
- ``kind == "panet"``: ``phi`` (M, N), ``width``, ``simd``. Bases: all zero, all one,
  alternating, random, for several rows and activation vectors; expectations from
  ``golden.panet_dense``. Payload: ``t`` (M*simd bits, base ``m`` at ``m*simd``) then ``v``.

Not a pytest module: the runner imports it inside the simulator.
"""

import math
import random

import cocotb
import numpy as np
from streams import STALLS, check_stream, load_spec, run_stream

from bnnhw import golden


def int8_vectors(rng, length, count):
    x = [[-128] * length, [127] * length, [127 if k % 2 else -128 for k in range(length)],
         [0] * length]
    x += [[rng.randint(-128, 127) for _ in range(length)] for _ in range(count)]
    return np.array(x, dtype=np.int64)


def pack_bytes(values):
    return sum((int(v) & 0xFF) << (8 * k) for k, v in enumerate(values))


def int8mac_case(spec, rng):
    """``(payloads, transfers out, expected (B, rows), lanes)``."""
    w = np.array(spec["matrix"], dtype=np.int64)
    rows, fan_in = w.shape
    pe, simd = spec["pe"], spec["simd"]
    if spec["depthwise"]:
        windows = np.stack([int8_vectors(rng, fan_in, 12)[rng.sample(range(16), 16)]
                            for _ in range(rows)], axis=1)  # (B, C, fan_in)
        side = math.isqrt(fan_in)
        want = golden.int8_conv2d(windows.reshape(-1, rows, side, side),
                                  w.reshape(rows, 1, side, side), spec["bias"],
                                  groups=rows).reshape(-1, rows)
        payloads = [pack_bytes(np.concatenate([windows[b, nf * pe + p, sf * simd:(sf + 1) * simd]
                                               for p in range(pe)]))
                    for b in range(len(windows)) for nf in range(rows // pe)
                    for sf in range(fan_in // simd)]
    else:
        x = int8_vectors(rng, fan_in, 20)
        want = golden.int8_dense(x, w, spec["bias"])
        payloads = [pack_bytes(x[b, k:k + simd]) for b in range(len(x))
                    for k in range(0, fan_in, simd)]
    return payloads, want.shape[0] * (rows // pe), want, pe


def unpack(words, lanes):
    out = []
    for word in words:
        for lane in range(lanes):
            value = (word >> (32 * lane)) & 0xFFFFFFFF
            out.append(value - (1 << 32) if value >> 31 else value)
    return out


def bits(rng, count, width, vectors):
    fixed = [np.zeros((count, width)), np.ones((count, width)),
             np.tile(np.arange(width) % 2, (count, 1))]
    random_ = [np.array([[rng.getrandbits(1) for _ in range(width)] for _ in range(count)])
               for _ in range(vectors)]
    return np.stack(fixed + random_, axis=1).astype(np.int64)


def panet_case(spec, rng):
    phi = np.array(spec["phi"], dtype=np.int64)
    n_w, n_a = phi.shape
    width, simd = spec["width"], spec["simd"]
    t, v = bits(rng, n_w, width, 3), bits(rng, n_a, width, 4)  # (M, rows, W), (N, B, W)
    want = golden.panet_dense(v, t, phi)  # (B, rows)
    payloads = []
    for b in range(v.shape[1]):
        for c in range(t.shape[1]):
            for f in range(width // simd):
                chunk = slice(f * simd, (f + 1) * simd)
                tw = sum(int(bit) << (m * simd + k)
                         for m in range(n_w) for k, bit in enumerate(t[m, c, chunk]))
                vw = sum(int(bit) << (j * simd + k)
                         for j in range(n_a) for k, bit in enumerate(v[j, b, chunk]))
                payloads.append(tw | (vw << (n_w * simd)))
    return payloads, want.ravel().tolist()


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_vectors(dut, stalls):
    """Edge and random vectors under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    if spec["kind"] == "int8mac":
        payloads, count, want, lanes = int8mac_case(spec, rng)
        words = await run_stream(dut, key, payloads, count, stall_in=stalls[0],
                                 stall_out=stalls[1], seed=rng.getrandbits(32))
        got = np.array(unpack(words, lanes)).reshape(want.shape)
        bad = np.argwhere(got != want)
        assert not len(bad), (f"{key}: vector {bad[0][0]} row {bad[0][1]}: got "
                              f"{got[tuple(bad[0])]}, want {want[tuple(bad[0])]}")
        dut._log.info("%s: %d accumulators match the golden model (stalls %s)", key, want.size,
                      stalls)
    elif spec["kind"] == "panet":
        payloads, expected = panet_case(spec, rng)
        await check_stream(dut, key, payloads, expected, signed=True, stalls=stalls,
                           seed=rng.getrandbits(32), describe=lambda j: f"row result {j}")
    else:
        raise ValueError(f"spec: unknown kind {spec['kind']!r}")
