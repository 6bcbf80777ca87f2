"""Lower bounds on the makespan: critical path, work per worker, the m-th and (m+1)-th
longest durations, energetic reasoning over time windows, and with ``resources:`` each
resource's serial bound (:func:`resource_lower_bound`, used by ``resources``; this module
imports no other part of the package but ``graph``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gitpar.core.schedule.graph import INF, Graph, Task, check_workers


def round_lb(g: Graph, x: float) -> float:
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


def lower_bound_of(g: Graph, m: int, energetic: bool = True) -> float:
    """:func:`lower_bound` of the graph ``g``, worked out once per graph and worker count
    (the search and the plan's analysis both ask for it)."""
    found = g._lb.get((m, energetic))
    if found is None:
        found = g._lb[(m, energetic)] = _lower_bound_of(g, m, energetic)
    return found


def _lower_bound_of(g: Graph, m: int, energetic: bool) -> float:
    n = g.n
    if n == 0:
        return 0.0
    dur = g.dur
    bl = g.bl
    lb = max(max(bl), sum(dur) / m)
    if n > m:
        ds = sorted(dur, reverse=True)
        lb = max(lb, ds[m - 1] + ds[m])
    lb = round_lb(g, lb)
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
                best = INF
                for j in range(m):
                    v = tail / (m - j)
                    if v < best:
                        best = v
                    tail -= es[j]
                cand = round_lb(g, a + c + best)
                if cand > lb + 1e-9:
                    lb = cand
                    changed = True
    return lb



def lower_bound(tasks: Sequence[Task] | Graph, workers: int) -> float:
    """A lower bound on the makespan of any schedule on ``workers`` workers.

    The maximum of the critical path length, total work / workers, the sum
    of the m-th and (m+1)-th longest durations and an energetic-reasoning
    bound over time windows derived from top
    and bottom levels (windows sampled for big graphs).  With integral
    durations the bound is rounded up.
    """
    check_workers(workers)
    g = Graph.of(tasks)
    if g.res is not None:  # tasks needing one exclusive resource run one after another
        return resource_lower_bound(g, workers)
    return lower_bound_of(g, workers)


def resource_lower_bound(g: Graph, m: int) -> float:
    """The unconstrained bound, and each resource's serial bound (head + sum + tail)."""
    lb = lower_bound_of(g, m)
    if g.res is None:
        return lb
    tl, bl = g.tl, g.bl
    users: dict[str, list[int]] = {}
    for i, rs in enumerate(g.res):
        for r in rs:
            users.setdefault(r, []).append(i)
    for ids in users.values():
        bound = min(tl[i] for i in ids) + sum(g.dur[i] for i in ids) + min(bl[i] - g.dur[i] for i in ids)
        lb = max(lb, bound)
    return lb


def packs(durations: Sequence[float], m: int, capacity: float, node_limit: int) -> tuple[bool | None, int]:
    """Whether ``durations`` fit on ``m`` workers with none busy longer than ``capacity``,
    dependencies ignored (a relaxation: no schedule of makespan <= ``capacity`` exists when
    they do not fit, since the busiest worker's load is at most the makespan). True / False,
    or None when ``node_limit`` search nodes did not decide it; and the nodes used.

    A depth-first search over the tasks, longest first, onto the workers, never onto two
    workers of the same load (symmetric), nor past the capacity, nor on when the work left
    exceeds the room left; failed (task, loads) states are remembered. The bound a small
    plan of independent streams needs: its schedule is a partition of the durations, which
    no bound from path lengths or total work proves optimal.
    """
    eps = 1e-9 * max(1.0, capacity)
    limit = capacity + eps
    items = sorted(durations, reverse=True)
    if not items:
        return True, 0
    if items[0] > limit:
        return False, 0
    if m >= len(items):
        return True, 0
    after = [0.0] * (len(items) + 1)
    for k in range(len(items) - 1, -1, -1):
        after[k] = after[k + 1] + items[k]
    if after[0] > m * capacity + eps * m:
        return False, 0
    loads = [0.0] * m
    failed: set[tuple[int, tuple[float, ...]]] = set()
    nodes = 0

    class _Out(Exception):
        pass

    def place(k: int) -> bool:
        nonlocal nodes
        if k == len(items):
            return True
        nodes += 1
        if nodes > node_limit:
            raise _Out
        if after[k] > sum(limit - x for x in loads):
            return False
        key = (k, tuple(sorted(loads)))
        if key in failed:
            return False
        d = items[k]
        tried: set[float] = set()
        for w in range(m):
            load = loads[w]
            if load in tried or load + d > limit:
                continue
            tried.add(load)
            loads[w] = load + d
            ok = place(k + 1)
            loads[w] = load
            if ok:
                return True
        failed.add(key)
        return False

    try:
        return place(0), nodes
    except _Out:
        return None, nodes
