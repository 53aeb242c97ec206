"""The image folder ``write_images`` writes holds exactly the hardware plan's words.

The network top builds its ROMs from ``hardware_plan(compiled, folding)``; the ``.hex`` files are
what a user loads with ``$readmemh``. The files are decoded here (tests may parse hex; ``bnnhw/hw``
may not, tests/hw/test_no_hex.py) and compared word for word with the plan.
"""

import json

from bnnhw.compiler import hardware_plan, lower, plan_folding, write_images
from bnnhw.model import Model

from ..model.samples import every_op_model


def _words(text):
    return tuple(int(line, 16) for line in text.split())


def test_written_hex_files_hold_the_plan_words(tmp_path):
    compiled = lower(Model.from_dict(*every_op_model(2, exact=True)))
    plan = plan_folding(compiled, target_cycles=1000)
    hardware = hardware_plan(compiled, plan)
    memory_map = write_images(compiled, plan, tmp_path / "images")

    written = {path.name: path.read_text() for path in (tmp_path / "images").iterdir()}
    assert json.loads(written.pop("memory_map.json")) == memory_map == hardware.memory_map()
    assert {name: _words(text) for name, text in written.items()} == \
        {rom.file: rom.words for rom in hardware.roms}
    for entry in memory_map["images"]:      # one word per line, ceil(bits/4) lowercase digits
        lines = written[entry["file"]].splitlines()
        assert len(lines) == entry["depth"]
        assert all(len(line) == -(-entry["word_bits"] // 4) and line == line.lower()
                   for line in lines)

    checked = 0
    for engine in hardware.engines:
        matrix = engine.layers[0] if engine.pool_layer is None else engine.layers[1]
        for pe, words in enumerate(engine.weights or ()):
            assert _words(written[f"{matrix}.weights.pe{pe}.hex"]) == words
            checked += 1
        if engine.thresholds is not None and engine.thresholds.words is not None:
            for pe, words in enumerate(engine.thresholds.words):
                assert _words(written[f"{engine.name}.thresholds.pe{pe}.hex"]) == words
                checked += 1
    assert checked > 0
