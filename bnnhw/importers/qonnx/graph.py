"""Reading the ``.onnx`` file with the ``onnx`` package alone, and the graph cleanup the
importer does itself, as qonnx's ``cleanup_model`` would: shape inference where the custom ops
allow it, node attributes, reshape targets and constant folding in float32 (docs/import.md)."""

import numpy as np

from .errors import QonnxImportError
from .quantizers import _quant_levels

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general")


def _load_onnx(path):
    try:
        import onnx
    except ImportError:        # pragma: no cover - onnx is a dependency
        raise QonnxImportError(None, "the 'onnx' package is needed to import ONNX files") from None
    try:
        proto = onnx.load(str(path))
    except Exception as error:   # noqa: BLE001 - protobuf raises many kinds
        raise QonnxImportError(None, f"{path}: not a readable ONNX file ({error})") from None
    try:
        return onnx.shape_inference.infer_shapes(proto)
    except Exception:            # noqa: BLE001 - custom ops may stop inference
        return proto             # the importer tracks every shape it needs itself


def _attr(node, name, default=None):
    from onnx import helper
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _reshape_target(node, shape, target):
    target = [int(t) for t in np.asarray(target).reshape(-1)]
    allowzero = _attr(node, "allowzero", 0)
    out = [shape[i] if t == 0 and not allowzero else t for i, t in enumerate(target)]
    if out.count(-1) > 1:
        raise QonnxImportError(node, f"target shape {target} has more than one -1")
    if -1 in out:
        known = int(np.prod([t for t in out if t != -1]))
        out[out.index(-1)] = int(np.prod(shape)) // known
    if int(np.prod(out)) != int(np.prod(shape)):
        raise QonnxImportError(node, f"cannot reshape {tuple(shape)} to {target}")
    return tuple(out)


def _fold(node, values):
    """Constant folding: ``node`` on constant inputs, float32 like onnxruntime."""
    op = node.op_type
    x = values[0]
    if op in ("Add", "Sub", "Mul", "Div"):
        a, b = values
        return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                "Div": np.divide}[op](a, b).astype(np.result_type(a, b))
    if op == "Pow":
        return np.power(x, values[1]).astype(x.dtype)
    if op == "Sqrt":
        return np.sqrt(x)
    if op == "Neg":
        return -x
    if op == "Transpose":
        return np.transpose(x, _attr(node, "perm"))
    if op == "Reshape":
        return x.reshape(_reshape_target(node, x.shape, values[1]))
    if op == "Flatten":
        axis = _attr(node, "axis", 1)
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op in ("Unsqueeze", "Squeeze"):
        axes = _attr(node, "axes", None) if len(values) < 2 else values[1].reshape(-1).tolist()
        if op == "Squeeze":
            return np.squeeze(x, axis=tuple(axes) if axes is not None else None)
        return np.expand_dims(x, tuple(int(a) for a in axes))
    if op == "Cast":
        from onnx import helper
        return x.astype(helper.tensor_dtype_to_np_dtype(_attr(node, "to")))
    if op == "BipolarQuant":
        ones = np.ones(x.shape, x.dtype)
        return np.where(x >= 0, ones, -ones) * values[1]
    if op == "Quant":
        scale, zero_point, bitwidth = values[1:4]
        rounding = _attr(node, "rounding_mode", "ROUND")
        rounding = rounding.decode() if isinstance(rounding, bytes) else rounding
        q = _quant_levels(x, scale, zero_point, float(bitwidth), _attr(node, "signed", 1),
                          _attr(node, "narrow", 0), rounding.upper())
        return (q - zero_point) * scale
    raise QonnxImportError(node, "constant folding of this op is not supported")
