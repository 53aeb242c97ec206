"""The converter: ``python -m bnnhw.importers.qonnx MODEL.onnx --out DIR/model.npz [--force]``
writes the imported model file (atomically; an existing file only with ``--force``). Exit
status 0, or 1 with one error line on stderr."""

import argparse
import sys
from pathlib import Path

from ...errors import BnnhwError
from ...model import save
from .errors import QonnxImportError
from .mapping import import_onnx


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bnnhw.importers.qonnx",
                                     description="Convert a QONNX binary network to a bnnhw "
                                                 "model file (docs/import.md).")
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("--out", required=True, help="the model file to write (model.npz)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        if out.exists() and not args.force:
            raise QonnxImportError(None, f"--out: {out} exists (give --force to overwrite it)")
        if not out.parent.is_dir():
            raise QonnxImportError(None, f"--out: folder {out.parent} does not exist")
        model = import_onnx(args.model)
        save(model, out)
    except BnnhwError as error:
        print(f"bnnhw.importers.qonnx: error: {error}", file=sys.stderr)
        return 1
    tail = model.meta["qonnx"]["output"]
    print(f"wrote {out}: {len(model.layers)} layers from {len(model.meta['source']['ops'])} "
          f"nodes of {Path(args.model).name}; input {model.input_type} "
          f"{list(model.input_shape)}; output {tail['graph_output']}"
          + (" (last layer negated: negative tail scale)" if tail["negated"] else ""))
    return 0
