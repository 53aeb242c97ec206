"""Planning of :class:`~bnnhw.hw.constmatrix.ConstMatrixDense`: heaps to netlist, then stages.

:class:`_Column` compresses one output's heap into its single bit (carry chains, LUT full adders,
the threshold folded in; steps 2 and 3 of the package notes), :class:`_Plan` builds the whole
layer's netlist, and :func:`_stages` / :func:`_register_cells` decide the pipeline register ranks
and their cost. Imports only :mod:`.netlist`.
"""

from __future__ import annotations

import collections
import math

import numpy as np

from .netlist import _CARRY_DELAY, _LUT_DELAY, _ONE, _Heaps, _Netlist

# --- per-output heap compression ------------------------------------------------------------------


def _final_bit(maxheap, t):
    """Smallest m with 2**m >= t and maxheap - t < 2**m: then p >= t is bit m of p + 2**m - t."""
    m = 0
    while not ((1 << m) >= t and maxheap - t < (1 << m)):
        m += 1
    return m


class _Column:
    """Dadda-style compression of one output's heap into the single bit ``y``."""

    def __init__(self, net, entries, m):
        self.net = net
        self.m = m
        self.heap = collections.defaultdict(list)   # weight -> list of refs / _ONE
        for p, ref in entries:
            self.heap[p].append(ref)

    # a heap entry fits a chain of domain d if it is a constant, a flexible output, or has inv d
    def _fits(self, ref, d):
        return ref[0] == "one" or ref[1] == d or self.net.flexible(ref[0])

    def _count(self, p, d):
        return sum(1 for r in self.heap.get(p, ()) if self._fits(r, d))

    def _take(self, p, d, n):
        """Remove and return up to n entries of weight p that fit domain d, earliest first;
        flexible entries are given polarity d."""
        lst = self.heap.get(p, [])
        net = self.net

        def rank(i):  # the earliest bits, constants last
            r = lst[i]
            return (1, 0.0) if r[0] == "one" else (0, net.at(r))
        idx = sorted((i for i in range(len(lst)) if self._fits(lst[i], d)), key=rank)[:n]
        got = [lst[i] for i in idx]
        for i in sorted(idx, reverse=True):
            lst.pop(i)
        out = []
        for r in got:
            if r[0] != "one" and r[1] != d:
                r = net.flip(r)
            out.append(r)
        return out

    def _cin(self, p, d):
        """A carry-in candidate of weight p for domain d: a constant, else a bit private to this
        output (its only reader will be the chain, so it enters the carry chain from the fabric
        through nextpnr's feed-in cell). Shared nets are never carry-ins: see the package notes."""
        lst = self.heap.get(p, [])
        one = next((r for r in lst if r[0] == "one"), None)
        if one is not None:
            return one
        private = [r for r in lst if r[0] != "one" and self.net.flexible(r[0])]
        return max(private, key=self.net.at, default=None)

    def _plan_chain(self, p0, d):
        """Greedy chain from weight p0 in domain d: (removed, cells, positions, n0, top)."""
        fit = self._count(p0, d)
        cin = self._cin(p0, d)
        n0 = 3 if (cin is not None and fit >= 3) else min(2, fit)
        if n0 < 2:
            return None
        feed = 1 if (n0 == 3 and cin[0] != "one") else 0
        positions, consumed = 1, n0
        q = p0 + 1
        while q <= self.m and self._count(q, d) >= 2:
            positions += 1
            consumed += 2
            q += 1
        top = 1 if q <= self.m else 0
        cells = positions + feed + top
        return consumed - positions - top, cells, positions, n0, top

    def _emit_chain(self, p0, d, positions, n0, top, *, final=False):
        net = self.net
        cin = ("const", 0)
        if n0 == 3:
            c = self._cin(p0, d)
            self.heap[p0].remove(c)
            if c[0] == "one":
                cin = ("const", 1)
            else:
                cin = ("bit", c if c[1] == d else net.flip(c))
            n0 = 2
        first = self._take(p0, d, n0)
        ops = [tuple(first) + (None,) * (2 - len(first))]
        for q in range(p0 + 1, p0 + positions):
            got = self._take(q, d, 2)
            ops.append(tuple(got) + (None,) * (2 - len(got)))
        if final:
            want = [p0 + i == self.m for i in range(positions)]
        else:
            want = [True] * positions
        ch = net.chain(d, cin, ops, want, top)
        if final:
            return ch
        for i, n in enumerate(ch["sums"]):
            self.heap[p0 + i].append((n, 0))
        if top:
            self.heap[p0 + positions].append((ch["top"], 0))
        return ch

    def _fa(self, p):
        """LUT full adder on the three earliest entries of weight p (any polarity)."""
        net = self.net
        lst = self.heap[p]
        def rank(i):  # the earliest bits; constants last
            r = lst[i]
            return (1, 0.0) if r[0] == "one" else (0, net.at(r))
        order = sorted(range(len(lst)), key=rank)[:3]
        got = [lst[i] for i in order]
        for i in sorted(order, reverse=True):
            lst.pop(i)
        ins, k = [], 0
        for r in got:
            if r[0] == "one":
                k += 1
            else:
                ins.append(r)
        # table over the non-constant inputs, with k constant ones added
        n = len(ins)
        ts = sum((((bin(i).count("1") + k) & 1) << i) for i in range(1 << n))
        tc = sum((((bin(i).count("1") + k) >> 1 & 1) << i) for i in range(1 << n))
        s = net.lut(ins, ts)
        self.heap[p].append((s, 0))
        if p + 1 <= self.m:
            c = net.lut(ins, tc)
            self.heap[p + 1].append((c, 0))

    def _convert(self, p, d):
        """Make one entry of weight p fit domain d with an inverting LUT."""
        lst = self.heap[p]
        i = next(i for i, r in enumerate(lst) if not self._fits(r, d))
        r = lst.pop(i)
        lst.append((self.net.lut([r], 0b10), 0))  # logical copy, polarity still free

    def run(self):
        m = self.m
        while True:
            ps = [p for p in sorted(self.heap) if self.heap[p] and p <= m]
            for p in [p for p in self.heap if p > m]:
                self.heap[p] = []   # weights above m are always zero (see _final_bit)
            if not ps:
                return None
            lo = ps[0]
            lo_cap = 3 if any(r[0] == "one" or self.net.flexible(r[0])
                              for r in self.heap[lo]) else 2
            tall = [p for p in ps if len(self.heap[p]) > (lo_cap if p == lo else 2)]
            if not tall:
                doms = [d for d in (0, 1)
                        if all(self._count(p, d) == len(self.heap[p]) for p in ps)]
                if doms:
                    return self._final(lo, doms[0])
                # fix the polarity of the domain with fewer misfits
                bad = {d: sum(len(self.heap[p]) - self._count(p, d) for p in ps) for d in (0, 1)}
                d = min(bad, key=bad.get)
                p = next(p for p in ps if self._count(p, d) < len(self.heap[p]))
                self._convert(p, d)
                continue
            p0 = tall[0]
            best = None
            for d in (0, 1):
                c = self._plan_chain(p0, d)
                if c is not None:
                    cand = (c[0] / c[1], c[0], -d, d, c)
                    if best is None or cand > best:
                        best = cand
            if best is None or best[0] < 0.5:
                self._fa(p0)
            else:
                _, _, _, d, (_, _, positions, n0, top) = best
                self._emit_chain(p0, d, positions, n0, top)

    def _final(self, lo, d):
        m = self.m
        heap = self.heap
        if lo == m and len(heap[m]) == 1:
            return heap[m].pop()
        # one chain from lo up to m; bit m is the answer
        positions = m - lo + 1
        n0 = len(heap[lo])
        if positions == 1:
            # bit m alone: parity of its (<= 3) entries
            got = self._take(m, d, n0)
            ins = [r for r in got if r[0] != "one"]
            k = len(got) - len(ins)
            n = len(ins)
            t = sum((((bin(i).count("1") + k) & 1) << i) for i in range(1 << n))
            return (self.net.lut(ins, t), 0)
        ch = self._emit_chain(lo, d, positions, n0, 0, final=True)
        return (ch["sums"][-1], 0)


# --- planning -------------------------------------------------------------------------------------


class _Plan:
    def __init__(self, weights, thresholds, op, beta, max_depth=math.inf):
        width = len(weights[0])
        self.width = width
        self.net = net = _Netlist(width)
        heaps = _Heaps(net, weights, op)
        while heaps.universal_step():
            pass
        while heaps.general_step(beta, max_depth):
            pass
        self.outputs = []  # per output: ref, or ("const", v)
        for col, t in zip(heaps.cols, thresholds):
            maxheap = sum(1 << e for (_, e) in col)
            if t <= 0:
                self.outputs.append(("const", 1))
                continue
            if t > maxheap:
                self.outputs.append(("const", 0))
                continue
            m = _final_bit(maxheap, t)
            k = (1 << m) - t
            entries = [(e, (n, inv)) for (n, e), inv in sorted(col.items())]
            entries += [(e, _ONE) for e in range(m + 1) if k >> e & 1]
            ref = _Column(net, entries, m).run()
            if ref is None or ref[0] == "one":
                self.outputs.append(("const", int(ref is not None)))
            else:
                net.use(ref)
                self.outputs.append(ref)

    def evaluate(self, x):
        """Output bits (B, outputs) of the planned netlist for input bits x (B, width)."""
        phys, val = self.net.evaluate(x)
        cols = []
        for ref in self.outputs:
            if ref[0] == "const":
                cols.append(np.full(len(x), bool(ref[1])))
            else:
                cols.append(val(ref))
        return np.stack(cols, axis=1).astype(np.int64)



# --- pipelining -----------------------------------------------------------------------------------


def _stage_plan(net, budget):
    """ASAP stages with at most ``budget`` delay units per stage; a chain is never split.

    Returns (stage per node, number of stages used)."""
    n = len(net.kind)
    st = [0] * n
    lt = [0.0] * n   # arrival time within the node's stage

    def inp(ref, s):
        """Local arrival of ref when read in stage s (registered inputs arrive at 0)."""
        if ref is None or ref[0] == "one":
            return 0.0
        k = ref[0]
        return lt[k] if st[k] == s else 0.0

    def sref(ref):
        return 0 if (ref is None or ref[0] == "one") else st[ref[0]]

    done = set()
    used = 1
    for k, kind in enumerate(net.kind):
        if kind == "x":
            continue
        if kind == "lut":
            ins = net.args[k][0]
            s = max([sref(r) for r in ins], default=0)
            t = max([inp(r, s) for r in ins], default=0.0) + _LUT_DELAY
            if t > budget and any(sref(r) == s and inp(r, s) > 0 for r in ins):
                s += 1
                t = _LUT_DELAY
            st[k], lt[k] = s, t
            used = max(used, s + 1)
            continue
        c = net.args[k][0]
        if c in done:
            continue
        done.add(c)
        ch = net.chains[c]
        refs = [r for ab in ch["ops"] for r in ab]
        if ch["cin"][0] == "bit":
            refs.append(ch["cin"][1])
        s = max([sref(r) for r in refs], default=0)
        for attempt in range(2):
            times = {}
            carry = inp(ch["cin"][1], s) + _LUT_DELAY if ch["cin"][0] == "bit" else 0.0
            for pos, (a, b) in enumerate(ch["ops"]):
                ins = max(inp(a, s), inp(b, s)) + _LUT_DELAY
                if ch["sums"][pos] is not None:
                    times[ch["sums"][pos]] = max(ins, carry + _CARRY_DELAY)
                carry = max(ins, carry) + _CARRY_DELAY
            if ch["top"] is not None:
                times[ch["top"]] = carry + _LUT_DELAY
            worst = max(times.values(), default=0.0)
            if worst <= budget or attempt == 1:
                break
            s += 1
        for o, t in times.items():
            st[o], lt[o] = s, t
        used = max(used, s + 1)
    return st, used


def _register_cells(net, st, outputs, last):
    """Logic cells spent on pipeline registers that cannot share a LUT's cell."""
    need = collections.defaultdict(set)   # node -> stages it is read in (beyond its own)
    same = collections.Counter()          # node -> readers in its own stage
    done = set()

    def read(ref, s):
        if ref is None or ref[0] == "one":
            return
        k = ref[0]
        if s > st[k]:
            need[k].add(s)
        else:
            same[k] += 1

    for k, kind in enumerate(net.kind):
        if kind == "lut":
            for r in net.args[k][0]:
                read(r, st[k])
        elif kind in ("sum", "top"):
            c = net.args[k][0]
            if c in done:
                continue
            done.add(c)
            ch = net.chains[c]
            outs = [o for o in ch["sums"] + [ch["top"]] if o is not None]
            s = st[outs[0]] if outs else 0
            for a, b in ch["ops"]:
                read(a, s)
                read(b, s)
            if ch["cin"][0] == "bit":
                read(ch["cin"][1], s)
    for ref in outputs:
        if ref[0] != "const":
            read(ref, last + 1)
    cells = 0
    for k, stages in need.items():
        hops = max(stages) - st[k]
        # the first register shares the LUT's cell if the LUT feeds nothing else
        cells += hops - (1 if (net.kind[k] != "x" and same[k] == 0) else 0)
    return cells


def _stages(net, outputs, stages):
    """Stage (0 .. stages-1) of every node: the smallest per-stage delay budget that fits."""
    n = len(net.kind)
    if stages <= 1:
        return [0] * n
    depth = max([net.t[r[0]] for r in outputs if r[0] != "const"], default=1.0) or 1.0
    lo, hi = depth / stages - 1e-6, depth
    best = None
    for _ in range(30):
        mid = (lo + hi) / 2
        st, used = _stage_plan(net, mid)
        if used <= stages:
            hi, best = mid, st
        else:
            lo = mid
    if best is None:
        best, _ = _stage_plan(net, hi)
    return best

