"""Tensor types flowing between layers, inferred while a model is validated."""

from dataclasses import dataclass, field

__all__ = ["TensorType", "INT8_RANGE", "channel_dots", "popcount_detail"]

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


def channel_dots(t):
    """``((fan_in, op, clip), ...)``, one per channel, of a popcount type.

    A binary layer's popcounts share one ``(N, op, clip)``; a concatenation of several binary
    layers' popcounts keeps each part's own (``detail["channel_dots"]``), so what a batch norm,
    sign, threshold or PA-Net bases sees of a channel is that channel's own dot value.
    """
    if "channel_dots" in t.detail:
        return t.detail["channel_dots"]
    return ((t.detail["fan_in"], t.detail["op"], t.detail["clip"]),) * t.channels


def popcount_detail(dots):
    """The ``detail`` of a popcount type with per-channel ``dots`` (see :func:`channel_dots`):
    the shared ``fan_in``/``op``/``clip`` when all channels agree, else ``None`` for each and
    the per-channel tuple under ``channel_dots``."""
    dots = tuple(dots)
    if len(set(dots)) == 1:
        fan_in, op, clip = dots[0]
        return {"fan_in": fan_in, "op": op, "clip": clip}
    return {"fan_in": None, "op": None, "clip": None, "channel_dots": dots}
