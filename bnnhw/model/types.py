"""Tensor types flowing between layers, inferred while a model is validated."""

from dataclasses import dataclass, field

__all__ = ["TensorType", "INT8_RANGE"]

#: Range of symmetric 8-bit data between layers (docs/numerics.md §8).
INT8_RANGE = (-127, 127)


@dataclass(frozen=True)
class TensorType:
    """What a layer outputs, per image: a ``(C, H, W)`` tensor of one kind.

    Members
    -------
    kind : ``"bits"``, ``"int"`` or ``"real"``
        Bits are binary feature maps; ints are exact integers in ``[lo, hi]``; reals exist only in
        the float model, between a batch norm and the sign (or bases) that consumes it.
    shape : (C, H, W); dense vectors are ``(C, 1, 1)``.
    lo, hi : value range of ints (``0, 1`` for bits).
    source : what produced an int (``"popcount"``, ``"acc"``, ``"int8"``, ``"count"``,
        ``"fixed"``, ``"input"``) or a real (``"bn"``).
    bases : number of slices / bases interleaved slice-major in the channels of bits.
    detail : op-specific facts the compiler needs (fan-in, dot op, clip, fractional bits).
    """

    kind: str
    shape: tuple
    lo: int = 0
    hi: int = 1
    source: str = ""
    bases: int = 1
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def channels(self):
        return self.shape[0]

    @property
    def features(self):
        return self.shape[0] * self.shape[1] * self.shape[2]

    def describe(self):
        c, h, w = self.shape
        what = {"bits": "bits", "real": "reals", "int": f"ints in [{self.lo}, {self.hi}]"}
        return f"{what[self.kind]} of shape ({c}, {h}, {w})"
