"""The model: an input, an ordered list of layers (a DAG by name), and an output layer.

A :class:`Model` is always valid: :meth:`Model.from_dict` (used by :func:`load`) checks every field
and infers every layer's output type, raising :class:`ModelError` at the first problem with the
layer and field named.
"""

from dataclasses import dataclass, field
from pathlib import Path


from .checks import LayerCheck
from .container import read_container, write_container
from .errors import ModelError
from .ops import ARITY, OPS
from .types import TensorType

__all__ = ["FORMAT", "VERSION", "Layer", "Model", "load", "save"]

FORMAT = "bnnhw-model"
VERSION = 1
INPUT = "input"

_INPUT_TYPES = {"int8": (-128, 127), "uint8": (0, 255), "bits": (0, 1)}
_REAL_CONSUMERS = ("sign", "pa_bases")


@dataclass(frozen=True)
class Layer:
    """One layer: ``op`` applied to the outputs of ``inputs`` (layer names or ``"input"``)."""

    name: str
    op: str
    inputs: tuple
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def to_dict(self):
        return {"name": self.name, "op": self.op, "inputs": list(self.inputs), **self.attrs}


@dataclass(frozen=True)
class Model:
    """A validated model. ``types`` maps ``"input"`` and every layer name to its output type."""

    name: str
    input_shape: tuple
    input_type: str
    input_range: tuple
    layers: tuple
    output: str
    types: dict
    meta: dict = field(default_factory=dict)

    @property
    def layer(self):
        return {layer.name: layer for layer in self.layers}

    def to_dict(self):
        """The JSON graph (without arrays)."""
        graph = {"format": FORMAT, "version": VERSION, "name": self.name,
                 "input": {"shape": list(self.input_shape), "type": self.input_type,
                           "range": list(self.input_range)},
                 "layers": [layer.to_dict() for layer in self.layers], "output": self.output}
        if self.meta:
            graph["meta"] = self.meta
        return graph

    def arrays(self):
        """Every parameter array, keyed ``"<layer>.<field>"``."""
        return {f"{layer.name}.{key}": value
                for layer in self.layers for key, value in layer.params.items()}

    @classmethod
    def from_dict(cls, graph, arrays):
        """Validate a JSON graph and its arrays (``"<layer>.<field>"``) into a :class:`Model`."""
        if not isinstance(graph, dict):
            raise ModelError(None, "graph", "expected a JSON object")
        if graph.get("format") != FORMAT:
            raise ModelError(None, "format", f"expected {FORMAT!r}, got {graph.get('format')!r}")
        if graph.get("version") != VERSION:
            raise ModelError(None, "version",
                             f"this bnnhw reads version {VERSION}, got {graph.get('version')!r}")
        unknown = sorted(set(graph) - {"format", "version", "name", "input", "layers", "output",
                                       "meta"})
        if unknown:
            raise ModelError(None, unknown[0], "unknown top-level field")
        name = graph.get("name")
        if not isinstance(name, str) or not name:
            raise ModelError(None, "name", f"expected a non-empty string, got {name!r}")
        input_shape, input_type, input_range = _read_input(graph.get("input"))
        types = {INPUT: TensorType("int" if input_type != "bits" else "bits", input_shape,
                                   *input_range, source="input")}
        raw_layers = graph.get("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            raise ModelError(None, "layers", "expected a non-empty list of layers")
        for index, raw in enumerate(raw_layers):    # before the arrays, named by layer
            _check_layer_name(index, raw)
        params = _group_arrays(arrays)
        layers, consumers = [], {}
        for index, raw in enumerate(raw_layers):
            layer = _read_layer(index, raw, types, params.pop(_layer_name(index, raw), {}))
            for source in layer.inputs:
                consumers.setdefault(source, []).append(layer)
            layers.append(layer)
        if params:
            stray = sorted(params)[0]
            raise ModelError(stray, next(iter(sorted(params[stray]))),
                             "array belongs to no layer (unknown layer name)")
        output = graph.get("output")
        if not isinstance(output, str) or output not in types or output == INPUT:
            raise ModelError(None, "output", f"expected a layer name, got {output!r}")
        if types[output].kind != "int":
            raise ModelError(output, "output", "the output layer must give integer logits, got "
                                               f"{types[output].describe()}")
        if tuple(types[output].shape[1:]) != (1, 1):
            raise ModelError(output, "output", "the output layer must give one logit per class, "
                                               "a (classes, 1, 1) vector, got shape "
                                               f"{types[output].shape}; any layer giving "
                                               "integers of spatial size 1 x 1 may be the output: "
                                               "a dense layer, a global_pool, a conv2d or "
                                               "panet_conv2d whose kernel covers its input, or an "
                                               "integer op on such (C, 1, 1) integers (requantize, "
                                               "dprelu, quantized_bn, add, slice, shuffle, "
                                               "concat), also of a (C, 1, 1) integer input")
        output_layer = next(layer for layer in layers if layer.name == output)
        if output_layer.op in ("conv2d", "dense") and "clip" in output_layer.attrs:
            raise ModelError(output, "clip", "the output layer's logits are its popcounts; a "
                                             "saturating accumulator (clip) there would change "
                                             "nothing the hardware computes, so it is not "
                                             "accepted (clip only feeds a quantized_bn, batch "
                                             "norm, sign or threshold after the layer)")
        for layer in layers:
            used_by = consumers.get(layer.name, [])
            if not used_by and layer.name != output:
                raise ModelError(layer.name, "inputs",
                                 "dangling branch: no layer consumes this output")
            if types[layer.name].kind == "real":
                for consumer in used_by + ([None] if layer.name == output else []):
                    if consumer is None or consumer.op not in _REAL_CONSUMERS:
                        who = "the output" if consumer is None else f"layer {consumer.name!r}"
                        raise ModelError(layer.name, "op",
                                         f"a batch norm must feed a sign or pa_bases, not {who}")
        if output in consumers:
            raise ModelError(output, "output", "the output layer must not feed other layers")
        meta = graph.get("meta", {})
        if not isinstance(meta, dict):
            raise ModelError(None, "meta", "expected a JSON object")
        return cls(name, input_shape, input_type, input_range, tuple(layers), output, types,
                   meta)


def _read_input(spec):
    if not isinstance(spec, dict):
        raise ModelError(None, "input", "expected an object with 'shape' and 'type'")
    unknown = sorted(set(spec) - {"shape", "type", "range"})
    if unknown:
        raise ModelError(None, f"input.{unknown[0]}", "unknown field")
    shape = spec.get("shape")
    if (not isinstance(shape, list) or len(shape) != 3
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
        raise ModelError(None, "input.shape", f"expected [C, H, W] of positive ints, got {shape!r}")
    kind = spec.get("type")
    if kind not in _INPUT_TYPES:
        raise ModelError(None, "input.type", f"expected one of {list(_INPUT_TYPES)}, got {kind!r}")
    lo, hi = _INPUT_TYPES[kind]
    value_range = spec.get("range", [lo, hi])
    if (not isinstance(value_range, list) or len(value_range) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value_range)
            or not lo <= value_range[0] <= value_range[1] <= hi):
        raise ModelError(None, "input.range",
                         f"expected [lo, hi] within [{lo}, {hi}], got {value_range!r}")
    return tuple(shape), kind, tuple(value_range)


def _layer_name(index, raw):
    return raw.get("name") if isinstance(raw, dict) else None


def _group_arrays(arrays):
    grouped = {}
    for key, value in arrays.items():
        layer, dot, field_name = key.rpartition(".")
        if not dot or not layer:
            raise ModelError(None, key, "array names must read '<layer>.<field>'")
        grouped.setdefault(layer, {})[field_name] = value
    return grouped


def _check_layer_name(index, raw):
    if not isinstance(raw, dict):
        raise ModelError(None, f"layers[{index}]", "expected a JSON object")
    name = raw.get("name")
    if name == "":
        raise ModelError(None, f"layers[{index}].name", "empty (expected a unique name without "
                                                       "'.', not 'input')")
    if not isinstance(name, str) or "." in name or name == INPUT:
        raise ModelError(None, f"layers[{index}].name",
                         f"expected a unique name without '.', not 'input', got {name!r}")


def _read_layer(index, raw, types, params):
    if not isinstance(raw, dict):
        raise ModelError(None, f"layers[{index}]", "expected a JSON object")
    _check_layer_name(index, raw)
    name = raw["name"]
    if name in types:
        raise ModelError(name, "name", "duplicate layer name")
    op = raw.get("op")
    if op not in OPS:
        raise ModelError(name, "op", f"unknown op {op!r} (known: {', '.join(sorted(OPS))})")
    inputs = raw.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise ModelError(name, "inputs", f"expected a list of layer names, got {inputs!r}")
    lo, hi = ARITY[op]
    if len(inputs) < lo or (hi is not None and len(inputs) > hi):
        count = lo if lo == hi else f"{lo} or more"
        raise ModelError(name, "inputs", f"{op} takes {count} input(s), got {len(inputs)}")
    for source in inputs:
        if source not in types:
            raise ModelError(name, "inputs", f"{source!r} is not an earlier layer or 'input'")
    attrs = {k: v for k, v in raw.items() if k not in ("name", "op", "inputs")}
    check = LayerCheck(name, attrs, params)
    types[name] = OPS[op](check, [types[source] for source in inputs])
    check.finish()
    return Layer(name, op, tuple(inputs), attrs, {**params, **check.converted})


def load(path):
    """Load and validate a model file; raises :class:`ModelError` naming layer and field."""
    try:
        graph, arrays = read_container(path)
    except ValueError as error:
        raise ModelError(None, "file", str(error)) from None
    return Model.from_dict(graph, arrays)


def save(model, path):
    """Write ``model`` to ``path`` (deterministic bytes, atomic)."""
    write_container(Path(path), model.to_dict(), model.arrays())


