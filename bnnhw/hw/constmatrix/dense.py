"""The component :class:`ConstMatrixDense`: parameter checks, plan, stages, emission."""

from __future__ import annotations

import math
import numbers

import numpy as np
from amaranth.hdl import Cat, Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...params import ParameterError, int_param, is_bool
from ..popcount import _check_op, _check_thresholds
from .emit import _Emitter
from .planning import _Plan, _register_cells, _stages

# --- component ------------------------------------------------------------------------------------


def _check_weights(weights):
    try:
        rows = [list(r) for r in weights]
    except TypeError:
        raise ParameterError("weights", "expected an (outputs, width) array of bits",
                             repr(weights)) from None
    if not rows or not rows[0]:
        raise ParameterError("weights", "expected a non-empty (outputs, width) array of bits",
                             repr(weights))
    width = len(rows[0])
    out = []
    for row in rows:
        if len(row) != width:
            raise ParameterError("weights", f"expected {width} bits (width) in every row",
                                 len(row))
        bits = []
        for v in row:
            if is_bool(v) or (isinstance(v, numbers.Integral) and int(v) in (0, 1)):
                bits.append(int(v))
            else:
                raise ParameterError("weights", "expected only bits 0 and 1", repr(v))
        out.append(tuple(bits))
    return tuple(out)


class ConstMatrixDense(wiring.Component):
    """Fully binarized dense layer with constant weights, shared across outputs.

    Same ports and behaviour as the constant-weight :class:`~bnnhw.hw.popcount.ThresholdDense`:
    ``y[o] = popcount(XNOR(x, weights[o])) >= thresholds[o]`` (``AND`` for ``op="and"``), but
    planned as one netlist whose shared full adders serve all outputs (:mod:`bnnhw.hw.constmatrix`).

    Parameters
    ----------
    weights : sequence of sequences of {0, 1}
        ``(outputs, width)`` constant weight bits, row ``o`` for output ``o``.
    thresholds : sequence of int
        One popcount threshold per output; ``<= 0`` gives a constant 1, above the number of
        counted bits a constant 0 (the folded form of ``docs/numerics.md`` §5 without the
        invert flag, as :class:`~bnnhw.hw.popcount.ThresholdDense`).
    op : {"xnor", "and"}, keyword-only
        Product (default ``"xnor"``).
    stages : int, keyword-only
        Pipeline register ranks (default 0, combinational): ``y`` follows ``x`` after exactly
        ``stages`` cycles of ``sync``, one new ``x`` per cycle. The last rank registers ``y``;
        the others split the netlist at equal estimated delay. The first ``stages`` outputs after
        reset are not results.
    target : {"generic", "ice40"}, keyword-only
        ``"generic"`` (default) emits Amaranth logic and additions (simulatable, any family);
        ``"ice40"`` emits the same netlist as ``SB_LUT4`` / ``SB_CARRY`` instances, so the iCE40
        logic-cell count is :attr:`cells` plus the registers that cannot share a LUT's cell.
        Simulate it with :data:`ICE40_CELL_MODELS`.
    beta : float, keyword-only
        Sharing aggressiveness: a triple held by ``k`` outputs gets a shared full adder when
        ``beta * k`` exceeds its LUT count (default 1.5: a bit removed from one output's heap
        costs it about 1.5 cells).
    max_depth : float, keyword-only
        Deepest shared net, in LUT levels; deeper triples are not shared. Default: unlimited for
        a layer without inner register ranks, 4 with them (``stages >= 2``: shallower shared
        logic balances the stages).

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
        thresholds, unknown ``op`` or ``target``, ``stages`` not an integer ``>= 0``, ``beta``
        or ``max_depth`` not positive.
    """

    def __init__(self, weights, thresholds, *, op="xnor", stages=0, target="generic", beta=1.5,
                 max_depth=None):
        self._weights = _check_weights(weights)
        self._thresholds = _check_thresholds(thresholds, len(self._weights))
        _check_op(op)
        if target not in ("generic", "ice40"):
            raise ParameterError("target", "expected 'generic' or 'ice40'", repr(target))
        stages = int_param(stages, "stages", 0)
        for name, v in (("beta", beta), ("max_depth", max_depth)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)
                                  or not v > 0):
                raise ParameterError(name, "expected a positive number", repr(v))
        if max_depth is None:
            max_depth = 4.0 if stages >= 2 else math.inf
        self._op, self._target, self._stages = op, target, int(stages)
        self._beta, self._max_depth = float(beta), float(max_depth)
        self._plan = _Plan(self._weights, self._thresholds, op, self._beta, self._max_depth)
        net = self._plan.net
        self._stage_of = _stages(net, self._plan.outputs, self._stages)
        self._register_cells = _register_cells(net, self._stage_of, self._plan.outputs,
                                               max(self._stages - 1, 0)) if self._stages else 0
        super().__init__({"x": In(len(self._weights[0])), "y": Out(len(self._weights))})

    @property
    def weights(self):
        """The constant weights, a tuple of rows of bits."""
        return self._weights

    @property
    def thresholds(self):
        """The popcount thresholds."""
        return self._thresholds

    @property
    def op(self):
        """The product, ``"xnor"`` or ``"and"``."""
        return self._op

    @property
    def target(self):
        """``"generic"`` or ``"ice40"``."""
        return self._target

    @property
    def stages(self):
        """Pipeline register ranks."""
        return self._stages

    @property
    def latency(self):
        """Clock cycles from ``x`` to ``y`` (equal to :attr:`stages`)."""
        return self._stages

    @property
    def cells(self):
        """Planned iCE40 logic cells: LUTs, carry-chain positions, chain carry-ins and carry-outs,
        plus pipeline registers that cannot share a LUT's cell (``y``'s own register excluded)."""
        return self._plan.net.cells() + self._register_cells

    def evaluate(self, x):
        """Outputs ``(B, outputs)`` of the planned netlist for input bits ``x (B, width)``: a fast
        bit-exact model of the emitted logic, without the latency."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self._weights[0]):
            raise ParameterError("x", f"expected shape (B, {len(self._weights[0])})", x.shape)
        return self._plan.evaluate(x)

    def elaborate(self, platform):
        m = Module()
        net = self._plan.net
        em = _Emitter(m, net, self.x, self._target, self._stages, self._stage_of)
        em.emit()
        last = max(self._stages - 1, 0)
        ys = []
        for ref in self._plan.outputs:
            if ref[0] == "const":
                ys.append(Const(ref[1], 1))
                continue
            v = em.phys(ref[0], last)
            ys.append(~v if ref[1] else v)
        if self._stages:
            m.d.sync += self.y.eq(Cat(*ys))
        else:
            m.d.comb += self.y.eq(Cat(*ys))
        return m
