"""The one error type of the model layer: it names the layer and the field."""

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A model file or graph that is malformed or inconsistent.

    ``str(error)`` reads ``layer 'conv1': weight: expected ±1 values, found 0 at (3, 0, 1, 1)``;
    ``layer`` and ``field`` are kept as attributes for tools.
    """

    def __init__(self, layer, field, message):
        self.layer = layer
        self.field = field
        where = f"layer {layer!r}" if layer is not None else "model"
        super().__init__(f"{where}: {field}: {message}")
