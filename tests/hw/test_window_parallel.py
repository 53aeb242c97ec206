# amaranth: UnusedElaboratable=no
"""ParallelWindow (whole window per transfer) against the NumPy/golden window reference.

The reference is ``test_window.windows``: golden's padded window of every output position in the
hardware fan-in order ``(k_h, k_w, c)``; the unit sends each whole window as one transfer (element
``i`` at bit ``i``), ``repeat`` times. Images go back to back under every stall pattern, with an
all-ones image between random ones so that masked border taps stand out, and a gap in the input
after the last image (the unit must finish with virtual steps). The cocotb + Verilator run of the
same configurations is ``test_parallel_windows_rtl`` (family ``window_parallel``).
"""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from bnnhw import golden
from bnnhw.hw.mvau import BinaryMVAU
from bnnhw.hw.window_parallel import ParallelWindow
from bnnhw.params import ParameterError, whole_window_geometry

from .streams import run_harness_cocotb, run_stream, stream_timing
from .test_window import STALLS, images, pack, pair, pixels, windows

#: id -> (C, H, W, kernel, stride, padding, pad_bit, repeat)
CONFIGS = {
    "3x3_s1_p1": (4, 5, 6, 3, 1, 1, 1, 1),
    "3x3_s1_p1_8x8": (2, 8, 8, 3, 1, 1, 0, 1),
    "3x3_s2_p1": (1, 7, 5, 3, 2, 1, 0, 1),
    "3x3_s1_p0": (3, 5, 4, 3, 1, 0, 1, 1),
    "2x2_s2_p0": (4, 6, 8, 2, 2, 0, 1, 1),
    "2x2_s2_odd_map": (2, 5, 7, 2, 2, 0, 0, 1),          # last row / column unused
    "2x3_rect_stride": (4, 6, 5, (2, 3), (2, 1), (0, 1), 1, 1),
    "3x1_rect": (1, 5, 4, (3, 1), 1, (1, 0), 0, 1),
    "1x1_s3x2_skip_rows": (2, 7, 5, 1, (3, 2), 0, 1, 1),
    "kernel_is_map": (4, 3, 3, 3, 1, 0, 1, 1),            # one output position
    "whole_map_dense": (2, 4, 4, 4, 1, 0, 1, 3),          # a dense layer's window, re-read
    "width_1": (3, 5, 1, (3, 1), 1, (1, 0), 1, 1),
    "height_1": (2, 1, 6, (1, 3), 1, (0, 1), 0, 1),
    "2x2_map_3x3_p1": (1, 2, 2, 3, 1, 1, 1, 1),
    "5x5_s1_p2": (1, 6, 7, 5, 1, 2, 1, 1),
    "3x3_repeat_4": (2, 4, 5, 3, 1, 1, 1, 4),
    "3x3_s2_repeat_2": (3, 6, 6, 3, 2, 1, 0, 2),
}


#: Grouped: id -> (C, H, W, kernel, stride, padding, pad_bit, repeat, groups, per_group):
#: ``per_group`` sends one group's window per transfer, else all groups side by side.
GROUPED = {
    "g4_whole": (8, 5, 6, 3, 1, 1, 1, 1, 4, False),
    "g4_per_group": (8, 5, 6, 3, 1, 1, 0, 1, 4, True),
    "g2_per_group_repeat": (4, 4, 4, 3, 1, 1, 1, 3, 2, True),
    "g3_s2_whole": (6, 7, 5, 3, 2, 1, 0, 2, 3, False),
}


def make(config):
    c, h, w, kernel, stride, padding, pad_bit, repeat, *grouping = config
    groups, per_group = grouping or (1, False)
    (kh, kw) = pair(kernel)
    return ParallelWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                          padding=padding, pad_bit=pad_bit, repeat=repeat, groups=groups,
                          simd=kh * kw * c // (groups if per_group else 1))


def expected(x, config):
    """Windows in group order ``(g, ky, kx, c)`` as integers (the whole window, or each group's
    window in turn), each transfer ``repeat`` times, images and positions in order."""
    _, _, _, kernel, stride, padding, pad_bit, repeat, *grouping = config
    groups, per_group = grouping or (1, False)
    c = x.shape[1]
    parts = [windows(x[:, g * c // groups:(g + 1) * c // groups], kernel, stride, padding,
                     pad_bit) for g in range(groups)]
    win = np.stack(parts, axis=3)                          # (B, Ho, Wo, G, kh*kw*C/G)
    win = win.reshape(-1, groups, win.shape[-1])
    if per_group:
        return [pack(v[g]) for v in win for g in range(groups) for _ in range(repeat)]
    return [pack(v.reshape(-1)) for v in win for _ in range(repeat)]


@pytest.mark.parametrize("stalls", list(STALLS.values()), ids=list(STALLS))
@pytest.mark.parametrize("config", [*CONFIGS.values(), *GROUPED.values()],
                         ids=[*CONFIGS, *GROUPED])
def test_windows_match_reference(config, stalls):
    dut = make(config)
    x = images(config, sum(config[:3]) + (config[8] if config[8:] else config[6]), count=4)
    want = expected(x, config)
    assert len(want) == len(x) * dut.chunks_per_image
    got = run_stream(dut, pixels(x), len(want), stall_in=stalls[0], stall_out=stalls[1],
                     seed=len(want), drain=40)
    assert got == want


@pytest.mark.parametrize("key", ["3x3_s1_p1", "3x3_s1_p1_8x8", "3x3_s2_p1", "3x3_s1_p0",
                                 "2x2_s2_p0", "whole_map_dense", "3x3_repeat_4", "5x5_s1_p2"])
def test_timing(key):
    """No stalls: a window transfers ``latency`` edge after its bottom-right pixel; back-to-back
    images then follow every ``max(H*W, H_out*W_out*repeat)`` cycles."""
    config = CONFIGS[key]
    dut = make(config)
    h, w, kernel, _, padding = config[1:6]
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    count, cpi = 6, dut.chunks_per_image
    edges = stream_timing(dut, [0] * (count * h * w), count * cpi)
    assert edges[0] == (kh - 1 - ph) * w + (kw - 1 - pw) + dut.latency
    firsts = [edges[n * cpi] for n in range(count)]
    assert dut.cycles_per_image == max(h * w, cpi)
    assert np.diff(firsts).tolist() == [dut.cycles_per_image] * (count - 1)


def test_full_rate_8x8_same_conv():
    """The headline case: a 3 x 3 "same" window on an 8 x 8 map at one pixel per cycle gives one
    window per cycle with no bubble at all once it has started, across image boundaries."""
    dut = ParallelWindow(channels=8, height=8, width=8, kernel=3, padding=1)
    edges = stream_timing(dut, [0] * (5 * 64), 5 * 64)
    assert edges == list(range(edges[0], edges[0] + 5 * 64))


def test_properties():
    dut = ParallelWindow(channels=8, height=6, width=5, kernel=(3, 2), stride=(2, 1),
                         padding=(1, 0), pad_bit=0, repeat=2)
    assert (dut.channels, dut.height, dut.width) == (8, 6, 5)
    assert (dut.kernel, dut.stride, dut.padding, dut.pad_bit) == ((3, 2), (2, 1), (1, 0), 0)
    assert dut.output_size == (3, 4) and dut.fan_in == dut.simd == 48
    assert (dut.chunks_per_window, dut.chunks_per_image) == (1, 24)
    assert dut.memory_bits == 5 * 2 * 8 and dut.latency == 1 and dut.repeat == 2
    assert len(dut.i.payload) == 8 and len(dut.o.payload) == 48
    with pytest.raises(AttributeError):
        dut.repeat = 1


GOOD = {"channels": 4, "height": 5, "width": 6, "kernel": 3, "stride": 1, "padding": 1,
        "pad_bit": 1}


@pytest.mark.parametrize("changes, name", [
    ({"channels": 0}, "channels"),
    ({"height": 0}, "height"),
    ({"width": True}, "width"),
    ({"kernel": (3, 0)}, "kernel"),
    ({"kernel": 8, "padding": 1}, "kernel"),
    ({"stride": 0}, "stride"),
    ({"padding": -1}, "padding"),
    ({"pad_bit": 2}, "pad_bit"),
    ({"repeat": 0}, "repeat"),
    ({"padding": 3}, "padding"),                 # reaches the whole kernel
    ({"padding": 2}, "padding"),                 # rows' windows overlap in time
    ({"kernel": 2, "padding": 1}, "padding"),
    ({"groups": 3}, "groups"),
    ({"groups": 2, "simd": 12}, "simd"),
])
def test_bad_parameters(changes, name):
    with pytest.raises(ParameterError, match=rf"^{name}"):
        ParallelWindow(**{**GOOD, **changes})


def test_geometry_rule():
    assert whole_window_geometry(8, 8, (3, 3), (1, 1), (1, 1)) == ""
    assert whole_window_geometry(8, 8, (8, 8), (1, 1), (0, 0)) == ""
    assert whole_window_geometry(8, 8, (2, 2), (2, 2), (0, 0)) == ""
    assert "whole kernel" in whole_window_geometry(3, 4, (2, 2), (1, 1), (2, 2))
    assert whole_window_geometry(5, 6, (3, 3), (1, 1), (2, 2))
    assert "last pixel" in whole_window_geometry(1, 1, (3, 3), (1, 1), (1, 1))


# --- end to end: ParallelWindow -> BinaryMVAU(SIMD = fan_in) = golden.binary_conv2d ----------------


class ConvEngine(wiring.Component):
    def __init__(self, window, mvau):
        self.window, self.mvau = window, mvau
        super().__init__({"i": window.signature.members["i"],
                          "o": mvau.signature.members["o"]})

    def elaborate(self, platform):
        m = Module()
        m.submodules.window, m.submodules.mvau = self.window, self.mvau
        wiring.connect(m, wiring.flipped(self.i), self.window.i)
        wiring.connect(m, self.window.o, self.mvau.i)
        wiring.connect(m, self.mvau.o, wiring.flipped(self.o))
        return m


@pytest.mark.parametrize("pe", [1, 3, 6])
def test_conv_layer_at_one_pixel_per_cycle(pe):
    """A 3 x 3 padded XNOR layer, whole window into an MVAU with SIMD = fan-in (re-read per
    neuron fold through ``repeat``): golden.binary_conv2d's popcounts, under stalls."""
    rng = np.random.default_rng(pe)
    c, h, w, rows = 3, 5, 4, 6
    x = rng.integers(0, 2, (3, c, h, w))
    weight = rng.integers(0, 2, (rows, c, 3, 3))
    hw_rows = weight.transpose(0, 2, 3, 1).reshape(rows, -1)       # (k_h, k_w, c)
    fan_in = hw_rows.shape[1]
    nf = rows // pe
    words = [[pack(hw_rows[n * pe + p]) for n in range(nf)] for p in range(pe)]
    window = ParallelWindow(channels=c, height=h, width=w, kernel=3, padding=1, pad_bit=1,
                            repeat=nf)
    mvau = BinaryMVAU(fan_in=fan_in, rows=rows, pe=pe, simd=fan_in, words=words, reread=nf > 1)
    want = golden.binary_conv2d(x, weight, padding=1, pad_value=1)    # (B, rows, H, W)
    out = run_stream(ConvEngine(window, mvau), pixels(x), len(x) * h * w * nf, stall_in=0.3,
                     stall_out=0.3, seed=pe)
    width = mvau.count_width
    got = np.array([[(v >> (width * p)) & ((1 << width) - 1) for p in range(pe)] for v in out])
    got = got.reshape(len(x), h, w, nf * pe).transpose(0, 3, 1, 2)
    assert np.array_equal(got, want)


#: The Verilator harness: every configuration above in one top.
COCOTB_KEYS = ["3x3_s1_p1", "3x3_s2_p1", "2x2_s2_odd_map", "2x3_rect_stride", "whole_map_dense",
               "width_1", "height_1", "5x5_s1_p2", "3x3_repeat_4", "3x3_s2_repeat_2",
               "g4_whole", "g2_per_group_repeat", "g3_s2_whole"]


def _cocotb_blocks():
    specs = {}
    for key, config in {**CONFIGS, **GROUPED}.items():
        c, h, w, kernel, stride, padding, pad_bit, repeat, *grouping = config
        groups, per_group = grouping or (1, False)
        specs[f"p_{key}"] = {"channels": c, "height": h, "width": w,
                             "kernel": list(pair(kernel)), "stride": list(pair(stride)),
                             "padding": list(pair(padding)), "pad_bit": pad_bit,
                             "repeat": repeat, "groups": groups, "per_group": per_group}
    return {f"p_{key}": make(config) for key, config in {**CONFIGS, **GROUPED}.items()}, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", COCOTB_KEYS)
def test_cocotb_parallel_window(key, tmp_path):
    """Verilator: edge and random images under every stall pattern
    (``sim/blocks/tb_window_parallel.py``)."""
    run_harness_cocotb(make_blocks=_cocotb_blocks, block="window_parallel", key=f"p_{key}",
                       tb_module="tb_window_parallel.py", test_dir=tmp_path)
