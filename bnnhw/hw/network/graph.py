"""Graph analysis of a hardware plan: stream formats, the readers of each value, and which
readers hold a pixel while they work on it (their producer then double-buffers its output)."""

from amaranth.hdl import unsigned

from ...params import is_full_rate
from ..engines import PixelFormat
from ..popcount import popcount_depth
from . import NetworkError

__all__ = ["NetworkGraph", "pixel_format", "LEVELS_PER_STAGE"]

#: Popcount tree levels (leaves, then ripple adders) between two register ranks in a full-rate
#: network.
LEVELS_PER_STAGE = 3


def pixel_format(value):
    """:class:`~bnnhw.hw.engines.PixelFormat` of a plan's value format (``kind``, ``shape``,
    ``lo``, ``hi``): one bit per channel, or the narrowest element holding ``[lo, hi]``."""
    if value.kind == "bits":
        return PixelFormat(value.shape[0], unsigned(1))
    return PixelFormat.for_range(value.shape[0], value.lo, value.hi)


def _plain_window(geometry):
    """Whether a convolution's window is a single pixel (no line buffer: a serializer)."""
    g = geometry
    one_by_one = g.kernel == (1, 1) and g.stride == (1, 1) and g.padding == (0, 0)
    whole_pixel = g.kernel == (g.height, g.width) and g.height * g.width == 1 \
        and g.padding == (0, 0)
    return one_by_one or whole_pixel


class NetworkGraph:
    """The engines of a :class:`~bnnhw.compiler.HardwarePlan` (read as data) as a graph.

    ``formats``: value name -> :class:`PixelFormat`; ``readers``: value name -> ``[(engine, input
    slot)]`` in execution order (the argmax head not included)."""

    def __init__(self, plan):
        self.plan = plan
        self.engines = tuple(plan.engines)
        self.budget = plan.cycles_per_inference
        self.formats = {name: pixel_format(value) for name, value in plan.values.items()}
        self.readers = {}
        for engine in self.engines:
            for slot, source in enumerate(engine.inputs):
                self.readers.setdefault(source, []).append((engine, slot))

    @property
    def full_rate(self):
        """Whether the network is folded to at most :data:`bnnhw.params.FULL_RATE_FOLD` cycles
        per inference per input pixel: then its clock, not its folding, sets its throughput,
        and it gets register slices behind its engines and pipelined popcount trees
        (:meth:`popcount_stages`). Slower foldings keep the area."""
        _, h, w = self.plan.values[self.plan.input].shape
        return is_full_rate(self.budget, int(h) * int(w))

    def popcount_stages(self, width, *, kind="streamed"):
        """Register ranks of a ``width``-input popcount tree: one per :data:`LEVELS_PER_STAGE`
        levels in a :attr:`full_rate` network, none otherwise."""
        if not self.full_rate:
            return 0
        return -(-popcount_depth(width, kind=kind) // LEVELS_PER_STAGE)

    def check_output(self):
        """Raise :class:`NetworkError` unless the output is a ``(classes, 1, 1)`` integer
        vector (what the argmax head reads)."""
        output = self.plan.values[self.plan.output]
        if output.kind != "int" or tuple(output.shape[1:]) != (1, 1):
            raise NetworkError(self.plan.output, "output", f"the network must end in a (classes, "
                                                           f"1, 1) integer vector, got "
                                                           f"{output.kind} {output.shape}")

    def value(self, name):
        """The plan's :class:`~bnnhw.compiler.ValueFormat` of value ``name``."""
        return self.plan.values[name]

    def takes_pixels_at_once(self, engine):
        """Whether ``engine`` accepts an input pixel in one cycle whenever it has room (a line
        buffer, a FIFO, a register stage, the pooled dense layer's pixel buffer when a pixel is one
        word of it), rather than holding it while it works through it (serializers)."""
        if engine.op in ("add", "concat", "maxpool", "clip", "pa_bases"):
            return True
        if engine.op == "permute":
            return not self.slow_readers(engine.name)
        if engine.pool_layer is not None:     # its pixel buffer stores a pixel over SF cycles
            return engine.folding.synapse_folds == 1
        if engine.op in ("binary_conv2d", "int8_conv2d", "panet_conv2d"):
            return not _plain_window(engine.geometry)
        return False

    def slow_readers(self, value):
        """Whether some reader of ``value`` holds its pixels: then the producer's output
        deserializer keeps a second buffer so that it can collect the next pixel meanwhile (one
        buffer otherwise: the reader frees it in the cycle it is full)."""
        if value == self.plan.output:
            return True         # the argmax head holds the logits one cycle per class
        readers = self.readers.get(value, [])
        return not readers or not all(self.takes_pixels_at_once(r) for r, _ in readers)
