"""Classifier decision."""

import numpy as np

from ._check import as_int

__all__ = ["argmax"]


def argmax(logits):
    """Class index of each row of integer ``logits (B, classes)``; the lowest index wins ties."""
    logits = as_int(logits, "logits")
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise ValueError(f"logits: expected shape (B, classes), got {logits.shape}")
    return np.argmax(logits, axis=1)
