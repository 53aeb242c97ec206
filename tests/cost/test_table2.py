"""The built-in architectures reproduce the papers' published cost numbers.

PokeBNN paper (../shared/papers/001_*), Table 2 "Final results and comparison to prior arts":
MACs in 10^6 per format (FP32, BF16, INT8, INT4, Binary), ACE in 10^9, CPU64 in 10^6. The numbers
below are typed from that table, independently of bnnhw.cost.paper (which docs/cost.md renders).
"""

from pathlib import Path

import pytest

from bnnhw.cost import builtin
from bnnhw.cost.paper import (
    BOOLNET_TABLE3, BOOLNET_TABLE3_TOTALS, TABLE2, boolnet_comparison, stage_memory,
    table2_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 0.03

# PokeBNN Table 2: name -> (FP32, BF16, INT8, INT4, Binary MACs 10^6; ACE 10^9; CPU64 10^6).
REQUIRED_ROWS = {
    "resnet50-fp32": (4089.2, 0, 0, 0, 0, 1046.8, 4089.2),      # "FP32 ResNet-50 [17]"
    "resnet50-bf16": (0, 4089.2, 0, 0, 0, 1046.8, 4089.2),      # "BF16 ResNet-50 [1]"
    "resnet50-int4": (0, 0, 120.1, 3969.1, 0, 71.2, 263.1),     # "INT4 ResNet-50 [1]"
    "pokebnn-0.5x": (0, 0, 7.6, 0.9, 905.6, 1.4, 15.2),
    "pokebnn-1.0x": (0, 0, 8.7, 3.6, 3609.5, 4.2, 57.7),
    "pokebnn-2.0x": (0, 0, 10.7, 14.5, 14412.2, 15.3, 227.4),
    "reactnet-a": (11.9, 0, 0, 0, 4816.9, 7.9, 87.2),           # "ReActNet-A [34]"
}
OTHER_ROWS = {
    "pokebnn-0.75x": (0, 0, 8.2, 2.0, 2032.7, 2.6, 32.9),
    "pokebnn-1.25x": (0, 0, 9.2, 5.7, 5635.8, 6.3, 89.6),
    "pokebnn-1.4x": (0, 0, 9.5, 7.1, 7037.2, 7.8, 111.6),
    "pokebnn-1.5x": (0, 0, 9.7, 8.2, 8111.7, 8.9, 128.5),
    "pokebnn-1.75x": (0, 0, 10.2, 11.1, 11037.1, 11.9, 174.4),
    "pokebnn-1.0x-bf16": (0, 3621.8, 0, 0, 0, 927.2, 3621.8),   # "BF16 PokeBNN"
    # prior work; Table 2 rounds their MAC counts to 2-3 digits ("120", "1700")
    "xnornet-resnet18": (120, None, None, None, 1700, 32.4, 146.6),
    "birealnet-18": (139, None, None, None, 1680, 37.3, 165.2),
}
FORMATS = ("fp32", "bf16", "int8", "int4", "binary")


def _close(ours, paper):
    return abs(ours - paper) <= TOLERANCE * paper


@pytest.mark.parametrize("name", list(REQUIRED_ROWS) + list(OTHER_ROWS))
def test_ace_and_cpu64_within_3_percent_of_table2(name):
    *_, ace, cpu64 = {**REQUIRED_ROWS, **OTHER_ROWS}[name]
    report = builtin(name)
    assert _close(report.ace / 1e9, ace), f"{name}: ACE {report.ace / 1e9:.3f} vs {ace}"
    assert _close(float(report.cpu64) / 1e6, cpu64), \
        f"{name}: CPU64 {float(report.cpu64) / 1e6:.2f} vs {cpu64}"


PRIOR_WORK = ("xnornet-resnet18", "birealnet-18")


@pytest.mark.parametrize("name", [n for n in {**REQUIRED_ROWS, **OTHER_ROWS}
                                  if n not in PRIOR_WORK])
def test_mac_columns_match_table2_to_the_printed_digit(name):
    """The layer lists give Table 2's MAC counts exactly, rounded as the table rounds them."""
    paper = {**REQUIRED_ROWS, **OTHER_ROWS}[name][:5]
    macs = builtin(name).macs
    for fmt, expected in zip(FORMATS, paper):
        assert round(macs.get(fmt, 0) / 1e6, 1) == expected, (name, fmt, macs.get(fmt, 0))


@pytest.mark.parametrize("name", PRIOR_WORK)
def test_prior_work_mac_counts_within_3_percent(name):
    fp32, *_, binary, _, _ = OTHER_ROWS[name]
    macs = builtin(name).macs
    assert _close(macs["fp32"] / 1e6, fp32) and _close(macs["binary"] / 1e6, binary)


def test_fp32_ace_uses_the_bf16_cast_of_table2_and_table1_cost_strictly():
    """Table 2 caption: FP32 MACs counted as BF16 (256); Table 1: an fp32 MAC is 1024 ACE."""
    report = builtin("resnet50-fp32")
    assert report.ace == report.macs["fp32"] * 256
    assert report.ace_strict == report.macs["fp32"] * 1024
    assert builtin("resnet50-bf16").ace == report.ace


def test_pokebnn_text_numbers():
    """PokeBNN Sec. 4.3: the 7x7 input layer is 118 M MACs, the 1x1 projections 360 M, PokeInit
    6.6 M int8 MACs."""
    resnet = {layer.name: layer for layer in builtin("resnet50-int4").layers}
    assert round(sum(resnet["conv1"].macs.values()) / 1e6) == 118
    projections = sum(sum(layer.macs.values()) for name, layer in resnet.items()
                      if name.endswith(".proj"))
    assert round(projections / 1e6, -1) == 360
    poke = {layer.name: layer for layer in builtin("pokebnn-1.0x").layers}
    init = poke["init.conv"].macs["int8"] + poke["init.group"].macs["int8"]
    assert round(init / 1e6, 1) == 6.6


def test_paper_module_holds_the_same_numbers_as_this_test():
    for name, row in {**REQUIRED_ROWS, **OTHER_ROWS}.items():
        paper = TABLE2[name]
        assert (paper.fp32, paper.bf16, paper.int8, paper.int4, paper.binary, paper.ace,
                paper.cpu64) == row, name


def test_boolnet_table3_stage_memory_is_exact():
    """BoolNet appendix Table 3: weights, activation, output & features bits per stage."""
    for name, stages in BOOLNET_TABLE3.items():
        ours = stage_memory(name)
        for stage, expected in stages.items():
            assert ours[stage] == expected, (name, stage)
        for stage, total in BOOLNET_TABLE3_TOTALS[name].items():
            assert sum(ours[stage]) == total, (name, stage)
    # stage 1 of the k = 4 BoolNet by hand: 64*64*9 weights, 64*56*56*4 input bits
    assert stage_memory("boolnet-stages-k4")[1] == (64 * 64 * 9, 64 * 56 * 56 * 4,
                                                    2 * 64 * 56 * 56 * 4)


def test_basenet_bops_match_boolnet_table1():
    """BoolNet Table 1 (k = 1): BaseNet BOPs 2.20 x 10^9 (FLOPs differ by 3.6 %, docs/cost.md)."""
    assert _close(builtin("basenet-resnet18").bops / 1e9, 2.20)


def test_docs_carry_the_generated_tables():
    """docs/cost.md holds exactly what ``python -m bnnhw.cost --table2 --boolnet`` prints."""
    text = (ROOT / "docs" / "cost.md").read_text()
    assert table2_markdown() in text
    assert boolnet_comparison() in text
