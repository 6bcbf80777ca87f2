"""Plan analysis: waves, critical path, the schedule for N workers, the ETA, the bottleneck.

Everything here is computed from the plan, the streams' progress and the run history; it
reads nothing itself except in :func:`analyse_repo`. Durations are in seconds.

The schedule, the critical path and the ETA are about the work that remains: completed
streams drop out, a stream in progress counts with what is left of it. The waves show
the whole plan's structure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitpar.core import clock
from gitpar.core import schedule as sch
from gitpar.core.durations import format_duration
from gitpar.core.history import Estimate, RunRecord, estimates, read_history
from gitpar.core.plan import Plan
from gitpar.core.progress import Progress, parse_time
from gitpar.core.repo import Repo
from gitpar.core.schedule import Graph, Schedule, Task
from gitpar.core.stream_progress import all_progress
from gitpar.store.state import StateStore

SCHEMA_VERSION = 1
# Without calibration data: the median stream is assumed on time, the 90th percentile
# half as long again (a deliberately plain prior, replaced as soon as history exists).
PRIOR_P50, PRIOR_P90 = 1.0, 1.5
MIN_SAMPLES_FOR_TAIL = 5  # fewer ratios than this: the P90 keeps at least the prior's spread
MIN_COMPLETION_FOR_PACE = 10  # a stream in progress tells its pace from 10% on
WHAT_IF_FACTOR = 0.5  # the bottleneck is the stream whose halving shortens the finish most
WHAT_IF_BUDGET_S = 0.02


@dataclass(frozen=True)
class StreamPlan:
    """One stream in the analysis."""

    name: str
    status: str
    completion: int
    depends_on: tuple[str, ...]
    priority: int
    estimate: Estimate
    remaining_s: float  # 0 for a completed stream
    start_s: float | None = None  # in the N-worker schedule, from now; None when completed
    finish_s: float | None = None
    worker: int | None = None
    critical: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "completion": self.completion,
            "depends_on": list(self.depends_on), "priority": self.priority,
            "estimate_s": _num(self.estimate.seconds), "estimate_source": self.estimate.source,
            "remaining_s": _num(self.remaining_s), "start_s": _num(self.start_s),
            "finish_s": _num(self.finish_s), "worker": self.worker, "critical": self.critical,
        }


@dataclass(frozen=True)
class Eta:
    """When the remaining work should be done: P50 and P90, from now."""

    p50_s: float
    p90_s: float
    p50_at: str
    p90_at: str
    p50_factor: float  # how much longer than estimated streams take: median
    p90_factor: float  # ... and 90th percentile
    samples: int  # streams the factors were measured on
    calibrated: bool

    def to_dict(self) -> dict[str, Any]:
        return {"p50_s": _num(self.p50_s), "p90_s": _num(self.p90_s), "p50_at": self.p50_at,
                "p90_at": self.p90_at, "p50_factor": round(self.p50_factor, 3),
                "p90_factor": round(self.p90_factor, 3), "samples": self.samples,
                "calibrated": self.calibrated}


@dataclass(frozen=True)
class Bottleneck:
    """The critical-path streams, and the one whose halving would shorten the finish most."""

    streams: tuple[str, ...]
    best: str | None
    saves_s: float
    what_if: tuple[tuple[str, float], ...]  # (stream, seconds saved if it took half as long)

    def to_dict(self) -> dict[str, Any]:
        return {"streams": list(self.streams), "best": self.best, "saves_s": _num(self.saves_s),
                "what_if_factor": WHAT_IF_FACTOR,
                "what_if": [{"stream": s, "saves_s": _num(v)} for s, v in self.what_if]}


@dataclass
class Analysis:
    """The whole analysis of a plan for ``workers`` workers."""

    workers: int
    now: str
    waves: list[list[str]]
    critical_path: list[str]
    critical_path_s: float
    makespan_s: float
    lower_bound_s: float
    streams: dict[str, StreamPlan]
    eta: Eta
    bottleneck: Bottleneck
    state_branch: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> list[str]:
        return [n for n, s in self.streams.items() if s.status != "completed"]

    def to_dict(self) -> dict[str, Any]:
        """The ``gitpar plan --json`` shape (versioned)."""
        return {
            "version": SCHEMA_VERSION,
            "now": self.now,
            "workers": self.workers,
            "state_branch": self.state_branch,
            "waves": self.waves,
            "critical_path": self.critical_path,
            "critical_path_s": _num(self.critical_path_s),
            "makespan_s": _num(self.makespan_s),
            "lower_bound_s": _num(self.lower_bound_s),
            "eta": self.eta.to_dict(),
            "bottleneck": self.bottleneck.to_dict(),
            "streams": [s.to_dict() for s in self.streams.values()],
            "warnings": self.warnings,
        }


def _num(value: float | None) -> float | int | None:
    """Seconds for JSON: whole numbers as ints, others to the millisecond."""
    if value is None:
        return None
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the model ------------------------------------------------------------------------------


def remaining_work(est: float, progress: Progress | None, now: dt.datetime) -> float:
    """What is left of a stream: all of it when pending or failed, none when completed; in
    progress, the estimate's unfinished share (or, with no completion reported, the
    estimate less the time spent, at least a tenth of it)."""
    if progress is None or progress.status in ("pending", "failed"):
        return est
    if progress.status == "completed":
        return 0.0
    if progress.completion > 0:
        return est * (100 - progress.completion) / 100
    started = parse_time(progress.started)
    elapsed = max(0.0, (now - started).total_seconds()) if started else 0.0
    return max(est - elapsed, est / 10)


def pace_ratios(plan: Plan, progress: Mapping[str, Progress], est: Mapping[str, Estimate],
                now: dt.datetime) -> list[float]:
    """How long streams take against their estimates (1.0: on time, 2.0: twice as long).

    Completed streams give their actual duration (started to the last update, which
    ``gitpar finish`` sets); streams in progress from 10% on give their pace (time spent
    over the share of the estimate they report done). Only streams with a real estimate
    (their ``estimate`` field or run history) count.
    """
    ratios: list[float] = []
    for name in plan.streams:
        p, e = progress.get(name), est[name]
        if p is None or e.source not in ("estimate", "history") or e.seconds <= 0:
            continue
        started = parse_time(p.started)
        if started is None:
            continue
        if p.status == "completed":
            ended = parse_time(p.updated)
            spent = (ended - started).total_seconds() if ended else 0.0
            if spent > 0:
                ratios.append(spent / e.seconds)
        elif p.status in ("in_progress", "blocked") and p.completion >= MIN_COMPLETION_FOR_PACE:
            spent = (now - started).total_seconds()
            if spent > 0:
                ratios.append(spent / (e.seconds * p.completion / 100))
    return ratios


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (linear interpolation between order statistics)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def eta_factors(ratios: Sequence[float]) -> tuple[float, float, bool]:
    """The P50 and P90 duration factors, and whether they come from data."""
    if not ratios:
        return PRIOR_P50, PRIOR_P90, False
    p50 = quantile(ratios, 0.5)
    p90 = quantile(ratios, 0.9)
    if len(ratios) < MIN_SAMPLES_FOR_TAIL:
        p90 = max(p90, p50 * PRIOR_P90 / PRIOR_P50)
    return p50, max(p90, p50), True


def analyse(plan: Plan, *, workers: int, progress: Mapping[str, Progress] | None = None,
            history: Mapping[str, Sequence[RunRecord]] | None = None,
            now: dt.datetime | None = None, budget_s: float = 0.3) -> Analysis:
    """Analyse ``plan`` for ``workers`` workers given the streams' progress and run history.

    The ETA assumes the estimates are off by the same factor across the plan (a team's
    optimism is shared): P50 is the schedule's length times the median factor measured on
    past streams, P90 times the 90th percentile. Since every remaining duration is scaled
    alike, the schedule itself stays the same.
    """
    # the graph was checked when the plan was loaded (load_plan): no unknown stream, no cycle
    if workers < 1:
        from gitpar.errors import bad

        raise bad(None, "--workers", f"{workers} is not a number of workers",
                  "give a whole number of at least 1, e.g. --workers 4")
    progress = progress or {}
    history = history or {}
    now = now or clock.now_utc()
    est = estimates(plan, history)
    status = {n: (progress[n].status if n in progress else "pending") for n in plan.streams}
    remaining = {n: remaining_work(est[n].seconds, progress.get(n), now) for n in plan.streams}
    open_ = [n for n in plan.streams if status[n] != "completed"]
    tasks = [sch.Task(n, remaining[n], tuple(d for d in plan.streams[n].depends_on
                                             if status[d] != "completed"),
                      plan.streams[n].priority, plan.streams[n].resources) for n in open_]
    # nothing completed: the waves are those of the same streams and dependencies
    all_tasks = None if len(open_) == len(plan.streams) else [
        sch.Task(n, est[n].seconds, s.depends_on, s.priority, s.resources) for n, s in plan.streams.items()]
    waves, path, path_s, plan_s, bound, neck = _graph_figures(tasks, all_tasks, workers, budget_s)
    on_path = set(path)
    streams: dict[str, StreamPlan] = {}
    for name, s in plan.streams.items():
        p = progress.get(name)
        slot = plan_s.slots.get(name)
        streams[name] = StreamPlan(
            name=name, status=status[name], completion=p.completion if p else 0,
            depends_on=s.depends_on, priority=s.priority, estimate=est[name],
            remaining_s=remaining[name],
            start_s=slot.start if slot else None, finish_s=slot.finish if slot else None,
            worker=slot.worker if slot else None, critical=name in on_path)
    ratios = pace_ratios(plan, progress, est, now)
    p50f, p90f, calibrated = eta_factors(ratios)
    p50_s, p90_s = plan_s.makespan * p50f, plan_s.makespan * p90f
    eta = Eta(p50_s=p50_s, p90_s=p90_s, p50_at=_iso(now + dt.timedelta(seconds=p50_s)),
              p90_at=_iso(now + dt.timedelta(seconds=p90_s)), p50_factor=p50f,
              p90_factor=p90f, samples=len(ratios), calibrated=calibrated)
    return Analysis(workers=workers, now=_iso(now), waves=waves, critical_path=path,
                    critical_path_s=path_s, makespan_s=plan_s.makespan, lower_bound_s=bound,
                    streams=streams, eta=eta, bottleneck=neck, warnings=list(plan.warnings))


def _graph_figures(tasks: list[Task], all_tasks: list[Task] | None, workers: int, budget_s: float,
                   ) -> tuple[list[list[str]], list[str], float, Schedule, float, Bottleneck]:
    """Waves (of ``all_tasks`` when given, else of ``tasks``), critical path, schedule, lower
    bound and bottleneck of the remaining ``tasks``. Worked out each time: no cache (at
    5,000 streams one costs 20 ms of a 200 ms ``plan --json``; docs/architecture.md)."""
    graph = sch.Graph.build(tasks)  # once, for the path, the schedule, the bound and the what-ifs
    path, path_s = sch.critical_path(graph)
    plan_s = sch.schedule(graph, workers, budget_s=budget_s)
    figures = (sch.waves(graph if all_tasks is None else all_tasks), path, path_s, plan_s,
               sch.lower_bound(graph, workers), bottleneck(graph, path, workers, plan_s.makespan))
    return figures


def bottleneck(tasks: Sequence[Task] | Graph, path: Sequence[str], workers: int,
               makespan: float) -> Bottleneck:
    """Which critical-path stream, taking half as long, would bring the finish forward most."""
    graph = sch.Graph.of(tasks)
    index = {name: i for i, name in enumerate(graph.names)}
    duration = dict(zip(graph.names, graph.dur, strict=True))
    what_if: list[tuple[str, float]] = []
    for name in path:
        changed = graph.with_duration(index[name], duration[name] * WHAT_IF_FACTOR)
        shorter = sch.makespan(changed, workers, budget_s=WHAT_IF_BUDGET_S)
        what_if.append((name, max(0.0, makespan - shorter)))
    best = max(what_if, key=lambda w: (w[1], duration[w[0]]), default=None)
    if best is None or best[1] <= 0:
        return Bottleneck(tuple(path), None, 0.0, tuple(what_if))
    return Bottleneck(tuple(path), best[0], best[1], tuple(what_if))


def analyse_repo(repo: Repo, *, workers: int, now: dt.datetime | None = None,
                 plan: Plan | None = None) -> Analysis:
    """Analyse the main worktree's plan (``plan`` when the caller has loaded it) with the
    state branch's progress and history, when there is a state branch (a clone with only
    the plan files gets the plan alone)."""
    plan = plan or repo.load_plan()
    store = StateStore(repo)
    progress: dict[str, Progress] = {}
    history: dict[str, list[RunRecord]] = {}
    exists = store.exists()
    if exists:
        snap = store.snapshot()
        progress = {n: p for n, p in all_progress(snap).items() if n in plan.streams}
        history = read_history(snap)
    result = analyse(plan, workers=workers, progress=progress, history=history, now=now)
    result.state_branch = exists
    for w in plan.warnings:
        repo.warn(w)
    result.warnings = list(repo.warnings)  # the one channel (store/repo.py)
    return result


# -- the dependency graph as text -------------------------------------------------------------

STATUS_COLOURS = {  # fill, border
    "pending": ("#eeeeee", "#9e9e9e"),
    "in_progress": ("#bbdefb", "#1565c0"),
    "blocked": ("#ffe0b2", "#ef6c00"),
    "completed": ("#c8e6c9", "#2e7d32"),
    "failed": ("#ffcdd2", "#c62828"),
}
CRITICAL = "#d32f2f"


def _label_lines(s: StreamPlan) -> list[str]:
    status = s.status.replace("_", " ")
    if s.status in ("in_progress", "blocked") and s.completion:
        status += f" {s.completion}%"
    return [s.name, f"{status}, {format_duration(s.estimate.seconds)}"]


def _edges(a: Analysis) -> list[tuple[str, str]]:
    return [(dep, name) for name, s in a.streams.items() for dep in s.depends_on]


def _critical_edges(a: Analysis) -> set[tuple[str, str]]:
    return set(zip(a.critical_path, a.critical_path[1:], strict=False))


def render_mermaid(a: Analysis) -> str:
    """A mermaid flowchart: nodes coloured by status, the critical path in red.

    Node ids are ``s0``, ``s1``... (a stream called ``end`` or ``graph`` would otherwise
    break mermaid's parser); labels are quoted, with mermaid's entity escapes.
    """
    ids = {name: f"s{i}" for i, name in enumerate(a.streams)}

    def label(s: StreamPlan) -> str:
        text = "<br/>".join(_mermaid_escape(line) for line in _label_lines(s))
        return f'"{text}"'

    lines = ["flowchart LR"]
    for name, s in a.streams.items():
        lines.append(f"    {ids[name]}[{label(s)}]")
    critical = _critical_edges(a)
    hot: list[int] = []
    for k, (dep, name) in enumerate(_edges(a)):
        lines.append(f"    {ids[dep]} --> {ids[name]}")
        if (dep, name) in critical:
            hot.append(k)
    for status, (fill, border) in STATUS_COLOURS.items():
        lines.append(f"    classDef {status} fill:{fill},stroke:{border},color:#000")
    lines.append(f"    classDef critical stroke:{CRITICAL},stroke-width:3px")
    by_status: dict[str, list[str]] = {}
    for name, s in a.streams.items():
        by_status.setdefault(s.status if s.status in STATUS_COLOURS else "pending", []).append(ids[name])
    for status, members in by_status.items():
        lines.append(f"    class {','.join(members)} {status}")
    if a.critical_path:
        lines.append(f"    class {','.join(ids[n] for n in a.critical_path)} critical")
    if hot:
        lines.append(f"    linkStyle {','.join(map(str, hot))} stroke:{CRITICAL},stroke-width:3px")
    return "\n".join(lines) + "\n"


def _mermaid_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch.isalnum() or ch in " .,_-:%/()":
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


def _dot_quote(text: str) -> str:
    # a DOT string: JSON's escaping of quotes and backslashes is DOT's too
    return json.dumps(text, ensure_ascii=False)


def render_dot(a: Analysis) -> str:
    """A Graphviz digraph: nodes filled by status, the critical path in thick red."""
    lines = ["digraph gitpar {", "    rankdir=LR;",
             '    node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for name, s in a.streams.items():
        fill, border = STATUS_COLOURS.get(s.status, STATUS_COLOURS["pending"])
        attrs = [f"label={_dot_quote(chr(10).join(_label_lines(s)))}", f'fillcolor="{fill}"',
                 f'color="{CRITICAL if s.critical else border}"']
        if s.critical:
            attrs.append("penwidth=3")
        lines.append(f"    {_dot_quote(name)} [{', '.join(attrs)}];")
    critical = _critical_edges(a)
    for dep, name in _edges(a):
        extra = f' [color="{CRITICAL}", penwidth=3]' if (dep, name) in critical else ""
        lines.append(f"    {_dot_quote(dep)} -> {_dot_quote(name)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"
