"""The one error type of the model layer: it names the layer and the field."""

from ..errors import LayerError

__all__ = ["ModelError"]


class ModelError(LayerError, ValueError):
    """A model file or graph that is malformed or inconsistent: ``ModelError(layer, field,
    message)``, ``layer`` ``None`` for the model as a whole.

    ``str(error)`` reads ``layer 'conv1': weight: expected ±1 values, found 0 at (3, 0, 1, 1)``
    (``model: version: ...`` without a layer); ``layer``, ``field`` and ``message`` are kept as
    attributes for tools (:class:`bnnhw.errors.BnnhwError`).
    """

    scope = "model"
