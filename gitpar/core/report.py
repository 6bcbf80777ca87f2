"""What ``gitpar report`` draws: the plan, its schedule, what happened, locks and conflicts.

:func:`gather` reads everything once and returns plain data (:class:`Report`); the page is
drawn from it by :mod:`gitpar.core.report_html`, which reads nothing itself. Times are
seconds since the epoch, so the renderer can put every bar on one axis.

Three timelines per stream:

- *planned*: the plan's schedule as written — every stream at its estimate, on the given
  number of workers — from the moment the first stream started (or now, before then);
- *actual*: the stream's statuses through the state branch's history (each change of its
  progress file is a commit), from ``started`` to ``completed``;
- *forecast*: what remains, scheduled from now (as ``gitpar plan`` does) at the pace of the
  ETA's P50, so it ends at the P50.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from gitpar.core import schedule as sch
from gitpar.core.analysis import Analysis, analyse
from gitpar.core.check import check_streams
from gitpar.core.conflicts import Forecast
from gitpar.core.history import read_history
from gitpar.core.lock_history import lock_history, read_part, write_part
from gitpar.core.locks import list_locks
from gitpar.core.locks.resources import list_resources
from gitpar.core.plan import Plan
from gitpar.core.progress import Progress, parse_progress, parse_time
from gitpar.core.repo import Repo
from gitpar.core.status import Status, collect
from gitpar.core.stream_progress import all_progress
from gitpar.errors import GitparError
from gitpar.store.commits import blob_text, folder_at, folder_versions, is_ancestor, state_tip
from gitpar.store.state import StateStore

SCHEMA_VERSION = 1
PROGRESS_DIR = "progress"  # progress/<name>.md on the state branch


@dataclass(frozen=True)
class Span:
    """A stretch of time: ``start`` to ``end``, seconds since the epoch."""

    start: float
    end: float


@dataclass(frozen=True)
class Segment:
    """A stretch of time a stream spent in one status (``end`` is now for the last one)."""

    status: str
    start: float
    end: float


@dataclass(frozen=True)
class LockHold:
    """One holding of a shared file's lock, from the audit log."""

    path: str
    stream: str
    start: float
    end: float
    live: bool  # still held now


@dataclass(frozen=True)
class LockNow:
    """A lock on the state branch right now."""

    path: str
    stream: str
    agent: str
    acquired: str
    expires: str
    reason: str
    stale: str | None  # why it is stale, or None when live


@dataclass(frozen=True)
class Conflict:
    """Two streams (or a stream and the base) whose changes meet."""

    a: str
    b: str
    with_base: bool
    files: tuple[str, ...]  # conflicting files, described (``src/config.py (line 5)``)
    overlapping: tuple[str, ...]  # paths both changed


@dataclass
class StreamReport:
    name: str
    description: str
    status: str
    completion: int
    agent: str
    owns: tuple[str, ...]
    shares: tuple[str, ...]
    depends_on: tuple[str, ...]
    wave: int
    critical: bool
    estimate_s: float
    estimate_source: str
    planned: Span | None
    forecast: Span | None  # None when completed
    actual: list[Segment] = field(default_factory=list)
    git: dict[str, Any] = field(default_factory=dict)
    last_activity: str | None = None
    attention: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    violations: list[dict[str, Any]] = field(default_factory=list)
    violations_error: str | None = None  # why the check could not run
    checked: bool = False  # the branch was checked for violations

    @property
    def started(self) -> float | None:
        return self.actual[0].start if self.actual else None

    @property
    def completed(self) -> float | None:
        if self.actual and self.actual[-1].status == "completed":
            return self.actual[-1].start
        return None


@dataclass
class ResourceNow:
    """A resource: who holds it now (``stream`` empty: nobody), with its fencing number, and
    which streams' files say they need it (``resources:``)."""

    name: str
    stream: str
    agent: str
    acquired: str
    expires: str
    reason: str
    fence: int
    stale: str | None  # why the hold is stale ("holder gone: ...", expired), or None when live
    needed_by: list[str]


@dataclass
class Report:
    repo: str
    base: str
    now: float
    workers: int
    origin: float  # where the planned schedule starts
    waves: list[list[str]]
    critical_path: list[str]
    edges: list[tuple[str, str]]  # (dependency, stream)
    streams: list[StreamReport]
    eta_p50: float | None  # None when everything is done
    eta_p90: float | None
    eta_calibrated: bool
    lock_holds: list[LockHold]
    locks_now: list[LockNow]
    conflicts: list[Conflict]
    state_branch: bool
    notes: list[str] = field(default_factory=list)
    # the merge queue (core.integrate.view.queue_view): waiting, testing, ejected, ETA
    queue: dict[str, Any] | None = None
    lock_holds_left_out: int = 0  # older holds not in lock_holds (gather's holds_per_file)
    # resources that are not files (gitpar lock --resource; resources: in stream files)
    resources: list[ResourceNow] = field(default_factory=list)

    def stream(self, name: str) -> StreamReport:
        return next(s for s in self.streams if s.name == name)

    @property
    def planned_finish(self) -> float:
        return max((s.planned.end for s in self.streams if s.planned), default=self.origin)

    def to_dict(self) -> dict[str, Any]:
        """The ``gitpar report --json`` shape (versioned); times as epoch seconds."""
        out = asdict(self)
        out["version"] = SCHEMA_VERSION
        for s, d in zip(self.streams, out["streams"], strict=True):
            d["started"], d["completed"] = s.started, s.completed
        return out


def gather(repo: Repo, *, workers: int, now: dt.datetime | None = None,
           holds_per_file: int | None = None) -> Report:
    """Everything the report shows, read from the plan, the state branch and the branches.

    ``holds_per_file``: only each file's that many newest lock holds (and the one held now),
    the others counted in ``lock_holds_left_out`` — the page's bound (``report_html``),
    so its cost does not grow with the state history; None: every hold (``--json``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    now_s = now.timestamp()
    plan = repo.load_plan()
    snap = StateStore(repo).snapshot()
    exists = snap.commit is not None
    progress = {n: p for n, p in all_progress(snap).items() if n in plan.streams} if exists else {}
    history = read_history(snap) if exists else {}
    analysis = analyse(plan, workers=workers, progress=progress, history=history, now=now)
    status = collect(repo, plan, now=now, dirty="auto", forecast=False)
    actual = status_history(repo, now_s) if exists else {}
    notes: list[str] = [] if exists else ["no state branch yet: nothing has started"]
    fc = _forecast(repo, plan, progress, notes) if exists else None
    conflicts = _conflicts(fc)
    starts = [segs[0].start for segs in actual.values() if segs]
    origin = min(starts) if starts else now_s
    planned = planned_schedule(plan, analysis, workers, origin)
    streams = _streams(repo, plan, analysis, status, actual, planned, conflicts, now_s)
    holds, live, left_out = _locks(repo, now_s, holds_per_file) if exists else ([], [], 0)
    remaining = bool(analysis.remaining)
    return Report(
        repo=repo.name, base=plan.settings.base, now=now_s, workers=workers, origin=origin,
        waves=analysis.waves, critical_path=analysis.critical_path,
        edges=[(d, n) for n, s in plan.streams.items() for d in s.depends_on],
        streams=streams,
        eta_p50=now_s + analysis.eta.p50_s if remaining else None,
        eta_p90=now_s + analysis.eta.p90_s if remaining else None,
        eta_calibrated=analysis.eta.calibrated, lock_holds=holds, locks_now=live,
        conflicts=conflicts, state_branch=exists, notes=notes + list(status.notes),
        queue=_queue(status), lock_holds_left_out=left_out,
        resources=_resources(repo, plan) if exists else [])


def _resources(repo: Repo, plan: Plan) -> list[ResourceNow]:
    """Every resource held now or named in a stream's ``resources:``: the report's section."""
    needed: dict[str, list[str]] = {}
    for name, stream in sorted(plan.streams.items()):
        for res in stream.resources:
            needed.setdefault(res, []).append(name)
    held = {lk.path: (lk, why) for lk, why in list_resources(repo)}
    out = []
    for res in sorted(set(held) | set(needed)):
        lk, why = held.get(res, (None, None))
        out.append(ResourceNow(res, lk.stream if lk else "", lk.agent if lk else "", lk.acquired if lk else "",
                               lk.expires if lk else "", lk.reason if lk else "", lk.fence if lk else 0,
                               why, needed.get(res, [])))
    return out


def _queue(status: Status) -> dict[str, Any] | None:
    """The merge queue's section: what ``gitpar status`` gathered of it."""
    return dict(status.queue) if status.queue else None


def planned_schedule(plan: Plan, analysis: Analysis, workers: int, origin: float) -> dict[str, Span]:
    """The plan's own schedule: every stream at its estimate, from ``origin``."""
    tasks = [sch.Task(n, analysis.streams[n].estimate.seconds, s.depends_on, s.priority, s.resources)
             for n, s in plan.streams.items()]
    result = sch.schedule(tasks, workers)
    return {n: Span(origin + slot.start, origin + slot.finish) for n, slot in result.slots.items()}


def status_history(repo: Repo, now: float) -> dict[str, list[Segment]]:
    """Each stream's statuses through the state branch's history, oldest first.

    A change of status starts a segment at the progress file's ``updated`` time (the
    commit's time when it has none); the first segment starts at ``started``. The last
    segment ends now, a completed one where it starts.

    Kept in the state-history index (``lock_history.read_part``, the part ``progress``) by
    the state tip it was read up to and extended from there: a report reads only the state
    commits made since the last one. A tip that does not descend from it (a rewritten
    branch) reads the whole history again.
    """
    tip = state_tip(repo)
    if tip is None:
        return {}
    part = read_part(repo, PROGRESS_DIR)
    if not (isinstance(part, dict) and isinstance(part.get("tip"), str) and is_ancestor(repo, part["tip"], tip)):
        part = None
    if part is None or part["tip"] != tip:
        seen, out = ({}, {}) if part is None else (part["seen"], {n: [Segment(*s) for s in v]
                                                                for n, v in part["segments"].items()})
        _extend_status(repo, tip, None if part is None else part["tip"],
                       None if part is None else part["last_tree"], seen, out)
        part = {"tip": tip, "last_tree": folder_at(repo, tip, PROGRESS_DIR), "seen": seen,
                "segments": {n: [(g.status, g.start, g.end) for g in v] for n, v in out.items()}}
        write_part(repo, PROGRESS_DIR, part)
    found = {}
    for name, raw in part["segments"].items():
        segs = [Segment(*s) for s in raw]
        if segs and segs[-1].status != "completed":
            last = segs[-1]
            segs[-1] = Segment(last.status, last.start, max(last.start, now))
        if segs:
            found[name] = segs
    return found


def _extend_status(repo: Repo, tip: str, since: str | None, last_tree: str | None,
                   seen: dict[str, str], out: dict[str, list[Segment]]) -> None:
    """Add the status changes of the state commits after ``since`` up to ``tip`` to ``out``
    (``seen``: progress file -> the blob id last read)."""
    for when, files in folder_versions(repo, PROGRESS_DIR, tip, since=since, last_tree=last_tree):
        for file, blob in files.items():
            if seen.get(file) == blob or not file.endswith(".md"):
                continue
            seen[file] = blob
            name = file[len(PROGRESS_DIR) + 1:-len(".md")]
            try:
                p = parse_progress(name, blob_text(repo, blob), f"gitpar/_state:{file}")
            except Exception:  # noqa: BLE001 — a damaged old version is skipped, not fatal
                continue
            _note_status(out.setdefault(name, []), p, float(when))


def _note_status(segs: list[Segment], p: Progress, when: float) -> None:
    if segs and segs[-1].status == p.status:
        return
    if not segs and p.status == "pending":
        return
    updated = parse_time(p.updated)
    at = updated.timestamp() if updated else when
    if not segs:
        started = parse_time(p.started)
        at = min(at, started.timestamp()) if started else at
    elif segs[-1].status != "completed":
        prev = segs[-1]
        at = max(at, prev.start)
        segs[-1] = Segment(prev.status, prev.start, at)
    segs.append(Segment(p.status, at, at))


def _forecast(repo: Repo, plan: Plan, progress: dict[str, Progress], notes: list[str]) -> Forecast | None:
    from gitpar.core.conflicts import forecast

    if repo.tip(plan.settings.base) is None:
        notes.append(f"no conflict forecast: the base branch {plan.settings.base} does not exist")
        return None
    try:
        fc = forecast(repo, plan, progress=progress)
    except GitparError as exc:
        notes.append(f"no conflict forecast: {exc}")
        return None
    notes.extend(f"{n} not forecast: {why}" for n, why in fc.skipped.items())
    return fc


def _conflicts(fc: Forecast | None) -> list[Conflict]:
    if fc is None:
        return []
    return [Conflict(p.a, p.b, p.with_base, tuple(c.describe(p.a, p.b) for c in p.conflicts),
                     tuple(p.overlapping)) for p in fc.conflicting]


def _streams(repo: Repo, plan: Plan, analysis: Analysis, status: Status,
             actual: dict[str, list[Segment]], planned: dict[str, Span],
             conflicts: list[Conflict], now: float) -> list[StreamReport]:
    wave_of = {n: k for k, wave in enumerate(analysis.waves) for n in wave}
    pace = analysis.eta.p50_factor
    by_name = {s.name: s for s in status.streams}
    out: list[StreamReport] = []
    for name, stream in plan.streams.items():
        a, st = analysis.streams[name], by_name[name]
        # the remaining schedule at the ETA's P50 pace (every duration scaled alike)
        forecast = (Span(now + a.start_s * pace, now + a.finish_s * pace)
                    if a.start_s is not None and a.finish_s is not None else None)
        attention = [(x.kind, x.message) for x in status.attention if x.stream == name]
        for c in conflicts:
            if name in (c.a, c.b) and not (c.with_base and name == c.b):
                other = c.b if name == c.a else c.a
                who = f"the base {other}" if c.with_base else f"stream {other}"
                attention.append(("conflict", f"will conflict with {who}: {', '.join(c.files)}"))
        r = StreamReport(
            name=name, description=stream.description, status=a.status, completion=a.completion,
            agent=st.agent, owns=stream.owns, shares=stream.shares, depends_on=stream.depends_on,
            wave=wave_of.get(name, 0), critical=a.critical, estimate_s=a.estimate.seconds,
            estimate_source=a.estimate.source, planned=planned.get(name), forecast=forecast,
            actual=actual.get(name, []), git=dict(st.evidence), last_activity=st.last_activity,
            attention=attention)
        out.append(r)
    _violations(repo, [r for r in out if r.status != "pending" and r.git.get("branch_exists")])
    return out


def _violations(repo: Repo, started: list[StreamReport]) -> None:
    """``gitpar check`` of each started stream's branch against the base, into its report."""
    if not started:
        return
    try:
        reports = check_streams(repo, [r.name for r in started])
    except GitparError as exc:
        for r in started:
            r.violations_error = str(exc)
        return
    for r in started:
        if r.name in reports:
            r.checked = True
            r.violations = [v.to_dict() for v in reports[r.name].violations]


def _locks(repo: Repo, now: float, per_file: int | None = None) -> tuple[list[LockHold], list[LockNow], int]:
    live = [LockNow(lk.path, lk.stream, lk.agent, lk.acquired, lk.expires, lk.reason, stale)
            for lk, stale in list_locks(repo)]
    held_now = {(lk.path, lk.stream) for lk in live if not lk.stale}
    holds, left_out = [], 0
    history = lock_history(repo, now)
    for path in sorted(history):
        if per_file is None:
            spans = history[path]
        else:
            spans, older = history.newest(path, per_file)
            left_out += older
        for h in spans:
            holds.append(LockHold(path, h.stream, h.start, max(h.start, h.end),
                                  (path, h.stream) in held_now and h.end >= now - 1))
    return holds, live, left_out
