"""The streaming network top: one engine per hardware-plan engine, pixel stream in, class out.

:class:`StreamingNetwork` elaborates a :class:`bnnhw.compiler.HardwarePlan` (DESIGN.md §5, the
FINN-style dataflow architecture). The plan arrives as data: ``bnnhw.hw`` never imports the
compiler and never reads a compiled layer's parameters or a ``.hex`` image; every layout
decision (which layers share an engine, foldings, lanes, ROM words) is the plan's.

- **Input** ``i``: one input pixel per transfer in raster order, images back to back; payload =
  the input channels as :class:`~bnnhw.hw.engines.PixelFormat` elements (``unsigned(5)`` for the
  digits' values ``0 .. 16``).
- **Output** ``o``: one transfer per image: ``label`` (the argmax, lowest index on ties) in the
  low ``label_width`` bits, then the logits as a pixel vector (``logits_format``), from an
  :class:`ArgmaxHead` (one class compared per cycle on the held logits).
- **Engines** (:mod:`.builders`) exchange pixel vectors. A binary matrix engine with a fused
  threshold is a sliding window + ``BinaryMVTU`` (thresholds from the plan's per-PE words);
  other binary convolutions a ``BinaryMVAU`` engine; int8 convolutions and dense layers an
  ``Int8MAC`` engine (with threshold units on its PE lanes when the plan fuses a threshold),
  except that an int8 dense layer fused with its global pool of bits is one
  :class:`~bnnhw.hw.pooldense.PooledInt8Dense` engine (no counters, no pooled vector: it
  accumulates the weights of the set bits pixel by pixel); per-channel layers the plan's lanes
  of their units; permutations, slices and concatenations are wiring (no register). A 1x1
  unpadded stride-1 convolution or a dense layer on a 1x1 map needs no line buffer: a
  serializer feeds its MVU.
- **Branches** (:mod:`.top`): a value read by several engines goes through an eager
  :class:`~bnnhw.hw.streams.Fork` (unregistered: one flag per reader, the producer holds the
  pixel); every input of a join (``add``, ``concat``) has a FIFO of ``2 * H * W + 4`` pixels (at
  the join's resolution). Each branch absorbs less than one image before its first output (a
  line buffer needs the rows of its first output row before producing; the extra rows it may
  hold only let it take input ahead while it works, never make it wait for more), so the other
  branch's FIFO never fills while the join waits: no input pattern and no pattern of output
  stalls deadlocks (the stall tests check it).
- **Rate**: every matrix engine takes its folding's ``SF * NF`` cycles per output position; each
  per-channel engine has the plan's lanes (the fewest, a divisor of ``C``, that keep
  ``C/L * H*W`` within the plan's cycles per inference); line buffers hold the next image's first
  rows while they finish an image (:func:`~bnnhw.hw.window.default_buffer_rows`). So the slowest
  stage sets the throughput: a matrix layer, the input stream (``H*W``), the argmax head
  (``classes + 1``) or a max pool built as a sliding window (docs/network.md).
- **Double buffering** (:mod:`.graph`): an engine's output deserializer keeps a second buffer
  when a reader holds its pixels while working through them (a serializer, the argmax head).

PA-Net layers: ``pa_bases`` is a :class:`~bnnhw.hw.engines.PixelMap` of comparators (base-major
bits ``n*C + c``, as golden); a ``panet_conv2d`` re-orders its input pixel channel-major so that
one window transfer of ``N*SIMD`` bits carries ``SIMD`` channels in all ``N`` bases, and a
:class:`~bnnhw.hw.panet.PANetMVU` combines them.

Unsupported engines (an op with no builder, grouped PA-Net or grouped non-depthwise int8
convolutions, a network whose output is not a ``(classes, 1, 1)`` vector) raise
:class:`NetworkError` naming the layer and field at construction, before any Verilog exists.

Modules: :mod:`.graph` (formats, readers, double buffering), :mod:`.builders` (one builder per
op), :mod:`.stages` (clipped dots, saturating sums, piece indicators, argmax head, join engine),
:mod:`.top` (:class:`StreamingNetwork`, the wiring).
"""

from ...errors import LayerError


class NetworkError(LayerError, ValueError):
    """A compiled layer the generator cannot build; names the layer and the field."""


# the modules below raise NetworkError: it is defined first, here, its public home
from .stages import ArgmaxHead, clip_dot, clip_width, piece_indicators, saturating_sum
from .top import StreamingNetwork

__all__ = ["ArgmaxHead", "NetworkError", "StreamingNetwork", "clip_dot", "clip_width",
           "piece_indicators", "saturating_sum"]
