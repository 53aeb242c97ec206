# amaranth: UnusedElaboratable=no
"""PANetMVU (folded PA-Net matrix-vector unit) against ``bnnhw.golden.panet_dense``.

Per-PE ROM images in the compiler's layout (row ``nf*pe + p`` at address ``nf*SF + sf``, base
``m`` at bits ``m*simd``), vectors of all-zero / all-one / alternating / random bases back to
back, phi at the int16 extremes, foldings from one bit per transfer to fully parallel, random
stalls on both sides. The whole unit also runs under Verilator inside every PA-Net network
(tests/sim/test_network_rtl.py: the panet design and the every-op network).
"""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.hw.panet import PANetMVU

from .streams import run_stream
from .test_panet_unit import STALL_IDS, STALLS, edge_bases, edge_phi


def rom_images(t, pe, simd):
    n_w, rows, fan_in = t.shape
    images = []
    for p in range(pe):
        words = []
        for r in range(p, rows, pe):
            for sf in range(fan_in // simd):
                words.append(sum(int(t[m, r, sf * simd + k]) << (m * simd + k)
                                 for m in range(n_w) for k in range(simd)))
        images.append(words)
    return images


def vector_payloads(v, simd):
    n_a, batch, fan_in = v.shape
    return [sum(int(v[j, b, sf * simd + k]) << (j * simd + k)
                for j in range(n_a) for k in range(simd))
            for b in range(batch) for sf in range(fan_in // simd)]


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("n_w, n_a, fan_in, rows, pe, simd", [
    (2, 3, 8, 4, 2, 2), (1, 1, 6, 3, 1, 3), (3, 2, 4, 4, 4, 4), (2, 2, 6, 6, 3, 1)],
    ids=["m2n3_pe2_simd2", "m1n1_pe1", "m3n2_parallel", "m2n2_simd1"])
def test_panet_mvu_matches_golden(n_w, n_a, fan_in, rows, pe, simd, stalls):
    rng = np.random.default_rng(fan_in * 7 + rows)
    phi = edge_phi(rng, n_w, n_a)
    t = rng.integers(0, 2, (n_w, rows, fan_in))
    v = edge_bases(rng, n_a, fan_in, 3)
    dut = PANetMVU(words=rom_images(t, pe, simd), phi=phi, fan_in=fan_in, rows=rows, pe=pe,
                   simd=simd)
    batch, nf = v.shape[1], rows // pe
    raw = run_stream(dut, vector_payloads(v, simd), batch * nf, stall_in=stalls[0],
                     stall_out=stalls[1], seed=rows)
    width = dut.output_shape.width
    got = np.zeros((batch, rows), dtype=np.int64)
    for index, payload in enumerate(raw):
        b, fold = divmod(index, nf)
        for p in range(pe):
            lane = (payload >> (p * width)) & ((1 << width) - 1)
            got[b, fold * pe + p] = lane - (1 << width) if lane >> (width - 1) else lane
    np.testing.assert_array_equal(got, golden.panet_dense(v, t, phi))


@pytest.mark.parametrize("kwargs, name", [
    ({"pe": 3}, "pe"), ({"simd": 3}, "simd"), ({"words": [[0] * 8]}, "words")])
def test_bad_parameters_name_the_parameter(kwargs, name):
    args = {"words": [[0] * 8, [0] * 8], "phi": [[1]], "fan_in": 8, "rows": 4, "pe": 2,
            "simd": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name}"):
        PANetMVU(**args)
