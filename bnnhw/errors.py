"""The one error base of bnnhw: every error the package raises on purpose is a :class:`BnnhwError`.

An error may name the layer and the field it is about; its text then always reads
``layer 'conv1': weight: expected ±1 values, found 0 at (3, 0, 1, 1)`` (:func:`error_text`).
A command-line entry catches :class:`BnnhwError` once and prints the text, never a traceback.

This module imports nothing of bnnhw: every layer may import it (``docs/architecture.md``).
Each subsystem keeps its own subclass where it was (``bnnhw.model.ModelError``,
``bnnhw.compiler.folding.FoldingError``, ``bnnhw.build.BuildError``, ...), also deriving from the
built-in exception it always was (``ValueError``, ``RuntimeError``), so ``except ValueError`` keeps
catching what it caught.
"""

__all__ = ["BnnhwError", "LayerError", "error_text"]


def error_text(message, layer=None, field=None, scope=None):
    """The one text of an error: ``<where>: <field>: <message>``, parts left out when absent.

    ``<where>`` is ``layer 'NAME'`` when ``layer`` is given, else ``scope`` (e.g. ``model`` for a
    model-level :class:`~bnnhw.model.ModelError`), else nothing.
    """
    parts = [f"layer {layer!r}" if layer is not None else scope, field, message]
    return ": ".join(str(part) for part in parts if part is not None)


class BnnhwError(Exception):
    """An error bnnhw raises on purpose; ``str(error)`` is one clear message for the user.

    ``layer`` and ``field`` (``None`` when the error is about no layer or no field) and
    ``message`` (the text after them) are kept as attributes for tools.
    """

    #: what an error without a layer names first (``None``: nothing); see :func:`error_text`
    scope = None
    layer = None
    field = None

    def __init__(self, message="", *, layer=None, field=None):
        if layer is not None:
            self.layer = layer
        if field is not None:
            self.field = field
        self.message = message
        super().__init__(error_text(message, layer, field, self.scope))


class LayerError(BnnhwError):
    """An error about one ``field`` of one ``layer`` (``None``: of the whole network), built
    positionally as ``LayerError(layer, field, message)``."""

    def __init__(self, layer, field, message):
        super().__init__(message, layer=layer, field=field)
