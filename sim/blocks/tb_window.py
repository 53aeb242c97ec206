"""cocotb testbench: ``bnnhw.hw.window.SlidingWindow`` against a NumPy window reference.

Run by ``tests/hw/test_window.py`` on a harness of several configurations; the instance and its
parameters come from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC`` (see ``streams.load_spec``).
Spec: ``channels``, ``height``, ``width``, ``kernel``, ``stride``, ``padding`` (pairs),
``pad_bit``, ``simd``, ``groups`` (default 1).

Images back to back: all zeros, all ones, then seeded random maps; each goes in as ``H*W``
pixels (bit ``c`` = channel ``c``, raster order). Expectation: the map padded with the pad bit
(docs/numerics.md §4), the window of every output position in raster order, reordered from
golden's ``(c, k_h, k_w)`` to the hardware fan-in order ``(k_h, k_w, c)`` by
``bnnhw.compiler.fan_in_order``, chunked by ``simd`` (element ``i`` at bit ``i % simd`` of chunk
``i // simd``). With ``groups = G`` the window goes out group by group, ``(g, k_h, k_w, c)``: group
``g``'s channels ``g*C/G ..`` in that order, then group ``g + 1``. With ``zero_pad`` (spec,
default false; pad bit 0) each chunk has ``simd + 1`` bits, bit ``simd`` set on a chunk of
border taps. Not a pytest module: the runner imports it inside the simulator.
"""

import random

import cocotb
import numpy as np
from streams import STALLS, check_stream, load_spec

from bnnhw.compiler import fan_in_order


def _pack(bits):
    return sum(int(b) << i for i, b in enumerate(bits))


def vectors(spec, rng, random_images=3):
    """``(payloads, expected, chunks_per_position)`` for the edge and random images."""
    c, h, w, simd = spec["channels"], spec["height"], spec["width"], spec["simd"]
    groups = spec.get("groups", 1)
    per_group = c // groups
    (kh, kw), (sh, sw), (ph, pw) = spec["kernel"], spec["stride"], spec["padding"]
    x = np.array([np.zeros((c, h, w), np.int64), np.ones((c, h, w), np.int64)]
                 + [np.array([[[rng.randint(0, 1) for _ in range(w)] for _ in range(h)]
                              for _ in range(c)]) for _ in range(random_images)])
    payloads = [_pack(x[b, :, y, i]) for b in range(len(x)) for y in range(h) for i in range(w)]
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=spec["pad_bit"])
    border = np.pad(np.zeros((c, h, w), np.int64), ((0, 0), (ph, ph), (pw, pw)),
                    constant_values=1) if spec.get("zero_pad") else None
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    order = fan_in_order((1, per_group, kh, kw))
    expected = []
    for b in range(len(x)):
        for oy in range(h_out):
            for ox in range(w_out):
                for g in range(groups):
                    taps = (slice(g * per_group, (g + 1) * per_group),
                            slice(oy * sh, oy * sh + kh), slice(ox * sw, ox * sw + kw))
                    win = padded[b][taps].reshape(-1)[order]
                    flags = border[taps].reshape(-1)[order] if border is not None else \
                        np.zeros_like(win)
                    expected += [_pack(win[s * simd:(s + 1) * simd])
                                 | (int(flags[s * simd]) << simd)
                                 for s in range(len(win) // simd)]
    return payloads, expected, (h_out, w_out, kh * kw * c // simd)


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_windows(dut, stalls):
    """Edge + random images back to back under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    rng = random.Random(f"{key}-{stalls}")
    payloads, expected, (h_out, w_out, chunks) = vectors(spec, rng)

    def describe(j):
        position, chunk = divmod(j, chunks)
        image, position = divmod(position, h_out * w_out)
        return f"image {image}, output {divmod(position, w_out)}, chunk {chunk}"

    await check_stream(dut, key, payloads, expected, stalls=stalls, seed=rng.getrandbits(32),
                       describe=describe)
