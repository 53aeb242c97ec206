# amaranth: UnusedElaboratable=no
"""The network's other per-element stages, exhaustively against golden (issue 14 item 1 audit).

``saturating_sum`` (the ``add`` join) over every operand pair of symmetric 8-bit data in the
element formats the network gives them (signed 8-bit, narrower signed, unsigned of a
non-negative range); ``piece_indicators`` (``pa_bases``) over every value of unsigned and signed
element formats with endpoints inside, at and beyond the element's range.
"""

import numpy as np
import pytest
from amaranth.hdl import Cat, Shape, signed, unsigned

from bnnhw import golden
from bnnhw.hw.engines import PixelFormat, PixelMap, element
from bnnhw.hw.network import piece_indicators, saturating_sum

from .streams import run_stream

PER_PIXEL = 64


def _pack(values, shape):
    mask = (1 << Shape.cast(shape).width) - 1
    return sum((int(v) & mask) << (k * Shape.cast(shape).width) for k, v in enumerate(values))


def _signed(raw, width):
    return raw - (1 << width) if raw >> (width - 1) else raw


def _sums(x_shape, y_shape, pairs):
    x_shape, y_shape = Shape.cast(x_shape), Shape.cast(y_shape)
    fx, fy = PixelFormat(PER_PIXEL, x_shape), PixelFormat(PER_PIXEL, y_shape)

    def fn(payload):
        xs, ys = payload[:fx.bits], payload[fx.bits:]
        return Cat(*(saturating_sum(element(xs, fx, e), element(ys, fy, e))
                     for e in range(PER_PIXEL)))

    dut = PixelMap(fn, in_bits=fx.bits + fy.bits, out_bits=PER_PIXEL * 8)
    pairs = list(pairs) + [(0, 0)] * (-len(pairs) % PER_PIXEL)
    payloads = [_pack([p[0] for p in pairs[k:k + PER_PIXEL]], x_shape)
                | _pack([p[1] for p in pairs[k:k + PER_PIXEL]], y_shape) << fx.bits
                for k in range(0, len(pairs), PER_PIXEL)]
    out = run_stream(dut, payloads, len(payloads))
    return [_signed((word >> (8 * e)) & 0xFF, 8) for word in out for e in range(PER_PIXEL)]


@pytest.mark.parametrize("x_range,y_range", [
    ((-127, 127), (-127, 127)),          # int8 data from requantize / dprelu / quantized BN
    ((0, 127), (0, 127)),                # a uint8 input declared within [0, 127]: unsigned(7)
    ((-5, 3), (0, 100)),                 # narrow signed + unsigned input ranges
    ((-127, 127), (0, 1)),
], ids=["int8", "unsigned7", "narrow", "mixed"])
def test_saturating_sum_equals_golden_for_every_operand_pair(x_range, y_range):
    xs = np.arange(x_range[0], x_range[1] + 1)
    ys = np.arange(y_range[0], y_range[1] + 1)
    pairs = [(int(a), int(b)) for a in xs for b in ys]
    got = _sums(range(x_range[0], x_range[1] + 1), range(y_range[0], y_range[1] + 1), pairs)
    want = golden.saturating_add(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))
    assert got[:len(pairs)] == want.tolist()


@pytest.mark.parametrize("shape", [unsigned(1), unsigned(3), unsigned(8), signed(4), signed(9)],
                         ids=str)
def test_piece_indicators_equal_golden_for_every_value(shape):
    shape = Shape.cast(shape)
    lo = -(1 << (shape.width - 1)) if shape.signed else 0
    hi = (1 << (shape.width - 1)) - 1 if shape.signed else (1 << shape.width) - 1
    values = np.arange(lo, hi + 1)
    # endpoints below, at and above the element's range (the compiler's "never" is top + 1)
    candidates = sorted({lo - 300, lo - 1, lo, lo + 1, 0, 1, (lo + hi) // 2, hi - 1, hi, hi + 1,
                         hi + 300})
    rng = np.random.default_rng(shape.width)
    for trial in range(6):
        n = 1 + trial % 3
        endpoints = np.sort(rng.choice(candidates, size=n, replace=False))[:, None]
        fmt = PixelFormat(PER_PIXEL, shape)

        def fn(payload, endpoints=endpoints):
            return Cat(*(piece_indicators([element(payload, fmt, e)], endpoints)
                         for e in range(PER_PIXEL)))

        dut = PixelMap(fn, in_bits=fmt.bits, out_bits=PER_PIXEL * n)
        padded = list(values) + [lo] * (-len(values) % PER_PIXEL)
        payloads = [_pack(padded[k:k + PER_PIXEL], shape)
                    for k in range(0, len(padded), PER_PIXEL)]
        out = run_stream(dut, payloads, len(payloads))
        got = np.array([[(word >> (e * n + j)) & 1 for j in range(n)]
                        for word in out for e in range(PER_PIXEL)])[:len(values)]
        want = golden.panet_activation_bases(values.reshape(1, 1, -1, 1), endpoints)
        assert np.array_equal(got.T, want.reshape(n, -1)), (shape, endpoints.ravel())
