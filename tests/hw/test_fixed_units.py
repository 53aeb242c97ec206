# amaranth: UnusedElaboratable=no
"""Fixed-point units (QuantizedBN, Requantize, DPReLU, SaturatingAdd) against ``bnnhw.golden``.

Amaranth-simulator tier: every int8 input on every channel where the input is int8, random and
edge vectors for the int32 requantizer, parameters at their extremes (saturation at both ends),
exact rounding ties, ``F = 0``; with and without random stalls on both sides. cocotb tier: the
emitted Verilog of three configurations per unit in one shared Verilator build, see
``sim/blocks/tb_fixed.py``.
"""

import numpy as np
import pytest

from bnnhw import golden
from bnnhw.hw.fixed import DPReLU, QuantizedBN, Requantize, SaturatingAdd

from .streams import run_harness_cocotb, run_stream, stream_timing

INT16_EDGES = [32767, -32768, 1, -1, 0]


def per_channel_run(dut, x, **kwargs):
    """Stream ``x (P, C)`` position-major (transfer ``pos*C + c``); return outputs ``(P, C)``."""
    payloads = x.ravel().tolist()
    return np.array(run_stream(dut, payloads, len(payloads), **kwargs)).reshape(x.shape)


def int16_params(rng, channels, edges=INT16_EDGES):
    """Per-channel int16: the edge values first, then random ones of mixed magnitudes."""
    values = list(edges[:channels])
    while len(values) < channels:
        bits = int(rng.integers(1, 16))
        values.append(int(rng.integers(-(1 << bits), 1 << bits)))
    return values


def all_int8(channels, lo=-127, hi=127):
    """``(P, C)``: every value in ``[lo, hi]`` on every channel (rotated per channel)."""
    values = np.arange(lo, hi + 1)
    return np.stack([np.roll(values, 37 * c) for c in range(channels)], axis=1)


def has_ties(values, frac_bits):
    """Whether ``values`` hold exact rounding ties ``x = (2k + 1) * 2**(F-1)`` of both signs."""
    if frac_bits == 0:
        return True
    tie = (values % (1 << frac_bits)) == (1 << (frac_bits - 1))
    return (tie & (values > 0)).any() and (tie & (values < 0)).any()


# --- QuantizedBN ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.4, 0.4)], ids=["no_stall", "stall"])
@pytest.mark.parametrize("frac_bits", [0, 1, 5, 15])
def test_quantized_bn_every_input(frac_bits, stalls):
    rng = np.random.default_rng(frac_bits)
    channels = 7
    half = 1 << max(frac_bits - 1, 0)
    scale = int16_params(rng, channels, [32767, -32768, half, 1, -1])  # S = 2**(F-1): ties
    bias = int16_params(rng, channels, [-32768, 32767, 0, half, -3])
    x = all_int8(channels)
    want = golden.quantized_bn(x, scale, bias, frac_bits)
    total = x * np.array(scale) + np.array(bias)
    assert has_ties(total, frac_bits)
    assert (want == 127).any() and (want == -127).any()
    dut = QuantizedBN(scale=scale, bias=bias, frac_bits=frac_bits)
    got = per_channel_run(dut, x, stall_in=stalls[0], stall_out=stalls[1], seed=frac_bits)
    np.testing.assert_array_equal(got, want)


def test_quantized_bn_rounding_ties_by_hand():
    """S = 1, B = 0, F = 1: s/2 rounds half up, -2.5 -> -2 and 2.5 -> 3 (numerics §8)."""
    dut = QuantizedBN(scale=[1], bias=[0], frac_bits=1)
    x = np.array([[-5], [5], [-1], [1], [-3], [3]])
    got = per_channel_run(dut, x)
    assert got.ravel().tolist() == [-2, 3, 0, 1, -1, 2]


# --- Requantize ----------------------------------------------------------------------------------


def requantize_inputs(rng, shift, channels, positions=60):
    """int32 accumulators ``(P, C)``: extremes, rounding ties and saturation boundaries for
    ``M = ±1`` and ``M = ±2**15`` channels, then random values of mixed magnitude."""
    lo, hi = -(1 << 31), (1 << 31) - 1
    half = 1 << (shift - 1) if shift else 0
    special = [lo, hi, 0, 1, -1, half, -half, 3 * half, -3 * half]
    for edge in (127, 128, -127, -128):  # y = edge and the half-way points next to it
        for offset in (-half, 0, half):
            special.append((edge << shift) + offset if shift else edge)
    if shift > 16:  # ties of acc * 2**15
        special += [sign * (2 * k + 1) << (shift - 16) for k in (0, 1, 200) for sign in (1, -1)]
    special = [v for v in special if lo <= v <= hi]
    columns = []
    for _ in range(channels):
        bits = rng.integers(1, 32, size=positions)
        magnitudes = (rng.random(positions) * (2.0 ** bits)).astype(np.int64)
        random = np.where(rng.random(positions) < 0.5, -magnitudes, magnitudes)
        columns.append(np.concatenate([special, random]))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.4, 0.4)], ids=["no_stall", "stall"])
@pytest.mark.parametrize("shift", [0, 1, 9, 24, 31, 40, 48])
def test_requantize(shift, stalls):
    rng = np.random.default_rng(shift)
    multiplier = [1, -1, 1 << 15, -(1 << 15), 65535, -65535, 0, int(rng.integers(-65535, 65536))]
    x = requantize_inputs(rng, shift, len(multiplier))
    want = golden.requantize(x, multiplier, shift)
    if shift <= 46:  # acc*M = (2k+1) * 2**47 needs |acc| >= 2**32
        assert has_ties(x[:, :4] * np.array(multiplier[:4]), shift)
    if shift <= 39:  # |acc*M| < 2**47: beyond, |y| < 256 cannot saturate reliably
        assert (want == 127).any() and (want == -127).any()
    dut = Requantize(multiplier=multiplier, shift=shift)
    got = per_channel_run(dut, x, stall_in=stalls[0], stall_out=stalls[1], seed=shift)
    np.testing.assert_array_equal(got, want)


# --- DPReLU --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.4, 0.4)], ids=["no_stall", "stall"])
@pytest.mark.parametrize("frac_bits", [0, 1, 8, 15])
def test_dprelu_every_input(frac_bits, stalls):
    rng = np.random.default_rng(100 + frac_bits)
    channels = 6
    alpha = [-128, 127, 0, 5, int(rng.integers(-128, 128)), -7]
    beta = [127, -128, 0, -3, int(rng.integers(-128, 128)), 64]
    eta = int16_params(rng, channels, [32767, -32768, 1 << max(frac_bits - 1, 0), 3, 0])
    gamma = int16_params(rng, channels, [-32768, 32767, 1, min(1 << frac_bits, 32767), -5])
    x = all_int8(channels, -128, 127)
    want = golden.dprelu(x, alpha, beta, eta, gamma, frac_bits)
    assert (want == 127).any() and (want == -127).any()
    dut = DPReLU(alpha=alpha, beta=beta, eta=eta, gamma=gamma, frac_bits=frac_bits)
    got = per_channel_run(dut, x, stall_in=stalls[0], stall_out=stalls[1], seed=frac_bits)
    np.testing.assert_array_equal(got, want)


def test_dprelu_branch_at_zero():
    """``d == 0`` takes the gamma branch and gives ``-beta``; ``d = 1`` takes eta."""
    dut = DPReLU(alpha=[10], beta=[-4], eta=[256], gamma=[-7], frac_bits=8)
    got = per_channel_run(dut, np.array([[10], [11], [9]]))
    assert got.ravel().tolist() == [4, 5, 4]  # 0+4, round(256/256)+4, round(7/256)+4


# --- SaturatingAdd -------------------------------------------------------------------------------


@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.5, 0.5)], ids=["no_stall", "stall"])
@pytest.mark.parametrize("bound", [127, 100, 1])
def test_saturating_add(bound, stalls):
    rng = np.random.default_rng(bound)
    values = np.arange(-bound, bound + 1)
    edges = [-bound, -bound + 1, -1, 0, 1, bound - 1, bound]
    x = np.concatenate([np.repeat(values, len(edges)), rng.integers(-bound, bound + 1, 300)])
    r = np.concatenate([np.tile(edges, len(values)), rng.integers(-bound, bound + 1, 300)])
    want = golden.saturating_add(x, r, bound)
    dut = SaturatingAdd(bound=bound)
    payloads = [{"x": int(a), "r": int(b)} for a, b in zip(x, r)]
    got = run_stream(dut, payloads, len(payloads), stall_in=stalls[0], stall_out=stalls[1])
    np.testing.assert_array_equal(got, want)


# --- timing and parameters -----------------------------------------------------------------------


@pytest.mark.parametrize("make, payloads", [
    (lambda: QuantizedBN(scale=[3, 4], bias=[1, 2], frac_bits=2), [1, -2, 3, 4] * 3),
    (lambda: Requantize(multiplier=[3, -4, 5], shift=2), [100, -200, 3] * 4),
    (lambda: DPReLU(alpha=[1], beta=[2], eta=[3], gamma=[4], frac_bits=1), list(range(12))),
    (lambda: SaturatingAdd(), [{"x": n, "r": -n} for n in range(12)]),
], ids=["quantized_bn", "requantize", "dprelu", "saturating_add"])
def test_latency_and_throughput(make, payloads):
    dut = make()
    edges = stream_timing(dut, payloads, len(payloads))
    assert edges == list(range(dut.latency, dut.latency + len(payloads)))


def test_properties():
    bn = QuantizedBN(scale=[1, 2], bias=[3, 4], frac_bits=5)
    assert (bn.scale, bn.bias, bn.frac_bits, bn.channels, bn.latency) == ((1, 2), (3, 4), 5, 2, 3)
    rq = Requantize(multiplier=np.array([7, -7]), shift=48)
    assert (rq.multiplier, rq.shift, rq.channels) == ((7, -7), 48, 2)
    dp = DPReLU(alpha=[1], beta=[2], eta=[3], gamma=[4], frac_bits=0)
    assert (dp.alpha, dp.beta, dp.eta, dp.gamma, dp.frac_bits) == ((1,), (2,), (3,), (4,), 0)
    assert SaturatingAdd().bound == 127
    with pytest.raises(AttributeError):
        bn.frac_bits = 3


@pytest.mark.parametrize("make, name", [
    (lambda: QuantizedBN(scale=[1 << 15], bias=[0], frac_bits=0), "scale"),
    (lambda: QuantizedBN(scale=[], bias=[], frac_bits=0), "scale"),
    (lambda: QuantizedBN(scale=[1.5], bias=[0], frac_bits=0), "scale"),
    (lambda: QuantizedBN(scale=[1], bias=[-(1 << 15) - 1], frac_bits=0), "bias"),
    (lambda: QuantizedBN(scale=[1, 2], bias=[0], frac_bits=0), "bias"),
    (lambda: QuantizedBN(scale=[1], bias=[0], frac_bits=16), "frac_bits"),
    (lambda: QuantizedBN(scale=[1], bias=[0], frac_bits=-1), "frac_bits"),
    (lambda: Requantize(multiplier=[1 << 16], shift=0), "multiplier"),
    (lambda: Requantize(multiplier=[-(1 << 16)], shift=0), "multiplier"),
    (lambda: Requantize(multiplier=7, shift=0), "multiplier"),
    (lambda: Requantize(multiplier=[1], shift=49), "shift"),
    (lambda: Requantize(multiplier=[1], shift=True), "shift"),
    (lambda: DPReLU(alpha=[128], beta=[0], eta=[0], gamma=[0], frac_bits=0), "alpha"),
    (lambda: DPReLU(alpha=[0], beta=[-129], eta=[0], gamma=[0], frac_bits=0), "beta"),
    (lambda: DPReLU(alpha=[0], beta=[0], eta=[1 << 15], gamma=[0], frac_bits=0), "eta"),
    (lambda: DPReLU(alpha=[0], beta=[0], eta=[0], gamma=[0, 1], frac_bits=0), "gamma"),
    (lambda: DPReLU(alpha=[0], beta=[0], eta=[0], gamma=[0], frac_bits=16), "frac_bits"),
    (lambda: SaturatingAdd(bound=0), "bound"),
    (lambda: SaturatingAdd(bound=128), "bound"),
])
def test_bad_parameters(make, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        make()


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        QuantizedBN([1], [0], 0)


# --- cocotb + Verilator --------------------------------------------------------------------------


def _cocotb_blocks():
    """Three configurations of each unit (channels, fractional bits / shift, bound)."""
    rng = np.random.default_rng(2024)
    blocks, specs = {}, {}
    for n, (channels, frac_bits) in enumerate([(3, 0), (4, 7), (2, 15)]):
        scale, bias = int16_params(rng, channels), int16_params(rng, channels, [-32768, 32767])
        blocks[f"qbn{n}"] = QuantizedBN(scale=scale, bias=bias, frac_bits=frac_bits)
        specs[f"qbn{n}"] = {"kind": "quantized_bn", "scale": scale, "bias": bias,
                            "frac_bits": frac_bits}
    for n, (channels, shift) in enumerate([(3, 0), (2, 20), (4, 48)]):
        multiplier = [65535, -65535, 1, -1][:channels - 1] + [int(rng.integers(-65535, 65536))]
        blocks[f"rq{n}"] = Requantize(multiplier=multiplier, shift=shift)
        specs[f"rq{n}"] = {"kind": "requantize", "multiplier": multiplier, "shift": shift}
    for n, (channels, frac_bits) in enumerate([(3, 0), (2, 8), (4, 15)]):
        params = {
            "alpha": [int(v) for v in rng.integers(-128, 128, channels)],
            "beta": [int(v) for v in rng.integers(-128, 128, channels)],
            "eta": int16_params(rng, channels, [32767, 1 << max(frac_bits - 1, 0)]),
            "gamma": int16_params(rng, channels, [-32768, 3]),
        }
        blocks[f"dp{n}"] = DPReLU(frac_bits=frac_bits, **params)
        specs[f"dp{n}"] = {"kind": "dprelu", "frac_bits": frac_bits, **params}
    for n, bound in enumerate([127, 100, 1]):
        blocks[f"sa{n}"] = SaturatingAdd(bound=bound)
        specs[f"sa{n}"] = {"kind": "saturating_add", "bound": bound}
    return blocks, specs


COCOTB_KEYS = [f"{unit}{n}" for unit in ("qbn", "rq", "dp", "sa") for n in range(3)]


@pytest.mark.cocotb
@pytest.mark.parametrize("key", COCOTB_KEYS)
def test_cocotb_fixed(key, tmp_path):
    run_harness_cocotb(make_blocks=_cocotb_blocks, block="fixed", key=key,
                       tb_module="tb_fixed.py", test_dir=tmp_path)
