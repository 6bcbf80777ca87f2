"""Benchmark gitpar's scheduler on the Standard Task Graph set (Kasahara lab).

Usage: python bench/bench_schedule.py [--stg DIR] [--budget SECONDS] [--limit N] [--no-resources] [--smoke]

DIR defaults to ../shared/bench-data/stg next to the project folder.  For every
50-task graph and m = 2, 4, 8, 16 workers whose optimal schedule length is
known exactly (rows with a lower-upper range are skipped), compares against
the optimum:

* gitpar   - ``schedule()`` (portfolio + improvement, default budget)
* hlfet    - plain bottom-level list scheduling (``list_schedule`` by -bottom level)
* ready    - ``ready_order_schedule`` (what ``make -j`` / GNU parallel do)
* wave     - ``wave_schedule`` (barrier between dependency waves)

The two baselines live here, not in gitpar: they exist only to be compared against
(``tests/test_schedule.py`` checks them too).

Then, with exclusive resources (streams' ``resources:``): each STG graph's tasks get random
labels (seeded; three resources, each task needing each with probability 0.15), and

* on the first 8 tasks of the first 40 graphs (their dependencies among them kept), for m = 2 and 4, gitpar's
  schedule against the optimum found by a brute force (every topological order through a
  serial schedule generator, which reaches an optimal active schedule);
* on the whole 50-task graph, gitpar's schedule against its lower bound (an upper bound on
  the distance from the optimum, which is not known there).

The figures without resources above are computed as before (the resource search is only
taken for graphs that have resources).

and ends with one JSON line.  Exits 0 with a "skipped" message if DIR is absent.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gitpar.core.schedule import Schedule, Task, bottom_levels, list_schedule, schedule, waves  # noqa: E402
from gitpar.core.schedule.graph import Graph, build_schedule, check_workers  # noqa: E402

# -- the baselines -------------------------------------------------------------------------


def ready_order_schedule(tasks: Sequence[Task], workers: int) -> Schedule:
    """Baseline, what ``make -j`` or GNU parallel do: whenever a worker is
    idle, start the task that became ready first; tasks that become ready
    at the same moment go in the order they were given."""
    check_workers(workers)
    g = Graph.build(tasks)
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
    return build_schedule(g, start, workers)


def wave_schedule(tasks: Sequence[Task], workers: int) -> Schedule:
    """Baseline: run the :func:`waves` one after the other with a barrier in
    between; inside a wave, longest task first on the earliest free worker."""
    check_workers(workers)
    g = Graph.build(tasks)
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
    return build_schedule(g, start, workers)


DEFAULT_STG = ROOT.parent / "shared" / "bench-data" / "stg"
WORKERS = (2, 4, 8, 16)


def load_stg(path: Path) -> list[Task]:
    """Read an STG file; drop the two zero-time dummy tasks (entry and exit)."""
    rows = [
        line.split()
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    n = int(rows[0][0])
    tasks: list[Task] = []
    for row in rows[1 : n + 3]:
        tid, cost, npred = int(row[0]), float(row[1]), int(row[2])
        if tid in (0, n + 1):
            continue
        preds = [int(p) for p in row[3 : 3 + npred]]
        deps = tuple(f"t{p:04d}" for p in preds if p != 0)
        tasks.append(Task(f"t{tid:04d}", cost, deps))
    return tasks


def optimum_rows(stg: Path) -> list[tuple[str, int, float]]:
    """(relative file, m, optimum) for every row with an exact optimum."""
    out: list[tuple[str, int, float]] = []
    for m in WORKERS:
        with open(stg / f"Case50_{m}_OPT.csv", newline="") as fh:
            for row in csv.reader(fh):
                if len(row) == 3 and row[0].strip():
                    out.append((row[0].strip(), int(row[1]), float(row[2])))
    return out


def check(tasks: list[Task], sched: Schedule, m: int) -> None:
    """Raise AssertionError if ``sched`` violates a dependency or a worker."""
    slots = sched.slots
    assert len(slots) == len(tasks)
    for t in tasks:
        for d in t.deps:
            assert slots[t.name].start >= slots[d].finish - 1e-9, (t.name, d)
    per_worker: dict[int, list[tuple[float, float]]] = {}
    for s in slots.values():
        assert 0 <= s.worker < m
        per_worker.setdefault(s.worker, []).append((s.start, s.finish))
    for spans in per_worker.values():
        spans.sort()
        for (_, f1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert s2 >= f1 - 1e-9


# -- resources -----------------------------------------------------------------------------

RESOURCES = ("r0", "r1", "r2")
LABEL_P = 0.15
SMALL = 8
BRUTE_GRAPHS = 40  # the brute force is exponential: the first 40 graphs' prefixes


def labelled(tasks: list[Task], seed: int) -> list[Task]:
    """``tasks`` with random resource labels (seeded: the same every run)."""
    import random

    rng = random.Random(seed)
    return [Task(t.name, t.duration, t.deps, t.priority, tuple(r for r in RESOURCES if rng.random() < LABEL_P))
            for t in tasks]


def prefix(tasks: list[Task], n: int) -> list[Task]:
    """The first ``n`` tasks (by name: STG numbers them in a topological order) and their
    dependencies among themselves."""
    kept = sorted(tasks, key=lambda t: t.name)[:n]
    names = {t.name for t in kept}
    return [Task(t.name, t.duration, tuple(d for d in t.deps if d in names), t.priority, t.resources) for t in kept]


def brute_force(tasks: list[Task], m: int) -> float:
    """The optimal makespan with workers and exclusive resources: every topological order
    through the serial schedule generator (each task at the earliest time its dependencies,
    a worker and its resources allow), pruned by the best found."""
    by = {t.name: t for t in tasks}
    best = [float("inf")]
    placed: list[tuple[float, float, frozenset[str]]] = []
    finish: dict[str, float] = {}

    def earliest(t: Task) -> float:
        est = max((finish[d] for d in t.deps), default=0.0)
        need = frozenset(t.resources)
        for cand in sorted({est, *(e for _, e, _ in placed if e > est)}):
            end = cand + t.duration
            over = [(s, e, r) for s, e, r in placed if s < end and e > cand] if t.duration > 0 else []
            if any(r & need for _, _, r in over):
                continue
            # workers: the most intervals running at once within [cand, end)
            points = sorted({cand, *(s for s, _, _ in over if s > cand)})
            if all(sum(1 for s, e, _ in over if s <= p < e) < m for p in points):
                return cand
        raise AssertionError("no place")  # pragma: no cover

    def dfs(done: set[str], span: float) -> None:
        if span >= best[0]:
            return
        if len(done) == len(tasks):
            best[0] = span
            return
        for t in tasks:
            if t.name in done or any(d not in done for d in t.deps):
                continue
            start = earliest(t)
            placed.append((start, start + t.duration, frozenset(t.resources)))
            finish[t.name] = start + t.duration
            done.add(t.name)
            dfs(done, max(span, start + t.duration))
            done.discard(t.name)
            del finish[t.name]
            placed.pop()

    dfs(set(), 0.0)
    del by
    return best[0]


def check_resources(tasks: list[Task], sched: Schedule) -> None:
    """Raise AssertionError if two tasks needing one resource overlap."""
    for a in tasks:
        for b in tasks:
            if a.name < b.name and set(a.resources) & set(b.resources):
                sa, sb = sched.slots[a.name], sched.slots[b.name]
                if sa.finish > sa.start and sb.finish > sb.start:
                    assert sa.finish <= sb.start + 1e-9 or sb.finish <= sa.start + 1e-9, (a.name, b.name)


def resource_figures(stg: Path, rows: list[tuple[str, int, float]], kwargs: dict[str, float]) -> dict[str, float]:
    from gitpar.core.schedule import lower_bound

    files = sorted({rel for rel, _, _ in rows})
    small: list[float] = []
    large: list[float] = []
    secs = 0.0
    calls = 0
    for k, rel in enumerate(files):
        tasks = labelled(load_stg(stg / rel), seed=k)
        part = prefix(tasks, SMALL)
        for m in ((2, 4) if k < BRUTE_GRAPHS else ()):
            opt = brute_force(part, m)
            sched = schedule(part, m, **kwargs)
            check(part, sched, m)
            check_resources(part, sched)
            small.append(100.0 * (sched.makespan / opt - 1.0) if opt else 0.0)
        for m in WORKERS:
            t0 = time.perf_counter()
            sched = schedule(tasks, m, **kwargs)
            secs += time.perf_counter() - t0
            calls += 1
            check(tasks, sched, m)
            check_resources(tasks, sched)
            lb = lower_bound(tasks, m)
            large.append(100.0 * (sched.makespan / lb - 1.0) if lb else 0.0)
    print(f"with random resource labels ({len(RESOURCES)} resources, p={LABEL_P} each):")
    print(f"  {SMALL}-task prefixes, m in (2, 4), against a brute-force optimum: {len(small)} cases, "
          f"mean excess {sum(small) / len(small):.3f}%, worst {max(small):.2f}%, "
          f"optimal {sum(1 for e in small if e < 1e-9)}")
    print(f"  50-task graphs, m in {WORKERS}, against the lower bound (an upper bound on the excess): "
          f"{len(large)} cases, mean {sum(large) / len(large):.3f}%, worst {max(large):.2f}%, "
          f"at the bound {sum(1 for e in large if e < 1e-9)}, {1000 * secs / calls:.1f} ms/call")
    return {"resources_small_cases": len(small), "resources_small_mean_pct": round(sum(small) / len(small), 4),
            "resources_small_worst_pct": round(max(small), 4),
            "resources_small_optimal": sum(1 for e in small if e < 1e-9),
            "resources_cases": len(large), "resources_mean_over_bound_pct": round(sum(large) / len(large), 4),
            "resources_worst_over_bound_pct": round(max(large), 4),
            "resources_ms_per_call": round(1000 * secs / calls, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stg", type=Path, default=DEFAULT_STG, help="STG data directory")
    ap.add_argument("--budget", type=float, default=None, help="budget_s for schedule()")
    ap.add_argument("--limit", type=int, default=0, help="only the first N rows (0 = all)")
    ap.add_argument("--no-resources", action="store_true", help="skip the figures with resource labels")
    ap.add_argument("--smoke", action="store_true",
                    help="the first 4 rows, no resource figures: every method schedules every task "
                         "validly and none beats a proven optimum (no timing)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.limit, args.no_resources = args.limit or 4, True
    stg: Path = args.stg
    if not (stg / "Case50_2_OPT.csv").is_file():
        print(f"bench_schedule: skipped, no STG data at {stg}")
        print(json.dumps({"bench": "schedule_stg", "skipped": f"no STG data at {stg}"}))
        return 0

    rows = optimum_rows(stg)
    if args.limit:
        rows = rows[: args.limit]
    graphs: dict[str, list[Task]] = {}
    kwargs = {} if args.budget is None else {"budget_s": args.budget}

    def gitpar_run(tasks: list[Task], m: int) -> Schedule:
        return schedule(tasks, m, **kwargs)

    def hlfet(tasks: list[Task], m: int) -> Schedule:
        bl = bottom_levels(tasks)
        return list_schedule(tasks, m, lambda t: -bl[t.name])

    methods: dict[str, Callable[[list[Task], int], Schedule]] = {
        "gitpar": gitpar_run,
        "hlfet": hlfet,
        "ready": ready_order_schedule,
        "wave": wave_schedule,
    }
    excess: dict[str, list[float]] = {k: [] for k in methods}
    secs: dict[str, float] = {k: 0.0 for k in methods}
    cpu: dict[str, float] = {k: 0.0 for k in methods}
    slowest = 0.0
    for rel, m, opt in rows:
        tasks = graphs.get(rel)
        if tasks is None:
            tasks = graphs[rel] = load_stg(stg / rel)
        for name, fn in methods.items():
            c0, t0 = time.thread_time(), time.perf_counter()
            sched = fn(tasks, m)
            dt = time.perf_counter() - t0
            secs[name] += dt
            cpu[name] += time.thread_time() - c0
            if name == "gitpar":
                slowest = max(slowest, dt)
            check(tasks, sched, m)
            excess[name].append(100.0 * (sched.makespan / opt - 1.0))

    n = len(rows)
    print(f"STG 50-task graphs, m in {WORKERS}: {n} rows with an exact optimum")
    print(f"{'method':<8} {'mean %':>8} {'worst %':>8} {'optimal':>8} {'ms/call':>8} {'cpu ms':>8}")
    stats: dict[str, tuple[float, float]] = {}
    for name in methods:
        ex = excess[name]
        mean, worst = sum(ex) / n, max(ex)
        stats[name] = (mean, worst)
        hits = sum(1 for e in ex if e < 1e-9)
        print(
            f"{name:<8} {mean:>8.3f} {worst:>8.2f} {hits:>8d}"
            f" {1000 * secs[name] / n:>8.2f} {1000 * cpu[name] / n:>8.2f}"
        )
    ready_mean = stats["ready"][0]
    ratio = stats["gitpar"][0] / ready_mean if ready_mean else 0.0
    print(f"gitpar mean excess / ready-order mean excess = {ratio:.4f}")
    print(f"gitpar slowest call: {1000 * slowest:.1f} ms")
    result = {
        "bench": "schedule_stg",
        "cases": n,
        "gitpar_mean_pct": round(stats["gitpar"][0], 4),
        "gitpar_worst_pct": round(stats["gitpar"][1], 4),
        "hlfet_mean_pct": round(stats["hlfet"][0], 4),
        "hlfet_worst_pct": round(stats["hlfet"][1], 4),
        "ready_mean_pct": round(stats["ready"][0], 4),
        "ready_worst_pct": round(stats["ready"][1], 4),
        "wave_mean_pct": round(stats["wave"][0], 4),
        "wave_worst_pct": round(stats["wave"][1], 4),
        "gitpar_ms_per_call": round(1000 * secs["gitpar"] / n, 2),
    }
    # every schedule passed check() (each task once, dependencies and workers respected);
    # a makespan below a proven optimum would be a schedule that is not one
    below = [name for name in methods if min(excess[name]) < -1e-6]
    result["same_work"] = not below
    if below:
        print(f"below the proven optimum (broken schedules): {', '.join(below)}")
    if not args.no_resources:
        result.update(resource_figures(stg, rows, kwargs))
    print(json.dumps(result))
    return 0 if not below else 1


if __name__ == "__main__":
    sys.exit(main())
