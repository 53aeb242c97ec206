"""A global popcount pool fused into the int8 dense layer that reads it.

A classifier that ends ``global_pool`` (count of ones per channel over ``P`` positions of a bit
map) -> ``int8_dense`` computes, per output row ``r``,

    out[r] = bias[r] + sum_c W[r, c] * count[c],      count[c] = sum_p x_p[c]

(``golden.global_popcount_pool`` then ``golden.int8_dense``). Both steps are linear in the bits,
so the unit computes the same integers as

    out[r] = bias[r] + sum_p sum_c W[r, c] * x_p[c]

one pixel at a time: it never holds the ``C`` counters, the pooled vector nor an int8 copy of it,
only one accumulator per row. A product ``W[r, c] * x_p[c]`` is ``W[r, c]`` or 0, so a cycle's
``SIMD`` products are a masked sum of ROM bytes, no multiplier.

**Folding** (as :class:`Int8MAC`, ``docs/compiler.md``): ``PE`` rows in parallel, ``SIMD``
channels per cycle, ``SF = C / SIMD`` synapse folds, ``NF = rows / PE`` neuron folds; each pixel
takes ``NF * SF`` cycles, an image ``P * NF * SF``, at least :data:`DRAIN_CYCLES` (from an image's
last fold to its result on ``o``, the next image's last fold waits for the result to go). The weight ROMs have exactly ``Int8MAC``'s (and the compiler's) image layout: PE
``p``'s word at address ``nf*SF + sf`` holds row ``nf*PE + p``, channels ``sf*SIMD + i`` at bits
``8i .. 8i+7``.

**Accumulators**: PE ``p`` keeps the ``NF`` rows ``nf*PE + p`` in a ring of registers. The ring's
head takes every synapse fold of the current row and the ring rotates by one after the row's last
fold, so after ``NF`` rows (one pixel) it is back in row order; no multiplexer selects a row. A
row's first fold of an image starts from its bias (a constant selected by the row counter)
instead of the ring, so the rings are never cleared or reloaded.

**Streams**: ``i`` carries one pixel of ``C`` bits per transfer (bit ``c`` = channel ``c``), ``P``
transfers per image; ``o`` carries the ``rows`` results, row ``r`` at bits ``r*width ..`` (signed,
:attr:`width` bits, the exact range of the weights and biases). A pixel buffer of two banks of
``SF`` words of ``SIMD`` bits (``2*C`` bits, one block RAM) decouples the two: the writer stores
a pixel over ``SF`` cycles into a free bank (the pixel stays on ``i`` meanwhile, the stream rule;
``i.ready`` rises with its last word) while the folds read the other bank, so the producer is
held ``SF`` cycles per pixel, not ``NF * SF``, and needs no second output buffer.

**Pipeline**: issue (counters, ROM and pixel-buffer addresses) -> ROM word and pixel word ->
registered masked sum per PE -> ring head, ``o.valid`` rising 2 edges after the edge that issued
an image's last fold. ``i.ready`` depends only on registers, never on ``o.ready``. Two ways to
hand the result over (``result_register``):

- ``True`` (full-rate networks): the edge that puts an image's last fold into the rings also
  loads the finished rows into a result register (``o.payload``, ``rows * width`` flip-flops);
  the next image's folds go on meanwhile, only its last fold waits while a result is in the
  pipeline or held on ``o`` (not taken in that cycle). Images follow every
  ``max(P * NF * SF, DRAIN_CYCLES)`` cycles when ``o`` is taken at once; a consumer that holds
  ``o`` for ``k`` cycles (the argmax head) makes it ``max(P * NF * SF, k + 2)``.
- ``False`` (slower foldings, where the area matters more than the few cycles): ``o.payload``
  is the rings themselves, in row order; nothing of the next image is issued until ``o`` has
  transferred. Images follow every ``P * NF * SF + DRAIN_CYCLES`` cycles when ``o`` is taken at
  once, ``P * NF * SF + k + 2`` with a consumer that holds it ``k`` cycles.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from ..params import ParameterError, bool_param, int_param
from ._memory import buffer_memory
from ._rom import check_rom_images
from .int8mac import _tree_sum, _word_elements

__all__ = ["PooledInt8Dense", "DRAIN_CYCLES"]

#: Fewest cycles per image: an image's last fold, through the 3-stage pipeline, to ``o``'s transfer.
DRAIN_CYCLES = 3


class PooledInt8Dense(wiring.Component):
    """``out[r] = bias[r] + sum_c W[r, c] * popcount_p(x_p[c])`` over ``positions`` pixels.

    See the module docstring for the folding, the ring accumulators and the timing. Cycles per
    image with ``o`` taken at once (:attr:`cycles_per_image`): ``max(folds, DRAIN_CYCLES)`` with
    the result register, ``folds + DRAIN_CYCLES`` without (``folds = positions * rows/pe *
    channels/simd``).

    Parameters
    ----------
    weights : sequence of sequences of int
        ``pe`` ROM images in ``Int8MAC``'s layout (``pack_int8_weights``).
    bias : sequence of int
        One integer per row.
    channels : int
        ``C``, bits per input pixel (the dense layer's fan-in).
    positions : int
        ``P``, pixels per image (the pooled map's ``H * W``).
    pe, simd : int
        Rows in parallel (divides ``rows``), channels per cycle (divides ``channels``).
    result_register : bool
        Hold the result in its own register so that the next image's folds overlap its
        hand-over (default), or on the rings (fewer flip-flops, ``DRAIN_CYCLES`` more per image).

    Members
    -------
    i : In(stream.Signature(unsigned(channels)))
    o : Out(stream.Signature(unsigned(rows * width)))
    """

    def __init__(self, *, weights, bias, channels, positions, pe, simd, result_register=True):
        self._result_register = bool_param(result_register, "result_register")
        self._bias = tuple(int_param(b, f"bias[{r}]") for r, b in enumerate(bias))
        if not self._bias:
            raise ParameterError("bias", "expected one integer per row", "none")
        self._rows = len(self._bias)
        self._channels = int_param(channels, "channels", 1)
        self._positions = int_param(positions, "positions", 1)
        self._pe = int_param(pe, "pe", 1)
        self._simd = int_param(simd, "simd", 1)
        if self._rows % self._pe:
            raise ParameterError("pe", f"expected a divisor of rows={self._rows}", self._pe)
        if self._channels % self._simd:
            raise ParameterError("simd", f"expected a divisor of channels={self._channels}",
                                 self._simd)
        self._nf, self._sf = self._rows // self._pe, self._channels // self._simd
        self._weights = check_rom_images(weights, name="weights", count=self._pe,
                                         depth=self._nf * self._sf, word_bits=8 * self._simd)
        lo = hi = 0
        for r, b in enumerate(self._bias):
            image, nf = self._weights[r % self._pe], r // self._pe
            elements = [e for word in image[nf * self._sf:(nf + 1) * self._sf]
                        for e in _word_elements(word, self._simd)]
            lo = min(lo, b + self._positions * sum(e for e in elements if e < 0))
            hi = max(hi, b + self._positions * sum(e for e in elements if e > 0))
        self._width = max(bits_for(lo, require_sign_bit=True), bits_for(hi, True))
        super().__init__({
            "i": In(stream.Signature(unsigned(self._channels))),
            "o": Out(stream.Signature(unsigned(self._rows * self._width))),
        })

    rows = property(lambda self: self._rows)
    width = property(lambda self: self._width, doc="Bits of one signed result.")
    result_register = property(lambda self: self._result_register)

    @property
    def cycles_per_image(self):
        folds = self._positions * self._nf * self._sf
        return max(folds, DRAIN_CYCLES) if self._result_register else folds + DRAIN_CYCLES

    def elaborate(self, platform):
        m = Module()
        pe, simd, nf_count, sf_count = self._pe, self._simd, self._nf, self._sf
        positions, width = self._positions, self._width

        # --- pixel buffer: two banks of SF words of SIMD bits; the writer stores a pixel over
        # SF cycles into a free bank while the reader folds over the other
        pixels = m.submodules.pixels = buffer_memory(shape=unsigned(simd), depth=2 * sf_count)
        write, read = pixels.write_port(), pixels.read_port()
        full = Signal(2)                 # bank holds a whole pixel not yet folded
        write_bank, read_bank = Signal(), Signal()
        chunk = Signal(range(sf_count))
        bank_free = ~full.bit_select(write_bank, 1)
        last_chunk = chunk == sf_count - 1
        m.d.comb += [
            write.addr.eq(Mux(write_bank, sf_count, 0) + chunk),
            write.data.eq(self.i.payload.word_select(chunk, simd) if sf_count > 1
                          else self.i.payload),
            write.en.eq(self.i.valid & bank_free),
            self.i.ready.eq(bank_free & last_chunk),
        ]
        filled = Signal(2)
        emptied = Signal(2)
        with m.If(self.i.valid & bank_free):
            m.d.sync += chunk.eq(Mux(last_chunk, 0, chunk + 1))
            with m.If(last_chunk):
                m.d.sync += write_bank.eq(~write_bank)
                m.d.comb += filled.eq(Mux(write_bank, 0b10, 0b01))

        # --- issue: (pixel, nf, sf) counters; with the result register an image's last fold
        # waits while an earlier result is on its way to `o` or held there (not taken in this
        # cycle); without it nothing is issued from an image's last fold until `o` is taken
        pixel = Signal(range(positions))
        nf = Signal(range(nf_count))
        sf = Signal(range(sf_count))
        last_sf = sf == sf_count - 1
        last_of_pixel = last_sf & (nf == nf_count - 1)
        last_of_image = last_of_pixel & (pixel == positions - 1)
        issue = Signal()
        valid1, rotate1, last1, start1 = Signal(), Signal(), Signal(), Signal()
        valid2, rotate2, last2, start2 = Signal(), Signal(), Signal(), Signal()
        if self._result_register:
            pending = (self.o.valid & ~self.o.ready) | (valid1 & last1) | (valid2 & last2)
            blocked = last_of_image & pending
        else:
            # an image's last fold is issued, its result not yet taken
            waiting = Signal()
            blocked = waiting
        m.d.comb += [
            issue.eq(full.bit_select(read_bank, 1) & ~blocked),
            read.addr.eq(Mux(read_bank, sf_count, 0) + sf),
        ]
        with m.If(issue):
            m.d.sync += sf.eq(sf + 1)
            with m.If(last_sf):
                m.d.sync += [sf.eq(0), nf.eq(nf + 1)]
                with m.If(nf == nf_count - 1):
                    m.d.sync += [nf.eq(0), pixel.eq(pixel + 1), read_bank.eq(~read_bank)]
                    m.d.comb += emptied.eq(Mux(read_bank, 0b10, 0b01))
                    with m.If(pixel == positions - 1):
                        m.d.sync += pixel.eq(0)
                        if not self._result_register:
                            m.d.sync += waiting.eq(1)
        m.d.sync += full.eq((full | filled) & ~emptied)

        # --- stage 1: ROM words and the pixel's SIMD bits (pixel buffer word)
        chunk1 = read.data
        nf1 = Signal.like(nf)
        m.d.sync += [valid1.eq(issue), rotate1.eq(last_sf), last1.eq(last_of_image),
                     start1.eq((pixel == 0) & (sf == 0)), nf1.eq(nf)]
        address = nf * sf_count + sf
        words = []
        for p in range(pe):
            rom = m.submodules[f"rom{p}"] = Memory(shape=unsigned(8 * simd),
                                                   depth=nf_count * sf_count,
                                                   init=self._weights[p])
            port = rom.read_port()
            m.d.comb += port.addr.eq(address)
            words.append(port.data)

        # --- stage 2: masked sums, registered
        sum_shape = signed(8 + bits_for(simd))
        sums = [Signal(sum_shape, name=f"sum{p}") for p in range(pe)]
        nf2 = Signal.like(nf)
        m.d.sync += [valid2.eq(valid1), rotate2.eq(rotate1), last2.eq(last1),
                     start2.eq(start1), nf2.eq(nf1)]
        for p in range(pe):
            terms = [chunk1[i].replicate(8) & words[p][8 * i:8 * i + 8] for i in range(simd)]
            m.d.sync += sums[p].eq(_tree_sum([t.as_signed() for t in terms]))

        # --- stage 3: ring heads (a row's first fold of an image starts from its bias); the
        # image's last fold puts the finished rows into the result register `o.payload` (or
        # leaves them on the rings, which are `o.payload`)
        rings = [[Signal(signed(width), name=f"ring{p}_{k}") for k in range(nf_count)]
                 for p in range(pe)]
        heads = []
        with m.If(valid2):
            for p, (ring, total) in enumerate(zip(rings, sums)):
                bias = Array(Const(self._bias[k * pe + p], signed(width))
                             for k in range(nf_count))[nf2]
                head = Mux(start2, bias, ring[0]) + total
                heads.append(head)
                with m.If(rotate2):
                    m.d.sync += [a.eq(b) for a, b in zip(ring, ring[1:])]
                    m.d.sync += ring[-1].eq(head)
                with m.Else():
                    m.d.sync += ring[0].eq(head)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        if not self._result_register:
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += waiting.eq(0)
            with m.If(valid2 & last2):
                m.d.sync += self.o.valid.eq(1)
            m.d.comb += self.o.payload.eq(Cat(*(rings[r % pe][r // pe][:width]
                                                for r in range(self._rows))))
            return m
        with m.If(valid2 & last2):      # the last fold rotates: rows in order after it
            final = [rings[r % pe][r // pe + 1] if r // pe < nf_count - 1
                     else heads[r % pe] for r in range(self._rows)]
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(Cat(*(v[:width] for v in final)))]
        return m

