"""The model description: layer graph + trained parameters, file load/save and validation.

See docs/model-format.md. :func:`load` returns a validated :class:`Model` or raises one
:class:`ModelError` naming the layer and field of the first inconsistency.
"""

from .errors import ModelError
from .graph import FORMAT, VERSION, Layer, Model, load, save
from .types import TensorType

__all__ = ["ModelError", "FORMAT", "VERSION", "Layer", "Model", "load", "save", "TensorType"]
