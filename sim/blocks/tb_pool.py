"""cocotb testbench: ``bnnhw.hw.pool`` blocks against ``bnnhw.golden``.

Run by ``tests/hw/test_pool_units.py`` on a harness of several configurations per block; the
instance and its parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (see
``streams.load_spec``). ``spec["kind"]`` is

- ``maxpool`` (``kernel``, ``lanes``): random maps of three densities plus all-ones / all-zeros
  windows, one transfer per output position, lane ``l`` window bit ``w`` at ``l*K + w``;
  expected ``golden.binary_maxpool2d``;
- ``streaming_maxpool`` (``channels``, ``height``, ``width``, ``kernel``): whole maps streamed
  one pixel per transfer (all zeros, all ones, sparse, random, dense), raster order, bit ``c`` =
  channel ``c``; expected ``golden.binary_maxpool2d`` pixels in raster order;
- ``global_pool`` (``channels``, ``height``, ``width``): several images back to back (all ones,
  all zeros, sparse, random), position-major, channel-minor; expected
  ``golden.global_popcount_pool``;
- ``argmax`` (``classes``, ``width``): extreme rows, rows with tied maxima, random rows; expected
  ``golden.argmax``.

Not a pytest module: the runner imports it inside the simulator.
"""

import random

import cocotb
import numpy as np
from streams import STALLS, check_stream, load_spec

from bnnhw import golden


def bits(rng, shape, density):
    return (rng.random(shape) < density).astype(np.uint8)


def maxpool_vectors(spec, rng):
    kh, kw = spec["kernel"]
    lanes, window = spec["lanes"], kh * kw
    maps = [bits(rng, (1, lanes, 3 * kh, 4 * kw), d) for d in (0.05, 0.3, 0.9)]
    maps += [np.ones((1, lanes, kh, kw), np.uint8), np.zeros((1, lanes, kh, kw), np.uint8)]
    payloads, expected = [], []
    for x in maps:
        y = golden.binary_maxpool2d(x, (kh, kw))[0]
        for r in range(y.shape[1]):
            for s in range(y.shape[2]):
                win = x[0, :, r * kh:(r + 1) * kh, s * kw:(s + 1) * kw].reshape(lanes, window)
                payloads.append(sum(int(b) << (lane * window + w)
                                    for lane in range(lanes) for w, b in enumerate(win[lane])))
                expected.append(sum(int(y[lane, r, s]) << lane for lane in range(lanes)))
    return payloads, expected


def streaming_maxpool_vectors(spec, rng):
    c, h, w = spec["channels"], spec["height"], spec["width"]
    x = np.stack([np.zeros((c, h, w), np.uint8), np.ones((c, h, w), np.uint8)]
                 + [bits(rng, (c, h, w), d) for d in (0.05, 0.5, 0.9, 0.5)])
    y = golden.binary_maxpool2d(x, tuple(spec["kernel"]))

    def pixels(maps):
        return [sum(int(b) << ch for ch, b in enumerate(m[:, r, s]))
                for m in maps for r in range(m.shape[1]) for s in range(m.shape[2])]

    return pixels(x), pixels(y)


def global_pool_vectors(spec, rng):
    channels, height, width = spec["channels"], spec["height"], spec["width"]
    x = bits(rng, (5, channels, height, width), 0.5)
    x[0], x[1], x[2] = 1, 0, bits(rng, (channels, height, width), 0.1)
    payloads = x.reshape(5, channels, -1).transpose(0, 2, 1).ravel().tolist()
    return payloads, golden.global_popcount_pool(x).ravel().tolist()


def argmax_vectors(spec, rng):
    classes, width = spec["classes"], spec["width"]
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    rows = [[lo] * classes, [hi] * classes, [0] * classes,
            [hi if c == classes - 1 else lo for c in range(classes)]]
    for _ in range(15):  # tied maxima
        row = [rng.randint(lo, hi - 1) if hi > lo else lo for _ in range(classes)]
        for c in rng.sample(range(classes), min(2, classes)):
            row[c] = hi
        rows.append(row)
    rows += [[rng.randint(lo, hi) for _ in range(classes)] for _ in range(40)]
    logits = np.array(rows)
    return logits.ravel().tolist(), golden.argmax(logits).tolist()


VECTORS = {"maxpool": maxpool_vectors, "streaming_maxpool": streaming_maxpool_vectors,
           "global_pool": global_pool_vectors,
           "argmax": argmax_vectors}


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_vectors(dut, stalls):
    """Edge and random inputs under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    np_rng = np.random.default_rng(rng.getrandbits(32))
    if spec["kind"] == "argmax":
        payloads, expected = argmax_vectors(spec, rng)
    else:
        payloads, expected = VECTORS[spec["kind"]](spec, np_rng)
    await check_stream(dut, key, payloads, expected, stalls=stalls, seed=rng.getrandbits(32))
