"""cocotb testbench: ``bnnhw.hw.mvau.BinaryMVAU`` against ``bnnhw.golden.binary_dense``.

Run by ``tests/hw/test_mvau.py`` on a harness of several configurations; the instance and its
parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (see ``streams.load_spec``).
Spec: ``weights`` (rows x fan_in bits, hardware fan-in order), ``pe``, ``simd``, ``op``,
``saturate_at`` (or null), ``count_width``, ``groups`` (``G``, default 1).

Vectors: all zeros, all ones, weight row 0 and its complement, then seeded random vectors; each
goes in as ``fan_in / simd`` chunks (element ``i`` of chunk ``sf`` = fan-in element
``sf*simd + i`` at bit ``i``) and comes out as ``rows / pe`` transfers of ``pe`` counts (lane ``p``
of transfer ``nf`` = row ``nf*pe + p`` at bits ``p*count_width``). With ``G > 1`` (a grouped
convolution's output position) each of those is ``G`` vectors back to back, vector ``g`` for rows
``g*rows/G ..`` (the edge cases use the first row of each group). Expectations from
``golden.binary_dense`` (per group) then ``golden.saturate``. With ``zero_pad`` (spec, default
false) each chunk has ``simd + 1`` bits, bit ``simd`` flagging a border chunk of a zero-padded
convolution: vector 0 all border, vector 1 none, then random flags; the count is
``2*p_valid + P`` (``golden.binary_dense`` over the real taps, ``P`` border taps). Not a pytest
module: the runner imports it inside the simulator.
"""

import random

import cocotb
import numpy as np
from streams import STALLS, check_stream, load_spec

from bnnhw import golden


def _pack(bits):
    return sum(int(b) << i for i, b in enumerate(bits))


def vectors(spec, rng, random_vectors=12):
    """``(payloads, expected, outputs_per_vector)`` for edge and random input vectors."""
    w = np.array(spec["weights"], dtype=np.int64)
    rows, fan_in = w.shape
    pe, simd, cw = spec["pe"], spec["simd"], spec["count_width"]
    groups = spec.get("groups", 1)
    per_group = rows // groups
    firsts = w[::per_group]                         # (G, fan_in): first row of each group
    fixed = [np.zeros((groups, fan_in)), np.ones((groups, fan_in)), firsts, 1 - firsts]
    randoms = [[[rng.randint(0, 1) for _ in range(fan_in)] for _ in range(groups)]
               for _ in range(random_vectors)]
    x = np.array(fixed + randoms, dtype=np.int64)   # (B, G, fan_in)
    p = np.concatenate([golden.binary_dense(x[:, g], w[g * per_group:(g + 1) * per_group],
                                            op=spec["op"]) for g in range(groups)], axis=1)
    if spec["saturate_at"] is not None:
        p = golden.saturate(p, spec["saturate_at"])
    payloads = [_pack(v[s * simd:(s + 1) * simd]) for v in x.reshape(-1, fan_in)
                for s in range(fan_in // simd)]
    expected = [sum(int(p[b, nf * pe + lane]) << (lane * cw) for lane in range(pe))
                for b in range(len(x)) for nf in range(rows // pe)]
    return payloads, expected, rows // pe


def zero_padded_vectors(spec, rng, count=14):
    """``(payloads, expected, outputs_per_vector)`` of border-flagged chunks."""
    w = np.array(spec["weights"], dtype=np.int64)
    rows, fan_in = w.shape
    pe, simd, cw = spec["pe"], spec["simd"], spec["count_width"]
    folds = fan_in // simd
    payloads, expected = [], []
    for b in range(count):
        border = [b == 0 or (b > 1 and rng.random() < 0.4) for _ in range(folds)]
        x = np.array([rng.randint(0, 1) for _ in range(fan_in)], dtype=np.int64)
        real = ~np.repeat(np.array(border), simd)
        counts = np.full(rows, int((~real).sum()), np.int64)
        if real.any():
            counts += 2 * golden.binary_dense(x[None, real], w[:, real])[0]
        payloads += [_pack(x[s * simd:(s + 1) * simd]) | (int(border[s]) << simd)
                     for s in range(folds)]
        expected += [sum(int(counts[nf * pe + lane]) << (lane * cw) for lane in range(pe))
                     for nf in range(rows // pe)]
    return payloads, expected, rows // pe


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_vectors(dut, stalls):
    """Edge + random vectors back to back under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    make = zero_padded_vectors if spec.get("zero_pad") else vectors
    payloads, expected, folds = make(spec, rng)
    await check_stream(
        dut, key, payloads, expected, stalls=stalls, seed=rng.getrandbits(32),
        describe=lambda j: f"vector {j // folds}, neuron fold {j % folds}")
