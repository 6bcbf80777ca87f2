"""Static scheduling of a task DAG onto identical workers.

Pure functions, standard library only.  Given tasks with durations and
dependencies, compute waves, bottom/top levels, the critical path, a lower
bound on the makespan and good schedules for ``workers`` identical workers
(no communication cost, no preemption).

The main entry point is :func:`schedule`: a portfolio of list-scheduling
rules (forward and backward, non-delay and serial/insertion), then
forward-backward justification, then seeded randomised list scheduling
interleaved with restarted exact depth-first searches (pruned by tail,
idle-time and dominance bounds), stopping as soon as the makespan equals a
proven lower bound or the effort budget is spent.  On the Standard Task
Graph set (Kasahara lab, 50 tasks, 2-16 workers) it finds the known optimum
in all cases, in a few milliseconds on average.

:func:`ready_order_schedule` (what ``make -j`` does) and
:func:`wave_schedule` (barrier between dependency waves) are baselines.
"""

from __future__ import annotations

import heapq
import math
import random
import sys
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Task",
    "Slot",
    "Schedule",
    "waves",
    "bottom_levels",
    "top_levels",
    "critical_path",
    "lower_bound",
    "schedule",
    "list_schedule",
    "ready_order_schedule",
    "wave_schedule",
]

_INF = float("inf")


@dataclass(frozen=True)
class Task:
    """A unit of work: ``duration`` seconds (>= 0), run after all ``deps``."""

    name: str
    duration: float
    deps: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class Slot:
    """Placement of one task: it runs on ``worker`` during [start, finish)."""

    name: str
    start: float
    finish: float
    worker: int


@dataclass(frozen=True)
class Schedule:
    """A complete schedule: one :class:`Slot` per task name."""

    slots: dict[str, Slot]
    makespan: float
    workers: int


# ---------------------------------------------------------------------------
# Internal graph representation
# ---------------------------------------------------------------------------


class _Graph:
    """Tasks indexed 0..n-1 (in name order) with adjacency lists."""

    __slots__ = ("n", "names", "dur", "prio", "preds", "succs", "topo", "integral", "_bl", "_tl")

    def __init__(
        self,
        names: list[str],
        dur: list[float],
        prio: list[int],
        preds: list[list[int]],
        succs: list[list[int]],
        topo: list[int],
    ) -> None:
        self.n = len(names)
        self.names = names
        self.dur = dur
        self.prio = prio
        self.preds = preds
        self.succs = succs
        self.topo = topo
        self.integral = all(d == int(d) for d in dur)
        self._bl: list[float] | None = None
        self._tl: list[float] | None = None

    @classmethod
    def build(cls, tasks: Sequence[Task]) -> _Graph:
        """Index ``tasks`` by name order and check the graph."""
        ordered = sorted(tasks, key=lambda t: t.name)
        n = len(ordered)
        names = [t.name for t in ordered]
        index = {name: i for i, name in enumerate(names)}
        if len(index) != n:
            raise ValueError("duplicate task names")
        for t in ordered:
            if not t.duration >= 0 or math.isinf(t.duration):
                raise ValueError(f"task {t.name!r}: invalid duration {t.duration!r}")
        preds: list[list[int]] = []
        succs: list[list[int]] = [[] for _ in range(n)]
        for i, t in enumerate(ordered):
            ps: list[int] = []
            for d in dict.fromkeys(t.deps):
                j = index.get(d)
                if j is None:
                    raise ValueError(f"task {t.name!r}: unknown dependency {d!r}")
                if j == i:
                    raise ValueError(f"task {t.name!r} depends on itself")
                ps.append(j)
                succs[j].append(i)
            preds.append(ps)
        # Kahn's algorithm, smallest index first -> deterministic order.
        indeg = [len(p) for p in preds]
        heap = [i for i in range(n) if indeg[i] == 0]
        heapq.heapify(heap)
        topo: list[int] = []
        while heap:
            i = heapq.heappop(heap)
            topo.append(i)
            for s in succs[i]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    heapq.heappush(heap, s)
        if len(topo) != n:
            raise ValueError("dependency cycle")
        dur = [float(t.duration) for t in ordered]
        return cls(names, dur, [t.priority for t in ordered], preds, succs, topo)

    def reverse(self) -> _Graph:
        """The same graph with every edge reversed (for backward scheduling)."""
        r = _Graph(self.names, self.dur, self.prio, self.succs, self.preds, self.topo[::-1])
        if self._bl is not None and self._tl is not None:
            r._tl = [b - d for b, d in zip(self._bl, self.dur, strict=True)]
            r._bl = [t + d for t, d in zip(self._tl, self.dur, strict=True)]
        return r

    @property
    def bl(self) -> list[float]:
        """Bottom level: longest path to a sink, including own duration."""
        if self._bl is None:
            dur, succs = self.dur, self.succs
            bl = [0.0] * self.n
            for i in reversed(self.topo):
                best = 0.0
                for s in succs[i]:
                    if bl[s] > best:
                        best = bl[s]
                bl[i] = dur[i] + best
            self._bl = bl
        return self._bl

    @property
    def tl(self) -> list[float]:
        """Top level: earliest start time (longest path from a source)."""
        if self._tl is None:
            dur, preds = self.dur, self.preds
            tl = [0.0] * self.n
            for i in self.topo:
                best = 0.0
                for p in preds[i]:
                    v = tl[p] + dur[p]
                    if v > best:
                        best = v
                tl[i] = best
            self._tl = tl
        return self._tl


# ---------------------------------------------------------------------------
# Schedule generation schemes (index based, hot paths)
# ---------------------------------------------------------------------------


def _nondelay(
    dur: list[float], preds: list[list[int]], succs: list[list[int]], m: int, rank: list[int]
) -> tuple[list[float], float]:
    """Parallel (non-delay) list scheduling: whenever a worker is idle and a
    task is ready, start the ready task of smallest rank."""
    n = len(dur)
    inv = [0] * n
    for i, r in enumerate(rank):
        inv[r] = i
    indeg = [len(p) for p in preds]
    ready = [rank[i] for i in range(n) if not indeg[i]]
    heapq.heapify(ready)
    start = [0.0] * n
    running: list[tuple[float, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    t = 0.0
    free = m
    done = 0
    while done < n:
        while free and ready:
            i = inv[pop(ready)]
            start[i] = t
            push(running, (t + dur[i], i))
            free -= 1
        t, i = pop(running)
        while True:
            free += 1
            done += 1
            for s in succs[i]:
                indeg[s] -= 1
                if not indeg[s]:
                    push(ready, rank[s])
            if running and running[0][0] <= t:
                i = pop(running)[1]
            else:
                break
    return start, t if n else 0.0


def _serial(
    dur: list[float], preds: list[list[int]], order: list[int], m: int
) -> tuple[list[float], float, int]:
    """Serial schedule generation (insertion): tasks in ``order`` (a
    topological order) are placed one by one at the earliest time at which
    all their predecessors are finished and a worker is free for the whole
    duration, possibly in a gap before already placed tasks.  Also returns
    a count of the work done (profile segments scanned or moved)."""
    n = len(dur)
    start = [0.0] * n
    fin = [0.0] * n
    bt = [0.0]  # profile breakpoints
    bu = [0]  # busy workers on [bt[k], bt[k+1])
    mk = 0.0
    steps = 0  # work done, for the effort budget
    for i in order:
        est = 0.0
        for p in preds[i]:
            f = fin[p]
            if f > est:
                est = f
        d = dur[i]
        k = bisect_right(bt, est) - 1
        k0 = k
        t = est
        nb = len(bt)
        while True:
            end = t + d
            j = k
            while bu[j] < m:
                if j + 1 == nb or bt[j + 1] >= end:
                    break
                j += 1
            else:
                k = j + 1
                t = bt[k]
                continue
            break
        steps += j - k0 + (nb >> 5)
        start[i] = t
        end = t + d
        fin[i] = end
        if end > mk:
            mk = end
        if d > 0.0:
            if bt[k] != t:
                k += 1
                bt.insert(k, t)
                bu.insert(k, bu[k - 1])
            e = bisect_left(bt, end, k)
            if e == len(bt) or bt[e] != end:
                bt.insert(e, end)
                bu.insert(e, bu[e - 1])
            for j in range(k, e):
                bu[j] += 1
            steps += e - k
    return start, mk, steps


def _priority_list(preds: list[list[int]], succs: list[list[int]], rank: list[int]) -> list[int]:
    """Topological order that always takes the eligible task of smallest rank."""
    n = len(rank)
    inv = [0] * n
    for i, r in enumerate(rank):
        inv[r] = i
    indeg = [len(p) for p in preds]
    heap = [rank[i] for i in range(n) if not indeg[i]]
    heapq.heapify(heap)
    out: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        i = inv[pop(heap)]
        out.append(i)
        for s in succs[i]:
            indeg[s] -= 1
            if not indeg[s]:
                push(heap, rank[s])
    return out


def _assign_workers(dur: list[float], start: list[float], m: int) -> list[int]:
    """Give each task a worker id in 0..m-1 (interval colouring by start)."""
    n = len(dur)
    order = sorted(range(n), key=lambda i: (start[i], dur[i] > 0.0, i))
    free = list(range(m))
    busy: list[tuple[float, int]] = []
    worker = [0] * n
    push, pop = heapq.heappush, heapq.heappop
    for i in order:
        s = start[i]
        while busy and busy[0][0] <= s:
            push(free, pop(busy)[1])
        if not free:  # pragma: no cover - only on float noise
            push(free, pop(busy)[1])
        w = free[0]
        worker[i] = w
        if dur[i] > 0.0:
            pop(free)
            push(busy, (s + dur[i], w))
    return worker


def _exactly_feasible(g: _Graph, start: list[float], m: int) -> bool:
    """True if ``start`` respects dependencies and the worker count exactly,
    without any rounding tolerance."""
    dur = g.dur
    for i, ps in enumerate(g.preds):
        s = start[i]
        for p in ps:
            if s < start[p] + dur[p]:
                return False
    # Sweep; at equal times: finishes, then zero-length tasks (which need a
    # free worker at that instant), then starts.
    events = [(start[i] + dur[i], 0) for i in range(g.n) if dur[i] > 0.0]
    events += [(start[i], 2 if dur[i] > 0.0 else 1) for i in range(g.n)]
    events.sort()
    busy = 0
    for _, kind in events:
        if kind == 0:
            busy -= 1
        elif kind == 2:
            busy += 1
            if busy > m:
                return False
        elif busy >= m:
            return False
    return True


def _left_justify(g: _Graph, start: list[float], m: int) -> list[float]:
    """Re-time a schedule: every task, in order of start time, as early as
    possible.  Never later than before (up to rounding), and it makes the
    times exact (a successor starts at exactly its predecessor's finish),
    which schedules converted from backward passes are not."""
    pos = [0] * g.n
    for k, i in enumerate(g.topo):
        pos[i] = k
    rank = _keys_to_rank([(start[i], pos[i]) for i in range(g.n)])
    st, mk, _ = _serial(g.dur, g.preds, _priority_list(g.preds, g.succs, rank), m)
    old = max((start[i] + g.dur[i] for i in range(g.n)), default=0.0)
    return st if mk <= old * (1 + 1e-9) + 1e-9 else start


def _build_schedule(g: _Graph, start: list[float], m: int) -> Schedule:
    dur = g.dur
    worker = _assign_workers(dur, start, m)
    order = sorted(range(g.n), key=lambda i: (start[i], worker[i], i))
    slots = {g.names[i]: Slot(g.names[i], start[i], start[i] + dur[i], worker[i]) for i in order}
    makespan = max((start[i] + dur[i] for i in range(g.n)), default=0.0)
    return Schedule(slots=slots, makespan=makespan, workers=m)


# ---------------------------------------------------------------------------
# Lower bounds
# ---------------------------------------------------------------------------


def _round_lb(g: _Graph, x: float) -> float:
    """With integral durations an optimal schedule has an integral makespan."""
    if g.integral:
        return float(math.ceil(x - 1e-9))
    return x


def _sample(values: list[float], n: int) -> list[float]:
    """At most ~sqrt(40000 / n) evenly spread values (all of them for small n),
    keeping the energetic bound at O(40000) task visits."""
    k = max(6, int(math.sqrt(40000 / max(1, n))))
    if len(values) <= k:
        return values
    step = (len(values) - 1) / (k - 1)
    return sorted({values[round(j * step)] for j in range(k)})


def _lower_bound(g: _Graph, m: int, energetic: bool = True) -> float:
    n = g.n
    if n == 0:
        return 0.0
    dur = g.dur
    bl = g.bl
    lb = max(max(bl), sum(dur) / m)
    if n > m:
        ds = sorted(dur, reverse=True)
        lb = max(lb, ds[m - 1] + ds[m])
    lb = _round_lb(g, lb)
    if not energetic or n <= m:
        return lb
    # Energetic reasoning over intervals [a, D - c]: task i runs inside the
    # window [r_i, D - q_i] (head r = top level, tail q = bottom level minus
    # own duration), so it must spend at least e_i = min(d_i, r_i + d_i - a,
    # q_i + d_i - c, L) inside an interval of length L = D - a - c; the m
    # workers supply m * L.  Smallest L with m*L >= sum(min(e_i, L)) is
    # min over j < m of (sum of all but the j largest e) / (m - j).
    r = g.tl
    q = [bl[i] - dur[i] for i in range(n)]
    heads = _sample(sorted(set(r)), n)
    tails = _sample(sorted(set(q)), n)
    idx = range(n)
    changed = True
    passes = 0
    while changed and passes < 4:
        changed = False
        passes += 1
        for a in heads:
            if a >= lb:
                break
            ai = [(min(dur[i], r[i] + dur[i] - a), i) for i in idx]
            ai = [(v, i) for v, i in ai if v > 0.0]
            for c in tails:
                if a + c >= lb:
                    break
                es = []
                for v, i in ai:
                    w = q[i] + dur[i] - c
                    if w > 0.0:
                        es.append(v if v < w else w)
                if len(es) <= m:
                    continue
                es.sort(reverse=True)
                tail = sum(es)
                best = _INF
                for j in range(m):
                    v = tail / (m - j)
                    if v < best:
                        best = v
                    tail -= es[j]
                cand = _round_lb(g, a + c + best)
                if cand > lb + 1e-9:
                    lb = cand
                    changed = True
    return lb


# ---------------------------------------------------------------------------
# Exact search (depth-first, for small graphs)
# ---------------------------------------------------------------------------


class _Abort(Exception):
    pass


def _dfs(
    g: _Graph,
    m: int,
    target: float,
    rank: list[int],
    node_limit: int,
    expired: Callable[[], bool] = lambda: False,
) -> tuple[list[float] | None, bool, int]:
    """Depth-first search for a schedule of makespan <= ``target``.

    Decision points are time 0 and task completions (this covers all
    left-justified schedules, so it is exact).  At a decision point the
    search starts ready tasks (in increasing ``rank``, each subset once) or
    moves on to the next completion.  Pruning: tail bound (t + bottom level
    <= target), idle-time budget (m * target - total work), left-shift
    dominance (never leave a worker idle through a gap that a ready task
    fits into) and a table of failed states.

    Returns (start times or None, exhausted, nodes used); ``exhausted`` means
    the whole tree was searched, i.e. no schedule of makespan <= target
    exists.
    """
    n = g.n
    dur, succs, bl = g.dur, g.succs, g.bl
    eps = 1e-9 * max(1.0, target)
    idle_budget = m * target - sum(dur) + eps
    limit = target + eps
    if idle_budget < 0.0 or max(bl, default=0.0) > limit:
        return None, True, 0
    inv = [0] * n
    for i, r in enumerate(rank):
        inv[r] = i
    indeg = [len(p) for p in g.preds]
    start = [0.0] * n
    ready: list[int] = sorted(rank[i] for i in range(n) if not indeg[i])
    running: list[tuple[float, int]] = []
    failed: set[tuple[int, float, tuple[tuple[float, int], ...]]] = set()
    full = (1 << n) - 1
    nodes = 0

    def decide(t: float, free: int, idle: float, minrank: int, mask: int) -> bool:
        nonlocal nodes
        if mask == full:
            return True
        nodes += 1
        if nodes > node_limit or (not nodes & 1023 and expired()):
            raise _Abort
        if free:
            k = bisect_right(ready, minrank)
            while k < len(ready):
                r = ready[k]
                i = inv[r]
                del ready[k]
                start[i] = t
                running.append((t + dur[i], i))
                ok = decide(t, free - 1, idle, r, mask | (1 << i))
                running.pop()
                ready.insert(k, r)
                if ok:
                    return True
                k += 1
        if not running:
            return False
        t2 = min(running)[0]
        idle2 = idle + free * (t2 - t)
        if idle2 > idle_budget:
            return False
        gap = t2 - t + eps
        for r in ready:
            i = inv[r]
            if t2 + bl[i] > limit:
                return False
            if free and dur[i] <= gap:
                # Starting i now, in the idle gap, would be at least as good.
                return False
        orig = running[:]
        saved = sorted(running)
        key = (mask, t2, tuple(saved))
        if key in failed:
            return False
        done = [x for x in saved if x[0] <= t2]
        running[:] = saved[len(done) :]
        added: list[int] = []
        for _, i in done:
            for s in succs[i]:
                indeg[s] -= 1
                if not indeg[s]:
                    r = rank[s]
                    ready.insert(bisect_left(ready, r), r)
                    added.append(r)
        ok = True
        for r in added:
            if t2 + bl[inv[r]] > limit:
                ok = False
                break
        if ok:
            ok = decide(t2, free + len(done), idle2, -1, mask)
        for r in added:
            del ready[bisect_left(ready, r)]
        for _, i in done:
            for s in succs[i]:
                indeg[s] += 1
        running[:] = orig
        if not ok:
            failed.add(key)
        return ok

    try:
        found = decide(0.0, m, 0.0, -1, 0)
    except _Abort:
        return None, False, nodes
    return (start if found else None), not found, nodes


# ---------------------------------------------------------------------------
# Priority rules, justification and the search driver
# ---------------------------------------------------------------------------

_SMALL = 300  # graphs up to this size get the exact search
_RULES_SMALL = 200  # graphs up to this size get the O(n^2) priority rules


def _rule_keys(g: _Graph) -> list[list[tuple[float, ...]]]:
    """Priority keys (smaller = first) of the portfolio rules, for graph ``g``.

    All rules break ties by task priority (higher first), then name.
    """
    n = g.n
    bl, tl, dur, succs, prio = g.bl, g.tl, g.dur, g.succs, g.prio
    nsucc = [len(s) for s in succs]
    keys: list[list[tuple[float, ...]]] = [
        [(-bl[i], -nsucc[i], -prio[i], i) for i in range(n)],  # CP/MISF
        [(-bl[i], -prio[i], i) for i in range(n)],  # HLFET
        [(-bl[i], -dur[i], -prio[i], i) for i in range(n)],
        [(-bl[i], dur[i], -prio[i], i) for i in range(n)],
        [(-bl[i], tl[i], -prio[i], i) for i in range(n)],
    ]
    if n <= _RULES_SMALL:
        desc = [0] * n
        for i in reversed(g.topo):
            b = 0
            for s in succs[i]:
                b |= desc[s] | (1 << s)
            desc[i] = b
        ndesc = [b.bit_count() for b in desc]
        dwork = [sum(dur[j] for j in range(n) if b >> j & 1) for b in desc]
        keys += [
            [(-bl[i], -dwork[i], -prio[i], i) for i in range(n)],
            [(-bl[i], -ndesc[i], -prio[i], i) for i in range(n)],
            [(-(dwork[i] + dur[i]), -bl[i], -prio[i], i) for i in range(n)],
        ]
    return keys


def _keys_to_rank(keys: Sequence[tuple[float, ...]]) -> list[int]:
    n = len(keys)
    rank = [0] * n
    for r, i in enumerate(sorted(range(n), key=keys.__getitem__)):
        rank[i] = r
    return rank


class _Search:
    """State of one :func:`schedule` call: incumbent, bounds and budgets."""

    def __init__(self, g: _Graph, m: int, budget_s: float) -> None:
        self.g = g
        self.rg = g.reverse()
        self.m = m
        self.n = g.n
        self.edges = sum(len(p) for p in g.preds)
        # The effort budget (deterministic) normally ends the search; the
        # limits on this thread's CPU time and on wall-clock time are safety
        # nets for slow or overloaded machines.
        self.effort_left = budget_s * _EFFORT_PER_S
        self.cpu_deadline = time.thread_time() + budget_s
        self.wall_deadline = time.perf_counter() + 3.0 * budget_s
        self.best: list[float] = []
        self.best_mk = _INF
        self.lb = 0.0
        pos = [0] * g.n
        for k, i in enumerate(g.topo):
            pos[i] = k
        self.pos = pos

    # -- bookkeeping -------------------------------------------------------
    def spend(self, units: float) -> None:
        self.effort_left -= units

    def expired(self) -> bool:
        return time.thread_time() > self.cpu_deadline or time.perf_counter() > self.wall_deadline

    def out_of_budget(self) -> bool:
        return self.effort_left <= 0 or self.expired()

    def done(self) -> bool:
        return self.best_mk <= self.lb + 1e-9 * max(1.0, self.lb) or self.out_of_budget()

    def offer(self, start: list[float], mk: float) -> bool:
        if mk < self.best_mk - 1e-12 * max(1.0, mk):
            self.best, self.best_mk = start, mk
            return True
        return False

    # -- schedule generation ------------------------------------------------
    # Effort is charged in estimated microseconds (of CPython 3.11 on a
    # ~3 GHz core), from counts that do not depend on timing.
    def _cost_list(self) -> float:
        n = self.n
        return 0.1 * self.edges + 0.25 * n + 0.0015 * n * n

    def list_run(self, backward: bool, rank: list[int], serial: bool) -> tuple[list[float], float]:
        g = self.rg if backward else self.g
        if serial:
            st, mk, steps = _serial(g.dur, g.preds, _priority_list(g.preds, g.succs, rank), self.m)
            self.spend(self._cost_list() + 0.1 * steps + 0.05 * (self.n + self.edges))
        else:
            st, mk = _nondelay(g.dur, g.preds, g.succs, self.m, rank)
            self.spend(self._cost_list())
        if backward:
            dur = g.dur
            st = [mk - st[i] - dur[i] for i in range(self.n)]
        return st, mk

    def justify(self, st: list[float], mk: float) -> tuple[list[float], float]:
        """Forward-backward improvement: right-justify then left-justify
        (serial scheme in order of finish / start times) until no gain."""
        g, n, m, pos = self.g, self.n, self.m, self.pos
        dur = g.dur
        base = 0.3 * (n + self.edges) + 0.4 * n * math.log2(n + 1)
        while not self.out_of_budget():
            # (Orders go through _priority_list: rounding in the backward
            # conversion must not put a task before its predecessor.)
            rank = _keys_to_rank([(-st[i] - dur[i], -pos[i]) for i in range(n)])
            order = _priority_list(g.succs, g.preds, rank)
            rs, mk1, steps1 = _serial(dur, g.succs, order, m)
            rank = _keys_to_rank([(mk1 - rs[i] - dur[i], pos[i]) for i in range(n)])
            order = _priority_list(g.preds, g.succs, rank)
            st2, mk2, steps2 = _serial(dur, g.preds, order, m)
            self.spend(base + 0.08 * (steps1 + steps2))
            if mk2 < mk - 1e-9 * max(1.0, mk):
                st, mk = st2, mk2
            else:
                return (st2, mk2) if mk2 <= mk else (st, mk)
        return st, mk

    def exact(self, backward: bool, rank: list[int], target: float, nodes: int) -> bool:
        """Run the DFS; return True if it proved that ``target`` is infeasible."""
        g = self.rg if backward else self.g
        st, exhausted, used = _dfs(g, self.m, target, rank, nodes, self.expired)
        per_node = 2.0 + 0.1 * self.edges / max(1, self.n) + 0.02 * self.n
        self.spend(used * per_node + 2.0 * self.n)
        if st is not None:
            mk = max(st[i] + g.dur[i] for i in range(self.n))
            if backward:
                st = [mk - st[i] - g.dur[i] for i in range(self.n)]
            self.offer(st, mk)
        return exhausted


# Effort units (estimated microseconds) per second of budget: the
# deterministic effort limit is set to run out at about half the wall-clock
# budget, so that the clock (which would make results depend on the
# machine's speed) is only a safety net.
_EFFORT_PER_S = 500_000.0
_DFS_NODES = 200  # node limit unit of the exact searches (times the Luby sequence)
_RANDOM_STEPS = 4  # randomised list schedules between two exact searches


def _luby(i: int) -> int:
    """The Luby restart sequence 1 1 2 1 1 2 4 1 1 2 ... (i >= 1)."""
    while True:
        k = i.bit_length()
        if i == (1 << k) - 1:
            return 1 << (k - 1)
        i -= (1 << (k - 1)) - 1


def _solve(g: _Graph, m: int, budget_s: float) -> list[float]:
    n = g.n
    s = _Search(g, m, budget_s)
    # 1. Bottom-level list schedule: always available, fast for big graphs.
    fw_keys = _rule_keys(g)
    fw_ranks = [_keys_to_rank(k) for k in fw_keys]
    s.offer(*s.list_run(False, fw_ranks[0], False))
    if s.out_of_budget():
        return s.best
    s.lb = _lower_bound(g, m)
    s.spend(2.0 * (n + s.edges) + (0.05 * n * n if n <= _RULES_SMALL else 0.0) + 20000.0)
    if s.done():
        return s.best
    # 2. Portfolio: every rule, forward and backward, non-delay and serial.
    bw_ranks = [_keys_to_rank(k) for k in _rule_keys(s.rg)]
    pool = [(False, r) for r in fw_ranks] + [(True, r) for r in bw_ranks]
    for serial in (False, True):
        for backward, rank in pool:
            if (backward, rank, serial) == (False, fw_ranks[0], False):
                continue
            s.offer(*s.list_run(backward, rank, serial))
            if s.done():
                return s.best
    s.offer(*s.justify(s.best, s.best_mk))
    if s.done():
        return s.best
    # 3. Improvement: randomised list scheduling + justification, interleaved
    #    with exact depth-first searches of growing size, restarted with
    #    priorities taken from the latest best schedule (forward and
    #    backward), from the rules, and random ones.
    rng = random.Random(0x5EED ^ (n * 7919) ^ m)
    bl_f, bl_b = g.bl, s.rg.bl
    dur = g.dur
    use_dfs = n <= _SMALL and 2 * n + 200 < sys.getrecursionlimit()
    k = 0
    phase = 0
    target = s.lb
    improving = False  # non-integral durations: DFS looks for any improvement
    alphas = (0.05, 0.15, 0.3, 0.6)
    elite, elite_mk = s.best, s.best_mk
    mean_dur = sum(dur) / n
    while not s.done():
        for _ in range(_RANDOM_STEPS):
            backward = rng.random() < 0.5
            alpha = alphas[rng.randrange(len(alphas))]
            bl = bl_b if backward else bl_f
            rank = _keys_to_rank([(-bl[i] * (1.0 + alpha * rng.random()), i) for i in range(n)])
            st, mk = s.justify(*s.list_run(backward, rank, rng.random() < 0.5))
            s.offer(st, mk)
            if mk <= elite_mk:
                elite, elite_mk = st, mk
            if s.done():
                return s.best
        if not use_dfs:
            continue
        if s.best_mk < elite_mk:
            elite, elite_mk = s.best, s.best_mk
        phase += 1
        if phase % 3:
            # Order of the elite schedule, forward or backward, with random
            # tie-breaks and sometimes a little noise.
            backward = phase % 3 == 2
            jitter = mean_dur * (0.0, 0.0, 0.3)[rng.randrange(3)]
            if backward:
                keys = [(elite_mk - elite[i] - dur[i], rng.random()) for i in range(n)]
            else:
                keys = [(elite[i], rng.random()) for i in range(n)]
            if jitter:
                keys = [(a + jitter * rng.random(), b) for a, b in keys]
            rank = _keys_to_rank(keys)
        else:
            if k < len(pool):
                backward, rank = pool[k]
            else:
                backward = rng.random() < 0.5
                bl = bl_b if backward else bl_f
                rank = _keys_to_rank([(-bl[i] * (1.0 + 0.3 * rng.random()), i) for i in range(n)])
            k += 1
        if improving:
            target = s.best_mk * (1.0 - 1e-6)
        if s.exact(backward, rank, target, _DFS_NODES * _luby(phase)):
            # Exhausted: no schedule of makespan <= target exists.
            if g.integral:
                s.lb = max(s.lb, math.floor(target + 1e-9) + 1.0)
                target = s.lb
            elif improving:
                break  # the incumbent is optimal (to 1e-6)
            else:
                improving = True
    return s.best


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


def waves(tasks: Sequence[Task]) -> list[list[str]]:
    """Group tasks into waves: wave 0 holds the tasks without dependencies,
    wave k the tasks whose longest dependency chain from a source has k
    edges.  Names are sorted inside each wave."""
    g = _Graph.build(tasks)
    level = [0] * g.n
    for i in g.topo:
        for p in g.preds[i]:
            if level[p] + 1 > level[i]:
                level[i] = level[p] + 1
    out: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for i in range(g.n):  # index order is name order
        out[level[i]].append(g.names[i])
    return out


def bottom_levels(tasks: Sequence[Task]) -> dict[str, float]:
    """Length of the longest path from each task to any sink, including the
    task's own duration (its "bottom level")."""
    g = _Graph.build(tasks)
    return dict(zip(g.names, g.bl, strict=True))


def top_levels(tasks: Sequence[Task]) -> dict[str, float]:
    """Earliest possible start of each task with unlimited workers (length of
    the longest path from any source to the task, excluding the task)."""
    g = _Graph.build(tasks)
    return dict(zip(g.names, g.tl, strict=True))


def critical_path(tasks: Sequence[Task]) -> tuple[list[str], float]:
    """The longest dependency chain: task names from source to sink and its
    total duration.  Among equally long chains the one preferring higher
    task priority, then the smaller name, at each step is returned."""
    g = _Graph.build(tasks)
    if g.n == 0:
        return [], 0.0
    bl, prio = g.bl, g.prio

    def pick(cands: list[int]) -> int:
        top = max(bl[i] for i in cands)
        return min((i for i in cands if bl[i] == top), key=lambda i: (-prio[i], i))

    i = pick([j for j in range(g.n) if not g.preds[j]])
    path = [i]
    while g.succs[i]:
        i = pick(g.succs[i])
        path.append(i)
    return [g.names[j] for j in path], bl[path[0]]


def lower_bound(tasks: Sequence[Task], workers: int) -> float:
    """A lower bound on the makespan of any schedule on ``workers`` workers.

    The maximum of the critical path length, total work / workers, the sum
    of the m-th and (m+1)-th longest durations and an energetic-reasoning
    bound over time windows derived from top
    and bottom levels (windows sampled for big graphs).  With integral
    durations the bound is rounded up.
    """
    _check_workers(workers)
    g = _Graph.build(tasks)
    return _lower_bound(g, workers)


def schedule(tasks: Sequence[Task], workers: int, *, budget_s: float = 0.3) -> Schedule:
    """Best schedule found for ``tasks`` on ``workers`` identical workers.

    Runs a portfolio of list-scheduling rules (bottom level with several
    tie-breaks, forward and backward, non-delay and insertion), improves the
    best schedule by forward-backward justification, then alternates seeded
    randomised list scheduling with exact depth-first searches until the
    makespan equals a proven lower bound or the budget is spent.

    It stops at once when the lower bound is reached (the usual case for
    graphs with integral durations: a few milliseconds for 50 tasks).
    Otherwise the search is limited by an effort budget counted in
    operations, calibrated to about ``budget_s / 2`` seconds of CPU on a
    current machine, so it is deterministic: the same tasks (in any order)
    and worker count give the same schedule.  Two safety nets end it early
    on a machine more than about twice slower: ``budget_s`` seconds of this
    thread's CPU time, or ``3 * budget_s`` seconds of wall-clock time on an
    overloaded machine; only then can the result vary.  ``budget_s=0``
    returns the first list schedule (bottom level, ties by number of
    successors), which takes about 10 ms for 1,000 tasks.
    """
    _check_workers(workers)
    g = _Graph.build(tasks)
    if g.n == 0:
        return Schedule(slots={}, makespan=0.0, workers=workers)
    start = _solve(g, workers, max(0.0, budget_s))
    if not _exactly_feasible(g, start, workers):
        start = _left_justify(g, start, workers)  # rounding from backward passes
    return _build_schedule(g, start, workers)


def list_schedule(
    tasks: Sequence[Task], workers: int, order_key: Callable[[Task], _Comparable]
) -> Schedule:
    """Non-delay list scheduling: whenever a worker is idle and tasks are
    ready, start the ready task with the smallest ``order_key(task)`` (ties:
    higher priority, then name).  E.g. ``order_key=lambda t: -bl[t.name]``
    with ``bl = bottom_levels(tasks)`` is classic HLFET."""
    _check_workers(workers)
    g = _Graph.build(tasks)
    by_name = {t.name: t for t in tasks}
    keys = [order_key(by_name[name]) for name in g.names]
    prio = g.prio
    order = sorted(range(g.n), key=lambda i: (keys[i], -prio[i], i))
    rank = [0] * g.n
    for r, i in enumerate(order):
        rank[i] = r
    start, _ = _nondelay(g.dur, g.preds, g.succs, workers, rank)
    return _build_schedule(g, start, workers)


def ready_order_schedule(tasks: Sequence[Task], workers: int) -> Schedule:
    """Baseline, what ``make -j`` or GNU parallel do: whenever a worker is
    idle, start the task that became ready first; tasks that become ready
    at the same moment go in the order they were given."""
    _check_workers(workers)
    g = _Graph.build(tasks)
    n = g.n
    pos = {t.name: k for k, t in enumerate(tasks)}
    given = [pos[name] for name in g.names]
    dur, succs = g.dur, g.succs
    indeg = [len(p) for p in g.preds]
    queue = deque(sorted((i for i in range(n) if not indeg[i]), key=given.__getitem__))
    start = [0.0] * n
    running: list[tuple[float, int]] = []
    t, free, done = 0.0, workers, 0
    while done < n:
        while free and queue:
            i = queue.popleft()
            start[i] = t
            heapq.heappush(running, (t + dur[i], i))
            free -= 1
        t = running[0][0]
        newly: list[int] = []
        while running and running[0][0] <= t:
            i = heapq.heappop(running)[1]
            free += 1
            done += 1
            for s in succs[i]:
                indeg[s] -= 1
                if not indeg[s]:
                    newly.append(s)
        queue.extend(sorted(newly, key=given.__getitem__))
    return _build_schedule(g, start, workers)


def wave_schedule(tasks: Sequence[Task], workers: int) -> Schedule:
    """Baseline: run the :func:`waves` one after the other with a barrier in
    between; inside a wave, longest task first on the earliest free worker."""
    _check_workers(workers)
    g = _Graph.build(tasks)
    start = [0.0] * g.n
    base = 0.0
    by_name = {name: i for i, name in enumerate(g.names)}
    for wave in waves(tasks):
        idx = sorted((by_name[x] for x in wave), key=lambda i: (-g.dur[i], -g.prio[i], i))
        free = [base] * workers
        end = base
        for i in idx:
            t = heapq.heappop(free)
            start[i] = t
            heapq.heappush(free, t + g.dur[i])
            end = max(end, t + g.dur[i])
        base = end
    return _build_schedule(g, start, workers)


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
