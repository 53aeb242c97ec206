"""The importer's error: a graph it cannot map exactly, naming the node."""

from ...errors import BnnhwError


class QonnxImportError(BnnhwError, ValueError):
    """A graph the importer cannot map exactly: names the node (``node``, ``op_type``)."""

    node = None
    op_type = None

    def __init__(self, node, message):
        if node is not None:
            self.node = node.name or (node.output[0] if node.output else "")
            self.op_type = node.op_type
            message = f"node {self.node!r} ({self.op_type}): {message}"
        super().__init__(message)
