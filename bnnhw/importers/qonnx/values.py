"""Symbolic values: what a tensor of the graph is in bnnhw terms while the importer maps it
(a constant, the float graph input, the integer input, bits or dot products of a bnnhw layer,
Im2Col patches, an argmax), and how they are described in errors."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Const:
    """A tensor known at import time (initializer or folded)."""
    value: np.ndarray


@dataclass
class Pre:
    """A float tensor the host computes from the graph input (``steps``, float32)."""
    steps: list
    shape: tuple


@dataclass
class IntIn:
    """The integer model input ``q`` (after an input ``Quant`` or ``MultiThreshold``): graph
    value ``scale * (q + offset)``; an integral offset is moved into the input conversion."""
    shape: tuple
    scale: float
    offset: float = 0.0
    layout: str = "NCHW"


@dataclass
class Bits:
    """Bits of bnnhw layer ``layer``: graph value ``scale * (center + step * sum_j B_j)`` over
    its ``slices`` bits ``B_j = ±1`` per element (slice-major channels in bnnhw)."""
    layer: str
    shape: tuple
    scale: float
    slices: int = 1
    center: float = 0.0
    step: float = 1.0
    layout: str = "NCHW"            # or "NHWC" (FINN's streamlined graphs): shape in that order


@dataclass
class Dot:
    """Integer dot values ``v`` of bnnhw layer ``layer`` (``2p - N`` of a binary layer, ``u - N``
    of a zero-padded binary convolution's counts ``u`` (``zero_pad``), the accumulator of an int8
    layer), seen by the graph as ``steps`` applied in float32 to ``v * base_scale +
    base_offset`` (per channel, axis 1)."""
    layer: str
    shape: tuple
    kind: str                       # "popcount" or "acc"
    lo: int
    hi: int
    fan_in: int
    base_scale: np.ndarray
    base_offset: np.ndarray
    steps: list = field(default_factory=list)
    layout: str = "NCHW"
    zero_pad: bool = False          # every v in [-N, N] (either parity); thresholds on v


@dataclass
class Patches:
    """FINN's ``Im2Col`` of NHWC ``source``: rows of ``(kh, kw, c)`` patches."""
    source: object
    kernel: tuple
    stride: tuple
    shape: tuple


@dataclass
class ArgMax:
    """The index of the largest of ``dot``'s graph values (TopK k=1 / ArgMax)."""
    dot: Dot


def _channel_axis(value):
    return len(value.shape) - 1 if getattr(value, "layout", "NCHW") == "NHWC" else 1


def _squeezed(shape):
    return tuple(d for d in shape if d != 1) or (1,)


def _kind(value):
    return {Const: "a constant", Pre: "the float graph input", IntIn: "the integer input",
            Bits: "binary activations", Dot: "dot products", ArgMax: "an argmax",
            Patches: "Im2Col patches",
            type(None): "nothing"}.get(type(value), type(value).__name__)


def _shape_of(value):
    if isinstance(value, Const):
        return value.value.shape
    return getattr(value, "shape", None)
