"""cocotb testbench: ``bnnhw.hw.window_parallel.ParallelWindow`` against the NumPy window reference.

Run by ``tests/hw/test_window_parallel.py`` on a harness of several configurations (instance and
parameters from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC``). Spec: ``channels``, ``height``,
``width``, ``kernel``, ``stride``, ``padding`` (pairs), ``pad_bit``, ``repeat``.

The vectors are ``tb_window.vectors`` with one chunk per window (``simd = kh*kw*C``): all-zero,
all-one and seeded random images back to back, each window expected ``repeat`` times in a row.
Not a pytest module: the runner imports it inside the simulator.
"""

import random

import cocotb
from streams import STALLS, check_stream, load_spec
from tb_window import vectors


@cocotb.test()
@cocotb.parametrize(stalls=STALLS)
async def golden_whole_windows(dut, stalls):
    """Edge + random images under the given (input, output) stall probabilities."""
    key, spec = load_spec()
    (kh, kw), repeat = spec["kernel"], spec["repeat"]
    rng = random.Random(f"{key}-{stalls}")
    payloads, windows, (h_out, w_out, _) = vectors({**spec, "simd": kh * kw * spec["channels"]},
                                                   rng)
    expected = [w for w in windows for _ in range(repeat)]

    def describe(j):
        position, copy = divmod(j, repeat)
        image, position = divmod(position, h_out * w_out)
        return f"image {image}, output {divmod(position, w_out)}, copy {copy}"

    await check_stream(dut, key, payloads, expected, stalls=stalls, seed=rng.getrandbits(32),
                       describe=describe)
