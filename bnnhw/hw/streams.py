"""Stream plumbing: width conversion, fork, join and FIFO buffering of ``lib.stream`` streams.

These blocks compute nothing; they reshape, copy, combine or buffer streams so that datapath
blocks of different widths and fan-outs can be assembled into an engine:

- :class:`Serializer` splits a vector of ``elements`` elements into ``elements/lanes`` transfers
  of ``lanes`` elements, lowest elements first; :class:`Deserializer` is its inverse.
- :class:`Fork` copies every item of one stream to ``outputs`` streams, which may accept it at
  different times.
- :class:`Join` combines one item from each of several streams into one item (input 0 in the low
  bits).
- :class:`StreamFIFO` buffers ``depth`` items (:class:`amaranth.lib.fifo.SyncFIFOBuffered`).
- :class:`SkidBuffer` is a register slice: ``i.ready`` a register, so no combinational path
  runs from ``o.ready`` to ``i.ready`` through it (the network puts one behind every engine).

Conventions (``docs/hw-conventions.md``): every block is a :class:`wiring.Component` with
:mod:`amaranth.lib.stream` interfaces, clocked by ``sync`` with its synchronous active-high reset,
which clears every valid flag and counter. Every output ``valid`` is a register (it never depends
combinationally on anything); an input ``ready`` may depend combinationally on output ``ready``
(and, in :class:`Join`, on the other inputs' ``valid``). Once an output is valid it holds its
payload until the transfer. Element ``e`` of a vector of ``width``-bit elements sits at bits
``e*width .. e*width + width - 1``. *Latency* counts clock edges from the edge that accepts an
input to the first cycle its result is presented (without stalls).
"""

from amaranth.hdl import Cat, Module, Mux, Shape, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import ParameterError, bool_param, int_param
from ._memory import buffer_memory

__all__ = ["Serializer", "Deserializer", "Fork", "Join", "StreamFIFO", "SkidBuffer"]


def _raw(payload):
    """The payload as a plain Amaranth value (layout views become their underlying bits)."""
    return payload.as_value() if hasattr(payload, "as_value") else payload


def _shape_param(value, name):
    """A shape-castable parameter (``unsigned(8)``, ``signed(4)``, a ``data.Layout``, ...)."""
    try:
        width = Shape.cast(value).width
    except (TypeError, ValueError):
        raise ParameterError(name, "expected a shape", repr(value)) from None
    if width < 1:
        raise ParameterError(name, "expected a shape at least 1 bit wide", repr(value))
    return value


def _vector_params(elements, width, lanes):
    elements = int_param(elements, "elements", 1)
    width = int_param(width, "width", 1)
    lanes = int_param(lanes, "lanes", 1)
    if elements % lanes:
        raise ParameterError("lanes", f"expected a divisor of elements={elements}", lanes)
    return elements, width, lanes


class _VectorStream(wiring.Component):
    """Common parameters and properties of :class:`Serializer` and :class:`Deserializer`."""

    def __init__(self, elements, width, lanes, in_lanes, out_lanes):
        self._elements, self._width, self._lanes = _vector_params(elements, width, lanes)
        super().__init__({
            "i": In(stream.Signature(unsigned(self._width * in_lanes(self)))),
            "o": Out(stream.Signature(unsigned(self._width * out_lanes(self)))),
        })

    elements = property(lambda self: self._elements, doc="Elements per vector.")
    width = property(lambda self: self._width, doc="Bits per element.")
    lanes = property(lambda self: self._lanes, doc="Elements per chunk transfer.")
    chunks = property(lambda self: self._elements // self._lanes,
                      doc="Chunk transfers per vector, ``elements // lanes``.")
    chunk_width = property(lambda self: self._lanes * self._width, doc="Bits per chunk.")
    vector_width = property(lambda self: self._elements * self._width, doc="Bits per vector.")
    latency = property(lambda self: 1, doc="Clock edges from input to output (no stalls).")


class Serializer(_VectorStream):
    """Split a vector of ``elements`` elements into ``elements/lanes`` chunks of ``lanes``.

    Transfer ``t`` of a vector holds elements ``t*lanes .. t*lanes + lanes - 1``, element
    ``t*lanes`` in the low bits (i.e. the vector's bits ``t*lanes*width ..`` in order). The vector
    is registered and shifted down by one chunk per output transfer; a new vector is accepted in
    the cycle its predecessor's last chunk transfers (or whenever the output is empty), so vectors
    stream back to back at one chunk per cycle: ``N`` vectors take ``N*elements/lanes`` cycles.
    With ``elements == lanes`` the block is a one-register pipeline stage.

    Latency 1 (from accepting a vector to presenting its first chunk).

    ``registered=False``: no copy of the vector. ``o`` shows chunk ``t`` of the input's payload
    (a multiplexer; the stream rule keeps the payload stable until it transfers), ``o.valid =
    i.valid``, and ``i.ready`` rises with the last chunk's transfer; latency 0, same rate, one
    counter instead of ``elements * width`` flip-flops.

    Parameters
    ----------
    elements : int
        Elements per vector, ``>= 1``.
    width : int
        Bits per element, ``>= 1``.
    lanes : int
        Elements per output transfer, ``>= 1``, dividing ``elements``; default 1.
    registered : bool
        Copy the vector into a shift register (default) or select chunks of the held input.

    Members
    -------
    i : In(stream.Signature(unsigned(elements * width)))
    o : Out(stream.Signature(unsigned(lanes * width)))

    Raises
    ------
    ParameterError
        A parameter is not a positive integer, or ``lanes`` does not divide ``elements``.
    """

    def __init__(self, *, elements, width, lanes=1, registered=True):
        self._registered = bool_param(registered, "registered")
        super().__init__(elements, width, lanes,
                         in_lanes=lambda self: self._elements, out_lanes=lambda self: self._lanes)

    latency = property(lambda self: int(self._registered),
                       doc="Clock edges from input to output (no stalls).")

    def elaborate(self, platform):
        m = Module()
        chunks, chunk_width = self.chunks, self.chunk_width
        if not self._registered and chunks == 1:
            wiring.connect(m, wiring.flipped(self.i), wiring.flipped(self.o))
            return m
        vector = Signal(self.vector_width)
        advance = ~self.o.valid | self.o.ready  # the output register is free after this edge
        if self._registered:
            m.d.comb += self.o.payload.eq(vector[:chunk_width])

        if chunks == 1:
            m.d.comb += self.i.ready.eq(advance)
            with m.If(advance):
                m.d.sync += [self.o.valid.eq(self.i.valid), vector.eq(self.i.payload)]
            return m

        if not self._registered:
            index = Signal(range(chunks))       # the chunk on `o`
            m.d.comb += [self.o.valid.eq(self.i.valid),
                         self.o.payload.eq(self.i.payload.word_select(index, chunk_width)),
                         self.i.ready.eq(self.o.ready & (index == chunks - 1))]
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += index.eq(Mux(index == chunks - 1, 0, index + 1))
            return m

        remaining = Signal(range(chunks))  # chunks of the vector after the one on `o`
        m.d.comb += self.i.ready.eq(advance & (remaining == 0))
        with m.If(advance):
            with m.If(remaining != 0):
                m.d.sync += [
                    vector.eq(vector >> chunk_width),
                    remaining.eq(remaining - 1),
                ]
            with m.Else():
                m.d.sync += self.o.valid.eq(self.i.valid)
                with m.If(self.i.valid):
                    m.d.sync += [vector.eq(self.i.payload), remaining.eq(chunks - 1)]
        return m


class Deserializer(_VectorStream):
    """Collect ``elements/lanes`` chunks of ``lanes`` elements into one vector.

    The inverse of :class:`Serializer`: input transfer ``t`` of a vector holds elements
    ``t*lanes .. t*lanes + lanes - 1``, element ``t*lanes`` in the low bits. The first
    ``chunks - 1`` chunks shift into an assembly register; the last one is written, together with
    them, into the output register. A chunk that completes a vector is accepted when the output
    register is free or transfers in the same cycle, the other chunks always (the assembly
    register is separate from the output), so one chunk per cycle is sustained. With
    ``elements == lanes`` the block is a one-register pipeline stage.

    Latency 1 from accepting the last chunk of a vector to presenting it (``chunks`` edges from
    accepting its first chunk when the chunks arrive back to back).

    ``double_buffered=False``: no assembly register; the chunks shift straight into the output
    register, which takes the next vector's first chunk in the cycle the current vector
    transfers. Same latency and rate while the output is taken promptly; a stalled output holds
    back the input (``i.ready = ~o.valid | o.ready``). Half the flip-flops.

    Parameters
    ----------
    elements : int
        Elements per vector, ``>= 1``.
    width : int
        Bits per element, ``>= 1``.
    lanes : int
        Elements per input transfer, ``>= 1``, dividing ``elements``; default 1.
    double_buffered : bool
        Separate assembly and output registers (default) or one register.

    Members
    -------
    i : In(stream.Signature(unsigned(lanes * width)))
    o : Out(stream.Signature(unsigned(elements * width)))

    Raises
    ------
    ParameterError
        A parameter is not a positive integer, or ``lanes`` does not divide ``elements``.
    """

    def __init__(self, *, elements, width, lanes=1, double_buffered=True):
        self._double = bool_param(double_buffered, "double_buffered")
        super().__init__(elements, width, lanes,
                         in_lanes=lambda self: self._lanes, out_lanes=lambda self: self._elements)

    def elaborate(self, platform):
        m = Module()
        chunks, chunk_width = self.chunks, self.chunk_width
        advance = ~self.o.valid | self.o.ready  # the output register is free after this edge
        with m.If(advance):
            m.d.sync += self.o.valid.eq(0)

        if chunks == 1:
            m.d.comb += self.i.ready.eq(advance)
            with m.If(advance):
                m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
            return m

        if not self._double:
            # Chunks shift into the output register itself; after `chunks` of them chunk 0 is
            # lowest and the vector is presented until it transfers.
            count = Signal(range(chunks))
            m.d.comb += self.i.ready.eq(advance)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [self.o.payload.eq(Cat(self.o.payload[chunk_width:], self.i.payload)),
                             count.eq(Mux(count == chunks - 1, 0, count + 1))]
                with m.If(count == chunks - 1):
                    m.d.sync += self.o.valid.eq(1)
            return m

        # Chunks 0 .. chunks-2 shift in from the top; after chunks-1 of them chunk 0 is lowest.
        assembly = Signal((chunks - 1) * chunk_width)
        count = Signal(range(chunks))  # chunks in `assembly`
        last = count == chunks - 1
        m.d.comb += self.i.ready.eq(~last | advance)
        with m.If(self.i.valid & self.i.ready):
            with m.If(last):
                m.d.sync += [
                    self.o.valid.eq(1),
                    self.o.payload.eq(Cat(assembly, self.i.payload)),
                    count.eq(0),
                ]
            with m.Else():
                m.d.sync += [
                    assembly.eq(Cat(assembly[chunk_width:], self.i.payload)),
                    count.eq(count + 1),
                ]
        return m


class Fork(wiring.Component):
    """Copy every input item to each of ``outputs`` output streams exactly once.

    An eager fork: the outputs may accept at different times. ``registered=True`` (default): the
    item is registered inside the block together with one valid flag per output (``o<k>.valid``);
    output ``k`` clears its flag when it takes the item; latency 1. ``registered=False``: no item
    register: every output shows the input's payload, ``o<k>.valid = i.valid & ~taken<k>`` with
    one flag per output set when it takes the item (the stream rule keeps the input's payload
    stable until it transfers); latency 0, one flip-flop per output. Either way the next input
    item is accepted when every output has taken the current one or takes it in the same cycle
    (``i.ready`` depends combinationally on the ``o<k>.ready``, never the reverse). Throughput
    one item per cycle when all outputs are ready.

    Parameters
    ----------
    shape : shape-castable
        Payload shape of the input and of every output (``unsigned(n)``, ``signed(n)``, a
        ``data.Layout``, ...), at least 1 bit wide.
    outputs : int
        Number of outputs, ``>= 1``.
    registered : bool
        Hold the item in a register (default) or pass the input's payload through.

    Members
    -------
    i : In(stream.Signature(shape))
    o0, o1, ..., o<outputs-1> : Out(stream.Signature(shape))
        Also :attr:`o` (a list) and :meth:`output`.

    Raises
    ------
    ParameterError
        ``shape`` is not a shape of at least 1 bit, or ``outputs`` is not a positive integer.
    """

    def __init__(self, *, shape, outputs, registered=True):
        self._shape = _shape_param(shape, "shape")
        self._outputs = int_param(outputs, "outputs", 1)
        self._registered = bool_param(registered, "registered")
        members = {"i": In(stream.Signature(self._shape))}
        members.update({f"o{k}": Out(stream.Signature(self._shape))
                        for k in range(self._outputs)})
        super().__init__(members)

    shape = property(lambda self: self._shape, doc="Payload shape.")
    outputs = property(lambda self: self._outputs, doc="Number of output streams.")
    latency = property(lambda self: int(self._registered),
                       doc="Clock edges from input to outputs (no stalls).")

    @property
    def o(self):
        """The output streams ``[o0, o1, ...]``."""
        return [self.output(k) for k in range(self._outputs)]

    def output(self, k):
        """Output stream ``o<k>``."""
        if not 0 <= k < self._outputs:
            raise IndexError(f"output {k} out of range for a fork with {self._outputs} outputs")
        return getattr(self, f"o{k}")

    def elaborate(self, platform):
        m = Module()
        outs = self.o
        if not self._registered:
            taken = Signal(self._outputs)
            m.d.comb += self.i.ready.eq(Cat(t | out.ready for t, out in zip(taken, outs)).all())
            for k, out in enumerate(outs):
                m.d.comb += [_raw(out.payload).eq(_raw(self.i.payload)),
                             out.valid.eq(self.i.valid & ~taken[k])]
                with m.If(out.valid & out.ready):
                    m.d.sync += taken[k].eq(1)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += taken.eq(0)
            return m
        item = Signal(Shape.cast(self._shape).width)
        # The current item leaves this cycle if no output still has to take it.
        m.d.comb += self.i.ready.eq(Cat(~out.valid | out.ready for out in outs).all())
        for out in outs:
            m.d.comb += _raw(out.payload).eq(item)
            with m.If(out.ready):
                m.d.sync += out.valid.eq(0)
        with m.If(self.i.ready):
            m.d.sync += [out.valid.eq(self.i.valid) for out in outs]
            m.d.sync += item.eq(_raw(self.i.payload))
        return m


class Join(wiring.Component):
    """Combine one item from each of ``len(shapes)`` input streams into one output item.

    The output payload is the concatenation of the input payloads, ``i0`` in the low bits. All
    inputs are consumed in the same cycle: when every input is valid and the output register is
    free (or transfers in that cycle). Each ``i<k>.ready`` thus depends combinationally on the
    other inputs' ``valid`` and on ``o.ready``; ``o.valid`` is a register. Throughput one item
    per cycle when all inputs are valid and the output is ready.

    Latency 1 (the output register). ``registered=False``: no output register (latency 0,
    ``o.valid`` = every input valid, the payload the inputs' payloads), for inputs that are
    registers already (FIFO outputs).

    Parameters
    ----------
    shapes : sequence of shape-castable
        Payload shape of each input (at least one, each at least 1 bit wide).
    registered : bool
        Output register (default) or none.

    Members
    -------
    i0, i1, ..., i<len(shapes)-1> : In(stream.Signature(shapes[k]))
        Also :attr:`i` (a list) and :meth:`input`.
    o : Out(stream.Signature(unsigned(sum of the input widths)))

    Raises
    ------
    ParameterError
        ``shapes`` is empty or not a sequence, or one of its items is not a shape of at least
        1 bit.
    """

    def __init__(self, *, shapes, registered=True):
        self._registered = bool_param(registered, "registered")
        if isinstance(shapes, (str, bytes)) or not hasattr(shapes, "__iter__"):
            raise ParameterError("shapes", "expected a sequence of shapes", repr(shapes))
        shapes = tuple(_shape_param(shape, f"shapes[{k}]") for k, shape in enumerate(shapes))
        if not shapes:
            raise ParameterError("shapes", "expected at least one input shape", "none")
        self._shapes = shapes
        members = {f"i{k}": In(stream.Signature(shape)) for k, shape in enumerate(shapes)}
        members["o"] = Out(stream.Signature(unsigned(self.width)))
        super().__init__(members)

    shapes = property(lambda self: self._shapes, doc="Payload shape of each input.")
    inputs = property(lambda self: len(self._shapes), doc="Number of input streams.")
    width = property(lambda self: sum(Shape.cast(shape).width for shape in self._shapes),
                     doc="Output payload bits (sum of the input widths).")
    latency = property(lambda self: int(self._registered),
                       doc="Clock edges from inputs to output (no stalls).")

    @property
    def i(self):
        """The input streams ``[i0, i1, ...]``."""
        return [self.input(k) for k in range(len(self._shapes))]

    def input(self, k):
        """Input stream ``i<k>``."""
        if not 0 <= k < len(self._shapes):
            raise IndexError(f"input {k} out of range for a join with {len(self._shapes)} inputs")
        return getattr(self, f"i{k}")

    def elaborate(self, platform):
        m = Module()
        ins = self.i
        if not self._registered:
            every = Cat(port.valid for port in ins).all()
            m.d.comb += [self.o.valid.eq(every),
                         self.o.payload.eq(Cat(_raw(port.payload) for port in ins))]
            m.d.comb += [port.ready.eq(every & self.o.ready) for port in ins]
            return m
        advance = ~self.o.valid | self.o.ready
        take = Signal()
        m.d.comb += take.eq(advance & Cat(port.valid for port in ins).all())
        m.d.comb += [port.ready.eq(take) for port in ins]
        with m.If(advance):
            m.d.sync += self.o.valid.eq(take)
        with m.If(take):
            m.d.sync += self.o.payload.eq(Cat(_raw(port.payload) for port in ins))
        return m


class StreamFIFO(wiring.Component):
    """First-in first-out buffer of ``depth`` items with stream interfaces.

    A memory of ``depth - 1`` items followed by the output (the memory's read register), as
    :class:`amaranth.lib.fifo.SyncFIFOBuffered`, so ``o.valid`` and ``o.payload`` are registers
    and ``i.ready`` depends only on the fill level, not on ``o.ready``. A word is read only once
    it has been written in an earlier cycle, so the memory never sees a read of the word being
    written (``_memory.buffer_memory``: the block RAM needs no collision logic). Throughput one
    item per cycle for ``depth >= 3``; ``depth == 1`` (one register) and ``depth == 2``
    alternate between accepting and holding, one item per two cycles.

    Latency 2 for ``depth >= 2`` (memory write, then the output register), 1 for ``depth == 1``.

    Parameters
    ----------
    shape : shape-castable
        Payload shape (``unsigned(n)``, ``signed(n)``, a ``data.Layout``, ...), at least 1 bit.
    depth : int
        Items the buffer holds, ``>= 1``.

    Members
    -------
    i : In(stream.Signature(shape))
    o : Out(stream.Signature(shape))

    Raises
    ------
    ParameterError
        ``shape`` is not a shape of at least 1 bit, or ``depth`` is not a positive integer.
    """

    def __init__(self, *, shape, depth):
        self._shape = _shape_param(shape, "shape")
        self._depth = int_param(depth, "depth", 1)
        super().__init__({
            "i": In(stream.Signature(self._shape)),
            "o": Out(stream.Signature(self._shape)),
        })

    shape = property(lambda self: self._shape, doc="Payload shape.")
    depth = property(lambda self: self._depth, doc="Items the buffer holds.")
    latency = property(lambda self: 1 if self._depth == 1 else 2,
                       doc="Clock edges from input to output (no stalls).")

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self._shape).width
        take = self.o.valid & self.o.ready
        if self._depth == 1:        # one register stage
            m.d.comb += self.i.ready.eq(~self.o.valid)
            with m.If(take):
                m.d.sync += self.o.valid.eq(0)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [self.o.valid.eq(1), _raw(self.o.payload).eq(_raw(self.i.payload))]
            return m
        depth = self._depth - 1     # items in the memory; one more waits on `o`
        memory = m.submodules.memory = buffer_memory(shape=unsigned(width), depth=depth)
        write, read = memory.write_port(), memory.read_port()
        head, tail = Signal(range(depth)), Signal(range(depth))
        level = Signal(range(depth + 1))
        push, pop = Signal(), Signal()
        m.d.comb += [
            self.i.ready.eq(level != depth),
            push.eq(self.i.valid & self.i.ready),
            # move the oldest item to `o` when `o` is empty or leaves now
            pop.eq((level != 0) & (~self.o.valid | self.o.ready)),
            write.addr.eq(tail), write.data.eq(_raw(self.i.payload)), write.en.eq(push),
            read.addr.eq(head), read.en.eq(pop),
            _raw(self.o.payload).eq(read.data),
        ]
        with m.If(take):
            m.d.sync += self.o.valid.eq(0)
        with m.If(pop):
            m.d.sync += [self.o.valid.eq(1), head.eq(Mux(head == depth - 1, 0, head + 1))]
        with m.If(push):
            m.d.sync += tail.eq(Mux(tail == depth - 1, 0, tail + 1))
        m.d.sync += level.eq(level + push - pop)
        return m


class SkidBuffer(wiring.Component):
    """Register slice of one stream: two items, full throughput, latency 1, and ``i.ready`` a
    function of registers only (fewer than two items held), never of ``o.ready``: a chain of
    ``ready`` signals through engines ends here, which bounds the longest combinational path of
    a network to one engine.

    The two items sit in two registers used in turn (a two-entry circular buffer): an item is
    written into the register the write pointer names when it is accepted, and ``o.payload`` is
    the register the read pointer names. So the payload registers are enabled by the input
    transfer alone; ``o.ready`` only moves the read pointer and the count (a few flip-flops).
    (A skid buffer that moves the held item into an output register would enable every payload
    register from ``o.ready``: in boolnet at 64 cycles per inference that wide enable, driven
    through the consumer's stall, set the clock.) While ``o`` moves, one item per cycle passes;
    when ``o`` is held, one more item is accepted and ``i.ready`` then stays low until ``o``
    moves.

    Parameters
    ----------
    shape : shape-castable
        Payload shape, at least 1 bit.

    Members
    -------
    i : In(stream.Signature(shape))
    o : Out(stream.Signature(shape))
    """

    def __init__(self, *, shape):
        self._shape = _shape_param(shape, "shape")
        super().__init__({
            "i": In(stream.Signature(self._shape)),
            "o": Out(stream.Signature(self._shape)),
        })

    shape = property(lambda self: self._shape, doc="Payload shape.")
    latency = property(lambda self: 1)

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self._shape).width
        items = [Signal(width, name=f"item{k}") for k in range(2)]
        count = Signal(range(3))
        write, read = Signal(), Signal()     # which register the next write / read uses
        push = self.i.valid & self.i.ready
        pop = self.o.valid & self.o.ready
        m.d.comb += [
            self.i.ready.eq(count != 2),
            self.o.valid.eq(count != 0),
            self.o.payload.eq(Mux(read, items[1], items[0])),
        ]
        with m.If(push):
            m.d.sync += write.eq(~write)
            with m.If(write):
                m.d.sync += items[1].eq(_raw(self.i.payload))
            with m.Else():
                m.d.sync += items[0].eq(_raw(self.i.payload))
        with m.If(pop):
            m.d.sync += read.eq(~read)
        m.d.sync += count.eq(count + push - pop)
        return m
