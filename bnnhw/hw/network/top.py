"""The top-level wiring: one component per plan engine, forks for values with several readers,
the argmax head, the network's streams ``i`` and ``o``."""

from amaranth.hdl import Elaboratable, Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..engines import Chain
from ..streams import Fork, SkidBuffer
from .builders import build_engine
from .graph import NetworkGraph
from .stages import ArgmaxHead, JoinEngine

__all__ = ["StreamingNetwork"]


def _quiet_when_unused(component, seen=None):
    """Silence Amaranth's "created but never used" warning for ``component`` and every
    elaboratable it holds (recursively): a network is also a description (engines, formats,
    plan) that the energy and traffic models read without elaborating it."""
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    component._MustUse__silence = True
    for value in vars(component).values():
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            for part in (item if isinstance(item, tuple) else (item,)):
                if isinstance(part, Elaboratable):
                    _quiet_when_unused(part, seen)




class StreamingNetwork(wiring.Component):
    """A whole compiled network as one streaming component; see :mod:`bnnhw.hw.network`.

    Parameters
    ----------
    plan : HardwarePlan
        ``bnnhw.compiler.hardware_plan(compiled, folding_plan)``, read as data: its engines in
        execution order, their foldings, geometries, ROM words and parameters, the value
        formats. The ROMs hold the plan's words, the same words the compiler's ``.hex`` images
        hold.

    Members
    -------
    i : In(stream.Signature(unsigned(input_format.bits)))
    o : Out(stream.Signature(unsigned(label_width + logits_format.bits)))

    Raises
    ------
    NetworkError
        An engine op with no builder, a network whose output is not a ``(classes, 1, 1)``
        integer vector, an int8 layer on inputs outside ``[-128, 127]``, a grouped PA-Net or a
        grouped non-depthwise int8 convolution; names the layer and field.
    """

    def __init__(self, plan):
        self._plan = plan
        self._graph = graph = NetworkGraph(plan)
        self._nodes = [(engine, build_engine(graph, engine)) for engine in graph.engines]
        graph.check_output()
        self._head = ArgmaxHead(graph.formats[plan.output], self.label_width)
        super().__init__({
            "i": In(stream.Signature(unsigned(self.input_format.bits))),
            "o": Out(stream.Signature(unsigned(self.label_width + self.logits_format.bits))),
        })
        _quiet_when_unused(self)

    # --- public description ----------------------------------------------------------------

    plan = property(lambda self: self._plan, doc="The hardware plan this network elaborates.")
    input_format = property(lambda self: self._graph.formats[self._plan.input])
    input_shape = property(lambda self: tuple(self._plan.values[self._plan.input].shape),
                           doc="``(C, H, W)`` of one input image.")
    input_range = property(lambda self: (self._plan.values[self._plan.input].lo,
                                         self._plan.values[self._plan.input].hi),
                           doc="``(lo, hi)`` of an input element (the model's input range).")
    logits_format = property(lambda self: self._graph.formats[self._plan.output])
    label_width = property(lambda self: max(1, ceil_log2(self.classes)))
    classes = property(lambda self: self._graph.formats[self._plan.output].elements)
    cycles_per_inference = property(lambda self: self._plan.cycles_per_inference,
                                    doc="The plan's initiation interval (slowest stage).")

    @property
    def register_slices(self):
        """Whether every engine but the joins and the permutations (wiring) ends in a
        :class:`SkidBuffer`: for networks
        folded to at most :data:`bnnhw.params.FULL_RATE_FOLD` cycles per input pixel, whose clock the
        combinational ``ready`` chain through the engines limits (boolnet at 1,024 cycles:
        46.8 -> 74.4 MHz on ECP5). Slower foldings keep the area (about ``3 * bits`` logic
        cells per engine output on iCE40): other paths set their clock."""
        return self._graph.full_rate

    @property
    def engines(self):
        """``[(value name, component)]`` in execution order: each engine's ``o`` stream carries
        that compiled value as pixel vectors (:meth:`format_of`); a fused threshold engine
        carries the threshold's value."""
        return [(engine.name, component) for engine, component in self._nodes]

    def format_of(self, value):
        """:class:`~bnnhw.hw.engines.PixelFormat` of a compiled value's stream."""
        return self._graph.formats[value]

    # --- wiring ----------------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        output = self._plan.output
        streams = {self._plan.input: [self.i]}  # value -> output streams, one per reader

        def connect(src, dst):
            m.d.comb += [dst.valid.eq(src.valid), dst.payload.eq(src.payload),
                         src.ready.eq(dst.ready)]

        produced = {self._plan.input: self.i}
        inputs_of = {}
        for engine, component in self._nodes:
            name = engine.name.replace(".", "_")
            if isinstance(component, JoinEngine) or engine.op == "permute" \
                    or not self.register_slices:      # joins' FIFOs end chains; wiring
                m.submodules[name] = component
                produced[engine.name] = component.o
                inputs_of[id(component)] = component
                continue
            # a register slice behind every engine: no ready path runs through two engines
            shape = component.o.payload.shape()
            wrapped = Chain([component, SkidBuffer(shape=shape)],
                            in_shape=component.i.payload.shape(), out_shape=shape)
            m.submodules[name] = wrapped
            produced[engine.name] = wrapped.o
            inputs_of[id(component)] = wrapped
        m.submodules.head = head = self._head

        readers = {name: list(r) for name, r in self._graph.readers.items()}
        readers.setdefault(output, []).append(("head", 0))
        for name, users in readers.items():
            source = produced[name]
            if len(users) == 1:
                streams[name] = [source]
            else:
                fork = Fork(shape=unsigned(self._graph.formats[name].bits), outputs=len(users),
                            registered=False)
                m.submodules[f"fork_{name.replace('.', '_')}"] = fork
                connect(source, fork.i)
                streams[name] = [getattr(fork, f"o{k}") for k in range(len(users))]
        taken = {name: 0 for name in streams}

        def next_stream(name):
            stream_ = streams[name][taken[name]]
            taken[name] += 1
            return stream_

        for engine, component in self._nodes:
            if isinstance(component, JoinEngine):
                for k, source in enumerate(engine.inputs):
                    connect(next_stream(source), getattr(component, f"i{k}"))
            else:
                connect(next_stream(engine.inputs[0]), inputs_of[id(component)].i)
        connect(next_stream(output), head.i)
        connect(head.o, self.o)
        return m
