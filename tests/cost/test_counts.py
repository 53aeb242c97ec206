"""Per-layer counting rules: MAC formats, a hand-checked tiny model, analytic layer shapes."""

from fractions import Fraction

import numpy as np
import pytest

from bnnhw.compiler import Value, lower
from bnnhw.cost import ace_per_mac, cost_of_compiled, cpu64_per_mac, precision
from bnnhw.cost.analytic import NetBuilder
from bnnhw.cost.compiled import value_width

from .tiny import tiny_model


@pytest.mark.parametrize("fmt, ace, cpu64", [
    # PokeBNN Table 1, "MAC" columns (ACE, CPU64)
    ("binary", 1, Fraction(1, 64)), ("int2", 4, Fraction(1, 32)), ("int4", 16, Fraction(1, 16)),
    ("int8", 64, Fraction(1, 8)), ("bf16", 256, 1), ("fp16", 256, 1), ("int32", 1024, None),
])
def test_table1_cost_per_mac(fmt, ace, cpu64):
    assert ace_per_mac(fmt) == ace
    if cpu64 is not None:
        assert cpu64_per_mac(fmt) == cpu64


def test_fp32_per_mac():
    assert ace_per_mac("fp32", fp32_as_bf16=False) == 1024   # Table 1
    assert ace_per_mac("fp32") == 256                         # Table 2 caption: cast to BF16
    assert cpu64_per_mac("fp32") == 1


def test_mixed_formats_follow_eq1():
    p = precision("int9xint16")
    assert (p.act_bits, p.weight_bits) == (9, 16)
    assert ace_per_mac(p) == 144 and cpu64_per_mac(p) == Fraction(16, 64)
    assert precision("int1") == precision("binary")
    with pytest.raises(ValueError, match="unknown MAC format"):
        precision("fp8e4")


def test_tiny_model_by_hand():
    """c1: 3 outputs x 4x4 positions x fan-in 2*3*3 = 18 -> 864 XNOR-popcount MACs; fc: 3 x 2
    int8 MACs. ACE = 864*1 + 6*64, CPU64 = 864/64 + 6/8."""
    report = cost_of_compiled(lower(tiny_model()))
    rows = {layer.name: layer for layer in report.layers}
    assert rows["c1"].macs == {"binary": 864}
    assert rows["c1"].ops == {"xnor": 864, "popcount": 864}
    assert rows["c1"].param_bits == 3 * 2 * 9                  # one bit per weight
    assert rows["c1"].in_fmap_bits == 2 * 16                   # the input bit map
    assert rows["c1"].out_fmap_bits == 3 * 16 * 5              # popcounts 0..18: 5 bits
    # sign: one comparator per output bit; threshold ROM: ceil(log2(19)) + 1 invert bit
    assert rows["s1"].ops == {"compare": 48} and rows["s1"].param_bits == 3 * (5 + 1)
    assert rows["p1"].ops == {"or": 3 * 2 * 2 * 3} and rows["p1"].out_fmap_bits == 12
    assert rows["gp"].ops == {"popcount": 12} and rows["gp"].out_fmap_bits == 3 * 3  # 0..4
    assert rows["fc"].macs == {"int8": 6} and rows["fc"].ops == {"add": 2}       # bias adds
    assert rows["fc"].param_bits == 6 * 8 + 2 * 32             # int8 weights, int32 bias ROM
    assert report.ace == 864 + 6 * 64
    assert report.cpu64 == Fraction(864, 64) + Fraction(6, 8)
    assert report.bops == 864 and report.flops == 0
    assert report.macs == {"int8": 6, "binary": 864}
    assert report.param_bits == 54 + 18 + 112
    fc_bits = 2 * value_width(lower(tiny_model()).values["fc"])
    assert report.fmap_bits == 32 + 240 + 48 + 12 + 9 + fc_bits


@pytest.mark.parametrize("lo, hi, bits", [(0, 1, 1), (0, 18, 5), (0, 16, 5), (-127, 127, 8),
                                          (-128, 127, 8), (-129, 127, 9), (-641, 641, 11)])
def test_value_width(lo, hi, bits):
    assert value_width(Value("int", (1,), lo, hi)) == bits


def test_analytic_conv_and_dense_shapes():
    b = NetBuilder("t", (4, 8, 8), feature_bits=16)
    y = b.conv("c", (4, 8, 8), 6, 3, stride=2, groups=2, fmt="int4")
    assert y == (6, 4, 4)
    z = b.dense("d", 96, 10, fmt="bf16")
    assert z == (10, 1, 1)
    report = b.report()
    conv, dense = report.layers
    assert conv.macs == {"int4": 6 * 16 * 2 * 9}             # C_out*H*W*(C_in/groups)*K*K
    assert conv.param_bits == 6 * 2 * 9 * 4
    assert conv.in_fmap_bits == 4 * 64 * 4 and conv.out_fmap_bits == 6 * 16 * 16
    assert dense.macs == {"bf16": 960} and dense.flops == 960
    assert report.ace == 6 * 16 * 18 * 16 + 960 * 256
    with pytest.raises(ValueError, match="groups 4 must divide"):
        b.conv("bad", (6, 4, 4), 6, 1, groups=4, fmt="binary")


def test_panet_layer_counts_mn_and_popcounts_and_phi_macs(designs_compiled):
    """PA-Net eq. 19: M*N AND-popcount convolutions merged with phi (int16) per output."""
    compiled = designs_compiled["panet"]
    report = cost_of_compiled(compiled)
    for layer in compiled.layers:
        if layer.op != "panet_conv2d":
            continue
        bases = layer.params["weight_bases"]
        m, n = bases.shape[0], layer.params["activation_bases"]
        outputs = int(np.prod(compiled.values[layer.name].shape))
        fan_in = int(bases[0, 0].size)
        row = next(r for r in report.layers if r.name == layer.name)
        phi_format = f"int{fan_in.bit_length()}xint16"
        assert row.macs == {"binary": m * n * outputs * fan_in, phi_format: m * n * outputs}
        assert row.ops["and"] == m * n * outputs * fan_in
        assert row.param_bits == bases.size + 16 * layer.params["phi"].size
