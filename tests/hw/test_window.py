# amaranth: UnusedElaboratable=no
"""SlidingWindow (line-buffer sliding-window unit) against a NumPy/golden window reference.

Amaranth-simulator tier: the reference pads the bit map with the pad bit (docs/numerics.md §4),
takes the window of every output position, reorders it from golden's ``(c, k_h, k_w)`` to the
hardware fan-in order ``(k_h, k_w, c)`` with ``bnnhw.compiler.fan_in_order`` and chunks it by
``simd``. Configurations: 3x3 pad 1 stride 1 and 2, 1x1, 2x2 stride 2, rectangular kernels and
strides, strides larger than the kernel (unused rows), padding as large as the kernel, a kernel
covering the whole map, C in {1, 2, 4, 16}, pad bit 0 and 1, H != W, the smallest buffer
(``buffer_rows = kh``); 3 images back to back (random, the complement of the pad bit everywhere,
random), random stalls on both sides. Timing: first output and steady-state cycles per image.
Groups (``groups = G``): the same windows reordered group by group, ``(g, k_h, k_w, c)``
(``grouped_windows``, checked against ``golden.binary_conv2d(groups=G)``), including the
depthwise / pooling case ``G = C``. End to end: SlidingWindow -> BinaryMVAU against
``golden.binary_conv2d``, ungrouped and grouped. Bad parameters. cocotb tier: five configurations
(one grouped) in one Verilog top, see ``sim/blocks/tb_window.py``.
"""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from bnnhw import golden
from bnnhw.compiler import fan_in_order
from bnnhw.hw.mvau import BinaryMVAU
from bnnhw.hw.window import SlidingWindow
from bnnhw.params import ParameterError

from .streams import run_harness_cocotb, run_stream, stream_timing


def pack(bits):
    """Little-endian integer of a bit sequence (element ``i`` at bit ``i``)."""
    return sum(int(b) << i for i, b in enumerate(bits))


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def pixels(x):
    """Input transfers of a batch ``(B, C, H, W)``: one pixel per transfer, bit ``c`` = channel."""
    return [pack(x[b, :, y, w]) for b in range(x.shape[0]) for y in range(x.shape[2])
            for w in range(x.shape[3])]


def windows(x, kernel, stride, padding, pad_bit):
    """``(B, H_out, W_out, kh*kw*C)`` windows in hardware fan-in order ``(k_h, k_w, c)``."""
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(padding)
    batch, channels, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_bit)
    h_out, w_out = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    order = fan_in_order((1, channels, kh, kw))  # golden (c, k_h, k_w) -> hardware (k_h, k_w, c)
    out = np.empty((batch, h_out, w_out, channels * kh * kw), np.int64)
    for oy in range(h_out):
        for ox in range(w_out):
            win = padded[:, :, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
            out[:, oy, ox] = win.reshape(batch, -1)[:, order]
    return out


def grouped_windows(x, kernel, stride, padding, pad_bit, groups):
    """``(B, H_out, W_out, G, kh*kw*C/G)``: per output position the window of each channel group
    ``g`` (channels ``g*C/G ..``) in hardware fan-in order ``(k_h, k_w, c)``; flattened over the
    last two axes it is the grouped stream order ``(g, k_h, k_w, c)``."""
    per_group = x.shape[1] // groups
    return np.stack([windows(x[:, g * per_group:(g + 1) * per_group], kernel, stride, padding,
                             pad_bit) for g in range(groups)], axis=3)


def expected_chunks(x, kernel, stride, padding, pad_bit, simd, groups=1):
    win = grouped_windows(x, kernel, stride, padding, pad_bit, groups)
    flat = win.reshape(-1, win.shape[-2] * win.shape[-1])
    return [pack(v[s * simd:(s + 1) * simd]) for v in flat for s in range(len(v) // simd)]


def zero_padded_chunks(x, kernel, stride, padding, simd, groups=1):
    """The stream of ``SlidingWindow(zero_pad=True)``: the grouped window chunks (border bits
    0) with bit ``simd`` set on a chunk of border taps (a chunk lies within one pixel)."""
    inside = np.ones_like(x)
    win = grouped_windows(x, kernel, stride, padding, 0, groups)
    real = grouped_windows(inside, kernel, stride, padding, 0, groups)
    flat, real = win.reshape(-1, win.shape[-1]), real.reshape(-1, real.shape[-1])
    out = []
    for vector, mask in zip(flat, real):
        for s in range(len(vector) // simd):
            taps = mask[s * simd:(s + 1) * simd]
            assert taps.min() == taps.max()     # wholly border or wholly real
            out.append(pack(vector[s * simd:(s + 1) * simd]) | (int(taps[0] == 0) << simd))
    return out


def test_reference_matches_golden_conv():
    """XNOR popcounts of the reference windows with hardware-order weight rows are
    golden.binary_conv2d: the reference is golden's window in the (k_h, k_w, c) order."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, (2, 3, 5, 4))
    w = rng.integers(0, 2, (5, 3, 3, 2))
    for pad_bit in (0, 1):
        win = windows(x, (3, 2), (2, 1), (1, 1), pad_bit)
        order = fan_in_order(w.shape)
        hw_w = w.reshape(5, -1)[:, order]
        # XNOR popcount per (position, row), compared with golden.binary_conv2d
        xnor = (win[:, :, :, None, :] == hw_w[None, None, None]).sum(-1)  # (B, Ho, Wo, Cout)
        want = golden.binary_conv2d(x, w, stride=(2, 1), padding=(1, 1),
                                    pad_value=1 if pad_bit else -1)
        assert np.array_equal(xnor.transpose(0, 3, 1, 2), want)


@pytest.mark.parametrize("op", ["xnor", "and"])
def test_grouped_reference_matches_golden_conv(op):
    """Row ``r`` of group ``g = r // (C_out/G)``, popcounted against window ``g`` of
    ``grouped_windows``, is golden.binary_conv2d(groups=G): window ``g`` holds group ``g``'s
    channels in the (k_h, k_w, c) order."""
    rng = np.random.default_rng(1)
    for groups, c_in, c_out in [(2, 4, 6), (3, 6, 3), (4, 4, 8)]:
        x = rng.integers(0, 2, (2, c_in, 5, 4))
        w = rng.integers(0, 2, (c_out, c_in // groups, 3, 2))
        for pad_bit in (0, 1):
            win = grouped_windows(x, (3, 2), (2, 1), (1, 1), pad_bit, groups)  # (B,Ho,Wo,G,N)
            hw_w = w.reshape(c_out, -1)[:, fan_in_order(w.shape)]
            per_row = win[:, :, :, np.arange(c_out) // (c_out // groups), :]   # (B,Ho,Wo,Co,N)
            if op == "xnor":
                got = (per_row == hw_w).sum(-1)
            else:
                got = (per_row & hw_w).sum(-1)
            want = golden.binary_conv2d(x, w, stride=(2, 1), padding=(1, 1), groups=groups,
                                        pad_value=1 if pad_bit else -1, op=op)
            assert np.array_equal(got.transpose(0, 3, 1, 2), want)


#: id -> (C, H, W, kernel, stride, padding, pad_bit, simd, buffer_rows)
CONFIGS = {
    "3x3_s1_p1": (4, 5, 6, 3, 1, 1, 1, 2, None),
    "3x3_s2_p1": (1, 7, 5, 3, 2, 1, 0, 1, None),
    "3x3_s2_p1_c16": (16, 6, 4, 3, 2, 1, 1, 8, None),
    "1x1_c16": (16, 4, 3, 1, 1, 0, 0, 16, None),
    "1x1_c16_simd4": (16, 3, 4, 1, 1, 0, 1, 4, None),
    "2x2_s2_p0": (4, 6, 8, 2, 2, 0, 1, 4, None),
    "2x2_s2_odd_map": (2, 5, 7, 2, 2, 0, 0, 1, None),     # last row / column unused
    "2x3_rect_stride": (4, 6, 5, (2, 3), (2, 1), (0, 1), 1, 1, None),
    "3x1_rect": (1, 5, 4, (3, 1), 1, (1, 0), 0, 1, None),
    "1x1_s3x2_skip_rows": (2, 7, 5, 1, (3, 2), 0, 1, 2, None),
    "pad_eq_kernel": (1, 3, 4, 2, 1, 2, 0, 1, None),      # windows wholly in the border
    "kernel_is_map": (4, 3, 3, 3, 1, 0, 1, 4, None),      # one output position
    "1x1_map_3x3_p1": (1, 1, 1, 3, 1, 1, 1, 1, None),
    "3x3_s1_p1_min_buffer": (4, 5, 6, 3, 1, 1, 0, 1, 3),
    "3x3_s2_min_buffer": (2, 7, 6, 3, 2, 1, 1, 2, 3),
    "1x1_s2_min_buffer": (4, 5, 5, 1, 2, 0, 0, 4, 1),
}
STALLS = {"no_stall": (0.0, 0.0), "stall": (0.5, 0.5), "slow_src": (0.8, 0.1),
          "slow_sink": (0.1, 0.8)}


#: id -> (C, H, W, kernel, stride, padding, pad_bit, simd, buffer_rows, groups)
GROUPED_CONFIGS = {
    "g4_3x3_s1_p1": (8, 5, 6, 3, 1, 1, 1, 2, None, 4),
    "g3_3x3_s2_p1": (6, 7, 5, 3, 2, 1, 0, 1, None, 3),
    "g4_2x2_s2_pool": (4, 6, 8, 2, 2, 0, 1, 1, None, 4),     # G = C: depthwise / pooling use
    "g2_3x3_simd_default": (8, 4, 5, 3, 1, 1, 0, None, None, 2),  # simd = C/G = 4
    "g2_rect_min_buffer": (4, 6, 5, (2, 3), (2, 1), (0, 1), 1, 1, 2, 2),
    "g2_1x1_s2": (6, 5, 5, 1, 2, 0, 0, 3, None, 2),          # input-bound, unused rows
}


def make(config, chunked=False):
    """The unit of a 9-tuple (ungrouped) or 10-tuple (last element ``groups``) configuration."""
    c, h, w, kernel, stride, padding, pad_bit, simd, rows, *groups = config
    return SlidingWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                         padding=padding, pad_bit=pad_bit, simd=simd, buffer_rows=rows,
                         groups=groups[0] if groups else 1, chunked_buffer=chunked)


#: Configurations with several chunks per pixel, for the chunked line buffer.
CHUNKED = {k: v for k, v in {**CONFIGS, **GROUPED_CONFIGS}.items()
           if v[0] // (v[7] or v[0] // (v[9] if v[9:] else 1)) > 1}


def images(config, seed, count=3):
    """Random, the complement of the pad bit everywhere (borders stand out), random, ..."""
    c, h, w, pad_bit = config[0], config[1], config[2], config[6]
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (count, c, h, w))
    x[1] = 1 - pad_bit
    return x


@pytest.mark.parametrize("stalls", list(STALLS.values()), ids=list(STALLS))
@pytest.mark.parametrize("config", list(CONFIGS.values()), ids=list(CONFIGS))
def test_windows_match_reference(config, stalls):
    dut = make(config)
    x = images(config, sum(config[:3]) + config[6])
    want = expected_chunks(x, *config[3:8])
    assert len(want) == len(x) * dut.chunks_per_image
    got = run_stream(dut, pixels(x), len(want), stall_in=stalls[0], stall_out=stalls[1],
                     seed=len(want), drain=40)
    assert got == want


@pytest.mark.parametrize("stalls", list(STALLS.values()), ids=list(STALLS))
@pytest.mark.parametrize("config", list(GROUPED_CONFIGS.values()), ids=list(GROUPED_CONFIGS))
def test_grouped_windows_match_reference(config, stalls):
    """Four images back to back: golden's windows reordered to ``(g, k_h, k_w, c)``."""
    dut = make(config)
    groups = config[9]
    assert dut.groups == groups and dut.simd == (config[7] or config[0] // groups)
    x = images(config, sum(config[:3]) + config[6] + groups, count=4)
    want = expected_chunks(x, *config[3:7], dut.simd, groups)
    assert len(want) == len(x) * dut.chunks_per_image
    got = run_stream(dut, pixels(x), len(want), stall_in=stalls[0], stall_out=stalls[1],
                     seed=len(want) + groups, drain=40)
    assert got == want


@pytest.mark.parametrize("stalls", list(STALLS.values()), ids=list(STALLS))
@pytest.mark.parametrize("config", list(CHUNKED.values()), ids=list(CHUNKED))
def test_chunked_buffer_windows_match_reference(config, stalls):
    """Line-buffer words of ``simd`` bits: the same windows, under every stall pattern."""
    dut = make(config, chunked=True)
    groups = config[9] if config[9:] else 1
    assert dut.buffer_word_bits == dut.simd and dut.memory_bits == make(config).memory_bits
    x = images(config, sum(config[:3]) + config[6] + groups, count=4)
    want = expected_chunks(x, *config[3:7], dut.simd, groups)
    got = run_stream(dut, pixels(x), len(want), stall_in=stalls[0], stall_out=stalls[1],
                     seed=len(want) + 1, drain=40)
    assert got == want


@pytest.mark.parametrize("key", ["3x3_s2_p1_c16", "1x1_c16_simd4", "g4_3x3_s1_p1", "g2_1x1_s2"])
def test_chunked_buffer_timing(key):
    """The writer takes ``C/simd`` cycles per pixel; output-bound layers keep one chunk per
    cycle, input-bound ones take ``H*W*C/simd`` cycles per image."""
    config = {**CONFIGS, **GROUPED_CONFIGS}[key]
    dut = make(config, chunked=True)
    c, h, w = config[:3]
    count, cpi = 5, dut.chunks_per_image
    edges = stream_timing(dut, [0] * (count * h * w), count * cpi)
    firsts = [edges[n * cpi] for n in range(count)]
    assert dut.cycles_per_image == max(cpi, h * w * c // dut.simd)
    assert np.diff(firsts).tolist()[1:] == [dut.cycles_per_image] * (count - 2)


def test_block_rams():
    from bnnhw.hw.window import block_rams

    assert block_rams(128, 16) == 8          # a pixel per word: 8 blocks of 16 bits
    assert block_rams(32, 64) == 2           # the same bits in 32-bit chunks
    assert block_rams(8, 256) == 1 and block_rams(16, 257) == 2 and block_rams(2, 2048) == 1


def test_long_stream_all_patterns():
    """Eight images (zeros, ones, random) through a padded stride-2 unit under heavy stalls."""
    config = (4, 6, 5, 3, 2, 1, 1, 2, None)
    rng = np.random.default_rng(11)
    x = rng.integers(0, 2, (8, 4, 6, 5))
    x[0], x[1] = 0, 1
    want = expected_chunks(x, *config[3:8])
    for stalls in [(0.6, 0.6), (0.9, 0.0), (0.0, 0.9)]:
        got = run_stream(make(config), pixels(x), len(want), stall_in=stalls[0],
                         stall_out=stalls[1], seed=int(10 * stalls[0]))
        assert got == want


@pytest.mark.parametrize("config", [CONFIGS[k] for k in (
    "3x3_s1_p1", "3x3_s2_p1", "1x1_c16", "2x2_s2_p0", "2x3_rect_stride", "1x1_s3x2_skip_rows",
    "3x3_s2_p1_c16")] + [GROUPED_CONFIGS[k] for k in ("g4_3x3_s1_p1", "g2_1x1_s2")],
    ids=lambda c: "C{}_H{}_W{}_k{}_s{}_p{}".format(*c[:6]) + (f"_g{c[9]}" if c[9:] else ""))
def test_timing(config):
    """No stalls: the first chunk transfers ``latency`` edges after the last pixel of the rows it
    needs; back-to-back images then follow every ``max(chunks_per_image, H*W)`` cycles."""
    dut = make(config)
    h, w = config[1:3]
    (kh, _), (ph, _) = pair(config[3]), pair(config[5])
    count = 5
    cpi = dut.chunks_per_image
    edges = stream_timing(dut, [0] * (count * h * w), count * cpi)
    last_row = max(0, min(h - 1, kh - 1 - ph))
    assert edges[0] == (last_row + 1) * w - 1 + dut.latency
    firsts = [edges[n * cpi] for n in range(count)]
    periods = np.diff(firsts).tolist()
    assert dut.cycles_per_image == max(cpi, h * w)
    assert periods[1:] == [dut.cycles_per_image] * (count - 2)
    assert periods[0] <= dut.cycles_per_image + w
    if cpi >= h * w:  # output-bound: one chunk per cycle, no bubbles at all after the first
        assert edges == list(range(edges[0], edges[0] + count * cpi))


def test_properties():
    dut = SlidingWindow(channels=8, height=6, width=5, kernel=(3, 2), stride=(2, 1),
                        padding=(1, 0), pad_bit=0, simd=4)
    assert (dut.channels, dut.height, dut.width) == (8, 6, 5)
    assert (dut.kernel, dut.stride, dut.padding, dut.pad_bit) == ((3, 2), (2, 1), (1, 0), 0)
    assert (dut.simd, dut.buffer_rows, dut.output_size) == (4, 5, (3, 4))
    assert (dut.fan_in, dut.chunks_per_window, dut.chunks_per_image) == (48, 12, 144)
    assert dut.memory_bits == 5 * 5 * 8 and dut.latency == 2
    assert len(dut.i.payload) == 8 and len(dut.o.payload) == 4
    assert SlidingWindow(channels=3, height=4, width=4, kernel=3).simd == 3
    with pytest.raises(AttributeError):
        dut.simd = 2


def test_grouped_properties():
    """Groups change the order, not the amount: same fan-in, chunks and buffer as ungrouped."""
    dut = SlidingWindow(channels=12, height=6, width=5, kernel=3, padding=1, groups=3, simd=2)
    assert (dut.groups, dut.simd, dut.fan_in, dut.chunks_per_window) == (3, 2, 108, 54)
    assert dut.chunks_per_image == 6 * 5 * 54 and dut.memory_bits == 4 * 5 * 12
    assert len(dut.i.payload) == 12 and len(dut.o.payload) == 2
    assert SlidingWindow(channels=12, height=4, width=4, kernel=3, groups=4).simd == 3
    assert SlidingWindow(channels=3, height=4, width=4, kernel=3).groups == 1
    with pytest.raises(AttributeError):
        dut.groups = 1


GOOD = {"channels": 4, "height": 5, "width": 6, "kernel": 3, "stride": 1, "padding": 1,
        "pad_bit": 1, "simd": 2}


@pytest.mark.parametrize("changes, name", [
    ({"channels": 0}, "channels"),
    ({"channels": 4.0}, "channels"),
    ({"height": 0}, "height"),
    ({"width": -1}, "width"),
    ({"width": True}, "width"),
    ({"kernel": 0}, "kernel"),
    ({"kernel": (3, 0)}, "kernel"),
    ({"kernel": (3, 3, 3)}, "kernel"),
    ({"kernel": 8, "padding": 1}, "kernel"),      # larger than the padded map
    ({"kernel": (1, 9), "padding": 1}, "kernel"),
    ({"stride": 0}, "stride"),
    ({"stride": (1, 1.5)}, "stride"),
    ({"padding": -1}, "padding"),
    ({"padding": (0, -1)}, "padding"),
    ({"pad_bit": 2}, "pad_bit"),
    ({"pad_bit": -1}, "pad_bit"),
    ({"pad_bit": 1.0}, "pad_bit"),
    ({"pad_bit": True}, "pad_bit"),
    ({"simd": 3}, "simd"),
    ({"simd": 0}, "simd"),
    ({"simd": 8}, "simd"),
    ({"buffer_rows": 2}, "buffer_rows"),
    ({"buffer_rows": 0}, "buffer_rows"),
    ({"groups": 3}, "groups"),                     # does not divide channels=4
    ({"groups": 8}, "groups"),
    ({"groups": 0}, "groups"),
    ({"groups": 2.0}, "groups"),
    ({"groups": 2, "simd": 4}, "simd"),            # divides C = 4, not C/G = 2
    ({"groups": 4, "simd": 2}, "simd"),            # C/G = 1
    ({"channels": 6, "groups": 3, "simd": 3}, "simd"),
    ({"chunked_buffer": 1}, "chunked_buffer"),
    ({"repeat": 0}, "repeat"),
])
def test_bad_parameters(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        SlidingWindow(**{**GOOD, **changes})


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        SlidingWindow(4, 5, 6, 3)


#: Zero padding: id -> (C, H, W, kernel, stride, padding, simd, groups, chunked)
ZERO_PAD_CONFIGS = {
    "3x3_s1_p1": (4, 5, 6, 3, 1, 1, 2, 1, False),
    "3x3_s2_p1_g2": (8, 7, 5, 3, 2, 1, 2, 2, False),
    "rect_p2x1": (2, 4, 5, (3, 2), (1, 2), (2, 1), 1, 1, False),
    "pad_eq_kernel": (1, 3, 4, 2, 1, 2, 1, 1, False),     # windows wholly in the border
    "chunked": (8, 5, 4, 3, 1, 1, 2, 1, True),
}


def make_zero_pad(config, **kwargs):
    c, h, w, kernel, stride, padding, simd, groups, chunked = config
    return SlidingWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                         padding=padding, pad_bit=0, simd=simd, groups=groups,
                         chunked_buffer=chunked, zero_pad=True, **kwargs)


@pytest.mark.parametrize("stalls", list(STALLS.values()), ids=list(STALLS))
@pytest.mark.parametrize("config", list(ZERO_PAD_CONFIGS.values()), ids=list(ZERO_PAD_CONFIGS))
def test_zero_padded_windows_flag_border_chunks(config, stalls):
    dut = make_zero_pad(config)
    c, h, w, kernel, stride, padding, simd, groups, _ = config
    assert dut.zero_pad and dut.o.payload.shape().width == simd + 1
    rng = np.random.default_rng(c * h + w)
    x = rng.integers(0, 2, (3, c, h, w))
    x[1] = 1                                  # every real bit 1: border chunks stand out
    want = zero_padded_chunks(x, kernel, stride, padding, simd, groups)
    assert any(v >> simd for v in want) and not all(v >> simd for v in want)
    got = run_stream(dut, pixels(x), len(want), stall_in=stalls[0], stall_out=stalls[1],
                     seed=h * w)
    assert got == want


def test_zero_pad_needs_pad_bit_0():
    with pytest.raises(ParameterError, match="^pad_bit"):
        SlidingWindow(channels=2, height=3, width=3, kernel=3, padding=1, pad_bit=1,
                      zero_pad=True)


# --- end to end: SlidingWindow -> BinaryMVAU = golden.binary_conv2d ------------------------------


class ConvEngine(wiring.Component):
    """``window.o -> mvau.i``: a binary conv layer's popcount engine (DESIGN.md §5)."""

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


def rom_words(rows_hw, pe, simd):
    """Compiler ROM layout (docs/compiler.md): PE ``p``, address ``nf*SF + sf`` = row
    ``nf*PE + p``, hardware fan-in elements ``sf*SIMD ..`` at bits ``0 ..``."""
    rows, fan_in = rows_hw.shape
    return [[pack(rows_hw[r, sf * simd:(sf + 1) * simd])
             for r in range(p, rows, pe) for sf in range(fan_in // simd)] for p in range(pe)]


@pytest.mark.parametrize("c, h, w, c_out, kernel, stride, padding, pad_bit, op, pe, simd", [
    (4, 5, 6, 6, 3, 1, 1, 1, "xnor", 2, 2),
    (4, 5, 6, 6, 3, 1, 1, 0, "and", 3, 4),
    (2, 7, 5, 4, 3, 2, 1, 0, "xnor", 4, 1),
    (8, 6, 4, 4, 2, 2, 0, 1, "xnor", 1, 8),
    (3, 5, 6, 5, (1, 3), (1, 2), (0, 1), 1, "and", 5, 3),
])
@pytest.mark.parametrize("reread", [False, True], ids=["buffered", "reread"])
def test_conv_engine_matches_golden(c, h, w, c_out, kernel, stride, padding, pad_bit, op, pe,
                                    simd, reread):
    """``reread``: the window sends each window once per neuron fold (``repeat = NF``) and the
    MVAU keeps no vector buffer; the counts are the same."""
    rng = np.random.default_rng(c * h * w + c_out)
    kh, kw = pair(kernel)
    weights = rng.integers(0, 2, (c_out, c, kh, kw))
    rows_hw = weights.reshape(c_out, -1)[:, fan_in_order(weights.shape)]
    window = SlidingWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                           padding=padding, pad_bit=pad_bit, simd=simd,
                           repeat=c_out // pe if reread else 1, chunked_buffer=reread and c > simd)
    mvau = BinaryMVAU(fan_in=window.fan_in, rows=c_out, pe=pe, simd=simd,
                      words=rom_words(rows_hw, pe, simd), op=op, reread=reread)
    assert window.chunks_per_image * (1 if reread else c_out // pe) == \
        window.output_size[0] * window.output_size[1] * (window.fan_in // simd) * (c_out // pe)
    x = rng.integers(0, 2, (3, c, h, w))
    x[1] = 1 - pad_bit
    p = golden.binary_conv2d(x, weights, stride=stride, padding=padding,
                             pad_value=1 if pad_bit else -1, op=op)  # (B, C_out, Ho, Wo)
    cw = mvau.count_width
    want = [sum(int(p[b, nf * pe + lane, oy, ox]) << (lane * cw) for lane in range(pe))
            for b in range(p.shape[0]) for oy in range(p.shape[2]) for ox in range(p.shape[3])
            for nf in range(c_out // pe)]
    got = run_stream(ConvEngine(window, mvau), pixels(x), len(want), stall_in=0.3,
                     stall_out=0.3, seed=c_out)
    assert got == want


@pytest.mark.parametrize("key, c_out, pe", [
    ("3x3_s1_p1", 6, 2), ("3x3_s2_p1_g2", 4, 1), ("rect_p2x1", 3, 3), ("pad_eq_kernel", 2, 1),
    ("chunked", 4, 2)])
@pytest.mark.parametrize("reread", [False, True], ids=["buffered", "reread"])
@pytest.mark.parametrize("stages", [0, 1])
def test_zero_padded_conv_engine_matches_golden(key, c_out, pe, reread, stages):
    """SlidingWindow(zero_pad) -> BinaryMVAU(zero_pad): the zero-padded counts ``u = v + N`` of
    golden.binary_conv2d(pad_value=0), under random stalls on both sides."""
    config = ZERO_PAD_CONFIGS[key]
    c, h, w, kernel, stride, padding, simd, groups, _ = config
    rng = np.random.default_rng(c * h * w + c_out + stages)
    kh, kw = pair(kernel)
    weights = rng.integers(0, 2, (c_out, c // groups, kh, kw))
    rows_hw = weights.reshape(c_out, -1)[:, fan_in_order(weights.shape)]
    folds = c_out // pe // groups
    window = make_zero_pad(config, repeat=folds if reread else 1)
    mvau = BinaryMVAU(fan_in=window.fan_in // groups, rows=c_out, pe=pe, simd=simd,
                      words=rom_words(rows_hw, pe, simd), groups=groups, reread=reread,
                      stages=stages, zero_pad=True)
    assert mvau.count_top == 2 * mvau.fan_in
    x = rng.integers(0, 2, (3, c, h, w))
    x[1] = 1
    u = golden.binary_conv2d(x, weights, stride=stride, padding=padding, groups=groups,
                             pad_value=0)
    cw = mvau.count_width
    want = [sum(int(u[b, nf * pe + lane, oy, ox]) << (lane * cw) for lane in range(pe))
            for b in range(u.shape[0]) for oy in range(u.shape[2]) for ox in range(u.shape[3])
            for nf in range(c_out // pe)]
    got = run_stream(ConvEngine(window, mvau), pixels(x), len(want), stall_in=0.3,
                     stall_out=0.3, seed=c_out + stages)
    assert got == want


@pytest.mark.parametrize(
    "c, h, w, c_out, kernel, stride, padding, pad_bit, op, pe, simd, groups", [
    (8, 5, 6, 8, 3, 1, 1, 1, "xnor", 2, 2, 4),    # NF/G = 1: no vector buffer
    (4, 6, 5, 8, 3, 2, 1, 0, "and", 1, 1, 2),     # NF/G = 4: vector buffer replays
    (4, 6, 8, 4, 2, 2, 0, 1, "xnor", 1, 1, 4),    # G = C = C_out (depthwise)
    (6, 5, 4, 12, (1, 3), 1, (0, 1), 0, "xnor", 2, 3, 2),   # NF/G = 3
    ])
@pytest.mark.parametrize("reread", [False, True], ids=["buffered", "reread"])
def test_grouped_conv_engine_matches_golden(c, h, w, c_out, kernel, stride, padding, pad_bit, op,
                                            pe, simd, groups, reread):
    """SlidingWindow(groups=G) -> BinaryMVAU(groups=G, fan_in = kh*kw*C/G) =
    golden.binary_conv2d(groups=G); ROMs in the compiler's layout of the grouped weights.
    ``reread``: each group's window goes out ``NF/G`` times, no vector buffer."""
    rng = np.random.default_rng(c * h * w + c_out + groups)
    kh, kw = pair(kernel)
    weights = rng.integers(0, 2, (c_out, c // groups, kh, kw))
    rows_hw = weights.reshape(c_out, -1)[:, fan_in_order(weights.shape)]
    window = SlidingWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                           padding=padding, pad_bit=pad_bit, simd=simd, groups=groups,
                           repeat=c_out // pe // groups if reread else 1)
    mvau = BinaryMVAU(fan_in=window.fan_in // groups, rows=c_out, pe=pe, simd=simd,
                      words=rom_words(rows_hw, pe, simd), op=op, groups=groups, reread=reread)
    x = rng.integers(0, 2, (3, c, h, w))
    x[1] = 1 - pad_bit
    p = golden.binary_conv2d(x, weights, stride=stride, padding=padding, groups=groups,
                             pad_value=1 if pad_bit else -1, op=op)  # (B, C_out, Ho, Wo)
    cw = mvau.count_width
    want = [sum(int(p[b, nf * pe + lane, oy, ox]) << (lane * cw) for lane in range(pe))
            for b in range(p.shape[0]) for oy in range(p.shape[2]) for ox in range(p.shape[3])
            for nf in range(c_out // pe)]
    got = run_stream(ConvEngine(window, mvau), pixels(x), len(want), stall_in=0.3,
                     stall_out=0.3, seed=c_out + groups)
    assert got == want


# --- cocotb + Verilator --------------------------------------------------------------------------

#: Harness instances: (C, H, W, kernel, stride, padding, pad_bit, simd, buffer_rows[, groups]).
COCOTB_CONFIGS = {
    "w0": (4, 5, 6, 3, 1, 1, 1, 2, None),
    "w1": (1, 7, 5, 3, 2, 1, 0, 1, None),
    "w2": (16, 4, 3, 1, 1, 0, 0, 16, None),
    "w3": (4, 6, 5, (2, 3), (2, 1), (0, 1), 1, 1, 2),
    "w4": (8, 5, 4, 3, 2, 1, 0, 2, None, 4),        # grouped, (g, k_h, k_w, c) order
    "w5": (16, 4, 5, 3, 1, 1, 1, 4, None, 2),       # chunked line buffer (see CHUNKED_KEYS)
    "w6": (8, 6, 4, 3, 2, 1, 0, 2, None),           # chunked, stride 2
    "w7": (8, 5, 4, 3, 2, (1, 2), 0, 2, None, 2),   # zero padding (see ZERO_PAD_KEYS)
}
CHUNKED_KEYS = {"w5", "w6"}
#: Instances with zero padding: ``simd + 1``-bit transfers, bit ``simd`` the border flag.
ZERO_PAD_KEYS = {"w7"}


def _cocotb_blocks():
    blocks, specs = {}, {}
    for key, config in COCOTB_CONFIGS.items():
        c, h, w, kernel, stride, padding, pad_bit, simd, _, *groups = config
        if key in ZERO_PAD_KEYS:
            blocks[key] = make_zero_pad((c, h, w, kernel, stride, padding, simd,
                                         groups[0] if groups else 1, False))
        else:
            blocks[key] = make(config, chunked=key in CHUNKED_KEYS)
        specs[key] = {"channels": c, "height": h, "width": w, "kernel": list(pair(kernel)),
                      "stride": list(pair(stride)), "padding": list(pair(padding)),
                      "pad_bit": pad_bit, "simd": simd, "groups": groups[0] if groups else 1,
                      "zero_pad": key in ZERO_PAD_KEYS}
    return blocks, specs


@pytest.mark.cocotb
@pytest.mark.parametrize("key", sorted(COCOTB_CONFIGS))
def test_cocotb_window(key, tmp_path):
    run_harness_cocotb(make_blocks=_cocotb_blocks, block="window", key=key,
                       tb_module="tb_window.py", test_dir=tmp_path)
