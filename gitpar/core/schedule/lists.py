"""List scheduling: the schedule-generation schemes (non-delay and serial/insertion) and
the levels of the task graph — waves, bottom and top levels, the critical path — with
:func:`list_schedule`, what ``gitpar run`` follows.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from gitpar.core.schedule.graph import (
    Comparable,
    Graph,
    Schedule,
    Task,
    build_schedule,
    check_workers,
)


def nondelay(
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


def serial_sgs(
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


def priority_list(preds: list[list[int]], succs: list[list[int]], rank: list[int]) -> list[int]:
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



def waves(tasks: Sequence[Task] | Graph) -> list[list[str]]:
    """Group tasks into waves: wave 0 holds the tasks without dependencies,
    wave k the tasks whose longest dependency chain from a source has k
    edges.  Names are sorted inside each wave."""
    g = Graph.of(tasks)
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
    g = Graph.build(tasks)
    return dict(zip(g.names, g.bl, strict=True))


def top_levels(tasks: Sequence[Task]) -> dict[str, float]:
    """Earliest possible start of each task with unlimited workers (length of
    the longest path from any source to the task, excluding the task)."""
    g = Graph.build(tasks)
    return dict(zip(g.names, g.tl, strict=True))


def critical_path(tasks: Sequence[Task] | Graph) -> tuple[list[str], float]:
    """The longest dependency chain: task names from source to sink and its
    total duration.  Among equally long chains the one preferring higher
    task priority, then the smaller name, at each step is returned."""
    g = Graph.of(tasks)
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


def list_schedule(
    tasks: Sequence[Task], workers: int, order_key: Callable[[Task], Comparable]
) -> Schedule:
    """Non-delay list scheduling: whenever a worker is idle and tasks are
    ready, start the ready task with the smallest ``order_key(task)`` (ties:
    higher priority, then name).  E.g. ``order_key=lambda t: -bl[t.name]``
    with ``bl = bottom_levels(tasks)`` is classic HLFET."""
    check_workers(workers)
    g = Graph.build(tasks)
    by_name = {t.name: t for t in tasks}
    keys = [order_key(by_name[name]) for name in g.names]
    prio = g.prio
    order = sorted(range(g.n), key=lambda i: (keys[i], -prio[i], i))
    rank = [0] * g.n
    for r, i in enumerate(order):
        rank[i] = r
    start, _ = nondelay(g.dur, g.preds, g.succs, workers, rank)
    return build_schedule(g, start, workers)
