"""Checks shared by blocks whose weights arrive as per-PE ROM images (docs/compiler.md)."""

import numbers

from .fixed import _is_bool

__all__ = ["sequence", "check_rom_images"]


def sequence(value, name):
    """``value`` (list, tuple or NumPy array) as a list, or ValueError naming it."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name}: expected a sequence, got {value!r}")
    return list(value)


def check_rom_images(images, *, name, count, depth, word_bits):
    """``count`` images of ``depth`` unsigned ``word_bits``-bit words, as tuples of ints.

    Every failure is a ValueError whose message starts with ``name``.
    """
    images = sequence(images, name)
    if len(images) != count:
        raise ValueError(f"{name}: expected one ROM image per PE ({count}), got {len(images)}")
    checked = []
    for p, image in enumerate(images):
        image = sequence(image, f"{name}[{p}]")
        if len(image) != depth:
            raise ValueError(f"{name}: PE {p} has {len(image)} words, expected "
                             f"(rows/pe)*(fan_in/simd) = {depth}")
        words = []
        for address, word in enumerate(image):
            if _is_bool(word) or not isinstance(word, numbers.Integral):
                raise ValueError(f"{name}: PE {p} address {address}: expected an integer, "
                                 f"got {word!r}")
            if not 0 <= word < 1 << word_bits:
                raise ValueError(f"{name}: PE {p} address {address}: {int(word):#x} does not "
                                 f"fit {word_bits} bits")
            words.append(int(word))
        checked.append(tuple(words))
    return tuple(checked)
