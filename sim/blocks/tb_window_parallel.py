"""cocotb testbench: ``bnnhw.hw.window_parallel.ParallelWindow`` against the NumPy window reference.

Run by ``tests/hw/test_window_parallel.py`` on a harness of several configurations (instance and
parameters from ``BNNHW_TB_INSTANCE`` / ``BNNHW_TB_SPEC``). Spec: ``channels``, ``height``,
``width``, ``kernel``, ``stride``, ``padding`` (pairs), ``pad_bit``, ``repeat``, ``groups``,
``per_group`` (one group's window per transfer, else all groups side by side).

The vectors are ``tb_window.vectors`` with one chunk per group's window: all-zero, all-one and
seeded random images back to back, each transfer expected ``repeat`` times in a row.
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
    groups = spec.get("groups", 1)
    part = kh * kw * spec["channels"] // groups         # one group's window
    rng = random.Random(f"{key}-{stalls}")
    payloads, windows, (h_out, w_out, _) = vectors({**spec, "simd": part}, rng)
    if not spec.get("per_group"):                      # all groups side by side, g = 0 lowest
        windows = [sum(w << (g * part) for g, w in enumerate(windows[n:n + groups]))
                   for n in range(0, len(windows), groups)]
    expected = [w for w in windows for _ in range(repeat)]
    transfers = 1 if not spec.get("per_group") else groups

    def describe(j):
        position, copy = divmod(j, repeat)
        position, group = divmod(position, transfers)
        image, position = divmod(position, h_out * w_out)
        return f"image {image}, output {divmod(position, w_out)}, group {group}, copy {copy}"

    await check_stream(dut, key, payloads, expected, stalls=stalls, seed=rng.getrandbits(32),
                       describe=describe)
