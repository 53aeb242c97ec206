"""Binary matrix-vector unit (FINN's MVAU, open and in Amaranth): folded popcounts of weight rows.

For an input vector ``x`` of ``fan_in`` bits and a ``rows x fan_in`` weight matrix ``W`` the unit
computes, per row ``r``,

    p[r] = popcount(XNOR(x, W[r]))        op = "xnor"  (docs/numerics.md §3; s = 2p - N)
    p[r] = popcount(AND(x, W[r]))         op = "and"

optionally saturated as ``min(p[r], P)`` by a counter that saturates at ``P`` across the synapse
folds (``saturate_at``, docs/numerics.md §7). That is ``golden.binary_dense`` (then
``golden.saturate(p, P)``) on one vector in hardware fan-in order.

**Folding** (docs/compiler.md): ``PE`` rows x ``SIMD`` bits per cycle, ``SF = fan_in / SIMD``
synapse folds, ``NF = rows / PE`` neuron folds. The input arrives as ``SF`` transfers of ``SIMD``
bits (transfer ``sf`` = fan-in elements ``sf*SIMD .. sf*SIMD + SIMD-1``, element ``i`` at bit
``i``); the output is ``NF`` transfers of ``PE`` counts, transfer ``nf`` carrying rows
``nf*PE + p`` (lane ``p`` of the payload). Each PE has a weight ROM with exactly the compiler's
image layout (``bnnhw.compiler.memory_images``): PE ``p``'s word at address ``nf*SF + sf`` holds
row ``nf*PE + p``, fan-in elements ``sf*SIMD ..`` at bits ``0 .. SIMD-1``.

**Schedule** (as FINN's MVAU): neuron fold 0 consumes the input stream, one chunk per cycle,
and writes each chunk into a vector buffer of ``SF`` words; neuron folds ``1 .. NF-1`` replay the
chunks from the buffer while ``i.ready`` stays low. Every cycle is one (nf, sf) step, so a vector
takes exactly ``SF * NF`` cycles (the DESIGN.md §5 formula) and the next vector is accepted on the
cycle after the current one's last step: vectors stream back to back at full rate. The upstream
engine sees ``i.ready`` low for ``(NF - 1) * SF`` of every ``NF * SF`` cycles and needs no more
buffering than its own output register (a double-buffered input would only let the upstream run
ahead; it cannot make this unit faster).

Pipeline (docs/hw-conventions.md: one global stall ``stall = o.valid & ~o.ready``; every register,
ROM/buffer read enable and popcount rank advances when ``~stall``): step issue (counters, ROM and
buffer read addresses) -> stage 1 (input chunk register, ROM and buffer words) -> popcount tree
(``stages`` ranks) -> accumulator and output register. The accumulator starts at the fold's first
chunk and the output register takes the sum with the last one.

**Zero padding** (``zero_pad=True``, XNOR with ROM weights; docs/numerics.md §4): each input
transfer carries one more bit, bit ``SIMD``, set when the chunk's taps all lie in the border of
a zero-padded convolution (``SlidingWindow(zero_pad=True)`` emits it; the chunk's bits are then
ignored). The unit accumulates the zero-padded count ``u = sum (border ? SIMD : 2*popcount)``,
which is ``2*p_valid + P = v + N`` for the dot value ``v`` over the real taps: counts in
``[0, 2N]`` (:attr:`count_top`), golden's ``binary_conv2d`` with ``pad_value=0``. ``saturate_at``
then bounds ``u``. The flag travels beside the chunk through the buffer and the tree's ranks;
the doubling is a wire, the border term a multiplexer on the constant ``SIMD``.

Constant-weight mode (``weights=``): fully unrolled, ``PE = rows`` and ``SIMD = fan_in``; row
``r`` is an ``XnorPopcount``/``AndPopcount`` with constant weights (XNOR with a constant is a wire
or an inverter, absorbed into the tree's leaf LUTs; AND drops the zero-weight bits), no ROM, no
buffer, no accumulator. Same streams: one transfer of ``fan_in`` bits in, one of ``rows`` counts
out.

``bnnhw.hw`` does not import ``bnnhw.golden`` or the compiler: ROM contents come in as plain lists
of integers.
"""

import numbers

from amaranth.hdl import Const, EnableInserter, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..params import ParameterError, bool_param, int_param, is_bool
from ._memory import buffer_memory
from ._rom import check_rom_images, sequence as _sequence
from .popcount import AndPopcount, XnorPopcount, popcount_depth

__all__ = ["BinaryMVAU"]


def _bit(value, name):
    if is_bool(value):
        return int(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return int(value)
    raise ParameterError(name, "expected bits 0/1", repr(value))


def _weight_matrix(weights):
    rows = _sequence(weights, "weights")
    if not rows:
        raise ParameterError("weights", "expected a (rows, fan_in) matrix of bits", "no rows")
    matrix = []
    for r, row in enumerate(rows):
        row = _sequence(row, f"weights[{r}]")
        if not row:
            raise ParameterError(f"weights[{r}]", "expected at least one bit", "an empty row")
        if matrix and len(row) != len(matrix[0]):
            raise ParameterError(f"weights[{r}]", f"expected {len(matrix[0])} bits like row 0",
                                 len(row))
        matrix.append(tuple(_bit(b, f"weights[{r}][{c}]") for c, b in enumerate(row)))
    return tuple(matrix)


class BinaryMVAU(wiring.Component):
    """Folded binary matrix-vector unit: popcounts of ``rows`` weight rows with one input vector.

    Computes ``p[r] = popcount(OP(x, W[r]))`` (``OP`` = XNOR or AND) for ``r = 0 .. rows-1``,
    or ``min(p[r], saturate_at)``; bit-exact to ``golden.binary_dense`` (and ``golden.saturate``)
    on vectors in hardware fan-in order. See the module docstring for the layouts and schedule.

    Two modes:

    - **ROM weights** (``words=``): ``rows``, ``fan_in``, ``pe``, ``simd`` given; ``words[p]`` is
      PE ``p``'s ROM image (``NF * SF`` words of ``SIMD`` bits, the compiler's layout).
    - **Constant weights** (``weights=``): a ``rows x fan_in`` bit matrix, fully unrolled
      (``PE = rows``, ``SIMD = fan_in``; ``rows``/``fan_in``/``pe``/``simd`` may be omitted and
      are checked if given).

    Timing, with ``SF = fan_in / simd``, ``NF = rows / pe``:

    - throughput: one (nf, sf) step per cycle, **``SF * NF`` cycles per vector** with vectors back
      to back (``cycles_per_vector``); one input transfer per cycle during neuron fold 0, none
      during the other ``(NF - 1) * SF`` cycles.
    - latency ``2 + stages`` (:attr:`latency`): clock edges from the edge that issues a neuron
      fold's last synapse fold (for ``nf = 0``, the edge accepting the vector's last chunk) to the
      edge that transfers that fold's output. Without stalls, input chunk ``sf`` of a vector
      accepted at edge ``t0 + sf`` gives output ``nf`` at edge ``t0 + nf*SF + SF-1 + latency``.

    Parameters
    ----------
    fan_in : int
        ``N``, bits per input vector (``>= 1``).
    rows : int
        Weight rows (output counts per vector, ``>= 1``).
    pe : int
        Rows computed in parallel; must divide ``rows``.
    simd : int
        Input bits per cycle; must divide ``fan_in``.
    words : sequence of sequences of int, optional
        ``pe`` ROM images of ``(rows/pe) * (fan_in/simd)`` words in ``[0, 2**simd)``.
    weights : (rows, fan_in) sequence of bits, optional
        Constant weights (exclusive with ``words``).
    op : {"xnor", "and"}
        Product before the popcount (default ``"xnor"``).
    saturate_at : int, optional
        ``P >= 1``: each count is ``min(p, P)``, accumulated by a counter saturating at ``P``
        (exact across folds since partial popcounts are non-negative), ``ceil_log2(P + 1)`` bits
        wide. ``P >= fan_in`` never saturates and adds no logic. Default: no saturation.
    stages : int
        Pipeline ranks inside each popcount tree (``0 .. depth``, default 0); adds to the
        latency, not to the cycles per vector.
    groups : int
        ``G`` (grouped convolutions; default 1): rows ``g*rows/G ..`` see their own input vector
        (``fan_in`` bits of group ``g``), so a position takes ``G`` vectors back to back, vector
        ``g`` buffered and replayed for its ``NF/G`` neuron folds. The ROM layout and the
        ``SF * NF`` cycles per position are unchanged; ``G`` must divide ``NF``.
    reread : bool
        The input vector arrives once per neuron fold (``NF/G`` times per vector; a
        ``SlidingWindow`` with ``repeat=NF/G`` re-reads its line buffer), so no vector buffer:
        every step takes a chunk from the stream. Default ``False``.
    zero_pad : bool
        Zero padding (module docstring): inputs of ``simd + 1`` bits, bit ``simd`` the border
        flag; counts are zero-padded counts in ``[0, 2*fan_in]``. XNOR with ROM words only.
        Default ``False``.
    words_in_logic : bool
        ROM words only: hard-wire them instead of a ROM, each PE's ``SIMD`` weight bits a
        multiplexer of its ``NF * SF`` constant words on the registered word address. With up
        to four words a popcount leaf (two activations and two address bits) stays one LUT4 and
        the ROM's LUTs and output register disappear (the folded form of the constant-weight
        mode). Same timing and results. Default ``False``.

    Members
    -------
    i : In(stream.Signature(unsigned(simd)))
        Input chunks, ``fan_in / simd`` transfers per vector (``simd + 1`` bits with
        ``zero_pad``).
    o : Out(stream.Signature(data.ArrayLayout(unsigned(count_width), pe)))
        ``rows / pe`` transfers per vector; element ``p`` of transfer ``nf`` is row ``nf*pe + p``
        (bits ``p*count_width ..`` of the flattened Verilog port).

    Raises
    ------
    ParameterError
        A non-positive or non-integer ``fan_in``/``rows``/``pe``/``simd``; ``simd`` not dividing
        ``fan_in``; ``pe`` not dividing ``rows``; neither or both of ``words``/``weights``; the
        wrong number of ROM images or words, or words wider than ``simd``; ``weights`` not a
        non-empty rectangular matrix of bits, or not matching given ``rows``/``fan_in``/``pe``/
        ``simd``; unknown ``op``; ``saturate_at < 1``; ``stages`` out of range; ``groups`` not
        dividing ``rows / pe`` (the neuron folds).
    """

    def __init__(self, *, fan_in=None, rows=None, pe=None, simd=None, words=None, weights=None,
                 op="xnor", saturate_at=None, stages=0, groups=1, reread=False, zero_pad=False,
                 words_in_logic=False):
        self._reread = bool_param(reread, "reread")
        self._words_in_logic = bool_param(words_in_logic, "words_in_logic")
        if op not in ("xnor", "and"):
            raise ParameterError("op", "expected 'xnor' or 'and'", repr(op))
        self._op = op
        self._zero_pad = bool_param(zero_pad, "zero_pad")
        if self._zero_pad and (op != "xnor" or weights is not None):
            raise ParameterError("zero_pad", "expected an XNOR unit with ROM words (an AND "
                                             "border of zeros is the pad bit 0)", repr(zero_pad))
        if (words is None) == (weights is None):
            raise ParameterError("words", "expected either ROM words (words=) or constant weights "
                                          "(weights=), exactly one of them",
                                 "both" if words is not None else "neither")
        if weights is not None:
            matrix = _weight_matrix(weights)
            shape = {"rows": len(matrix), "fan_in": len(matrix[0]),
                     "pe": len(matrix), "simd": len(matrix[0])}
            for name, given in (("rows", rows), ("fan_in", fan_in), ("pe", pe), ("simd", simd)):
                if given is not None and int_param(given, name, 1) != shape[name]:
                    raise ParameterError(
                        name, f"expected {shape[name]} (constant weights are fully unrolled: a "
                              f"{shape['rows']} x {shape['fan_in']} matrix)", repr(given))
            rows, fan_in, pe, simd = shape["rows"], shape["fan_in"], shape["pe"], shape["simd"]
            self._weights, self._words = matrix, None
        else:
            for name, value in (("fan_in", fan_in), ("rows", rows), ("pe", pe), ("simd", simd)):
                if value is None:
                    raise ParameterError(name, "expected a value with ROM words", "None")
            fan_in = int_param(fan_in, "fan_in", 1)
            rows = int_param(rows, "rows", 1)
            pe = int_param(pe, "pe", 1)
            simd = int_param(simd, "simd", 1)
            self._weights = None
        self._fan_in, self._rows, self._pe, self._simd = fan_in, rows, pe, simd
        if fan_in % simd:
            raise ParameterError("simd", f"expected a divisor of fan_in={fan_in}", simd)
        if rows % pe:
            raise ParameterError("pe", f"expected a divisor of rows={rows}", pe)
        self._groups = int_param(groups, "groups", 1)
        if (rows // pe) % self._groups:
            raise ParameterError("groups", f"expected a divisor of the {rows // pe} neuron folds "
                                           f"(pe={pe} must divide the {rows}/groups rows per "
                                           f"group)", self._groups)
        if self._weights is None:
            self._words = self._check_words(words)
        elif self._words_in_logic:
            raise ParameterError("words_in_logic", "expected ROM words (words=); constant "
                                                   "weights are logic already", "True")

        if saturate_at is None:
            self._saturate_at = None
        else:
            self._saturate_at = int_param(saturate_at, "saturate_at", 1)
        self._count_top = 2 * fan_in if self._zero_pad else fan_in
        top = self._count_top if saturate_at is None else min(self._count_top, self._saturate_at)
        self._count_width = ceil_log2(top + 1)

        # Trees are built in elaborate (a unit that is never elaborated leaves no unused
        # children behind); their depth is known now, so ``stages`` is checked here.
        if self._weights is None:
            depth = popcount_depth(simd, kind="streamed")
        elif op == "xnor":
            depth = popcount_depth(fan_in)
        else:  # constant AND trees count only the weight-1 bits; shallower ones get registers
            depth = max(popcount_depth(sum(row)) for row in self._weights)
        if is_bool(stages) or not isinstance(stages, numbers.Integral) \
                or not 0 <= stages <= depth:
            raise ParameterError("stages", f"expected an integer in [0, {depth}] (the popcount "
                                           f"tree depth)", repr(stages))
        self._stages = int(stages)

        super().__init__({
            "i": In(stream.Signature(unsigned(simd + self._zero_pad))),
            "o": Out(stream.Signature(data.ArrayLayout(unsigned(self._count_width), pe))),
        })

    def _check_words(self, words):
        return check_rom_images(words, name="words", count=self._pe,
                                depth=self.neuron_folds * self.synapse_folds,
                                word_bits=self._simd)

    fan_in = property(lambda self: self._fan_in, doc="Bits per input vector ``N``.")
    rows = property(lambda self: self._rows, doc="Weight rows (counts per vector).")
    pe = property(lambda self: self._pe, doc="Rows in parallel.")
    simd = property(lambda self: self._simd, doc="Input bits per cycle.")
    op = property(lambda self: self._op, doc='``"xnor"`` or ``"and"``.')
    saturate_at = property(lambda self: self._saturate_at, doc="``P``, or ``None``.")
    stages = property(lambda self: self._stages, doc="Pipeline ranks of each popcount tree.")
    words_in_logic = property(lambda self: self._words_in_logic,
                              doc="ROM words hard-wired as multiplexed constants.")
    reread = property(lambda self: self._reread,
                      doc="The input vector arrives once per neuron fold (no vector buffer).")
    count_width = property(lambda self: self._count_width, doc="Bits per output count.")
    zero_pad = property(lambda self: self._zero_pad,
                        doc="Zero padding: a border flag per chunk, zero-padded counts.")
    count_top = property(lambda self: self._count_top,
                         doc="Largest count before saturation: ``fan_in``, ``2*fan_in`` with "
                             "``zero_pad``.")
    words = property(lambda self: self._words,
                     doc="ROM images (tuple per PE), or ``None`` with constant weights.")
    weights = property(lambda self: self._weights,
                       doc="Constant weight matrix (tuple of row tuples), or ``None``.")
    constant = property(lambda self: self._weights is not None, doc="Constant-weight mode.")
    synapse_folds = property(lambda self: self._fan_in // self._simd, doc="``SF``.")
    groups = property(lambda self: self._groups,
                      doc="``G``: input vectors per output position, one per row group.")
    neuron_folds = property(lambda self: self._rows // self._pe, doc="``NF``.")
    latency = property(lambda self: 2 + self._stages,
                       doc="Edges from issuing a fold's last chunk to its output transfer.")

    @property
    def cycles_per_vector(self):
        """``(fan_in / simd) * (rows / pe)``: cycles per input vector at full rate."""
        return self.synapse_folds * self.neuron_folds

    def elaborate(self, platform):
        m = Module()
        sf_count, nf_count = self.synapse_folds, self.neuron_folds
        stall = Signal()
        run = ~stall
        m.d.comb += stall.eq(self.o.valid & ~self.o.ready)

        # --- step issue: neuron fold 0 takes the input stream, the others replay the buffer ---
        sf = Signal(range(sf_count))
        group_folds = nf_count // self._groups   # folds sharing one input vector
        nf = Signal(range(group_folds))
        first_fold = Signal()
        step = Signal()
        m.d.comb += [
            # reread: every fold takes its chunks from the stream (the window sends the vector
            # once per fold), so every fold is a "first" fold and no buffer exists
            first_fold.eq(1 if self._reread else nf == 0),
            step.eq(Mux(first_fold, self.i.valid, 1)),
            self.i.ready.eq(run & first_fold),
        ]
        with m.If(step & run):
            m.d.sync += sf.eq(Mux(sf == sf_count - 1, 0, sf + 1))
            with m.If(sf == sf_count - 1):
                m.d.sync += nf.eq(Mux(nf == group_folds - 1, 0, nf + 1))

        # --- stage 1: input chunk register, ROM words, buffered chunk ---
        valid1, first1, last1 = Signal(), Signal(), Signal()
        chunk1 = Signal(self._simd + self._zero_pad)
        with m.If(run):
            m.d.sync += [
                valid1.eq(step),
                first1.eq(sf == 0),
                last1.eq(sf == sf_count - 1),
            ]
        with m.If(self.i.valid & self.i.ready):  # loaded only on transfers: no garbage toggles
            m.d.sync += chunk1.eq(self.i.payload)
        activation = chunk1
        if group_folds > 1 and not self._reread:
            buffer = buffer_memory(shape=unsigned(self._simd + self._zero_pad), depth=sf_count)
            m.submodules.vector_buffer = buffer
            write = buffer.write_port()
            read = buffer.read_port()
            replay1 = Signal()
            with m.If(run):
                m.d.sync += replay1.eq(~first_fold)
            m.d.comb += [
                write.addr.eq(sf),
                write.data.eq(self.i.payload),
                write.en.eq(self.i.valid & self.i.ready),
                read.addr.eq(sf),
                read.en.eq(run),
            ]
            activation = Mux(replay1, read.data, chunk1)

        if self._words is not None:
            depth = nf_count * sf_count
            address = Signal(range(depth))
            with m.If(step & run):
                m.d.sync += address.eq(Mux(address == depth - 1, 0, address + 1))
            weight_words = []
            if self._words_in_logic:     # constant words, multiplexed on the stage-1 address
                address1 = Signal.like(address, name="address1")
                with m.If(run):
                    m.d.sync += address1.eq(address)
            for p, image in enumerate(self._words):
                if self._words_in_logic:
                    word = Signal(self._simd, name=f"weights_pe{p}")
                    if depth == 1:
                        m.d.comb += word.eq(image[0])
                    else:
                        with m.Switch(address1):
                            for a, value in enumerate(image):
                                with m.Case(a):
                                    m.d.comb += word.eq(value)
                    weight_words.append(word)
                    continue
                rom = Memory(shape=unsigned(self._simd), depth=depth, init=image)
                m.submodules[f"weights_pe{p}"] = rom
                port = rom.read_port()
                m.d.comb += [port.addr.eq(address), port.en.eq(run)]
                weight_words.append(port.data)

        # --- popcount trees (their ranks stall with everything else) ---
        cls = XnorPopcount if self._op == "xnor" else AndPopcount
        if self._weights is None:
            trees = [cls(self._simd, stages=self._stages) for _ in range(self._pe)]
        else:
            trees = [cls(self._fan_in, weights=row, stages=min(
                self._stages, popcount_depth(sum(row) if self._op == "and" else len(row))))
                for row in self._weights]
        counts = []
        for p, tree in enumerate(trees):
            m.submodules[f"popcount_pe{p}"] = EnableInserter(run)(tree) if self._stages else tree
            m.d.comb += tree.a.eq(activation[:self._simd] if self._zero_pad else activation)
            if self._words is not None:
                m.d.comb += tree.w.eq(weight_words[p])
            count = tree.count
            for rank in range(tree.stages, self._stages):  # a shallow constant-AND tree
                delayed = Signal.like(count, name=f"count_pe{p}_r{rank}")
                with m.If(run):
                    m.d.sync += delayed.eq(count)
                count = delayed
            counts.append(count)
        valid_t, first_t, last_t = valid1, first1, last1
        border_t = activation[self._simd] if self._zero_pad else None
        for rank in range(self._stages):
            regs = Signal(name=f"valid_r{rank}"), Signal(name=f"first_r{rank}"), \
                Signal(name=f"last_r{rank}")
            with m.If(run):
                m.d.sync += [regs[0].eq(valid_t), regs[1].eq(first_t), regs[2].eq(last_t)]
            valid_t, first_t, last_t = regs
            if self._zero_pad:
                border = Signal(name=f"border_r{rank}")
                with m.If(run):
                    m.d.sync += border.eq(border_t)
                border_t = border
        if self._zero_pad:   # the zero-padded count of a chunk: SIMD for the border, else 2p
            counts = [Mux(border_t, self._simd, count << 1) for count in counts]

        # --- accumulator (saturating at P if asked) and output register ---
        limit = self._saturate_at
        saturating = limit is not None and limit < self._count_top
        with m.If(run):
            m.d.sync += self.o.valid.eq(valid_t & last_t)
        for p, count in enumerate(counts):
            total = count
            if sf_count > 1:
                acc = Signal(self._count_width, name=f"acc_pe{p}")
                total = Mux(first_t, 0, acc) + count
            if saturating:
                total = Mux(total > limit, Const(limit, self._count_width), total)
            total_sig = Signal(self._count_width, name=f"total_pe{p}")
            m.d.comb += total_sig.eq(total)
            with m.If(run & valid_t):
                if sf_count > 1:
                    m.d.sync += acc.eq(total_sig)
                with m.If(last_t):
                    m.d.sync += self.o.payload[p].eq(total_sig)
        return m
