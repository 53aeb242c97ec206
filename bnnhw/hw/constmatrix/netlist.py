"""The adder netlist of :class:`~bnnhw.hw.constmatrix.ConstMatrixDense` and the shared full adders.

:class:`_Netlist` holds LUTs and carry chains over the input bits (with arrival-time estimates,
logic-cell count and a bit-exact NumPy evaluation); :class:`_Heaps` holds every output's bit heap
and extracts the full adders shared between outputs (step 1 of the package notes). Imports nothing
else of the package.
"""

from __future__ import annotations

import collections
import itertools

import numpy as np

# --- netlist --------------------------------------------------------------------------------------
#
# A *ref* is ``(node, inv)``: the logical bit ``value(node) ^ inv``. Node kinds:
#   ("x", i)                 input bit i
#   ("lut", ins, table)      LUT of up to 4 refs; ``table`` is an int truth table over the
#                            *logical* inputs (bit k = output for inputs k, input 0 = LSB)
#   ("sum", chain, pos)      sum output of a carry-chain position
#   ("top", chain)           carry-out of a chain, read by a pass-through LUT
# LUT/sum/top nodes also have ``out_inv`` (their physical output is the logical value ^ out_inv).
#
# A chain is a dict: ``domain`` d (operands are refs with inv == d, i.e. the carry logic sees
# logical ^ d), ``cin`` ("const", v) or ("bit", ref), ``ops`` list of (a, b) per position where
# each operand is a ref or ("one",) or None (zero), ``sums`` node ids (or None), ``top`` node.

_ONE = ("one",)

#: Delay units for depth estimates and stage balancing, from nextpnr's UP5K timing: one LUT level
#: with its routing (~4 ns) = 1; one step along a carry chain (~0.3 ns) = 0.1.
_LUT_DELAY, _CARRY_DELAY = 1.0, 0.1


class _Netlist:
    def __init__(self, width):
        self.kind = []       # per node
        self.args = []
        self.out_inv = []
        self.users = []      # use count
        self.fixed = set()   # nodes referenced from several heaps: polarity cannot change
        self.t = []          # estimated arrival time (see _LUT_DELAY / _CARRY_DELAY)
        self.chains = []
        for i in range(width):
            self._add("x", i)

    def _add(self, kind, args, t=0.0):
        self.kind.append(kind)
        self.args.append(args)
        self.out_inv.append(0)
        self.users.append(0)
        self.t.append(t)
        return len(self.kind) - 1

    def at(self, ref):
        """Arrival time of a ref (constants: 0)."""
        if ref is None or ref[0] == "one":
            return 0.0
        return self.t[ref[0]]

    def use(self, ref):
        if ref is not None and ref is not _ONE and ref[0] != "one":
            self.users[ref[0]] += 1

    def lut(self, ins, table):
        for r in ins:
            self.use(r)
        t = max([self.at(r) for r in ins], default=0.0) + _LUT_DELAY
        return self._add("lut", (tuple(ins), table), t)

    def flexible(self, node):
        """A LUT/chain output nobody uses yet: its output polarity can still be chosen."""
        return self.kind[node] != "x" and self.users[node] == 0 and node not in self.fixed

    def flip(self, ref):
        """Same logical bit, physical net inverted (only for flexible nodes)."""
        node, inv = ref
        self.out_inv[node] ^= 1
        return (node, inv ^ 1)

    def chain(self, domain, cin, ops, want_sums, want_top):
        idx = len(self.chains)
        if cin[0] == "bit":
            self.use(cin[1])
        for a, b in ops:
            self.use(a)
            self.use(b)
        ch = {"domain": domain, "cin": cin, "ops": list(ops), "sums": [], "top": None}
        self.chains.append(ch)
        carry = self.at(cin[1]) + _LUT_DELAY if cin[0] == "bit" else 0.0
        for pos, (a, b) in enumerate(ops):
            ins = max(self.at(a), self.at(b)) + _LUT_DELAY
            ts = max(ins, carry + _CARRY_DELAY)
            ch["sums"].append(self._add("sum", (idx, pos), ts) if want_sums[pos] else None)
            carry = max(ins, carry) + _CARRY_DELAY
        if want_top:
            ch["top"] = self._add("top", (idx,), carry + _LUT_DELAY)
        return ch

    # cost: one logic cell per LUT, per chain position, per fabric carry-in (nextpnr's feed-in
    # cell) and per top LUT
    def cells(self):
        n = sum(1 for k in self.kind if k == "lut")
        for ch in self.chains:
            n += len(ch["ops"]) + (ch["cin"][0] == "bit") + (ch["top"] is not None)
        return n

    # logical evaluation on a batch of input bits (bool arrays)
    def evaluate(self, x):
        x = np.asarray(x, dtype=bool)
        phys = [None] * len(self.kind)
        done_chain = set()

        def val(ref):
            if ref is None:
                return np.zeros(len(x), dtype=bool)
            if ref[0] == "one":
                return np.ones(len(x), dtype=bool)
            return phys[ref[0]] ^ bool(ref[1])

        for k, kind in enumerate(self.kind):
            if kind == "x":
                phys[k] = x[:, self.args[k]]
            elif kind == "lut":
                ins, table = self.args[k]
                idx = np.zeros(len(x), dtype=np.int64)
                for j, r in enumerate(ins):
                    idx |= val(r).astype(np.int64) << j
                phys[k] = (((table >> idx) & 1) == 1) ^ bool(self.out_inv[k])
            else:
                c = self.args[k][0]
                if c in done_chain:
                    continue
                done_chain.add(c)
                ch = self.chains[c]
                carry = (val(ch["cin"][1]) if ch["cin"][0] == "bit"
                         else np.full(len(x), bool(ch["cin"][1])))
                for pos, (a, b) in enumerate(ch["ops"]):
                    va, vb = val(a), val(b)
                    s = va ^ vb ^ carry
                    carry = (va & vb) | (va & carry) | (vb & carry)
                    n = ch["sums"][pos]
                    if n is not None:
                        phys[n] = s ^ bool(self.out_inv[n])
                if ch["top"] is not None:
                    phys[ch["top"]] = carry ^ bool(self.out_inv[ch["top"]])
        return phys, val


_XOR3 = 0x96
_MAJ3 = 0xE8


def _table3(fn):
    return sum(fn((k >> 0) & 1, (k >> 1) & 1, (k >> 2) & 1) << k for k in range(8))


# --- shared full adders ---------------------------------------------------------------------------


class _Heaps:
    """Per-output heaps: dict (node, weight) -> inv, plus constants."""

    def __init__(self, net, weights, op):
        self.net = net
        self.cols = []
        for row in weights:
            col = {}
            for i, w in enumerate(row):
                if op == "xnor":
                    col[(i, 0)] = 1 - w
                elif w:
                    col[(i, 0)] = 0
            self.cols.append(col)

    def apply_fa(self, trip, e, cols):
        net = self.net
        a, b, c = trip
        par = net.lut([(a, 0), (b, 0), (c, 0)], _XOR3)
        net.fixed.add(par)
        classes = {}
        for o in cols:
            col = self.cols[o]
            ia, ib, ic = col.pop((a, e)), col.pop((b, e)), col.pop((c, e))
            col[(par, e)] = ia ^ ib ^ ic
            key = (ib ^ ia, ic ^ ia)  # class up to complement; its net has ia = 0
            if key not in classes:
                classes[key] = net.lut([(a, 0), (b, key[0]), (c, key[1])], _MAJ3)
                net.fixed.add(classes[key])
            col[(classes[key], e + 1)] = ia

    def universal_step(self):
        """One full adder on nets held by every output (at the same weight)."""
        if len(self.cols) < 2:
            return False
        common = set(self.cols[0])
        for col in self.cols[1:]:
            common &= set(col)
        by_e = collections.defaultdict(list)
        for n, e in common:
            by_e[e].append(n)
        best = None
        for e, nets in sorted(by_e.items()):
            if len(nets) < 3:
                continue
            # Wallace order: only the earliest nets (at least three of them)
            nets = sorted(nets, key=lambda n: (self.net.t[n], n))
            cut = self.net.t[nets[2]]
            nets = sorted(n for n in nets if self.net.t[n] <= cut)
            pol = np.array([[col[(n, e)] for n in nets] for col in self.cols], dtype=np.int8)
            trips = np.array(list(itertools.combinations(range(len(nets)), 3)), dtype=np.int32)
            ka = pol[:, trips[:, 0]] ^ pol[:, trips[:, 1]]
            kb = pol[:, trips[:, 0]] ^ pol[:, trips[:, 2]]
            cls = (ka * 2 + kb).T
            counts = np.stack([(cls == k).sum(axis=1) for k in range(4)], axis=1)
            # fewest majority LUTs first, then the most concentrated classes
            score = (counts > 0).sum(axis=1) * 10000 - (counts ** 2).sum(axis=1)
            i = int(np.argmin(score))
            cand = (int(score[i]), e, tuple(nets[k] for k in trips[i]))
            if best is None or cand < best:
                best = cand
        if best is None:
            return False
        self.apply_fa(best[2], best[1], range(len(self.cols)))
        return True

    def general_step(self, beta, max_depth):
        """One full adder on a triple shared by >= 2 outputs, if it pays off."""
        ncol = len(self.cols)
        tnet = self.net.t
        keys = [set(c) for c in self.cols]
        seen = set()
        best = None
        for o1 in range(ncol):
            for o2 in range(o1 + 1, ncol):
                by_e = collections.defaultdict(list)
                for n, e in keys[o1] & keys[o2]:
                    by_e[e].append(n)
                for e, nets in by_e.items():
                    if len(nets) < 3:
                        continue
                    nets = [n for n in nets if tnet[n] + _LUT_DELAY <= max_depth]
                    for t in itertools.combinations(sorted(nets), 3):
                        if (t, e) in seen:
                            continue
                        seen.add((t, e))
                        cols = [o for o in range(ncol)
                                if (t[0], e) in keys[o] and (t[1], e) in keys[o]
                                and (t[2], e) in keys[o]]
                        classes = set()
                        for o in cols:
                            col = self.cols[o]
                            ia = col[(t[0], e)]
                            classes.add((col[(t[1], e)] ^ ia, col[(t[2], e)] ^ ia))
                        gain = beta * len(cols) - (1 + len(classes))
                        depth = max(tnet[n] for n in t)
                        cand = (gain, -depth, len(cols), -len(classes), -e, t)
                        if best is None or cand > best[0]:
                            best = (cand, t, e, cols)
        if best is None or best[0][0] <= 0:
            return False
        self.apply_fa(best[1], best[2], best[3])
        return True

