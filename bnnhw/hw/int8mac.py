"""Folded int8 matrix-vector unit: PE rows x SIMD int8 products per cycle, int32 accumulation.

The int8 layers of PokeInit (``docs/numerics.md`` §8: the 4x4 stride-4 int8 convolution, the 3x3
depthwise int8 convolution) and int8 classifiers compute, per output row ``r``,

    acc[r] = sum_k x[k] * w[r, k] + bias[r]          int8 operands, int32 accumulator

(``bnnhw.golden.int8_dense`` / ``int8_conv2d``; the tests connect the two). :class:`Int8MAC`
folds this as FINN's MVAU does (``docs/compiler.md``, folding): ``PE`` rows in parallel, each
taking ``SIMD`` fan-in elements per cycle; a row needs ``SF = fan_in / SIMD`` synapse folds and the
``rows`` outputs take ``NF = rows / PE`` neuron folds, so one input vector costs ``SF * NF``
cycles.

**Weights** sit in one ROM per PE (:class:`Memory` with ``init``), in exactly the compiler's image
layout (``bnnhw.compiler.images``): PE ``p``'s word at address ``nf*SF + sf`` holds row
``nf*PE + p``, fan-in elements ``sf*SIMD + i`` at bits ``8i .. 8i+7`` (two's complement). The
constructor takes those words as plain integers (the ``$readmemh`` image of each PE);
:func:`pack_int8_weights` builds them from a ``(rows, fan_in)`` matrix. **Biases** are one int32
per row (the compiler's per-channel bias image), kept in a ROM of ``NF`` words of ``PE`` lanes.

**Dense mode** (default; ordinary and grouped-per-engine convolutions, dense layers): the input
stream carries ``SIMD`` int8 elements per transfer, one vector = ``SF`` transfers in fan-in order.
During the first neuron fold the vector streams in (one transfer per cycle) and is written to an
internal buffer of ``SF`` words; the other ``NF - 1`` folds replay it from the buffer while the
input stream is held off (``i.ready`` low), as FINN's MVAU does. With ``NF == 1`` there is no
buffer.

**Depthwise mode** (``depthwise=True``; the 3x3 depthwise convolution): every row (channel) has
its own input vector of ``fan_in = K*K`` elements, so nothing is reused. A transfer carries
``PE * SIMD`` int8 elements, lane ``p``'s ``SIMD`` elements at positions ``p*SIMD ..``; transfer
``nf*SF + sf`` of an output position holds elements ``sf*SIMD ..`` of the windows of channels
``nf*PE .. nf*PE + PE-1``. A depthwise layer of ``C`` channels is then ``rows = C`` with
``fan_in = K*K`` and the same weight layout (row = channel); the sliding-window unit upstream
delivers each window in that (channel fold, kernel fold, lane, element) order. Cost: ``SF * NF``
cycles per output position, as in dense mode, with the input consumed every cycle.

**Output**: one transfer per neuron fold, ``PE`` int32 accumulators (lane ``p`` = row
``nf*PE + p``), in row order; vectors follow back to back.

Timing and stream rules (``docs/hw-conventions.md``): one global stall
``stall = o.valid & ~o.ready`` freezes every stage, counter and ROM read; ``o.valid`` is a
register. Pipeline: issue (counters, ROM and buffer addresses) -> stage 1 (operands: input
register or buffer word, ROM words, bias) -> stage 2 (``PE`` registered ``SIMD``-element dot
products: products and adder tree in one stage) -> accumulator / output register. Latency 3 in the
``stream_timing`` sense: the result of a neuron fold transfers (without stalls) 3 clock edges after
the edge that issued its last synapse fold (in dense mode's first neuron fold, the edge that
accepted the vector's last transfer); fold ``k`` of the stream (``k = vector*NF + nf``) comes out
at edge ``k*SF + SF - 1 + 3`` after edge 0 accepted the first transfer. Throughput: one synapse
fold per cycle without stalls, i.e. ``SF * NF`` cycles per vector and one output every ``SF``
cycles. Under backpressure the whole unit waits (global stall), so a slow consumer also slows the
input side.
"""

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from ..params import ParameterError, bool_param, int_param
from ._memory import buffer_memory
from ._rom import check_rom_images, sequence as _sequence

#: Adder-tree levels between two register ranks of a pipelined :class:`Int8MAC`.
TREE_LEVELS_PER_RANK = 2

__all__ = ["Int8MAC", "pack_int8_weights"]

INT32 = (-(1 << 31), (1 << 31) - 1)


def pack_int8_weights(matrix, *, pe, simd):
    """Per-PE ROM words of an int8 weight matrix, in the compiler's layout.

    Parameters
    ----------
    matrix : sequence of sequences of int
        ``(rows, fan_in)`` int8 weights, fan-in in hardware order (``fan_in_order``).
    pe, simd : int
        Folding; ``pe`` divides ``rows`` and ``simd`` divides ``fan_in``.

    Returns
    -------
    list of list of int
        ``words[p][nf*SF + sf]`` holds row ``nf*pe + p``, element ``sf*simd + i`` at bits
        ``8i .. 8i+7`` (two's complement), as the non-negative integer of the word.

    Raises
    ------
    ParameterError
        Ragged or empty ``matrix``, a weight outside ``[-128, 127]``, or a folding that does not
        divide the matrix.
    """
    rows = [_sequence(row, "matrix") for row in _sequence(matrix, "matrix")]
    if not rows or not rows[0]:
        raise ParameterError("matrix", "expected a non-empty (rows, fan_in) array", repr(matrix))
    fan_in = len(rows[0])
    pe, simd = _folding(len(rows), fan_in, pe, simd)
    words = [[] for _ in range(pe)]
    for r, row in enumerate(rows):
        if len(row) != fan_in:
            raise ParameterError(f"matrix[{r}]", f"expected {fan_in} elements", len(row))
        for sf in range(fan_in // simd):
            word = 0
            for i in range(simd):
                value = int_param(row[sf * simd + i], f"matrix[{r}][{sf * simd + i}]", -128, 127)
                word |= (value & 0xFF) << (8 * i)
            words[r % pe].append(word)
    return words


def _folding(rows, fan_in, pe, simd):
    pe = int_param(pe, "pe", 1)
    simd = int_param(simd, "simd", 1)
    if fan_in % simd:
        raise ParameterError("simd", f"expected a divisor of fan_in={fan_in}", simd)
    if rows % pe:
        raise ParameterError("pe", f"expected a divisor of rows={rows}", pe)
    return pe, simd


def _word_elements(word, simd):
    """The ``simd`` signed int8 elements of a ROM word."""
    return [((word >> (8 * i)) & 0xFF) - (((word >> (8 * i)) & 0x80) << 1) for i in range(simd)]


class Int8MAC(wiring.Component):
    """Folded int8 dot-product unit: ``acc[r] = sum_k x[k]*w[r, k] + bias[r]`` in int32.

    See the module docstring for the folding, the ROM layout, dense vs depthwise mode and timing.

    Parameters
    ----------
    weights : sequence of sequences of int
        ``pe`` ROM images: ``weights[p]`` lists PE ``p``'s ``rows/pe * fan_in/simd`` words, each
        a non-negative integer below ``2**(8*simd)`` (element ``i`` at bits ``8i .. 8i+7``, two's
        complement). :func:`pack_int8_weights` builds them from a matrix.
    bias : sequence of int
        One int32 per row; its length is ``rows``.
    fan_in : int
        Elements per dot product (``K*K*C_in/groups`` or a dense layer's inputs; ``K*K`` in
        depthwise mode).
    pe, simd : int
        Rows computed in parallel (divides ``rows``) and fan-in elements per cycle per row
        (divides ``fan_in``).
    depthwise : bool
        Each row takes its own input vector (see the module docstring); default ``False``.
    reread : bool
        Dense mode: the input vector arrives once per neuron fold (the sliding window re-reads
        its line buffer), so there is no vector buffer and the input is taken every cycle;
        default ``False``.
    input_range : (int, int)
        ``(lo, hi)`` within ``[-128, 127]``: the values the inputs take (default the whole int8
        range). The multipliers take only the bits those values need (``[0, 16]``: 5 unsigned
        bits) and the accumulators the exact range ``max|x| * sum|w| + |bias|``; the output
        lanes stay int32 (sign-extended). An input outside the range gives wrong sums.
    pipelined : bool
        Register the products (the DSP blocks' output registers) and every
        :data:`TREE_LEVELS_PER_RANK` levels of the adder tree, for clock speed: latency
        ``3 + 1 + (levels - 1) // 2`` for a tree of ``levels = ceil(log2(simd))`` levels
        (:attr:`latency`); default ``False`` (products and tree in one stage).

    Members
    -------
    i : In(stream.Signature(data.ArrayLayout(signed(8), simd)))
        ``simd`` int8 elements per transfer (``pe * simd`` in depthwise mode), element ``i`` in
        bits ``8i .. 8i+7``; a vector is ``fan_in / simd`` transfers in fan-in order.
    o : Out(stream.Signature(data.ArrayLayout(signed(32), pe)))
        Per neuron fold ``nf``, lane ``p`` = ``acc`` of row ``nf*pe + p``.

    Raises
    ------
    ParameterError
        ``simd`` does not divide ``fan_in``, ``pe`` does not divide ``rows``, ``weights`` does not
        hold ``pe`` images of ``rows/pe * fan_in/simd`` words of ``8*simd`` bits, ``bias`` is
        empty or outside int32, or some row can overflow the int32 accumulator for an int8 input
        (``|bias| + 128 * sum|w| >= 2**31``, the check of ``golden.int8``).
    """

    def __init__(self, *, weights, bias, fan_in, pe, simd, depthwise=False,
                 input_range=(-128, 127), reread=False, pipelined=False):
        self._reread = bool_param(reread, "reread")
        self._pipelined = bool_param(pipelined, "pipelined")
        bias = _sequence(bias, "bias")
        if not bias:
            raise ParameterError("bias", "expected one int32 per row", "none")
        self._bias = tuple(int_param(b, f"bias[{r}]", *INT32) for r, b in enumerate(bias))
        self._rows = len(self._bias)
        self._fan_in = int_param(fan_in, "fan_in", 1)
        self._pe, self._simd = _folding(self._rows, self._fan_in, pe, simd)
        self._depthwise = depthwise = bool_param(depthwise, "depthwise")
        self._sf = self._fan_in // self._simd
        self._nf = self._rows // self._pe

        self._weights = check_rom_images(weights, name="weights", count=self._pe,
                                         depth=self._nf * self._sf, word_bits=8 * self._simd)
        if not isinstance(input_range, (tuple, list)) or len(input_range) != 2:
            raise ParameterError("input_range", "expected (lo, hi)", repr(input_range))
        lo = int_param(input_range[0], "input_range", -128, 127)
        hi = int_param(input_range[1], "input_range", lo, 127)
        self._input_range = (lo, hi)
        largest = 0
        for r in range(self._rows):
            image, nf = self._weights[r % self._pe], r // self._pe
            magnitude = sum(abs(e) for word in image[nf * self._sf:(nf + 1) * self._sf]
                            for e in _word_elements(word, self._simd))
            worst = 128 * magnitude + abs(self._bias[r])
            if worst > INT32[1]:
                raise ParameterError(
                    "weights", f"expected row {r} to fit the int32 accumulator",
                    f"|acc| up to {worst}")
            largest = max(largest, max(-lo, hi) * magnitude + abs(self._bias[r]))
        # accumulator: the exact range for inputs in input_range (the output stays int32)
        self._acc_width = bits_for(largest, require_sign_bit=True) if largest else 2

        lanes = self._simd * (self._pe if depthwise else 1)
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(signed(8), lanes))),
            "o": Out(stream.Signature(data.ArrayLayout(signed(32), self._pe))),
        })

    accumulator_width = property(lambda self: self._acc_width,
                                 doc="Bits of each accumulator (exact for ``input_range``).")

    @classmethod
    def from_matrix(cls, matrix, bias, *, pe, simd, depthwise=False, pipelined=False):
        """An :class:`Int8MAC` from a ``(rows, fan_in)`` int8 matrix (``pack_int8_weights``)."""
        words = pack_int8_weights(matrix, pe=pe, simd=simd)
        fan_in = len(_sequence(_sequence(matrix, "matrix")[0], "matrix"))
        # Attribute the instance to our caller (Amaranth's unused-elaboratable lint reads the
        # creating file's ``# amaranth:`` options).
        self = cls.__new__(cls, src_loc_at=1)
        self.__init__(weights=words, bias=bias, fan_in=fan_in, pe=pe, simd=simd,
                      depthwise=depthwise, pipelined=pipelined)
        return self

    weights = property(lambda self: self._weights, doc="Per-PE ROM words (tuples of int).")
    bias = property(lambda self: self._bias, doc="Per-row int32 bias.")
    rows = property(lambda self: self._rows, doc="Output rows (channels).")
    fan_in = property(lambda self: self._fan_in, doc="Elements per dot product.")
    pe = property(lambda self: self._pe, doc="Rows in parallel.")
    simd = property(lambda self: self._simd, doc="Fan-in elements per cycle per row.")
    depthwise = property(lambda self: self._depthwise, doc="Per-row input vectors.")
    synapse_folds = property(lambda self: self._sf, doc="``SF = fan_in / simd``.")
    neuron_folds = property(lambda self: self._nf, doc="``NF = rows / pe``.")
    pipelined = property(lambda self: self._pipelined, doc="Registered products and tree.")

    @property
    def extra_ranks(self):
        """Register ranks between the operands and the dot-product register: the products and
        every :data:`TREE_LEVELS_PER_RANK` tree levels below the last (0 unless pipelined)."""
        if not self._pipelined:
            return 0
        levels = max(self._simd - 1, 0).bit_length()
        return 1 + max(levels - 1, 0) // TREE_LEVELS_PER_RANK

    @property
    def latency(self):
        """Edges from issuing a row's last fold to its output: 3, plus :attr:`extra_ranks`."""
        return 3 + self.extra_ranks

    @property
    def cycles_per_vector(self):
        """``SF * NF``: cycles per input vector (per output position) without stalls."""
        return self._sf * self._nf

    def elaborate(self, platform):
        m = Module()
        pe, simd, sf_count, nf_count = self._pe, self._simd, self._sf, self._nf
        depth = sf_count * nf_count
        stall = Signal()
        m.d.comb += stall.eq(self.o.valid & ~self.o.ready)

        # --- issue: fold counters, ROM / buffer addresses ---
        sf = Signal(range(sf_count), name="sf")
        nf = Signal(range(nf_count), name="nf")
        address = Signal(range(depth), name="address")
        streaming = Signal()  # this fold's operands come from the input stream
        m.d.comb += streaming.eq(1 if self._depthwise or nf_count == 1 or self._reread
                                 else nf == 0)
        issue = Signal()
        m.d.comb += [
            self.i.ready.eq(~stall & streaming),
            issue.eq(~stall & (~streaming | self.i.valid)),
        ]
        with m.If(issue):
            m.d.sync += [
                sf.eq(Mux(sf == sf_count - 1, 0, sf + 1)),
                address.eq(Mux(address == depth - 1, 0, address + 1)),
            ]
            with m.If(sf == sf_count - 1):
                m.d.sync += nf.eq(Mux(nf == nf_count - 1, 0, nf + 1))

        word_layout = data.ArrayLayout(signed(8), simd)
        roms = []
        for p in range(pe):
            rom = Memory(shape=unsigned(8 * simd), depth=depth, init=self._weights[p])
            m.submodules[f"weights{p}"] = rom
            read = rom.read_port()
            m.d.comb += [read.addr.eq(address), read.en.eq(~stall)]
            roms.append(word_layout(read.data))
        acc_shape = signed(self._acc_width)
        lo, hi = self._input_range
        x_shape = unsigned(bits_for(hi)) if lo >= 0 else signed(max(bits_for(lo, True),
                                                                    bits_for(hi, True)))
        bias_rom = Memory(shape=data.ArrayLayout(acc_shape, pe), depth=nf_count,
                          init=[list(self._bias[n * pe:(n + 1) * pe]) for n in range(nf_count)])
        m.submodules.bias = bias_rom
        bias_read = bias_rom.read_port()
        m.d.comb += [bias_read.addr.eq(nf), bias_read.en.eq(~stall)]

        # --- stage 1: operands ---
        x1 = Signal.like(self.i.payload, name="x1")
        valid1, first1, last1, streamed1 = (Signal(name=n) for n in
                                            ("valid1", "first1", "last1", "streamed1"))
        with m.If(~stall):
            m.d.sync += [
                valid1.eq(issue), first1.eq(sf == 0), last1.eq(sf == sf_count - 1),
                streamed1.eq(streaming), x1.eq(self.i.payload),
            ]
        if self._depthwise or nf_count == 1 or self._reread:
            x = x1
        else:
            buffer = buffer_memory(shape=word_layout, depth=sf_count)
            m.submodules.buffer = buffer
            write = buffer.write_port()
            replay = buffer.read_port()
            m.d.comb += [
                write.addr.eq(sf), write.data.eq(self.i.payload),
                write.en.eq(self.i.valid & self.i.ready),
                replay.addr.eq(sf), replay.en.eq(~stall),
            ]
            x = Signal(word_layout, name="x")
            m.d.comb += x.eq(Mux(streamed1, x1, replay.data))

        # --- stage 2: PE dot products of SIMD elements (pipelined: products and tree ranks) ---
        def delayed(value, name):
            """``value`` through the pipeline's extra ranks (stalling with everything)."""
            for rank in range(self.extra_ranks):
                register = Signal.like(value, name=f"{name}_r{rank}")
                with m.If(~stall):
                    m.d.sync += register.eq(value)
                value = register
            return value

        dot_shape = signed(8 + x_shape.width + max(simd - 1, 0).bit_length())
        dots = [Signal(dot_shape, name=f"dot{p}") for p in range(pe)]
        bias2 = Signal(data.ArrayLayout(acc_shape, pe), name="bias2")
        valid2, first2, last2 = Signal(name="valid2"), Signal(name="first2"), Signal(name="last2")
        sums = []
        for p in range(pe):
            base = p * simd if self._depthwise else 0
            # inputs lie in input_range: their low bits are the value
            elements = [Value.cast(x[base + i])[:x_shape.width] for i in range(simd)]
            terms = [(e if lo >= 0 else e.as_signed()) * roms[p][i]
                     for i, e in enumerate(elements)]
            sums.append(self._tree(m, terms, stall, f"pe{p}"))
        with m.If(~stall):
            m.d.sync += [valid2.eq(delayed(valid1, "valid1")),
                         first2.eq(delayed(first1, "first1")),
                         last2.eq(delayed(last1, "last1")),
                         bias2.eq(delayed(bias_read.data, "bias1"))]
            m.d.sync += [dots[p].eq(sums[p]) for p in range(pe)]

        # --- accumulate; output on the last synapse fold ---
        acc = Signal(data.ArrayLayout(acc_shape, pe), name="acc")
        total = Signal(data.ArrayLayout(acc_shape, pe), name="total")
        for p in range(pe):
            m.d.comb += total[p].eq(Mux(first2, bias2[p], acc[p]) + dots[p])
        with m.If(~stall):
            m.d.sync += self.o.valid.eq(valid2 & last2)
            with m.If(valid2):
                m.d.sync += acc.eq(total)
                with m.If(last2):
                    m.d.sync += [self.o.payload[p].eq(total[p]) for p in range(pe)]
        return m



    def _tree(self, m, terms, stall, name):
        """The sum of ``terms``: a balanced adder tree; pipelined, the products and every
        :data:`TREE_LEVELS_PER_RANK` levels below the last go through a register rank (as many
        as :attr:`extra_ranks`)."""
        if not self._pipelined:
            return _tree_sum(terms)
        ranks = 0

        def register(values):
            nonlocal ranks
            out = []
            for k, value in enumerate(values):
                reg = Signal.like(Value.cast(value), name=f"{name}_t{ranks}_{k}")
                with m.If(~stall):
                    m.d.sync += reg.eq(value)
                out.append(reg)
            ranks += 1
            return out

        terms = register(terms)                 # the products
        level = 0
        while len(terms) > 1:
            terms = [terms[k] + terms[k + 1] if k + 1 < len(terms) else terms[k]
                     for k in range(0, len(terms), 2)]
            level += 1
            if len(terms) > 1 and level % TREE_LEVELS_PER_RANK == 0:
                terms = register(terms)
        assert ranks == self.extra_ranks
        return terms[0]


def _tree_sum(terms):
    """Balanced adder tree (Amaranth widens each sum by one bit)."""
    while len(terms) > 1:
        terms = [terms[k] + terms[k + 1] if k + 1 < len(terms) else terms[k]
                 for k in range(0, len(terms), 2)]
    return terms[0]
