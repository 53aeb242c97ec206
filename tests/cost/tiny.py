"""A tiny model whose costs are checked by hand in test_counts.py."""

import numpy as np

from bnnhw.model import Model


def tiny_model():
    """2x4x4 bits -> binary 3x3 conv (3 out) -> BN + sign -> 2x2 max-pool -> global pool -> int8
    dense (2 out)."""
    rng = np.random.default_rng(0)
    graph = {
        "format": "bnnhw-model", "version": 1, "name": "tiny",
        "input": {"shape": [2, 4, 4], "type": "bits"},
        "layers": [
            {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
             "out_channels": 3, "kernel": 3, "padding": 1, "pad_value": 1},
            {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
            {"name": "s1", "op": "sign", "inputs": ["bn1"]},
            {"name": "p1", "op": "maxpool", "inputs": ["s1"], "kernel": 2},
            {"name": "gp", "op": "global_pool", "inputs": ["p1"]},
            {"name": "fc", "op": "dense", "inputs": ["gp"], "precision": "int8",
             "out_features": 2},
        ],
        "output": "fc",
    }
    arrays = {
        "c1.weight": rng.choice(np.array([-1, 1], np.int8), (3, 2, 3, 3)),
        "bn1.gamma": np.array([1.0, -0.5, 2.0]), "bn1.beta": np.array([0.1, 0.2, -0.3]),
        "bn1.mean": np.array([0.5, -1.0, 2.0]), "bn1.var": np.array([1.0, 2.0, 0.5]),
        "fc.weight": np.array([[1, -1, 2], [0, 3, -2]], np.int8),
        "fc.bias": np.array([1, -1], np.int32),
    }
    return Model.from_dict(graph, arrays)
