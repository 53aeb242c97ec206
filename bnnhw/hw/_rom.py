"""Checks shared by blocks whose weights arrive as per-PE ROM images (docs/compiler.md)."""

import numbers

from ..params import ParameterError, is_bool

__all__ = ["sequence", "check_rom_images"]


def sequence(value, name):
    """``value`` (list, tuple or NumPy array) as a list; a ParameterError names ``name``."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(name, "expected a sequence", repr(value))
    return list(value)


def check_rom_images(images, *, name, count, depth, word_bits):
    """``count`` images of ``depth`` unsigned ``word_bits``-bit words, as tuples of ints.

    Every failure is a :class:`~bnnhw.params.ParameterError` naming ``name`` (PE ``p``'s image
    is ``name[p]``, its word at ``address`` is ``name[p][address]``).
    """
    images = sequence(images, name)
    if len(images) != count:
        raise ParameterError(name, f"expected one ROM image per PE ({count})", len(images))
    checked = []
    for p, image in enumerate(images):
        image = sequence(image, f"{name}[{p}]")
        if len(image) != depth:
            raise ParameterError(f"{name}[{p}]", f"expected (rows/pe)*(fan_in/simd) = {depth} "
                                                 f"words", len(image))
        words = []
        for address, word in enumerate(image):
            if is_bool(word) or not isinstance(word, numbers.Integral):
                raise ParameterError(f"{name}[{p}][{address}]", "expected an integer",
                                     repr(word))
            if not 0 <= word < 1 << word_bits:
                raise ParameterError(f"{name}[{p}][{address}]",
                                     f"expected a word that fits {word_bits} bits",
                                     f"{int(word):#x}")
            words.append(int(word))
        checked.append(tuple(words))
    return tuple(checked)
