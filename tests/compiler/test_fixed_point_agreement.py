"""Fixed-point conversions checked against the model's real rule on every reachable value.

requantize and DPReLU take real parameters; the hardware holds them as 16-bit fixed point. The
compiler proves, per layer, whether the fixed-point result equals the documented real rule
(``clip(round_half_up(acc*scale))``, the DPReLU with its real slopes) on every value the layer
can receive, and says so in the report notes; a difference is named with its first example.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnhw.compiler import lower
from bnnhw.compiler.quantize import (dprelu_disagreements, fixed_point, requant_disagreements,
                                     requant_params)
from bnnhw.golden import fixed as golden_fixed
from bnnhw.model import Model
from bnnhw.model.reference import run_float

from ..model.samples import tiny_graph


def _brute_requant(scale, lo, hi):
    multiplier, shift, _ = requant_params(scale)
    acc = np.arange(lo, hi + 1).reshape(-1, 1) * np.ones((1, len(scale)), np.int64)
    want = np.clip(np.floor(acc * np.asarray(scale) + 0.5), -127, 127).astype(np.int64)
    return int((want != golden_fixed.requantize(acc, multiplier, shift)).sum()), multiplier, shift


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.floats(1e-4, 2.0), min_size=1, max_size=3),
       st.integers(-40_000, 0), st.integers(0, 40_000))
def test_requant_disagreements_count_every_differing_accumulator(scale, lo, hi):
    count, multiplier, shift = _brute_requant(scale, lo, hi)
    found, example = requant_disagreements(scale, multiplier, shift, lo, hi)
    assert found == count
    assert (example is None) == (count == 0)


def test_dyadic_scales_agree_and_mixed_magnitudes_do_not():
    for scale, exact in (([0.5, 0.25, 3 / 1024], True), ([1 / 3, 2.5e-5], False)):
        multiplier, shift, _ = requant_params(scale)
        count, example = requant_disagreements(scale, multiplier, shift, -2 ** 31, 2 ** 31 - 1)
        assert (count == 0) == exact
        if not exact:
            channel, acc, want, got = example
            assert want == np.clip(np.floor(acc * scale[channel] + 0.5), -127, 127) != got


def test_dprelu_disagreements_are_exhaustive():
    eta, gamma = np.array([0.3, 1 / 3, 0.5]), np.array([0.1, -0.7, 0.25])
    alpha, beta = np.array([0, 3, -5]), np.array([1, -2, 0])
    raw, frac_bits, _ = fixed_point(np.concatenate([eta, gamma]))
    count, example = dprelu_disagreements(alpha, beta, eta, gamma, raw[:3], raw[3:], frac_bits,
                                          -127, 127)
    x = np.arange(-127, 128).reshape(-1, 1) * np.ones((1, 3), np.int64)
    d = x - alpha
    want = np.clip(np.floor(d * np.where(d > 0, eta, gamma) + 0.5) - beta, -127, 127)
    got = golden_fixed.dprelu(x, alpha, beta, raw[:3], raw[3:], frac_bits)
    assert count == int((want != got).sum()) > 0
    channel, value, model_value, hardware_value = example
    assert model_value == want[value + 127, channel] != hardware_value


def _requantize_model(scale):
    rng = np.random.default_rng(3)
    layers = [{"name": "conv", "op": "conv2d", "inputs": ["input"], "precision": "int8",
               "out_channels": 2, "kernel": 4},
              {"name": "q", "op": "requantize", "inputs": ["conv"]}]
    arrays = {"conv.weight": rng.integers(-128, 128, (2, 1, 4, 4)).astype(np.int8),
              "q.scale": np.asarray(scale, np.float64)}
    return Model.from_dict(tiny_graph(layers, "q", shape=(1, 4, 4), input_type="int8",
                                      value_range=(-127, 127)), arrays)


@pytest.mark.parametrize("scale, exact", [([2 ** -9, 3 * 2 ** -12], True),
                                          ([1 / 3, 2.5e-5], False)])
def test_requantize_note_states_agreement_with_the_real_rule(scale, exact):
    model = _requantize_model(scale)
    compiled = lower(model)
    note = " ".join(compiled.notes["q"])
    if exact:
        assert "equal to the model's clip(round_half_up(acc*scale)) on every reachable" in note
        x = np.random.default_rng(0).integers(-127, 128, (200, 1, 4, 4))
        assert np.array_equal(compiled.run(x), run_float(model, x)["q"])
    else:
        assert "DIFFERS from the model's clip(round_half_up(acc*scale))" in note
        assert "first: channel" in note


def test_build_warns_when_a_conversion_differs(tmp_path):
    from bnnhw.build import run_build
    from bnnhw.model import save

    folder = tmp_path / "designs" / "approx"
    folder.mkdir(parents=True)
    save(_requantize_model([1 / 3, 2.5e-5]), folder / "model.npz")
    lines = []
    run_build(str(folder), out=tmp_path / "out", log=lines.append)
    assert any("warning: layer 'q'" in line and "DIFFERS" in line for line in lines)


@pytest.mark.parametrize("scale", [[1e-9], [3e-10, 1e-9], [1 / 3, 2.5e-5]])
@pytest.mark.parametrize("lo, hi", [(-2 ** 31, -2 ** 31 + 5000), (2 ** 31 - 5000, 2 ** 31 - 1),
                                    (-300, 300)])
def test_requant_steps_beyond_the_int32_range_are_never_evaluated(scale, lo, hi):
    """Scales so small that the rule's steps lie beyond int32 (the fuzzer's seed 25000070): only
    accumulators in [lo, hi] are evaluated, and the count equals the brute-force one."""
    count, multiplier, shift = _brute_requant(scale, lo, hi)
    assert requant_disagreements(scale, multiplier, shift, lo, hi)[0] == count
