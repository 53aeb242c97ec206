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
