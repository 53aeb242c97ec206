"""Channel split, concatenation and shuffle (BoolNet / ShuffleNet-V2 blocks), on axis 1.

These are static permutations: the compiler folds them into weight layouts; golden applies them.
"""

import numpy as np

from ._check import int_param

__all__ = ["channel_split", "channel_concat", "shuffle_permutation", "channel_shuffle"]


def _channels_first(x, name):
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected shape (B, C, ...), got {x.shape}")
    return x


def channel_split(x, sizes):
    """Split ``x (B, C, ...)`` into consecutive channel blocks of the given ``sizes``."""
    x = _channels_first(x, "x")
    sizes = [int_param(size, "sizes", 1) for size in sizes]
    if sum(sizes) != x.shape[1]:
        raise ValueError(f"sizes: {sizes} sum to {sum(sizes)}, but x has {x.shape[1]} channels")
    return np.split(x, np.cumsum(sizes)[:-1], axis=1)


def channel_concat(parts):
    """Concatenate ``(B, C_i, ...)`` tensors along channels, in the given order."""
    parts = [_channels_first(part, f"parts[{i}]") for i, part in enumerate(parts)]
    if not parts:
        raise ValueError("parts: nothing to concatenate")
    for i, part in enumerate(parts[1:], 1):
        if part.shape[:1] + part.shape[2:] != parts[0].shape[:1] + parts[0].shape[2:]:
            raise ValueError(
                f"parts[{i}]: shape {part.shape} differs from parts[0]'s {parts[0].shape} "
                "outside the channel axis")
    return np.concatenate(parts, axis=1)


def shuffle_permutation(channels, groups):
    """Source channel of each output channel of a ShuffleNet channel shuffle.

    ``(B, g, C/g, ...)`` is transposed to ``(B, C/g, g, ...)``: output ``i`` takes input
    ``(i % g) * (C/g) + i // g``.
    """
    channels = int_param(channels, "channels", 1)
    groups = int_param(groups, "groups", 1)
    if channels % groups:
        raise ValueError(f"groups: {groups} does not divide {channels} channels")
    i = np.arange(channels)
    return (i % groups) * (channels // groups) + i // groups


def channel_shuffle(x, groups):
    """ShuffleNet channel shuffle of ``x (B, C, ...)`` with ``groups`` groups."""
    x = _channels_first(x, "x")
    return x[:, shuffle_permutation(x.shape[1], groups)]
