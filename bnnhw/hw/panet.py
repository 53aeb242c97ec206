"""PA-Net multi-base combiner: ``y = sum_ij phi[i][j] * popcount(T_i AND V_j)`` over folds.

The PA-Net multi-base layer of ``docs/numerics.md`` §9 (``bnnhw.golden.panet_dense`` /
``panet_conv2d``; the tests connect the two): ``M`` weight bases ``T_i`` and ``N`` activation
bases ``V_j``, bits in {0, 1}, and signed int16 fixed-point merged scales ``phi[i][j]`` (raw
values; ``y`` is the exact integer in units of ``2**-F``, ``F`` is the layer's business, not the
unit's).

:class:`PANetCombiner` computes one output row's ``y`` from ``width`` fan-in bits per base,
streamed in ``SIMD``-bit chunks (``folds = width / SIMD`` transfers per row, rows back to back).
Each transfer carries the ``M`` weight-base chunks and the ``N`` activation-base chunks of the same
fan-in positions:

- ``t``: ``M*SIMD`` bits, base ``m`` at bits ``m*SIMD ..`` — exactly one word of a PA-Net weight
  ROM of the compiler (``bnnhw.compiler.images``: "PA-Net words hold the M bases side by side"),
  so a PA-Net matrix-vector engine drives ``t`` from its per-PE ROM and ``v`` from its input
  buffer, one combiner per PE;
- ``v``: ``N*SIMD`` bits, base ``j`` at bits ``j*SIMD ..``.

Datapath: ``M*N`` streamed-weight :class:`~bnnhw.hw.popcount.AndPopcount` trees of ``SIMD`` bits,
then a constant-coefficient combiner. ``phi`` are constants, so each ``phi[i][j] * count`` is
built as shift-adds of the canonical signed-digit (CSD) form of ``phi`` (at most 9 nonzero digits
for int16; ``phi = 0`` costs nothing and its popcount tree is dropped by synthesis); all terms go
into one adder tree (positive digits) minus another (negative digits). The per-fold sum is then
accumulated over the ``folds`` transfers of a row.

Widths: ``y`` lies in ``[width * sum(min(phi, 0)), width * sum(max(phi, 0))]`` (each popcount is
in ``[0, width]``), so the output is ``signed(b)`` with ``b`` the smallest width holding that
range — at most ``ceil_log2(width * sum|phi|) + 1`` bits (``output_shape``). The accumulator
has the same width: every partial sum of a row lies in the same range.

Timing and stream rules (``docs/hw-conventions.md``): one global stall
``stall = o.valid & ~o.ready`` freezes every stage, ``i.ready = ~stall``, ``o.valid`` is a register.
Pipeline: input register -> popcount registers -> combined-term register -> accumulator / output
register. Latency 4 (``stream_timing`` sense): a row's ``y`` transfers 4 edges after the edge that
accepted its last chunk. Throughput: one chunk per cycle, one ``y`` every ``folds`` cycles.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import ParameterError, int_param
from ._memory import buffer_memory
from ._rom import check_rom_images
from .popcount import AndPopcount

__all__ = ["PANetCombiner", "PANetMVU", "csd_digits"]

_INT16 = (-(1 << 15), (1 << 15) - 1)


def csd_digits(value):
    """Canonical signed-digit form of ``value``: ``[(shift, sign)]`` with ``value = sum sign <<
    shift``, ``sign`` in ``{+1, -1}``, no two adjacent nonzero digits (fewest additions)."""
    value = int(value)
    digits, shift = [], 0
    while value:
        if value & 1:
            sign = 1 if value % 4 == 1 else -1
            digits.append((shift, sign))
            value -= sign
        value >>= 1
        shift += 1
    return digits


def phi_matrix(phi):
    """``phi`` checked and as a tuple of ``M`` tuples of ``N`` int16 values."""
    if hasattr(phi, "tolist"):
        phi = phi.tolist()
    try:
        rows = [list(row) for row in phi]
    except TypeError:
        raise ParameterError("phi", "expected an (M, N) array of integers", repr(phi)) from None
    if not rows or not rows[0]:
        raise ParameterError("phi", "expected M >= 1 weight and N >= 1 activation bases", repr(phi))
    if any(len(row) != len(rows[0]) for row in rows):
        raise ParameterError("phi", "expected an (M, N) array", "rows of different lengths")
    return tuple(tuple(int_param(value, f"phi[{i}][{j}]", *_INT16)
                       for j, value in enumerate(row)) for i, row in enumerate(rows))


def _signed_bits(lo, hi):
    """Smallest signed width holding ``[lo, hi]`` (``lo <= 0 <= hi``)."""
    return max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1


def _tree_sum(terms):
    while len(terms) > 1:
        terms = [terms[k] + terms[k + 1] if k + 1 < len(terms) else terms[k]
                 for k in range(0, len(terms), 2)]
    return terms[0]


class PANetCombiner(wiring.Component):
    """``y = sum_ij phi[i][j] * popcount(T_i AND V_j)`` for one output row per ``folds`` chunks.

    See the module docstring for the chunk layout, the shift-add combiner, widths and timing.

    Parameters
    ----------
    phi : sequence of sequences of int
        ``(M, N)`` signed int16 raw merged scales, ``M, N >= 1``.
    width : int
        Fan-in bits per base of one row (``K*K*C_in/groups``).
    simd : int
        Bits per base per transfer; divides ``width``.

    Members
    -------
    i : In(stream.Signature(data.StructLayout({"t": unsigned(M*simd), "v": unsigned(N*simd)})))
        One fan-in chunk: weight base ``m`` at ``t`` bits ``m*simd ..``, activation base ``j`` at
        ``v`` bits ``j*simd ..``; bit ``k`` of a base chunk is fan-in ``f*simd + k`` in fold ``f``.
        ``t`` is bits ``0 .. M*simd-1`` of the flattened payload.
    o : Out(stream.Signature(output_shape))
        ``y`` of each row, in input order.

    Raises
    ------
    ParameterError
        ``phi`` empty, ragged or outside int16; ``width`` or ``simd`` below 1; ``simd`` does not
        divide ``width``.
    """

    def __init__(self, *, phi, width, simd):
        self._phi = phi_matrix(phi)
        self._width = int_param(width, "width", 1)
        self._simd = int_param(simd, "simd", 1)
        if self._width % self._simd:
            raise ParameterError("simd", f"expected a divisor of width={self._width}",
                                 self._simd)
        self._folds = self._width // self._simd
        flat = [value for row in self._phi for value in row]
        self._y_range = (self._width * sum(min(v, 0) for v in flat),
                         self._width * sum(max(v, 0) for v in flat))
        self._term_range = (self._simd * sum(min(v, 0) for v in flat),
                            self._simd * sum(max(v, 0) for v in flat))
        self._output_shape = signed(_signed_bits(*self._y_range))
        super().__init__({
            "i": In(stream.Signature(self.input_layout)),
            "o": Out(stream.Signature(self._output_shape)),
        })

    phi = property(lambda self: self._phi, doc="``(M, N)`` int16 raw scales (tuples).")
    weight_bases = property(lambda self: len(self._phi), doc="``M``.")
    activation_bases = property(lambda self: len(self._phi[0]), doc="``N``.")
    width = property(lambda self: self._width, doc="Fan-in bits per base of one row.")
    simd = property(lambda self: self._simd, doc="Bits per base per transfer.")
    folds = property(lambda self: self._folds, doc="Transfers per row, ``width / simd``.")
    y_range = property(lambda self: self._y_range, doc="``(min, max)`` reachable ``y``.")
    output_shape = property(lambda self: self._output_shape, doc="Shape of ``y``.")
    latency = property(lambda self: 4, doc="Edges from a row's last chunk to its ``y``.")

    @property
    def input_layout(self):
        """``StructLayout({"t": unsigned(M*simd), "v": unsigned(N*simd)})``."""
        return data.StructLayout({
            "t": unsigned(self.weight_bases * self._simd),
            "v": unsigned(self.activation_bases * self._simd),
        })

    def elaborate(self, platform):
        m = Module()
        simd, folds = self._simd, self._folds
        n_w, n_a = self.weight_bases, self.activation_bases
        stall = Signal()
        m.d.comb += [stall.eq(self.o.valid & ~self.o.ready), self.i.ready.eq(~stall)]

        fold = Signal(range(folds), name="fold")
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += fold.eq(Mux(fold == folds - 1, 0, fold + 1))

        # stage 1: input register
        x1 = Signal(self.input_layout, name="x1")
        valid1, first1, last1 = Signal(name="valid1"), Signal(name="first1"), Signal(name="last1")
        with m.If(~stall):
            m.d.sync += [valid1.eq(self.i.valid), x1.eq(self.i.payload),
                         first1.eq(fold == 0), last1.eq(fold == folds - 1)]

        # stage 2: M*N AND-popcounts of SIMD bits
        counts = {}
        valid2, first2, last2 = Signal(name="valid2"), Signal(name="first2"), Signal(name="last2")
        with m.If(~stall):
            m.d.sync += [valid2.eq(valid1), first2.eq(first1), last2.eq(last1)]
        for i in range(n_w):
            for j in range(n_a):
                if self._phi[i][j] == 0:
                    continue
                unit = AndPopcount(simd)
                m.submodules[f"pc{i}_{j}"] = unit
                m.d.comb += [unit.w.eq(x1.t[i * simd:(i + 1) * simd]),
                             unit.a.eq(x1.v[j * simd:(j + 1) * simd])]
                count = Signal.like(unit.count, name=f"count{i}_{j}")
                with m.If(~stall):
                    m.d.sync += count.eq(unit.count)
                counts[i, j] = count

        # stage 3: constant-coefficient combiner (CSD shift-adds)
        plus, minus = [], []
        for (i, j), count in counts.items():
            for shift, sign in csd_digits(self._phi[i][j]):
                (plus if sign > 0 else minus).append(count << shift)
        term = Signal(signed(_signed_bits(*self._term_range)), name="term")
        valid3, first3, last3 = Signal(name="valid3"), Signal(name="first3"), Signal(name="last3")
        combined = (_tree_sum(plus) if plus else 0) - (_tree_sum(minus) if minus else 0)
        with m.If(~stall):
            m.d.sync += [valid3.eq(valid2), first3.eq(first2), last3.eq(last2),
                         term.eq(combined)]

        # accumulate over folds; output on the last
        acc = Signal(self._output_shape, name="acc")
        total = Signal(self._output_shape, name="total")
        m.d.comb += total.eq(term if folds == 1 else term + Mux(first3, 0, acc))
        with m.If(~stall):
            m.d.sync += self.o.valid.eq(valid3 & last3)
            with m.If(valid3):
                m.d.sync += acc.eq(total)
                with m.If(last3):
                    m.d.sync += self.o.payload.eq(total)
        return m



class PANetMVU(wiring.Component):
    """Folded PA-Net multi-base matrix-vector unit: ``PE`` :class:`PANetCombiner` s fed from
    per-PE weight-base ROMs and a replayed input vector (FINN's MVAU schedule).

    For every input vector (``fan_in`` fan-in positions of ``N`` activation bases, streamed as
    ``SF = fan_in / simd`` chunks) it computes ``y[r] = sum_ij phi[i][j] * popcount(T_i[r] AND
    V_j)`` for all ``rows``: neuron fold ``nf`` gives rows ``nf*PE .. nf*PE + PE-1``, one
    combiner per PE. Bit-exact to ``golden.panet_conv2d`` / ``panet_dense`` per output position.

    - ROMs: PE ``p``'s word at address ``nf*SF + sf`` holds weight bases ``m`` of row
      ``nf*PE + p`` at bits ``m*simd ..`` (the compiler's PA-Net image layout).
    - Input ``i``: ``unsigned(N*simd)`` chunks, activation base ``j`` at bits ``j*simd ..``.
    - Output ``o``: ``ArrayLayout(output_shape, pe)`` per neuron fold (lane ``p`` = row
      ``nf*PE + p``), ``NF = rows / pe`` transfers per vector.
    - Timing: ``SF * NF`` cycles per vector (fold 0 reads the input, the others replay a buffer
      of ``SF`` words); latency 1 (scheduler register) + 4 (combiner).
    """

    def __init__(self, *, words, phi, fan_in, rows, pe, simd):
        self._fan_in = int_param(fan_in, "fan_in", 1)
        self._rows = int_param(rows, "rows", 1)
        self._pe = int_param(pe, "pe", 1)
        self._simd = int_param(simd, "simd", 1)
        if self._rows % self._pe:
            raise ParameterError("pe", f"expected a divisor of rows={self._rows}", self._pe)
        if self._fan_in % self._simd:
            raise ParameterError("simd", f"expected a divisor of fan_in={self._fan_in}",
                                 self._simd)
        phi = phi_matrix(phi)
        self._m, self._n = len(phi), len(phi[0])
        self._words = check_rom_images(words, name="words", count=self._pe,
                                       depth=self.neuron_folds * self.synapse_folds,
                                       word_bits=self._m * self._simd)
        self._combiners = [PANetCombiner(phi=phi, width=self._fan_in, simd=self._simd)
                           for _ in range(self._pe)]
        super().__init__({
            "i": In(stream.Signature(unsigned(self._n * self._simd))),
            "o": Out(stream.Signature(data.ArrayLayout(self._combiners[0].output_shape,
                                                       self._pe))),
        })

    synapse_folds = property(lambda self: self._fan_in // self._simd, doc="``SF``.")
    neuron_folds = property(lambda self: self._rows // self._pe, doc="``NF``.")
    output_shape = property(lambda self: self._combiners[0].output_shape)
    latency = property(lambda self: 5)

    def elaborate(self, platform):
        from amaranth.lib.memory import Memory
        m = Module()
        sf_count, nf_count = self.synapse_folds, self.neuron_folds
        combiners = self._combiners
        for p, unit in enumerate(combiners):
            m.submodules[f"combiner_pe{p}"] = unit
        run = Signal()
        m.d.comb += run.eq(combiners[0].i.ready)   # lockstep: every combiner stalls alike

        sf = Signal(range(sf_count))
        nf = Signal(range(nf_count))
        first_fold = nf == 0
        step = Mux(first_fold, self.i.valid, 1)
        m.d.comb += self.i.ready.eq(run & first_fold)
        with m.If(step & run):
            m.d.sync += sf.eq(Mux(sf == sf_count - 1, 0, sf + 1))
            with m.If(sf == sf_count - 1):
                m.d.sync += nf.eq(Mux(nf == nf_count - 1, 0, nf + 1))

        valid1 = Signal()
        chunk1 = Signal(self._n * self._simd)
        with m.If(run):
            m.d.sync += valid1.eq(step)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += chunk1.eq(self.i.payload)
        activation = chunk1
        if nf_count > 1:
            buffer = buffer_memory(shape=unsigned(self._n * self._simd), depth=sf_count)
            m.submodules.vector_buffer = buffer
            write, read = buffer.write_port(), buffer.read_port()
            replay1 = Signal()
            with m.If(run):
                m.d.sync += replay1.eq(~first_fold)
            m.d.comb += [write.addr.eq(sf), write.data.eq(self.i.payload),
                         write.en.eq(self.i.valid & self.i.ready),
                         read.addr.eq(sf), read.en.eq(run)]
            activation = Mux(replay1, read.data, chunk1)

        depth = nf_count * sf_count
        address = Signal(range(depth))
        with m.If(step & run):
            m.d.sync += address.eq(Mux(address == depth - 1, 0, address + 1))
        for p, (unit, image) in enumerate(zip(combiners, self._words)):
            rom = Memory(shape=unsigned(self._m * self._simd), depth=depth, init=image)
            m.submodules[f"weights_pe{p}"] = rom
            port = rom.read_port()
            m.d.comb += [port.addr.eq(address), port.en.eq(run),
                         unit.i.valid.eq(valid1),
                         unit.i.payload.t.eq(port.data), unit.i.payload.v.eq(activation),
                         unit.o.ready.eq(self.o.ready),
                         self.o.payload[p].eq(unit.o.payload)]
        m.d.comb += self.o.valid.eq(combiners[0].o.valid)
        return m
