# amaranth: UnusedElaboratable=no
"""Binary matrix-vector-threshold unit (FINN's MVTU): one binary conv/dense layer with its BN sign.

A :class:`BinaryMVTU` is a :class:`~bnnhw.hw.mvau.BinaryMVAU` followed by one
:class:`~bnnhw.hw.threshold.ThresholdUnit` per PE lane (DESIGN.md §5): for an input vector ``x``
of ``fan_in`` bits and row ``r`` of the weight matrix,

    p[r]     = popcount(OP(x, W[r]))           (optionally min(p[r], saturate_at))
    bit_n[r] = (p[r] >= T[n, r]) XOR invert[n, r]        n = 0 .. k-1

``T == 0`` is a constant channel (``p >= 0`` always holds, the bit is ``NOT invert``) and needs no
special logic. This is ``golden.binary_dense`` then ``golden.sign_threshold`` (``k = 1``) or
``golden.multi_slice_sign`` (``k`` slices) — a compiled ``binary_dense``/``binary_conv2d`` layer
and the ``threshold`` layer right after it (docs/numerics.md §5-7).

**Layouts** (docs/compiler.md). Input: ``SF = fan_in / SIMD`` transfers of ``SIMD`` bits per
vector, hardware fan-in order. Output: ``NF = rows / PE`` transfers per vector of
``ArrayLayout(unsigned(k), pe)``; lane ``p`` of transfer ``nf`` belongs to row ``r = nf*PE + p``
and its bit ``n`` is slice ``n`` — Verilog payload bit ``p*k + n``. Golden's multi-slice output is
slice-major, so that bit is golden channel ``n*rows + r = n*rows + nf*PE + p``; for ``k = 1`` it is
simply channel ``r``. The consumer (a grouped convolution with ``groups = k``) picks slice ``n``
from bit ``n`` of every lane.

**Threshold ROMs**: PE ``p`` has a ROM of ``NF`` words, word ``nf`` for row ``nf*PE + p``; slice
``n`` at bits ``n*(w+1) ..``: threshold in ``w`` bits, then the invert bit, ``w = ceil(log2(N+1))``
(``fan_in.bit_length()``). That is exactly the compiler's per-PE threshold words (the hardware
plan's ``Thresholds.words``, written as ``<layer>.thresholds.pe<p>.hex``) and exactly the ROM
word of :class:`ThresholdUnit` (``ArrayLayout(StructLayout({threshold: w, invert: 1}), k)``), so
lane ``p``'s threshold unit is built on PE ``p``'s words with ``C = NF`` channels: its own
channel counter counts neuron folds.

**Composition.** The ``PE`` threshold units share the MVAU's ``o.valid`` and the MVTU's
``o.ready``; being identical pipelines they stay in lockstep (same ``valid``/``stall`` registers,
same channel counter), so lane 0's ``i.ready`` is everyone's and lane 0's ``o.valid`` (a register)
is the MVTU's. One global stall as in ``docs/hw-conventions.md``: ``o.ready`` reaches the threshold
units' stall, then the MVAU's (``mvau.o.ready = ~stall_thr``), then ``i.ready``; ``o.valid`` never
depends on ``o.ready``.

``bnnhw.hw`` does not import ``bnnhw.golden`` or the compiler and reads no ``.hex`` image: the
weight and threshold contents come in as plain integers (threshold vectors or ROM words), in the
network top from the compiler's hardware plan (``Engine.weights``, ``Engine.thresholds``).
"""

import numbers

from amaranth.hdl import Module, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..params import ParameterError, int_param, is_bool
from .mvau import BinaryMVAU, _sequence
from .threshold import ThresholdUnit, _rows

__all__ = ["BinaryMVTU"]


def _threshold_arrays(threshold, invert, rows):
    """``(k x rows threshold, k x rows invert, two_d)`` from the ``(rows,)``/``(k, rows)`` forms."""
    t_rows, two_d = _rows(threshold, "threshold")
    if not t_rows:
        raise ParameterError("threshold", "expected k >= 1 slices", 0)
    t = []
    for n, row in enumerate(t_rows):
        if len(row) != rows:
            raise ParameterError(f"threshold[{n}]", f"expected rows={rows} channels", len(row))
        values = []
        for c, value in enumerate(row):
            values.append(int_param(value, f"threshold[{n}][{c}]"))
        t.append(tuple(values))
    if invert is None:
        inv = [tuple(False for _ in range(rows)) for _ in t]
    else:
        i_rows, i_two_d = _rows(invert, "invert")
        if i_two_d != two_d or len(i_rows) != len(t) or any(len(r) != rows for r in i_rows):
            shape = f"{len(t)} x {rows}" if two_d else f"{rows}"
            raise ParameterError("invert", f"expected threshold's shape ({shape})", repr(invert))
        inv = []
        for row in i_rows:
            for flag in row:
                if not (is_bool(flag) or (isinstance(flag, numbers.Integral)
                                          and int(flag) in (0, 1))):
                    raise ParameterError("invert", "expected bools or 0/1", repr(flag))
            inv.append(tuple(bool(flag) for flag in row))
    return tuple(t), tuple(inv), two_d


class BinaryMVTU(wiring.Component):
    """Folded binary matrix-vector unit with per-PE threshold (multi-slice sign) units.

    One binary dense/conv layer with its batch norm folded into ``k`` thresholds per row; see the
    module docstring for the layouts. Bit-exact to the compiled network's ``threshold`` layer
    after a ``binary_dense``/``binary_conv2d`` (golden, slice-major channel ``n*rows + r`` = lane
    ``p``, bit ``n`` of output transfer ``nf`` with ``r = nf*PE + p``).

    Timing, with ``SF = fan_in / simd``, ``NF = rows / pe``:

    - throughput: the MVAU's, **``SF * NF`` cycles per vector**, vectors back to back; one output
      transfer (``PE x k`` bits) per neuron fold, i.e. every ``SF`` cycles.
    - latency ``4 + stages`` (:attr:`latency`) = MVAU ``2 + stages`` + threshold unit 2: edges
      from the edge issuing a neuron fold's last synapse fold (for ``nf = 0``, accepting the
      vector's last chunk) to the edge transferring that fold's bits. Without stalls, chunk
      ``sf`` of a vector accepted at edge ``t0 + sf`` gives output ``nf`` at edge
      ``t0 + nf*SF + SF-1 + latency``.

    Parameters
    ----------
    fan_in, rows, pe, simd, words, weights, op, saturate_at, stages, groups, reread, zero_pad,
    words_in_logic
        As :class:`BinaryMVAU` (``words=`` per-PE weight ROM images, hard-wired and multiplexed
        with ``words_in_logic``, or ``weights=`` constant, fully unrolled). With ``zero_pad`` the thresholds compare zero-padded counts: every
        ``fan_in`` below reads ``2*fan_in`` (the MVAU's ``count_top``).
    threshold : sequence of int, shape ``(rows,)`` or ``(k, rows)``, optional
        ``T`` in ``[0, fan_in]`` per row (and slice), golden's ``SignThreshold.threshold``;
        ``0`` marks a constant channel. With ``saturate_at = P`` every ``T`` must be ``<= P``.
    invert : sequence of bool, same shape, optional
        Invert flags (default all false).
    threshold_words : sequence of sequences of int, optional
        The compiler's per-PE threshold ROM words: ``pe`` lists of ``NF`` words, slice ``n`` at
        bits ``n*(w+1)`` (threshold, ``w`` bits) and ``n*(w+1) + w`` (invert). Needs ``slices``.
        Given together with ``threshold``, both must describe the same thresholds.
    slices : int, optional
        ``k`` of ``threshold_words`` (with ``threshold``, it is checked if given).
    threshold_width : int, optional
        ``w``: bits of a stored threshold (and of the threshold units' popcount input); default
        and minimum ``fan_in.bit_length()`` (the compiler's width).

    Members
    -------
    i : In(stream.Signature(unsigned(simd)))
        Input chunks, ``SF`` transfers per vector.
    o : Out(stream.Signature(data.ArrayLayout(unsigned(k), pe)))
        ``NF`` transfers per vector; element ``p`` of transfer ``nf`` holds the ``k`` bits of row
        ``nf*pe + p`` (Verilog payload bits ``p*k .. p*k + k-1``, bit ``n`` = slice ``n``).

    Raises
    ------
    ValueError
        Whatever :class:`BinaryMVAU` rejects (named as there); ``threshold``: neither form
        given, wrong shape, non-integers or values outside ``[0, fan_in]``; ``invert``: shape or
        values; ``threshold_words``: wrong number of images or words, words wider than
        ``k*(w+1)`` bits, thresholds above ``fan_in``, disagreeing with ``threshold``;
        ``slices`` missing or ``< 1``; ``threshold_width`` below ``fan_in.bit_length()``;
        ``saturate_at`` below a threshold.
    """

    def __init__(self, *, fan_in=None, rows=None, pe=None, simd=None, words=None, weights=None,
                 op="xnor", saturate_at=None, stages=0, threshold=None, invert=None,
                 threshold_words=None, slices=None, threshold_width=None, groups=1,
                 reread=False, zero_pad=False, words_in_logic=False):
        self._mvau = BinaryMVAU(fan_in=fan_in, rows=rows, pe=pe, simd=simd, words=words,
                                weights=weights, op=op, saturate_at=saturate_at, stages=stages,
                                groups=groups, reread=reread, zero_pad=zero_pad,
                                words_in_logic=words_in_logic)
        mvau = self._mvau
        # thresholds compare the MVAU's counts: [0, N], or zero-padded counts [0, 2N]
        fan_in, rows, pe = mvau.count_top, mvau.rows, mvau.pe
        nf_count = mvau.neuron_folds

        needed = fan_in.bit_length()
        if threshold_width is None:
            self._width = needed
        else:
            self._width = int_param(threshold_width, "threshold_width", 1)
            if self._width < needed:
                raise ParameterError("threshold_width", f"expected at least {needed} bits to hold "
                                                        f"thresholds up to fan_in={fan_in}",
                                     self._width)
        w = self._width

        if threshold is None and threshold_words is None:
            raise ParameterError("threshold", "expected threshold= (and invert=) or "
                                              "threshold_words= (with slices=)", "neither")
        if slices is not None:
            slices = int_param(slices, "slices", 1)
        decoded = None
        if threshold_words is not None:
            if slices is None:
                raise ParameterError("slices", "expected k (slices per word) with "
                                               "threshold_words", "None")
            decoded = self._decode_words(threshold_words, slices, w, fan_in, rows, pe, nf_count)
        if threshold is not None:
            t, inv, two_d = _threshold_arrays(threshold, invert, rows)
            if slices is not None and len(t) != slices:
                raise ParameterError("slices", f"expected threshold's {len(t)} slices", slices)
            for n, row in enumerate(t):
                for r, value in enumerate(row):
                    if not 0 <= value <= fan_in:
                        raise ParameterError(f"threshold[{n}][{r}]",
                                             f"expected an integer in [0, fan_in={fan_in}]", value)
            if decoded is not None and decoded != (t, inv):
                bad = next((n, r) for n in range(len(t)) for r in range(rows)
                           if (t[n][r], inv[n][r]) != (decoded[0][n][r], decoded[1][n][r]))
                raise ParameterError("threshold_words", "expected words that agree with "
                                                        "threshold/invert",
                                     f"a difference at slice {bad[0]}, row {bad[1]}")
        else:
            (t, inv), two_d = decoded, slices > 1
        self._threshold, self._invert, self._two_d = t, inv, two_d

        if mvau.saturate_at is not None:
            top = max(max(row) for row in t)
            if top > mvau.saturate_at:
                raise ParameterError(
                    "saturate_at", f"expected at least the largest threshold {top} (counts "
                                   f"saturated below it would miss p >= T)", mvau.saturate_at)

        super().__init__({
            "i": In(stream.Signature(unsigned(mvau.simd + mvau.zero_pad))),
            "o": Out(stream.Signature(data.ArrayLayout(unsigned(self.slices), pe))),
        })

    @staticmethod
    def _decode_words(images, slices, w, fan_in, rows, pe, nf_count):
        images = _sequence(images, "threshold_words")
        if len(images) != pe:
            raise ParameterError("threshold_words", f"expected one ROM image per PE ({pe})",
                                 len(images))
        bits = slices * (w + 1)
        t = [[0] * rows for _ in range(slices)]
        inv = [[False] * rows for _ in range(slices)]
        for p, image in enumerate(images):
            image = _sequence(image, f"threshold_words[{p}]")
            if len(image) != nf_count:
                raise ParameterError(f"threshold_words[{p}]",
                                     f"expected rows/pe = {nf_count} words", len(image))
            for nf, word in enumerate(image):
                word = int_param(word, f"threshold_words[{p}][{nf}]")
                if not 0 <= word < 1 << bits:
                    raise ParameterError(f"threshold_words[{p}][{nf}]", f"expected a word that "
                                         f"fits k*(w+1) = {slices}*{w + 1} bits", f"{word:#x}")
                r = nf * pe + p
                for n in range(slices):
                    field = word >> (n * (w + 1))
                    value = field & ((1 << w) - 1)
                    if value > fan_in:
                        raise ParameterError(f"threshold_words[{p}][{nf}]",
                                             f"expected slice {n}'s threshold <= fan_in={fan_in}",
                                             value)
                    t[n][r] = value
                    inv[n][r] = bool((field >> w) & 1)
        return tuple(map(tuple, t)), tuple(map(tuple, inv))

    # --- properties ------------------------------------------------------------------------------

    mvau = property(lambda self: self._mvau, doc="The :class:`BinaryMVAU` inside.")
    fan_in = property(lambda self: self._mvau.fan_in, doc="Bits per input vector ``N``.")
    rows = property(lambda self: self._mvau.rows, doc="Weight rows (channels per slice).")
    pe = property(lambda self: self._mvau.pe, doc="Rows in parallel.")
    simd = property(lambda self: self._mvau.simd, doc="Input bits per cycle.")
    op = property(lambda self: self._mvau.op, doc='``"xnor"`` or ``"and"``.')
    saturate_at = property(lambda self: self._mvau.saturate_at, doc="``P``, or ``None``.")
    stages = property(lambda self: self._mvau.stages, doc="Pipeline ranks of each popcount tree.")
    groups = property(lambda self: self._mvau.groups, doc="``G``, input vectors per position.")
    count_width = property(lambda self: self._mvau.count_width, doc="Bits per MVAU count.")
    synapse_folds = property(lambda self: self._mvau.synapse_folds, doc="``SF``.")
    neuron_folds = property(lambda self: self._mvau.neuron_folds, doc="``NF``.")
    cycles_per_vector = property(lambda self: self._mvau.cycles_per_vector,
                                 doc="``SF * NF`` cycles per input vector at full rate.")
    slices = property(lambda self: len(self._threshold), doc="Bits per row ``k``.")
    threshold_width = property(lambda self: self._width, doc="``w``, bits of a stored threshold.")
    latency = property(lambda self: self._mvau.latency + 2,
                       doc="Edges from issuing a fold's last chunk to its output transfer.")

    @property
    def threshold(self):
        """Thresholds: a tuple ``(rows,)`` (given 1-D) or ``k`` tuples ``(k, rows)``."""
        return self._threshold if self._two_d else self._threshold[0]

    @property
    def invert(self):
        """Invert flags, same shape as :attr:`threshold`."""
        return self._invert if self._two_d else self._invert[0]

    @property
    def threshold_words(self):
        """Per-PE threshold ROM images (tuple per PE of ``NF`` ints), the compiler's layout."""
        w, pe = self._width, self.pe
        return tuple(
            tuple(sum((self._threshold[n][nf * pe + p] | int(self._invert[n][nf * pe + p]) << w)
                      << (n * (w + 1)) for n in range(self.slices))
                  for nf in range(self.neuron_folds))
            for p in range(pe))

    def lane_thresholds(self, p):
        """``(threshold, invert)`` of PE ``p``'s unit: ``k x NF``, channel ``nf`` = row
        ``nf*PE + p``."""
        rows = range(p, self.rows, self.pe)
        return ([[self._threshold[n][r] for r in rows] for n in range(self.slices)],
                [[self._invert[n][r] for r in rows] for n in range(self.slices)])

    def elaborate(self, platform):
        m = Module()
        m.submodules.mvau = mvau = self._mvau
        wiring.connect(m, wiring.flipped(self.i), mvau.i)

        units = []
        for p in range(self.pe):
            threshold, invert = self.lane_thresholds(p)
            unit = ThresholdUnit(fan_in=self._mvau.count_top, threshold=threshold, invert=invert,
                                 width=self._width)
            m.submodules[f"threshold_pe{p}"] = unit
            units.append(unit)
            m.d.comb += [
                unit.i.valid.eq(mvau.o.valid),
                unit.i.payload.eq(mvau.o.payload[p]),   # zero-extended to w bits
                unit.o.ready.eq(self.o.ready),
                self.o.payload[p].eq(unit.o.payload),
            ]
        # All lanes are identical pipelines fed the same valid/ready: lane 0 speaks for them.
        m.d.comb += [
            mvau.o.ready.eq(units[0].i.ready),
            self.o.valid.eq(units[0].o.valid),
        ]
        return m
