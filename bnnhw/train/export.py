"""Export a trained :class:`~bnnhw.train.architectures.GraphNet` to a bnnhw model file.

Each node's module contributes its model-format layers and arrays (see
:mod:`bnnhw.train.layers`); the result is validated by :meth:`bnnhw.model.Model.from_dict` and
written with :func:`bnnhw.model.save` (deterministic bytes, atomic).
"""

from ..model import FORMAT, VERSION, Model, save
from .data import PIXEL_MAX

__all__ = ["to_model", "export"]


def to_model(net, meta=None):
    """The validated :class:`bnnhw.model.Model` of ``net`` (binary weights ±1, BN as trained).

    Parameters
    ----------
    net : GraphNet
    meta : dict, optional
        JSON-able facts to record under the graph's ``"meta"`` (training settings, accuracy).
    """
    layers, arrays, produced = [], {}, {"input": "input"}
    for name, module in net.nodes.items():
        inputs = [produced[source] for source in net.sources[name]]
        new_layers, new_arrays, produced[name] = module.export(name, inputs)
        layers += new_layers
        arrays.update(new_arrays)
    graph = {"format": FORMAT, "version": VERSION, "name": net.name,
             "input": {"shape": [1, 8, 8], "type": "int8", "range": [0, PIXEL_MAX]},
             "layers": layers, "output": produced[net.output]}
    if meta:
        graph["meta"] = meta
    return Model.from_dict(graph, arrays)


def export(net, path, meta=None):
    """Write ``net`` to the model file ``path``; returns the :class:`~bnnhw.model.Model`."""
    model = to_model(net, meta)
    save(model, path)
    return model
