"""Scheduling with exclusive resources: no two tasks that need one resource run at once.

A stream's ``resources:`` (a GPU, a dev database, a port) is a second kind of constraint
beside the workers: a task starts when its dependencies are done, a worker is free and every
resource it needs is free. The unconstrained search (:mod:`gitpar.core.schedule.exact`) is
not used for such graphs (its bounds and dominance rules know nothing of resources); instead a
non-delay list schedule with the resources as a guard, under the bottom-level rules and then
seeded random perturbations of them, keeping the best, stopping at a lower bound that counts
the resources: a resource's tasks run one after another, so the earliest any can start plus
their total duration plus the shortest tail after one of them is a bound; or at a makespan no
better packing of the work onto the workers could beat (:func:`~gitpar.core.schedule.bounds.packs`,
for small plans). Deterministic (a
fixed seed, an effort budget in schedules tried). ``bench/bench_schedule.py`` says how far
from the optimum it is on STG graphs with random resource labels, against a brute force on
the small ones.
"""

from __future__ import annotations

import heapq
import random

from gitpar.core.schedule.bounds import packs, resource_lower_bound
from gitpar.core.schedule.graph import Graph

SEED = 20_261_207
TRIES_PER_BUDGET_S = 4_000  # list schedules tried per second of budget (about 0.1 ms each at 50 tasks)
PACK_MAX, PACK_NODES = 120, 4000  # the packing bound's graph size and search nodes (as exact's)


def list_schedule_with_resources(g: Graph, m: int, key: list[float]) -> tuple[list[float], float]:
    """Non-delay list scheduling: whenever a worker is idle, start the ready task of smallest
    ``key`` whose resources are all free (one that waits for a resource lets others pass)."""
    n = g.n
    res = g.res or [frozenset()] * n
    indeg = [len(p) for p in g.preds]
    ready = [(key[i], i) for i in range(n) if not indeg[i]]
    heapq.heapify(ready)
    start = [0.0] * n
    running: list[tuple[float, int]] = []
    busy: set[str] = set()
    t = 0.0
    free = m
    done = 0
    while done < n:
        held_back = []
        while free and ready:
            k, i = heapq.heappop(ready)
            if res[i] & busy:
                held_back.append((k, i))
                continue
            start[i] = t
            busy |= res[i]
            heapq.heappush(running, (t + g.dur[i], i))
            free -= 1
        for item in held_back:
            heapq.heappush(ready, item)
        t, i = heapq.heappop(running)
        while True:
            free += 1
            done += 1
            busy -= res[i]
            for s in g.succs[i]:
                indeg[s] -= 1
                if not indeg[s]:
                    heapq.heappush(ready, (key[s], s))
            if running and running[0][0] <= t:
                i = heapq.heappop(running)[1]
            else:
                break
    return start, t if n else 0.0


def resource_start_times(g: Graph, m: int, budget_s: float) -> list[float]:
    """Start times of the best schedule found (see the module's docstring)."""
    if g.n == 0:
        return []
    bl = g.bl
    lb = resource_lower_bound(g, m)
    res = g.res or [frozenset()] * g.n
    load: dict[str, float] = {}
    for i, rs in enumerate(res):
        for r in rs:
            load[r] = load.get(r, 0.0) + g.dur[i]
    rules = [
        [-bl[i] for i in range(g.n)],                                          # longest remaining path
        [-bl[i] - 1e-9 * len(g.succs[i]) for i in range(g.n)],                 # ... then most successors
        [-(bl[i] + max((load[r] for r in res[i]), default=0.0)) for i in range(g.n)],  # busiest resource first
    ]
    best_start, best = list_schedule_with_resources(g, m, rules[0])
    for key in rules[1:]:
        start, mk = list_schedule_with_resources(g, m, key)
        if mk < best - 1e-9:
            best_start, best = start, mk

    def proven(mk: float) -> bool:
        """No better makespan than ``mk`` fits the work on the workers, even without the
        dependencies and resources: ``mk`` is optimal (what ends a small plan's search)."""
        if mk <= lb + 1e-9:
            return True
        if g.n > PACK_MAX:
            return False
        below = mk - 1.0 if g.integral else mk - 0.5e-6 * max(1.0, mk)
        return packs(g.dur, m, below, PACK_NODES)[0] is False

    if proven(best):
        return best_start
    rng = random.Random(SEED)
    tries = int(budget_s * TRIES_PER_BUDGET_S)
    spread = max(bl) or 1.0
    for _ in range(tries):
        noise = rng.uniform(0.05, 0.5) * spread
        key = [-bl[i] + rng.uniform(0, noise) for i in range(g.n)]
        start, mk = list_schedule_with_resources(g, m, key)
        if mk < best - 1e-9:
            best_start, best = start, mk
            if proven(best):
                break
    return best_start
