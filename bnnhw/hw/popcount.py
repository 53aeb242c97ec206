"""Popcount compressor trees and the XNOR/AND-popcount binary dot product.

The tree is built for FPGAs with 4-input LUTs and a carry chain (iCE40, ECP5), measured in
``benchmarks/popcount.py`` (numbers and the rejected alternatives in
``benchmarks/results/popcount.md``):

- **Leaves** are half adders of two input bits in plain logic (one LUT4 per output bit), so LUT
  mapping absorbs the operand logic: a streamed XNOR/AND leaf sees ``a0 w0 a1 w1`` in each LUT,
  and the inverters of constant-weight XNOR bits disappear into the leaf LUTs.
- **Adders** above the leaves are ripple adders ``l + r + c`` (one carry-chain logic cell per
  bit) that each absorb one more input bit ``c`` as their carry-in; carry-in slots get
  non-inverted bits first. Every adder output is a ``keep`` wire: without it Yosys' ``alumacc``
  merges the whole tree back into one ``$macc`` cell and maps it to a full-adder tree in LUTs,
  which is what the naive ``sum`` becomes.
- Measured alternatives at N = 256: full-adder leaves of three bits cost the same iCE40 logic
  cells and more transistors; adders without carry-in bits cost 19 % (streamed) to 68 %
  (constant weights) more logic cells. See ``benchmarks/results/popcount.md``.

Widths follow the largest value a node can hold, not a doubling rule.

Pipelining: the tree has :attr:`Popcount.depth` logic levels (the leaves are level 1, each adder
level adds one). ``stages`` register ranks are placed after levels ``ceil(i * depth / stages)``
for ``i = 1 .. stages``; the last rank always registers the output. Latency is therefore exactly
``stages`` clock cycles of the ``sync`` domain (0 = combinational), and a new input is accepted
every cycle. Inputs are not registered.
"""

from __future__ import annotations

import math
import numbers

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..params import ParameterError, int_param, is_bool

__all__ = [
    "AndPopcount", "NaivePopcount", "Popcount", "ThresholdDense", "XnorPopcount",
    "popcount_depth",
]

_KEEP = {"keep": 1}


# --- tree plan (pure Python, so depth is known at construction) -----------------------------------


class _Leaf:
    __slots__ = ("items", "level", "maxval")

    def __init__(self, items):
        self.items = items
        self.level = 1
        self.maxval = len(items)


class _Add:
    __slots__ = ("cin", "left", "level", "maxval", "right")

    def __init__(self, left, right, cin):
        self.left, self.right, self.cin = left, right, cin
        self.level = 1 + max(left.level, right.level)
        self.maxval = left.maxval + right.maxval + (cin is not None)


def _plan(items, leaf_size, use_cin):
    """Tree over ``items`` (a list of input indices): leaves of ``<= leaf_size`` items, adders
    with an optional raw-item carry-in, balanced so that both halves have the same depth."""
    n = len(items)
    if n <= leaf_size:
        return _Leaf(items)
    cin = None
    if use_cin:
        cin, items = items[0], items[1:]
        n -= 1
        if n <= leaf_size:  # e.g. 4 items with leaf 3: a leaf plus a carry-in would need an adder
            items = [cin] + items
            n += 1
            cin = None
    half = n // 2
    return _Add(_plan(items[:half], leaf_size, use_cin), _plan(items[half:], leaf_size, use_cin),
                cin)


def _cin_items(node, out):
    if isinstance(node, _Add):
        if node.cin is not None:
            out.append(node.cin)
        _cin_items(node.left, out)
        _cin_items(node.right, out)
    return out


#: Tree shape per input kind: (leaf size, raw carry-in bits). See the module docstring.
_SHAPES = {"bits": (2, True), "streamed": (2, True)}


def popcount_depth(width, *, kind="bits"):
    """Number of logic levels of the tree for ``width`` inputs (the largest valid ``stages``).

    Parameters
    ----------
    width : int
        Number of counted bits (``>= 1``); for constant-weight AND, the number of non-zero weights.
    kind : {"bits", "streamed"}, optional
        ``"bits"`` for plain and constant-weight inputs, ``"streamed"`` for two-operand products.
    """
    if width < 1:
        return 1
    return _plan(list(range(width)), *_SHAPES[kind]).level


# --- building -------------------------------------------------------------------------------------


def _leaf_logic(m, bits):
    """Counter of 1 to 3 one-bit values as explicit gates (LUT mapping absorbs operand logic)."""
    if len(bits) == 1:
        return bits[0]
    if len(bits) == 2:
        a, b = bits
        s, c = Signal(), Signal()
        m.d.comb += [s.eq(a ^ b), c.eq(a & b)]
        return Cat(s, c)
    a, b, c = bits
    s, co = Signal(), Signal()
    m.d.comb += [s.eq(a ^ b ^ c), co.eq((a & b) | (a & c) | (b & c))]
    return Cat(s, co)


def _build(m, bits, *, kind, stages, inverted=()):
    """Popcount of the one-bit values ``bits``; returns a Value (registered per ``stages``).

    ``inverted`` lists positions whose bit is an inverted input: they are kept out of carry-in
    slots (where an inversion would cost a LUT) as far as possible.
    """
    n = len(bits)
    if n == 0:
        return Const(0, 1)
    leaf_size, use_cin = _SHAPES[kind]
    root = _plan(list(range(n)), leaf_size, use_cin)
    depth = root.level
    # Map plan positions to inputs: carry-in slots get non-inverted bits first.
    slots = _cin_items(root, [])
    inv = set(inverted)
    order = [i for i in range(n) if i not in inv] + [i for i in range(n) if i in inv]
    slot_set = set(slots)
    assign = {}
    take = iter(order)
    for slot in slots:
        assign[slot] = next(take)
    rest = list(take)
    for pos, src in zip([p for p in range(n) if p not in slot_set], rest):
        assign[pos] = src
    bounds = sorted({math.ceil(i * depth / stages) for i in range(1, stages + 1)})
    cache = {}

    def delay(key, value, frm, to):
        # register `value` (available after level `frm`) for use at level `to`
        for b in bounds:
            if frm <= b < to:
                ck = (key, b)
                if ck not in cache:
                    reg = Signal(len(value), name=f"pipe_l{b}")
                    m.d.sync += reg.eq(value)
                    cache[ck] = reg
                value = cache[ck]
        return value

    def emit(node):
        if isinstance(node, _Leaf):
            return _leaf_logic(m, [bits[assign[i]] for i in node.items])
        left = delay(id(node.left), emit(node.left), node.left.level, node.level)
        right = delay(id(node.right), emit(node.right), node.right.level, node.level)
        total = Signal(ceil_log2(node.maxval + 1), attrs=_KEEP, name=f"add_l{node.level}")
        if node.cin is None:
            m.d.comb += total.eq(left + right)
        else:
            cin = delay(("cin", node.cin), bits[assign[node.cin]], 0, node.level)
            m.d.comb += total.eq(left + right + cin)
        return total

    return delay(id(root), emit(root), depth, depth + 1)


# --- validation -----------------------------------------------------------------------------------


def _check_stages(stages, depth):
    if is_bool(stages) or not isinstance(stages, numbers.Integral) or not 0 <= stages <= depth:
        raise ParameterError("stages", f"expected an integer in [0, {depth}] (the tree depth)",
                             repr(stages))
    return int(stages)


def _check_bits(weights, width, name="weights"):
    try:
        values = list(weights)
    except TypeError:
        raise ParameterError(name, "expected a sequence of bits", repr(weights)) from None
    if len(values) != width:
        raise ParameterError(name, f"expected {width} bits (width)", len(values))
    out = []
    for value in values:
        if isinstance(value, numbers.Integral) and int(value) in (0, 1):
            out.append(int(value))
        else:
            raise ParameterError(name, "expected only bits 0 and 1", repr(value))
    return tuple(out)


# --- components -----------------------------------------------------------------------------------


def _check_thresholds(thresholds, outputs):
    """``thresholds`` as a tuple of ``outputs`` ints (ParameterError naming ``thresholds``)."""
    thresholds = list(thresholds)
    if len(thresholds) != outputs:
        raise ParameterError("thresholds", f"expected one value per output ({outputs})",
                             len(thresholds))
    return tuple(int_param(t, f"thresholds[{k}]") for k, t in enumerate(thresholds))


def _check_op(op):
    if op not in ("xnor", "and"):
        raise ParameterError("op", "expected 'xnor' or 'and'", repr(op))
    return op


class Popcount(wiring.Component):
    """Number of ones of a ``width``-bit input, as a pipelined compressor tree.

    Half-adder leaves of two bits, then ripple adders that each absorb one more input bit as
    their carry-in (see the module docstring for why this maps well onto iCE40/ECP5).

    Parameters
    ----------
    width : int
        Number of input bits, ``>= 1``.
    stages : int, keyword-only
        Pipeline register ranks, ``0 .. depth`` (default 0, combinational). ``count`` follows
        ``bits`` after exactly ``stages`` cycles of the ``sync`` domain.

    Members
    -------
    bits : In(width)
        Input bits.
    count : Out(ceil_log2(width + 1))
        Number of ones of ``bits``, ``stages`` cycles later.

    Raises
    ------
    ParameterError
        ``width`` not an integer ``>= 1``; ``stages`` not an integer in ``[0, depth]``.
    """

    def __init__(self, width, *, stages=0):
        self._width = int_param(width, "width", 1)
        self._depth = popcount_depth(self._width)
        self._stages = _check_stages(stages, self._depth)
        super().__init__({"bits": In(self._width), "count": Out(ceil_log2(self._width + 1))})

    @property
    def width(self):
        """Number of input bits."""
        return self._width

    @property
    def stages(self):
        """Pipeline register ranks."""
        return self._stages

    @property
    def latency(self):
        """Clock cycles from ``bits`` to ``count`` (equal to :attr:`stages`)."""
        return self._stages

    @property
    def depth(self):
        """Logic levels of the tree: the largest valid ``stages``."""
        return self._depth

    def elaborate(self, platform):
        m = Module()
        bits = [self.bits[i] for i in range(self._width)]
        m.d.comb += self.count.eq(_build(m, bits, kind="bits", stages=self._stages))
        return m


class NaivePopcount(wiring.Component):
    """Behavioural popcount ``sum(bits)``: the baseline of benchmarks and tests.

    Yosys merges the sum into one ``$macc`` cell and maps it to a full-adder tree in LUTs.

    Parameters
    ----------
    width : int
        Number of input bits, ``>= 1``.
    op : {None, "xnor", "and"}, keyword-only
        ``None`` counts ``bits``; ``"xnor"`` / ``"and"`` count ``XNOR(a, w)`` / ``AND(a, w)``.
    weights : sequence of {0, 1}, keyword-only, optional
        With ``op``: constant weights (no ``w`` port); ``None`` streams them through ``w``.

    Members
    -------
    bits : In(width)
        Input bits; present only when ``op`` is ``None``.
    a, w : In(width)
        Operands; present only when ``op`` is given (``w`` only for streamed weights).
    count : Out(ceil_log2(width + 1))
        The count, combinational.

    Raises
    ------
    ParameterError
        ``width < 1``, unknown ``op``, ``weights`` without ``op`` or not ``width`` bits.
    """

    def __init__(self, width, *, op=None, weights=None):
        self._width = int_param(width, "width", 1)
        if op not in (None, "xnor", "and"):
            raise ParameterError("op", "expected None, 'xnor' or 'and'", repr(op))
        if op is None and weights is not None:
            raise ParameterError("op", "expected 'xnor' or 'and' with weights", "None")
        self._op = op
        self._weights = None if weights is None else _check_bits(weights, self._width)
        ports = {"count": Out(ceil_log2(self._width + 1))}
        if op is None:
            ports["bits"] = In(self._width)
        else:
            ports["a"] = In(self._width)
            if self._weights is None:
                ports["w"] = In(self._width)
        super().__init__(ports)

    @property
    def width(self):
        """Number of input bits."""
        return self._width

    def elaborate(self, platform):
        m = Module()
        if self._op is None:
            x = self.bits
        else:
            w = self.w if self._weights is None else Cat(*(Const(b, 1) for b in self._weights))
            x = ~(self.a ^ w) if self._op == "xnor" else self.a & w
        # Pairwise, not a left-to-right chain (which overflows Python's recursion limit in
        # Amaranth for ~1000 terms); Yosys merges either form into the same ``$macc`` cell.
        terms = [x[i] for i in range(self._width)]
        while len(terms) > 1:
            terms = [sum(terms[i:i + 2]) for i in range(0, len(terms), 2)]
        m.d.comb += self.count.eq(terms[0])
        return m


class _ProductPopcount(wiring.Component):
    _op = None

    def __init__(self, width, *, weights=None, stages=0):
        self._width = int_param(width, "width", 1)
        self._weights = None if weights is None else _check_bits(weights, self._width)
        if self._weights is None:
            kind, counted = "streamed", self._width
        elif self._op == "and":
            kind, counted = "bits", sum(self._weights)
        else:
            kind, counted = "bits", self._width
        self._kind = kind
        self._depth = popcount_depth(counted, kind=kind)
        self._stages = _check_stages(stages, self._depth)
        ports = {"a": In(self._width), "count": Out(ceil_log2(self._width + 1))}
        if self._weights is None:
            ports["w"] = In(self._width)
        super().__init__(ports)

    @property
    def width(self):
        """Number of products (bits of ``a``)."""
        return self._width

    @property
    def weights(self):
        """The constant weights as a tuple of bits, or ``None`` when streamed."""
        return self._weights

    @property
    def stages(self):
        """Pipeline register ranks."""
        return self._stages

    @property
    def latency(self):
        """Clock cycles from ``a`` (and ``w``) to ``count`` (equal to :attr:`stages`)."""
        return self._stages

    @property
    def depth(self):
        """Logic levels of the tree: the largest valid ``stages``."""
        return self._depth

    def elaborate(self, platform):
        m = Module()
        a = [self.a[i] for i in range(self._width)]
        inverted = ()
        if self._weights is None:
            w = [self.w[i] for i in range(self._width)]
            if self._op == "xnor":
                bits = [~(ai ^ wi) for ai, wi in zip(a, w)]
            else:
                bits = [ai & wi for ai, wi in zip(a, w)]
        elif self._op == "xnor":
            bits = [ai if wi else ~ai for ai, wi in zip(a, self._weights)]
            inverted = [i for i, wi in enumerate(self._weights) if not wi]
        else:
            bits = [ai for ai, wi in zip(a, self._weights) if wi]
        if self._stages and not bits:
            # all-zero AND weights: the count is constant 0 but keep the documented latency
            m.d.sync += self.count.eq(0)
        else:
            m.d.comb += self.count.eq(
                _build(m, bits, kind=self._kind, stages=self._stages, inverted=inverted))
        return m


class XnorPopcount(_ProductPopcount):
    """``popcount(XNOR(a, w))``: the binary (±1) dot product of ``width`` bits.

    The ±1 dot product is ``2*count - width`` (``docs/numerics.md`` §3).

    Parameters
    ----------
    width : int
        Number of products, ``>= 1``.
    weights : sequence of {0, 1}, keyword-only, optional
        Constant weights (bit ``i`` is ``w[i]``). XNOR with a constant is a wire (1) or an
        inverter (0); the inverters are absorbed into the leaf LUTs, so a constant-weight
        instance costs the same as a :class:`Popcount` of ``width`` bits. ``None`` (default):
        weights are streamed through the ``w`` port (e.g. from a ROM).
    stages : int, keyword-only
        Pipeline register ranks, ``0 .. depth`` (default 0). Latency is ``stages`` cycles.

    Members
    -------
    a : In(width)
        Activations.
    w : In(width)
        Weights; present only when ``weights`` is ``None``.
    count : Out(ceil_log2(width + 1))
        ``popcount(XNOR(a, w))``, ``stages`` cycles later.

    Raises
    ------
    ParameterError
        ``width < 1``; ``weights`` not ``width`` bits of 0/1; ``stages`` negative or above
        :attr:`depth`.
    """

    _op = "xnor"


class AndPopcount(_ProductPopcount):
    """``popcount(AND(a, w))``: the {0, 1} dot product of ``width`` bits (PA-Net bases).

    Parameters
    ----------
    width : int
        Number of products, ``>= 1``.
    weights : sequence of {0, 1}, keyword-only, optional
        Constant weights. Zero-weight bits are dropped entirely; the tree counts only the bits of
        ``a`` with weight 1 (all-zero weights give a constant 0). ``None`` (default): weights are
        streamed through the ``w`` port.
    stages : int, keyword-only
        Pipeline register ranks, ``0 .. depth`` (default 0; ``depth`` is that of the surviving
        bits, at least 1). Latency is ``stages`` cycles.

    Members
    -------
    a : In(width)
        Activations.
    w : In(width)
        Weights; present only when ``weights`` is ``None``.
    count : Out(ceil_log2(width + 1))
        ``popcount(AND(a, w))``, ``stages`` cycles later.

    Raises
    ------
    ParameterError
        ``width < 1``; ``weights`` not ``width`` bits of 0/1; ``stages`` negative or above
        :attr:`depth`.
    """

    _op = "and"


class ThresholdDense(wiring.Component):
    """Fully binarized dense layer with constant weights: ``y[o] = popcount_o >= thresholds[o]``.

    One constant-weight :class:`XnorPopcount` (or :class:`AndPopcount`) per output and a
    comparison with a constant. In the ±1 domain ``s = 2p - N``, so ``s >= t`` is
    ``p >= ceil((t + N) / 2)``; the thresholds here are on the popcount ``p`` (the folded form of
    ``docs/numerics.md`` §5 without the invert flag).

    Parameters
    ----------
    weights : sequence of sequences of {0, 1}
        ``(outputs, width)`` constant weight bits, row ``o`` for output ``o``.
    thresholds : sequence of int
        One popcount threshold per output; values ``<= 0`` give a constant 1, values above
        ``width`` a constant 0.
    op : {"xnor", "and"}, keyword-only
        Product (default ``"xnor"``).
    stages : int, keyword-only
        Pipeline ranks of every popcount tree (default 0); the comparison follows the last rank,
        so latency is ``stages`` cycles.

    Members
    -------
    x : In(width)
        Input bits.
    y : Out(outputs)
        Output bits, ``stages`` cycles later.

    Raises
    ------
    ParameterError
        Empty or ragged ``weights``, non-bit weights, ``len(thresholds) != outputs``, non-integer
        thresholds, unknown ``op``, or ``stages`` out of range for some output.
    """

    def __init__(self, weights, thresholds, *, op="xnor", stages=0):
        rows = [list(row) for row in weights]
        if not rows or not rows[0]:
            raise ParameterError("weights", "expected a non-empty (outputs, width) array of bits",
                                 repr(weights))
        width = len(rows[0])
        self._weights = tuple(_check_bits(row, width, "weights") for row in rows)
        self._thresholds = _check_thresholds(thresholds, len(rows))
        self._op = _check_op(op)
        cls = XnorPopcount if op == "xnor" else AndPopcount
        self._units = [cls(width, weights=row, stages=stages) for row in self._weights]
        self._stages = self._units[0].stages
        super().__init__({"x": In(width), "y": Out(len(rows))})

    @property
    def latency(self):
        """Clock cycles from ``x`` to ``y``."""
        return self._stages

    def elaborate(self, platform):
        m = Module()
        width = len(self.x)
        for o, (unit, t) in enumerate(zip(self._units, self._thresholds)):
            m.submodules[f"pc{o}"] = unit
            m.d.comb += unit.a.eq(self.x)
            if t <= 0:
                m.d.comb += self.y[o].eq(1)
            elif t > width:
                m.d.comb += self.y[o].eq(0)
            else:
                m.d.comb += self.y[o].eq(unit.count >= t)
        return m

