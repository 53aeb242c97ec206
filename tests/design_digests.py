"""Digests of the shipped designs' build folders: a refactor must change no output.

``python -m tests.design_digests`` rebuilds the four designs (no simulation) and rewrites
``tests/data/design_digests.json`` — run it only when a change of the Verilog, the images, the
memory map or the report is intended, and say so in the commit.
``tests/test_designs.py::test_build_output_matches_the_committed_digest`` compares every file of
each build folder with it.
"""

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGESTS = ROOT / "tests" / "data" / "design_digests.json"
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")


def _digest(path):
    """sha256 of a file; for a PNG plot its pixel size instead (the bytes depend on the
    installed matplotlib's rendering, which a new release may change)."""
    if path.suffix == ".png":
        from PIL import Image
        with Image.open(path) as image:
            return "png {}x{}".format(*image.size)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_digests(folder):
    """``{relative path: digest}`` (:func:`_digest`) of every file under ``folder``."""
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): _digest(path)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def build_digests(design, out):
    from bnnhw.build import run_build
    run_build(str(ROOT / "designs" / design), out=out, log=lambda message: None)
    return folder_digests(out)


def committed():
    return json.loads(DIGESTS.read_text())


def main():
    import tempfile
    with tempfile.TemporaryDirectory() as work:
        digests = {design: build_digests(design, Path(work) / design) for design in DESIGNS}
    DIGESTS.parent.mkdir(parents=True, exist_ok=True)
    DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DIGESTS.relative_to(ROOT)}: {sum(map(len, digests.values()))} files of "
          f"{len(digests)} designs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
