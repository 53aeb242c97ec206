"""``python -m bnnhw.importers.qonnx MODEL.onnx --out DIR/model.npz [--force]``
(:func:`bnnhw.importers.qonnx.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
