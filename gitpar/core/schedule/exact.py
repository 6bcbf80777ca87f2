"""The optimised schedule (:func:`schedule`): a portfolio of priority rules, forward and
backward passes, justification, randomised list scheduling and restarted exact
depth-first searches, stopping at a proven lower bound or when the effort budget is spent.
"""

from __future__ import annotations

import math
import random
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from gitpar.core.schedule.bounds import lower_bound_of, packs
from gitpar.core.schedule.graph import INF, Graph, Schedule, Task, build_schedule, check_workers
from gitpar.core.schedule.lists import nondelay, priority_list, serial_sgs


class _Abort(Exception):
    pass


def _dfs(
    g: Graph,
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


def _first_rule_key(g: Graph) -> list[tuple[float, ...]]:
    """The first portfolio rule's priority key: bottom level, then successors (CP/MISF)."""
    bl, succs, prio = g.bl, g.succs, g.prio
    return [(-bl[i], -len(succs[i]), -prio[i], i) for i in range(g.n)]


def _rule_keys(g: Graph, *, with_first: bool = True) -> list[list[tuple[float, ...]]]:
    """Priority keys (smaller = first) of the portfolio rules, for graph ``g`` (without
    :func:`_first_rule_key`'s when ``with_first`` is False).

    All rules break ties by task priority (higher first), then name.
    """
    n = g.n
    bl, tl, dur, succs, prio = g.bl, g.tl, g.dur, g.succs, g.prio
    keys: list[list[tuple[float, ...]]] = [_first_rule_key(g)] if with_first else []
    keys += [
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

    def __init__(self, g: Graph, m: int, budget_s: float) -> None:
        self.g = g
        self._rg: Graph | None = None
        self.m = m
        self.n = g.n
        self.edges = sum(len(p) for p in g.preds)
        # The effort budget (deterministic) ends the search; the limit on this
        # thread's CPU time is a safety net for a machine much slower than the
        # calibration (about twice the CPU the effort budget should take). No
        # wall-clock limit: on a loaded machine the wall clock runs on while this
        # thread waits, and the answer would depend on the load.
        self.effort_left = budget_s * _EFFORT_PER_S
        self.cpu_deadline = time.thread_time() + budget_s
        self.best: list[float] = []
        self.best_mk = INF
        self.packed: set[float] = set()  # incumbents tried by proved_by_packing
        self.lb = 0.0
        pos = [0] * g.n
        for k, i in enumerate(g.topo):
            pos[i] = k
        self.pos = pos

    # -- bookkeeping -------------------------------------------------------

    @property
    def rg(self) -> Graph:
        """The reversed graph, for backward passes: built when first needed (a list
        schedule that meets the lower bound needs none)."""
        if self._rg is None:
            self._rg = self.g.reverse()
        return self._rg
    def spend(self, units: float) -> None:
        self.effort_left -= units

    def expired(self) -> bool:
        return time.thread_time() > self.cpu_deadline

    def out_of_budget(self) -> bool:
        return self.effort_left <= 0 or self.expired()

    def done(self) -> bool:
        return self.best_mk <= self.lb + OPTIMAL_TO * max(1.0, self.lb) or self.out_of_budget()

    def proved_by_packing(self) -> bool:
        """Whether the incumbent is optimal because no better makespan fits the work on the
        workers even without the dependencies (:func:`~gitpar.core.schedule.bounds.packs`);
        raises the lower bound to it if so. For small graphs only (a bounded search)."""
        g, mk = self.g, self.best_mk
        if self.n > _PACK_MAX or mk in self.packed:
            return False
        self.packed.add(mk)
        below = mk - 1.0 if g.integral else mk - 0.5 * OPTIMAL_TO * max(1.0, mk)
        fits, nodes = packs(g.dur, self.m, below, _PACK_NODES)
        self.spend(2.0 * self.n + nodes * (1.0 + 0.2 * self.m))
        if fits is False:
            self.lb = max(self.lb, mk if g.integral else below)
            return True
        return False

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
            st, mk, steps = serial_sgs(g.dur, g.preds, priority_list(g.preds, g.succs, rank), self.m)
            self.spend(self._cost_list() + 0.1 * steps + 0.05 * (self.n + self.edges))
        else:
            st, mk = nondelay(g.dur, g.preds, g.succs, self.m, rank)
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
            # (Orders go through priority_list: rounding in the backward
            # conversion must not put a task before its predecessor.)
            rank = _keys_to_rank([(-st[i] - dur[i], -pos[i]) for i in range(n)])
            order = priority_list(g.succs, g.preds, rank)
            rs, mk1, steps1 = serial_sgs(dur, g.succs, order, m)
            rank = _keys_to_rank([(mk1 - rs[i] - dur[i], pos[i]) for i in range(n)])
            order = priority_list(g.preds, g.succs, rank)
            st2, mk2, steps2 = serial_sgs(dur, g.preds, order, m)
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
# A schedule within this share of a proven lower bound is optimal for gitpar's purposes (a
# second in eleven days of work): the search stops there. Integral durations (the STG
# graphs) differ by whole units, far above it, so their optimum stays exact.
OPTIMAL_TO = 1e-6
_PACK_MAX = 120  # graphs up to this size get the packing bound (proved_by_packing)
_PACK_NODES = 4000  # its search's node limit
_DFS_NODES = 200  # node limit unit of the exact searches (times the Luby sequence)
_RANDOM_STEPS = 4  # randomised list schedules between two exact searches


def _luby(i: int) -> int:
    """The Luby restart sequence 1 1 2 1 1 2 4 1 1 2 ... (i >= 1)."""
    while True:
        k = i.bit_length()
        if i == (1 << k) - 1:
            return 1 << (k - 1)
        i -= (1 << (k - 1)) - 1


def _solve(g: Graph, m: int, budget_s: float) -> list[float]:
    n = g.n
    s = _Search(g, m, budget_s)
    # 1. Bottom-level list schedule: always available, fast for big graphs.
    first = _keys_to_rank(_first_rule_key(g))
    s.offer(*s.list_run(False, first, False))
    if s.out_of_budget():
        return s.best
    s.lb = lower_bound_of(g, m)
    s.spend(2.0 * (n + s.edges) + (0.05 * n * n if n <= _RULES_SMALL else 0.0) + 20000.0)
    if s.done() or (s.proved_by_packing() and s.done()):
        return s.best
    fw_ranks = [first] + [_keys_to_rank(k) for k in _rule_keys(g, with_first=False)]
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
    if s.done() or (s.proved_by_packing() and s.done()):
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
            target = s.best_mk * (1.0 - OPTIMAL_TO)
        if s.exact(backward, rank, target, _DFS_NODES * _luby(phase)):
            # Exhausted: no schedule of makespan <= target exists.
            if g.integral:
                s.lb = max(s.lb, math.floor(target + 1e-9) + 1.0)
                target = s.lb
            elif improving:
                break  # the incumbent is optimal (to OPTIMAL_TO)
            else:
                improving = True
    return s.best



def exactly_feasible(g: Graph, start: list[float], m: int) -> bool:
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


def left_justify(g: Graph, start: list[float], m: int) -> list[float]:
    """Re-time a schedule: every task, in order of start time, as early as
    possible.  Never later than before (up to rounding), and it makes the
    times exact (a successor starts at exactly its predecessor's finish),
    which schedules converted from backward passes are not."""
    pos = [0] * g.n
    for k, i in enumerate(g.topo):
        pos[i] = k
    rank = _keys_to_rank([(start[i], pos[i]) for i in range(g.n)])
    st, mk, _ = serial_sgs(g.dur, g.preds, priority_list(g.preds, g.succs, rank), m)
    old = max((start[i] + g.dur[i] for i in range(g.n)), default=0.0)
    return st if mk <= old * (1 + 1e-9) + 1e-9 else start


def schedule(tasks: Sequence[Task] | Graph, workers: int, *, budget_s: float = 0.3) -> Schedule:
    """Best schedule found for ``tasks`` on ``workers`` identical workers.

    Runs a portfolio of list-scheduling rules (bottom level with several
    tie-breaks, forward and backward, non-delay and insertion), improves the
    best schedule by forward-backward justification, then alternates seeded
    randomised list scheduling with exact depth-first searches until the
    makespan equals a proven lower bound or the budget is spent.

    It stops at once when the lower bound is reached, to a millionth (the usual case for
    graphs with integral durations: a few milliseconds for 50 tasks).
    Otherwise the search is limited by an effort budget counted in
    operations, calibrated to about ``budget_s / 2`` seconds of CPU on a
    current machine, so it is deterministic: the same tasks (in any order)
    and worker count give the same schedule, however loaded the machine.
    One safety net ends it early on a machine more than about twice slower:
    ``budget_s`` seconds of this thread's CPU time; only then can the result
    vary.  Small graphs whose incumbent no better packing of the work onto
    the workers could beat (dependencies ignored) end at once, proven
    optimal (:func:`~gitpar.core.schedule.bounds.packs`).  ``budget_s=0``
    returns the first list schedule (bottom level, ties by number of
    successors), which takes about 10 ms for 1,000 tasks.
    """
    check_workers(workers)
    g = Graph.of(tasks)
    if g.n == 0:
        return Schedule(slots={}, makespan=0.0, workers=workers)
    return build_schedule(g, _start_times(g, workers, budget_s), workers)


def makespan(tasks: Sequence[Task] | Graph, workers: int, *, budget_s: float = 0.3) -> float:
    """The makespan of :func:`schedule` (the same search), without placing the tasks on
    workers: what a what-if needs."""
    check_workers(workers)
    g = Graph.of(tasks)
    start = _start_times(g, workers, budget_s) if g.n else []
    return max((s + d for s, d in zip(start, g.dur, strict=True)), default=0.0)


def _start_times(g: Graph, workers: int, budget_s: float) -> list[float]:
    if g.res is not None:
        from gitpar.core.schedule.resources import resource_start_times

        return resource_start_times(g, workers, max(0.0, budget_s))
    start = _solve(g, workers, max(0.0, budget_s))
    if not exactly_feasible(g, start, workers):
        start = left_justify(g, start, workers)  # rounding from backward passes
    return start
