"""Memory images: the hardware plan's ROM words as ``$readmemh`` files plus a memory map.

The words and their layouts are the :class:`~bnnhw.compiler.hardware.HardwarePlan`'s
(:mod:`.hardware`; layouts in docs/compiler.md, "Memory images"): this module only writes them, so the images hold
exactly the words ``bnnhw.hw.network.StreamingNetwork`` builds its ROMs from.

Words are written as lowercase hex, ``ceil(bits/4)`` digits, one per line. The same compiled
network and plan always give the same bytes.
"""

import json
import os
import tempfile
from pathlib import Path

from .hardware import fan_in_order, hardware_plan

__all__ = ["fan_in_order", "memory_images", "plan_images", "write_images"]


def _hex_lines(words, bits):
    digits = max(1, (bits + 3) // 4)
    return "".join(f"{word:0{digits}x}\n" for word in words).encode()


def plan_images(hardware):
    """``(files, memory_map)`` of a :class:`~bnnhw.compiler.hardware.HardwarePlan`: file name
    -> bytes, and the JSON-able map describing them."""
    files = {rom.file: _hex_lines(rom.words, rom.word_bits) for rom in hardware.roms}
    return files, hardware.memory_map()


def memory_images(compiled, plan):
    """``(files, memory_map)`` of ``compiled`` folded by ``plan`` (:func:`plan_images` of its
    :func:`~bnnhw.compiler.hardware_plan`)."""
    return plan_images(hardware_plan(compiled, plan))


def write_images(compiled, plan, directory):
    """Write every image and ``memory_map.json`` into ``directory`` (created; all or nothing)."""
    files, memory_map = memory_images(compiled, plan)
    files["memory_map.json"] = (json.dumps(memory_map, indent=1, sort_keys=True) + "\n").encode()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if directory.exists():
            raise FileExistsError(f"{directory} already exists")
        os.replace(staging, directory)
    except BaseException:
        for child in staging.iterdir() if staging.exists() else ():
            child.unlink()
        if staging.exists():
            staging.rmdir()
        raise
    return memory_map
