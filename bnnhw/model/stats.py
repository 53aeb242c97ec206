"""Work of a model: operations per image, from the model's layer shapes. NumPy only.

Parameter bits are counted once, on the compiled network as the hardware stores them:
:func:`bnnhw.compiler.parameter_bits`.
"""

import math

__all__ = ["operation_counts"]


def _fan_in(layer, in_type):
    a = layer.attrs
    if layer.op == "dense":
        return in_type.features
    kernel = a["kernel"] if isinstance(a["kernel"], list) else [a["kernel"]] * 2
    channels = in_type.channels // in_type.bases if layer.op == "panet_conv2d" else \
        in_type.channels
    return channels // a.get("groups", 1) * kernel[0] * kernel[1]


def operation_counts(model):
    """Operations of one inference of ``model``, by kind.

    Returns
    -------
    dict
        ``binary_ops``: XNOR (or AND) + popcount per binary multiply-accumulate, PA-Net's
        ``M*N`` AND-popcount convolutions included; ``int8_macs``: int8 multiply-accumulates;
        ``comparisons``: threshold / piece comparisons (one per output bit);
        ``fixed_point_ops``: per-element fixed-point multiplies (requantize, quantized BN,
        DPReLU, PA-Net phi scaling); ``additions``: saturating residual additions.
    """
    types = model.types
    counts = dict.fromkeys(("binary_ops", "int8_macs", "comparisons", "fixed_point_ops",
                            "additions"), 0)
    for layer in model.layers:
        out = types[layer.name]
        elements = math.prod(out.shape)
        in_type = types[layer.inputs[0]]
        if layer.op in ("conv2d", "dense"):
            macs = elements * _fan_in(layer, in_type)
            key = "binary_ops" if layer.attrs["precision"] == "binary" else "int8_macs"
            counts[key] += macs
        elif layer.op == "panet_conv2d":
            bases = layer.params["weight_bases"].shape[0] * in_type.bases
            counts["binary_ops"] += elements * _fan_in(layer, in_type) * bases
            counts["fixed_point_ops"] += elements * bases
        elif layer.op in ("sign", "threshold", "pa_bases"):
            counts["comparisons"] += elements
        elif layer.op in ("requantize", "quantized_bn", "dprelu"):
            counts["fixed_point_ops"] += elements
        elif layer.op == "add":
            counts["additions"] += elements
    return counts
