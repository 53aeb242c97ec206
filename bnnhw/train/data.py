"""scikit-learn's bundled digits data set with bnnhw's fixed train / held-out split.

The 1797 8x8 images (pixels 0..16) are split by position, never shuffled: the first 1437 train,
the last 360 are the held-out test set every design reports its accuracy on. No download: the data
ship with scikit-learn. NumPy only, so tests can use it without PyTorch.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["HELD_OUT", "PIXEL_MAX", "Split", "load_split", "held_out"]

#: Number of images (the last ones) kept out of training.
HELD_OUT = 360
#: Largest pixel value of the digits images.
PIXEL_MAX = 16


@dataclass(frozen=True)
class Split:
    """Images as int8 ``(B, 1, 8, 8)`` in ``[0, 16]`` and int64 labels ``(B,)``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@lru_cache(maxsize=1)
def load_split():
    """The fixed split: first 1437 images train, last :data:`HELD_OUT` held out.

    Returns
    -------
    Split
        Read-only arrays (cached; copy before modifying).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images).astype(np.int8)[:, None]
    labels = digits.target.astype(np.int64)
    if images.min() < 0 or images.max() > PIXEL_MAX:
        raise ValueError(f"digits: pixels outside [0, {PIXEL_MAX}]")
    arrays = (images[:-HELD_OUT], labels[:-HELD_OUT], images[-HELD_OUT:], labels[-HELD_OUT:])
    for array in arrays:
        array.flags.writeable = False
    return Split(*arrays)


def held_out():
    """``(images, labels)`` of the 360 held-out digits."""
    split = load_split()
    return split.test_images, split.test_labels
