"""Print every node of ONNX files: op_type, domain, attributes, inputs with initializer values.

Needs only ``onnx`` and NumPy::

    python tests/data/qonnx/describe.py tests/data/qonnx/*.onnx > tests/data/qonnx/listing.txt

An initializer of at most 4 elements prints its values; a larger one prints its shape, dtype and
either its distinct values (at most 4) or its range. ``<...>`` after a tensor name is its
quantization annotation (FINN's ``finn_datatype`` and ``tensor_layout``).
"""

import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def describe_tensor(name, initializers, annotations):
    if name not in initializers:
        return name + (f"<{annotations[name]}>" if name in annotations else "")
    array = initializers[name]
    if array.size <= 4:
        return f"{name}={array.tolist()}:{array.dtype}"
    shape = "x".join(map(str, array.shape))
    distinct = np.unique(array)
    if len(distinct) <= 4:
        return f"{name}[{shape}:{array.dtype} values {distinct.tolist()}]"
    return f"{name}[{shape}:{array.dtype} range {array.min():.6g}..{array.max():.6g}]"


def describe(path):
    model = onnx.load(path)
    graph = model.graph
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    annotations = {
        a.tensor_name: {kv.key: kv.value for kv in a.quant_parameter_tensor_names}
        for a in graph.quantization_annotation
    }
    opsets = [(o.domain or "ai.onnx", o.version) for o in model.opset_import]
    print(f"== {path}")
    print(
        f"   ir_version {model.ir_version}, opsets {opsets}, producer {model.producer_name} "
        f"{model.producer_version}"
    )
    data_inputs = [i for i in graph.input if i.name not in initializers]
    for tensor in data_inputs:
        dims = [d.dim_value for d in tensor.type.tensor_type.shape.dim]
        print(
            f"   input {tensor.name} {dims} elem_type {tensor.type.tensor_type.elem_type}"
        )
    print(
        f"   initializers also listed as graph inputs: {len(graph.input) - len(data_inputs)}"
    )
    for tensor in graph.output:
        dims = [d.dim_value for d in tensor.type.tensor_type.shape.dim]
        print(
            f"   output {tensor.name} {dims} elem_type {tensor.type.tensor_type.elem_type}"
        )
    for node in graph.node:
        attributes = {}
        for attribute in node.attribute:
            value = helper.get_attribute_value(attribute)
            attributes[attribute.name] = (
                value.decode() if isinstance(value, bytes) else value
            )
        inputs = [describe_tensor(i, initializers, annotations) for i in node.input]
        print(f"   {node.op_type} [{node.domain or 'ai.onnx'}] {attributes}")
        print(f"      in:  {inputs}")
        print(f"      out: {list(node.output)}")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        describe(argument)
