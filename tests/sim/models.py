"""Small models whose input is not the digits' 1 x 8 x 8 of 0 .. 16 (for --sim input tests)."""

import numpy as np

from ..model.samples import small_layers


def bits_model(seed=0):
    """``(graph, arrays)``: a 3 x 6 x 6 bits input, binary conv, BN, sign, pool, int8 dense."""
    rng = np.random.default_rng(seed)
    layers = [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 8, "kernel": 3, "padding": 1, "pad_value": -1},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "gp", "op": "global_pool", "inputs": ["s1"]},
        {"name": "fc", "op": "dense", "inputs": ["gp"], "precision": "int8",
         "out_features": 4},
    ]
    arrays = {"c1.weight": rng.choice(np.array([-1, 1], dtype=np.int8), size=(8, 3, 3, 3)),
              "bn1.gamma": rng.normal(size=8), "bn1.beta": rng.normal(size=8),
              "bn1.mean": rng.normal(size=8) * 3, "bn1.var": rng.random(8) + 0.1,
              "fc.weight": rng.integers(-128, 128, (4, 8))}
    graph = {"format": "bnnhw-model", "version": 1, "name": "bits-in",
             "input": {"shape": [3, 6, 6], "type": "bits"}, "layers": layers, "output": "fc"}
    return graph, arrays


def signed_model(seed=0):
    """``(graph, arrays)``: a 1 x 8 x 8 int8 input of range [-8, 8] (digits do not fit), int8
    conv stem, BN, sign, binary conv, BN, sign, global pool, int8 dense (10 classes)."""
    rng = np.random.default_rng(seed)
    layers = small_layers()
    arrays = {"stem.weight": rng.integers(-128, 128, (4, 1, 2, 2)),
              "stem.bias": rng.integers(-100, 100, 4).astype(np.int32),
              "stem_bn.gamma": rng.normal(size=4), "stem_bn.beta": rng.normal(size=4),
              "stem_bn.mean": rng.normal(size=4) * 50, "stem_bn.var": rng.random(4) * 100 + 1,
              "c1.weight": rng.choice(np.array([-1, 1], dtype=np.int8), size=(4, 4, 3, 3)),
              "bn1.gamma": rng.normal(size=4), "bn1.beta": rng.normal(size=4),
              "bn1.mean": rng.normal(size=4) * 3, "bn1.var": rng.random(4) + 0.1,
              "fc.weight": rng.integers(-128, 128, (10, 4))}
    graph = {"format": "bnnhw-model", "version": 1, "name": "signed-in",
             "input": {"shape": [1, 8, 8], "type": "int8", "range": [-8, 8]},
             "layers": layers, "output": "fc"}
    return graph, arrays


def zero_padded_model(seed=0):
    """``(graph, arrays)``: the digits' 1 x 8 x 8 of [0, 16] through an int8 stem, BN, sign,
    then two binary XNOR convolutions **zero-padded** (``pad_value: 0``): c1 with BN + sign
    (a threshold unit on the zero-padded counts, fused), max pool, c2 with clip 6 and a
    quantized BN (the clip stage on them), int8 dense (10 classes)."""
    rng = np.random.default_rng(seed)
    layers = [
        {"name": "stem", "op": "conv2d", "inputs": ["input"], "precision": "int8",
         "out_channels": 4, "kernel": 3, "padding": 1},
        {"name": "stem_bn", "op": "batchnorm", "inputs": ["stem"], "eps": 1e-5},
        {"name": "stem_s", "op": "sign", "inputs": ["stem_bn"]},
        {"name": "c1", "op": "conv2d", "inputs": ["stem_s"], "precision": "binary",
         "out_channels": 8, "kernel": 3, "padding": 1, "pad_value": 0},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "p1", "op": "maxpool", "inputs": ["s1"], "kernel": 2},
        {"name": "c2", "op": "conv2d", "inputs": ["p1"], "precision": "binary",
         "out_channels": 6, "kernel": 3, "padding": 1, "pad_value": 0, "clip": 6},
        {"name": "q2", "op": "quantized_bn", "inputs": ["c2"], "frac_bits": 1},
        {"name": "fc", "op": "dense", "inputs": ["q2"], "precision": "int8",
         "out_features": 10},
    ]
    # c1's fan-in is 36: ties on odd and even dot values (only zero padding reaches odd ones)
    mean1 = rng.normal(size=8) * 4
    mean1[:3] = [3.0, -5.0, 0.0]
    beta1 = rng.normal(size=8)
    beta1[:3] = 0.0
    arrays = {"stem.weight": rng.integers(-20, 21, (4, 1, 3, 3)),
              "stem_bn.gamma": rng.normal(size=4), "stem_bn.beta": rng.normal(size=4),
              "stem_bn.mean": rng.normal(size=4) * 40, "stem_bn.var": rng.random(4) * 400 + 1,
              "c1.weight": rng.choice(np.array([-1, 1], dtype=np.int8), size=(8, 4, 3, 3)),
              "bn1.gamma": rng.normal(size=8), "bn1.beta": beta1, "bn1.mean": mean1,
              "bn1.var": rng.random(8) + 0.1,
              "c2.weight": rng.choice(np.array([-1, 1], dtype=np.int8), size=(6, 8, 3, 3)),
              "q2.scale": rng.integers(-30, 31, 6), "q2.bias": rng.integers(-8, 9, 6),
              "fc.weight": rng.integers(-10, 11, (10, 6 * 4 * 4))}
    graph = {"format": "bnnhw-model", "version": 1, "name": "zero-padded",
             "input": {"shape": [1, 8, 8], "type": "int8", "range": [0, 16]},
             "layers": layers, "output": "fc"}
    return graph, arrays
