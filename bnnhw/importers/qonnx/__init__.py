"""Import a QONNX binary network (Brevitas export) as a bnnhw model, exactly (docs/import.md).

``import_onnx(path)`` reads the ``.onnx`` file with the ``onnx`` package only (qonnx is the
tests' reference executor, never imported here), cleans it up itself (shape inference, constant
folding of initializer-only subgraphs, initializers listed as graph inputs dropped, Identity
skipped) and maps every node onto bnnhw layers. Every float decision the graph makes on an
integer (a batch norm and quantizer after a dot product, the input quantizer) is evaluated in
float32 exactly as qonnx / onnxruntime evaluate it, on every reachable integer, and stored as
integer thresholds. The model's ``meta`` records the source file, the host-side input conversion
(float32 NCHW as the graph takes it -> the model's integer input) and the output tail (the
model's integer logits -> the graph's float32 logits); :func:`convert_inputs` and
:func:`graph_logits` apply them. Anything else raises one :class:`QonnxImportError` naming the
node.

``python -m bnnhw.importers.qonnx MODEL.onnx --out DIR/model.npz [--force]`` writes the model
file (atomically; an existing file only with ``--force``).

Modules, each importing only those listed before it: :mod:`.errors` (:class:`QonnxImportError`),
:mod:`.values` (what a graph tensor is in bnnhw terms), :mod:`.quantizers` (qonnx's quantizers in
float32, exact integer thresholds), :mod:`.graph` (reading, cleanup, constant folding),
:mod:`.conversion` (:func:`convert_inputs`, :func:`graph_logits`), :mod:`.tail` (the output
tail), :mod:`.mapping` (nodes -> bnnhw layers, :func:`import_onnx`), :mod:`.cli` (the converter,
run by ``__main__``).
"""

from .cli import main
from .conversion import convert_inputs, graph_logits
from .errors import QonnxImportError
from .mapping import import_onnx
from .quantizers import _bn_float32  # noqa: F401 - tests check it against onnxruntime

__all__ = ["QonnxImportError", "convert_inputs", "graph_logits", "import_onnx", "main"]
