"""Small valid models covering every op of the model format, built from a seed."""

import numpy as np


def _pm1(rng, shape):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def _bn(rng, prefix, channels, arrays, fan_in=8):
    """Random BN; about half the channels put an exact tie (``a*s + b == 0``) on an integer."""
    arrays[f"{prefix}.gamma"] = rng.normal(size=channels)
    arrays[f"{prefix}.beta"] = rng.normal(size=channels)
    arrays[f"{prefix}.mean"] = rng.normal(size=channels) * 3
    arrays[f"{prefix}.var"] = rng.random(channels) + 0.1
    ties = rng.random(channels) < 0.5
    # beta = 0 and an integer mean m give b = -fl(a*m), so a*m + b == 0 exactly at s = m
    arrays[f"{prefix}.beta"][ties] = 0.0
    arrays[f"{prefix}.mean"][ties] = rng.integers(-fan_in, fan_in + 1, ties.sum())
    arrays[f"{prefix}.gamma"][0] = 0.0  # a constant channel


def every_op_model(seed=0, exact=False):
    """``(graph, arrays)`` of an 8x8 int8-input network that uses every op once or more.

    With ``exact=True`` the real scales (requantize, DPReLU slopes, PA-Net phi) are dyadic
    rationals the compiler represents exactly, so compiled and float models must agree bit for
    bit.
    """
    rng = np.random.default_rng(seed)
    arrays = {}
    layers = [
        {"name": "stem", "op": "conv2d", "inputs": ["input"], "precision": "int8",
         "out_channels": 8, "kernel": 2, "stride": 2},
        {"name": "stem_q", "op": "requantize", "inputs": ["stem"]},
        {"name": "stem_act", "op": "dprelu", "inputs": ["stem_q"]},
        {"name": "stem_sign", "op": "sign", "inputs": ["stem_act"]},
        {"name": "c1", "op": "conv2d", "inputs": ["stem_sign"], "precision": "binary",
         "out_channels": 8, "kernel": 3, "padding": 1, "pad_value": -1},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "ms1", "op": "sign", "inputs": ["bn1"], "biases": [-0.5, 0.0, 0.5, 1.0],
         "k": 4},
        {"name": "c2", "op": "conv2d", "inputs": ["ms1"], "precision": "binary",
         "out_channels": 8, "kernel": 3, "padding": 1, "pad_value": 1, "groups": 4},
        {"name": "t2", "op": "threshold", "inputs": ["c2"]},
        {"name": "left", "op": "slice", "inputs": ["t2"], "start": 0, "stop": 4},
        {"name": "right", "op": "slice", "inputs": ["t2"], "start": 4, "stop": 8},
        {"name": "c3", "op": "conv2d", "inputs": ["right"], "precision": "binary",
         "out_channels": 4, "kernel": 1, "clip": 127},
        {"name": "qbn3", "op": "quantized_bn", "inputs": ["c3"], "frac_bits": 8},
        {"name": "res", "op": "add", "inputs": ["qbn3", "qbn3"]},
        {"name": "s3", "op": "sign", "inputs": ["res"]},
        {"name": "cat", "op": "concat", "inputs": ["left", "s3"]},
        {"name": "shuf", "op": "shuffle", "inputs": ["cat"], "groups": 2},
        {"name": "pool", "op": "maxpool", "inputs": ["shuf"], "kernel": 2},
        {"name": "c4", "op": "conv2d", "inputs": ["pool"], "precision": "binary", "dot": "and",
         "out_channels": 6, "kernel": 1},
        {"name": "bn4", "op": "batchnorm", "inputs": ["c4"], "eps": 1e-5},
        {"name": "pa4", "op": "pa_bases", "inputs": ["bn4"]},
        {"name": "pc5", "op": "panet_conv2d", "inputs": ["pa4"], "out_channels": 8,
         "kernel": 1},
        {"name": "bn5", "op": "batchnorm", "inputs": ["pc5"], "eps": 1e-3},
        {"name": "s5", "op": "sign", "inputs": ["bn5"]},
        {"name": "gp", "op": "global_pool", "inputs": ["s5"]},
        {"name": "fc", "op": "dense", "inputs": ["gp"], "precision": "int8",
         "out_features": 10},
    ]
    arrays["stem.weight"] = rng.integers(-128, 128, (8, 1, 2, 2))
    arrays["stem.bias"] = rng.integers(-1000, 1000, 8).astype(np.int32)
    arrays["stem_q.scale"] = rng.random(8) / 64 + 1e-3
    arrays["stem_act.alpha"] = rng.integers(-5, 5, 8).astype(np.int8)
    arrays["stem_act.beta"] = rng.integers(-5, 5, 8).astype(np.int8)
    arrays["stem_act.eta"] = rng.random(8) + 0.5
    arrays["stem_act.gamma"] = rng.random(8) * 0.25
    arrays["c1.weight"] = _pm1(rng, (8, 8, 3, 3))
    _bn(rng, "bn1", 8, arrays, fan_in=72)
    arrays["c2.weight"] = _pm1(rng, (8, 8, 3, 3))
    arrays["t2.threshold"] = rng.integers(0, 73, 8)
    arrays["t2.invert"] = rng.random(8) < 0.3
    arrays["c3.weight"] = _pm1(rng, (4, 4, 1, 1))
    arrays["qbn3.scale"] = rng.integers(-300, 300, 4).astype(np.int16)
    arrays["qbn3.bias"] = rng.integers(-3000, 3000, 4).astype(np.int16)
    arrays["c4.weight"] = rng.integers(0, 2, (6, 8, 1, 1)).astype(np.int8)
    _bn(rng, "bn4", 6, arrays)
    arrays["bn4.gamma"] = np.abs(arrays["bn4.gamma"])  # PA-Net bases need a rising input
    arrays["pa4.endpoints"] = np.array([-0.5, 0.25, 1.0])
    arrays["pc5.weight_bases"] = rng.integers(0, 2, (2, 8, 6, 1, 1)).astype(np.uint8)
    arrays["pc5.phi"] = rng.normal(size=(2, 3))
    _bn(rng, "bn5", 8, arrays, fan_in=4)
    arrays["fc.weight"] = rng.integers(-128, 128, (10, 8))
    if exact:
        arrays["stem_q.scale"] = rng.integers(1, 1 << 15, 8) / 2.0 ** 21
        arrays["stem_act.eta"] = rng.integers(1 << 9, 1 << 11, 8) / 2.0 ** 10
        arrays["stem_act.gamma"] = rng.integers(0, 1 << 8, 8) / 2.0 ** 10
        arrays["pc5.phi"] = rng.integers(-(1 << 10), 1 << 10, (2, 3)) / 2.0 ** 8
    graph = {"format": "bnnhw-model", "version": 1, "name": "every-op",
             "input": {"shape": [1, 8, 8], "type": "int8", "range": [0, 16]},
             "layers": layers, "output": "fc"}
    return graph, arrays


def small_layers():
    """The layers of :func:`small_model`: int8 2x2/2 stem (4 channels), BN, sign, binary 3x3
    conv (4 channels, -1 padding), BN, sign, global pool, int8 dense (10 classes)."""
    return [
        {"name": "stem", "op": "conv2d", "inputs": ["input"], "precision": "int8",
         "out_channels": 4, "kernel": 2, "stride": 2},
        {"name": "stem_bn", "op": "batchnorm", "inputs": ["stem"], "eps": 1e-5},
        {"name": "stem_sign", "op": "sign", "inputs": ["stem_bn"]},
        {"name": "c1", "op": "conv2d", "inputs": ["stem_sign"], "precision": "binary",
         "out_channels": 4, "kernel": 3, "padding": 1, "pad_value": -1},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "gp", "op": "global_pool", "inputs": ["s1"]},
        {"name": "fc", "op": "dense", "inputs": ["gp"], "precision": "int8",
         "out_features": 10},
    ]


def small_model(seed=0):
    """``(graph, arrays)`` of a small 8x8-digit classifier (int8 stem, one binary conv, pooled
    int8 head) that fits the smallest supported FPGA: for bitstream builds in tests."""
    rng = np.random.default_rng(seed)
    layers = small_layers()
    arrays = {"stem.weight": rng.integers(-128, 128, (4, 1, 2, 2)),
              "stem.bias": rng.integers(-100, 100, 4).astype(np.int32),
              "c1.weight": _pm1(rng, (4, 4, 3, 3)),
              "fc.weight": rng.integers(-128, 128, (10, 4))}
    _bn(rng, "stem_bn", 4, arrays, fan_in=400)
    _bn(rng, "bn1", 4, arrays, fan_in=36)
    graph = {"format": "bnnhw-model", "version": 1, "name": "small",
             "input": {"shape": [1, 8, 8], "type": "int8", "range": [0, 16]},
             "layers": layers, "output": "fc"}
    return graph, arrays


def write_design(root, name, graph_and_arrays, target_cycles):
    """A design folder ``root/designs/name`` (``model.npz`` + ``design.json``); returns it."""
    import json

    from bnnhw.model import Model, save

    folder = root / "designs" / name
    folder.mkdir(parents=True)
    save(Model.from_dict(*graph_and_arrays), folder / "model.npz")
    (folder / "design.json").write_text(json.dumps({"folding": {"target_cycles": target_cycles}}))
    return folder


def tiny_graph(layers, output, shape=(8, 4, 4), input_type="bits", value_range=None,
               name="tiny"):
    """The graph of a hand-written small model (``layers`` as in the model file)."""
    spec = {"shape": list(shape), "type": input_type}
    if value_range is not None:
        spec["range"] = list(value_range)
    return {"format": "bnnhw-model", "version": 1, "name": name, "input": spec,
            "layers": layers, "output": output}


def pm1(rng, shape):
    """Random ±1 weights."""
    return _pm1(rng, shape)
