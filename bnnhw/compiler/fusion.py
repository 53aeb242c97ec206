"""Which compiled layers the hardware computes together: the engine decisions, made once.

- :data:`MATRIX_OPS`: the matrix-vector layers (folded with PE and SIMD, weights in ROMs).
- :func:`fused_thresholds`: a binary convolution or dense layer read only by a threshold of
  offset 0, and an int8 convolution read only by a threshold, compute that threshold in the
  same engine (threshold units on the matrix unit's PE lanes).
- :func:`pooled_dense_layers`: an int8 dense layer that is the only reader of a global pool of
  bits is one engine with its pool (``bnnhw.hw.pooldense``).
- :func:`per_pe_thresholds`: a threshold of offset 0 right after a matrix layer keeps its
  thresholds in one ROM per PE of that layer (``<layer>.thresholds.pe<p>.hex``), fused or not.

:func:`bnnhw.compiler.plan_folding` reads the pooled decision (a pooled layer's folds repeat once
per pooled position), :func:`bnnhw.compiler.hardware_plan` all of them.
"""

__all__ = ["MATRIX_OPS", "readers", "fused_thresholds", "pooled_dense_layers",
           "per_pe_thresholds"]

#: The matrix-vector ops: one folded matrix unit each, weights in per-PE ROMs.
MATRIX_OPS = ("binary_conv2d", "binary_dense", "int8_conv2d", "int8_dense", "panet_conv2d")


def readers(compiled):
    """``{value name: [layer, ...]}``: the layers reading each value, once per input slot."""
    found = {}
    for layer in compiled.layers:
        for source in layer.inputs:
            found.setdefault(source, []).append(layer)
    return found


def fused_thresholds(compiled):
    """``{matrix layer name: threshold layer name}`` of the matrix layers whose engine also
    computes the threshold reading them (see the module docstring)."""
    users_of = readers(compiled)
    fused = {}
    for layer in compiled.layers:
        users = users_of.get(layer.name, [])
        if len(users) != 1 or users[0].op != "threshold":
            continue
        if layer.op in ("binary_conv2d", "binary_dense") and users[0].params["offset"] == 0:
            fused[layer.name] = users[0].name
        if layer.op == "int8_conv2d":
            fused[layer.name] = users[0].name
    return fused


def pooled_dense_layers(compiled):
    """``{dense layer: global pool layer}`` for each int8 dense layer that reads a global pool of
    bits and is that pool's only reader: the hardware fuses the two into one engine
    (``bnnhw.hw.pooldense``) that takes the pool's input pixels one at a time, so the dense
    layer's folds repeat once per pooled position."""
    layers = compiled.layer
    users_of = readers(compiled)
    fused = {}
    for layer in compiled.layers:
        pool = layers.get(layer.inputs[0]) if len(layer.inputs) == 1 else None
        if layer.op == "int8_dense" and pool is not None and pool.op == "global_pool" \
                and compiled.values[pool.inputs[0]].kind == "bits" \
                and [u.name for u in users_of.get(pool.name, [])] == [layer.name] \
                and compiled.output != pool.name:
            fused[layer.name] = pool
    return fused


def per_pe_thresholds(compiled, layer):
    """Whether threshold ``layer`` keeps its thresholds in one ROM per PE of the matrix layer it
    reads (offset 0, its input a matrix layer's output)."""
    if layer.op != "threshold" or not layer.inputs or layer.params["offset"] != 0:
        return False
    source = compiled.layer.get(layer.inputs[0])
    return source is not None and source.op in MATRIX_OPS
