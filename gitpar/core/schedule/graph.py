"""The scheduling model: tasks, slots and schedules, and the index-based graph every
scheduler works on (levels, topological order, the schedule built from start times).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

INF = float("inf")


@dataclass(frozen=True)
class Task:
    """A unit of work: ``duration`` seconds (>= 0), run after all ``deps``; while it runs,
    it holds each of its exclusive ``resources`` (no two tasks holding one run at once)."""

    name: str
    duration: float
    deps: tuple[str, ...] = ()
    priority: int = 0
    resources: tuple[str, ...] = ()


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


class Graph:
    """Tasks indexed 0..n-1 (in name order) with adjacency lists."""

    __slots__ = ("n", "names", "dur", "prio", "preds", "succs", "topo", "integral", "res", "_bl", "_tl", "_lb")

    def __init__(
        self,
        names: list[str],
        dur: list[float],
        prio: list[int],
        preds: list[list[int]],
        succs: list[list[int]],
        topo: list[int],
        res: list[frozenset[str]] | None = None,
    ) -> None:
        self.n = len(names)
        # each task's exclusive resources; None when no task has any (the unconstrained search)
        self.res = res
        self.names = names
        self.dur = dur
        self.prio = prio
        self.preds = preds
        self.succs = succs
        self.topo = topo
        self.integral = all(d == int(d) for d in dur)
        self._bl: list[float] | None = None
        self._tl: list[float] | None = None
        self._lb: dict[tuple[int, bool], float] = {}  # (workers, energetic) -> lower bound

    @classmethod
    def build(cls, tasks: Sequence[Task]) -> Graph:
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
        res = [frozenset(t.resources) for t in ordered] if any(t.resources for t in ordered) else None
        return cls(names, dur, [t.priority for t in ordered], preds, succs, topo, res)

    @classmethod
    def of(cls, tasks: Sequence[Task] | Graph) -> Graph:
        """``tasks`` as a graph: a graph already built is used as it is (analysing one plan
        builds it once for its critical path, schedule, bound and what-ifs)."""
        return tasks if isinstance(tasks, Graph) else cls.build(tasks)

    def with_duration(self, i: int, duration: float) -> Graph:
        """The same graph with task ``i`` (its index: ``names[i]``) taking ``duration`` (a
        what-if), without indexing the tasks again."""
        if not duration >= 0 or math.isinf(duration):
            raise ValueError(f"task {self.names[i]!r}: invalid duration {duration!r}")
        dur = list(self.dur)
        dur[i] = float(duration)
        return Graph(self.names, dur, self.prio, self.preds, self.succs, self.topo, self.res)

    def reverse(self) -> Graph:
        """The same graph with every edge reversed (for backward scheduling)."""
        r = Graph(self.names, self.dur, self.prio, self.succs, self.preds, self.topo[::-1], self.res)
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



def assign_workers(dur: list[float], start: list[float], m: int) -> list[int]:
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


def build_schedule(g: Graph, start: list[float], m: int) -> Schedule:
    dur = g.dur
    worker = assign_workers(dur, start, m)
    order = sorted(range(g.n), key=lambda i: (start[i], worker[i], i))
    slots = {g.names[i]: Slot(g.names[i], start[i], start[i] + dur[i], worker[i]) for i in order}
    makespan = max((start[i] + dur[i] for i in range(g.n)), default=0.0)
    return Schedule(slots=slots, makespan=makespan, workers=m)



class Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


def check_workers(workers: int) -> None:
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
