"""The consolidated status: every stream's progress, checked against what git shows."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from dataclasses import dataclass, field, replace
from json.encoder import encode_basestring as _quote  # the C encoder's, as json.dumps uses
from pathlib import Path
from typing import Any

from gitpar.core import clock
from gitpar.core.claim import claim_gone
from gitpar.core.integrate.view import queue_view
from gitpar.core.lock_history import lock_history
from gitpar.core.locks import LOCKS_DIR, all_locks
from gitpar.core.locks.holders import holder_gone
from gitpar.core.locks.resources import RESOURCES_DIR, all_resources
from gitpar.core.plan import Plan
from gitpar.core.progress import Progress, parse_time, read_all
from gitpar.core.repo import Repo
from gitpar.core.rules import Rules, Violation, judge
from gitpar.store.commits import paths_touched
from gitpar.store.naming import stream_of_branch
from gitpar.store.repo import Oid
from gitpar.store.state import StateStore
from gitpar.store.worktrees import (
    dirty_scan,
    evidence,
    index_entries,
    load_ranges,
    save_ranges,
    scan_fast_paths,
)

SCHEMA_VERSION = 1


@dataclass
class Attention:
    stream: str
    kind: str  # blocked | coordination | stale | unbacked | failed | setup | violation | unreadable | lock | worktree
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"stream": self.stream, "kind": self.kind, "message": self.message}


def _holders_gone(snap: Any) -> list[Attention]:
    """Locks and resource holds whose holder process is gone (core/locks/holders.py), and
    resource holds that cannot be read: the next lock takes the former over at once."""
    out = []
    for kind, held in (("lock", all_locks(snap.list(LOCKS_DIR))), ("resource", all_resources(snap.list(RESOURCES_DIR)))):
        for name, lk in sorted(held.items()):
            if kind == "resource" and lk.problem:
                out.append(Attention(lk.stream or "?", "unreadable", lk.problem))
                continue
            gone = holder_gone(lk)
            if gone:
                what = f"resource {name}" if kind == "resource" else name
                out.append(Attention(lk.stream, "lock", f"{what}: {gone}; the next 'gitpar lock' takes it over"))
    return out


@dataclass
class StreamStatus:
    name: str
    progress: Progress
    ready: bool
    depends_on: list[str]
    agent: str
    evidence: dict[str, Any]
    last_activity: str | None
    violations: list[Violation] = field(default_factory=list)  # on its branch, as CI sees them

    @property
    def status(self) -> str:
        return self.progress.status

    def to_dict(self) -> dict[str, Any]:
        out = self.progress.to_dict()
        out["agent"] = self.agent
        out.update({"ready": self.ready, "depends_on": self.depends_on,
                    "last_activity": self.last_activity, "git": self.evidence,
                    "violations": [v.to_dict() for v in self.violations]})
        return out


class NeverStarted(StreamStatus):
    """A stream never started here: no progress file, no branch, no worktree — most streams
    of a big plan. Only its name, dependencies, agent and readiness are its own; the rest is
    worked out when asked for, and its JSON row is filled into one template (a status of a
    big plan makes, turns into dicts and encodes one for nearly every stream).
    """

    status = "pending"

    def __init__(self, name: str, depends_on: list[str], agent: str, ready: bool) -> None:
        # not the dataclass's __init__: the other fields are the properties below
        self.name, self.depends_on, self.agent, self.ready = name, depends_on, agent, ready

    @property
    def progress(self) -> Progress:  # type: ignore[override]
        return Progress.pending(self.name)

    @property
    def evidence(self) -> dict[str, Any]:  # type: ignore[override]
        return {**_UNSTARTED, "branch": f"gitpar/{self.name}"}

    @property
    def last_activity(self) -> str | None:  # type: ignore[override]
        return None

    @property
    def violations(self) -> list[Violation]:  # type: ignore[override]
        return []

    def json_row(self) -> str:
        """``json.dumps(self.to_dict(), ensure_ascii=False)``, from the template."""
        parts, slots = _row_template()
        values = {"name": _quote(self.name), "agent": _quote(self.agent),
                  "ready": "true" if self.ready else "false",
                  "deps": "[" + ", ".join(map(_quote, self.depends_on)) + "]",
                  "branch": _quote(f"gitpar/{self.name}")}
        out = [parts[0]]
        for slot, part in zip(slots, parts[1:], strict=True):
            out.append(values[slot])
            out.append(part)
        return "".join(out)


_SENTINELS = {"\x01": "name", "\x02": "agent", "\x03": "deps", "\x04": "branch", "\x05": "ready"}


@functools.lru_cache(maxsize=1)
def _row_template() -> tuple[list[str], list[str]]:
    """The JSON row of a stream never started, made the ordinary way with a sentinel in each
    place of its own, cut at the sentinels: (the text between them, which value goes where)."""
    import re

    sample = StreamStatus(name="\x01", progress=Progress(stream="\x01"), ready=True, depends_on=["\x03"],
                          agent="\x02", evidence={**_UNSTARTED, "branch": "\x04"}, last_activity=None)
    text = json.dumps(sample.to_dict(), ensure_ascii=False)
    text = text.replace(json.dumps(["\x03"]), "\x03").replace('"ready": true', '"ready": \x05')
    for sentinel in ("\x01", "\x02", "\x04"):
        text = text.replace(json.dumps(sentinel), sentinel)
    pieces = re.split("([\x01-\x05])", text)
    return pieces[0::2], [_SENTINELS[p] for p in pieces[1::2]]


@dataclass
class Status:
    base: str
    generated: str
    streams: list[StreamStatus]
    attention: list[Attention] = field(default_factory=list)
    state_branch: bool = True
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    queue: dict[str, Any] | None = None  # the merge queue (core.integrate.view)

    @property
    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.streams), "pending": 0, "active": 0, "blocked": 0,
                  "completed": 0, "failed": 0}
        key = {"pending": "pending", "in_progress": "active", "blocked": "blocked",
               "completed": "completed", "failed": "failed"}
        for s in self.streams:
            k = key.get(s.status)
            if k:
                counts[k] += 1
        return counts

    @property
    def ready(self) -> list[str]:
        return [s.name for s in self.streams if s.ready]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "generated": self.generated,
            "base": self.base,
            "state_branch": self.state_branch,
            "summary": self.summary,
            "ready": self.ready,
            "streams": [s.to_dict() for s in self.streams],
            "attention": [a.to_dict() for a in self.attention],
            "warnings": self.warnings,
            "notes": self.notes,
            "queue": self.queue,
        }

    def to_json(self) -> str:
        """``json.dumps(self.to_dict(), ensure_ascii=False, default=str)``, the same text,
        with the rows of streams never started filled into a template."""
        def dumps(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, default=str)

        rows = ", ".join(s.json_row() if isinstance(s, NeverStarted) else dumps(s.to_dict()) for s in self.streams)
        head = {"version": SCHEMA_VERSION, "generated": self.generated, "base": self.base,
                "state_branch": self.state_branch, "summary": self.summary, "ready": self.ready}
        tail = {"attention": [a.to_dict() for a in self.attention], "warnings": self.warnings,
                "notes": self.notes, "queue": self.queue}
        return "{" + ", ".join([*(f"{dumps(k)}: {dumps(v)}" for k, v in head.items()),
                                f'"streams": [{rows}]',
                                *(f"{dumps(k)}: {dumps(v)}" for k, v in tail.items())]) + "}"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


DIRTY_BUDGET_S = 0.15  # time spent looking at worktrees for uncommitted files, by default
# git status reads every tracked file's metadata (lstat), so its time grows with the index:
# a worktree whose index holds more files than this per second of budget cannot be told
# within it, and is not scanned (unless git has a file system monitor to ask instead)
FILES_PER_SECOND = 650_000
# worktrees scanned at the same time, each by a git status process (mostly stat calls): up to
# four, leaving one core to the status itself: scans that outnumber the free cores slow one
# another until none finishes within the budget, where one at a time always finishes one
SCANS_AT_ONCE = max(1, min(4, (os.cpu_count() or 2) - 1))


def _updated_at(p: Progress | None) -> float:
    """When the stream last reported progress (0: never), to scan the most active first."""
    updated = parse_time(p.updated) if p is not None else None
    return updated.timestamp() if updated else 0.0


class DirtyScans:
    """The worktree scans for uncommitted files, running in other processes (``git status``)
    from the moment they are started: :func:`start_scans` before the plan is even read,
    so that they overlap all of the rest of the status.

    With ``--dirty auto`` a worktree too big to scan within ``budget`` seconds (its index
    counts the files git would look at) is not started at all, and said so, with the way to
    scan it (:attr:`skipped`); git's own fast paths are used where configured: the
    untracked cache (:func:`gitpar.store.worktrees.dirty_scan`), and with a file system
    monitor no worktree is too big."""

    def __init__(self, repo: Repo, dirty: str, progress: dict[str, Progress], *,
                 budget: float = DIRTY_BUDGET_S) -> None:
        import time
        from concurrent.futures import ThreadPoolExecutor


        self.dirty = dirty
        self.budget = budget
        found = [(stream_of_branch(wt.branch), wt) for wt in repo.worktrees()]
        gitdirs = {name: wt.gitdir for name, wt in found if name is not None}
        self.worktrees = {name: wt.path for name, wt in found if name is not None}
        status_of = {n: p.status for n, p in progress.items()}
        # completed streams' worktrees first (a claim depends on them), then the most recently active
        self.order = sorted((n for n in self.worktrees if dirty != "none"),
                            key=lambda n: (status_of.get(n) != "completed", -_updated_at(progress.get(n)), n))
        untracked_cache, monitor = scan_fast_paths(repo) if self.order else (False, False)
        #: the worktrees not scanned, and why (the way to scan them is in the message)
        self.skipped: dict[str, str] = {}
        if dirty == "auto" and not monitor:
            for name in self.order:
                files = index_entries(gitdirs[name]) if status_of.get(name) != "completed" else None
                if files is not None and files > budget * FILES_PER_SECOND:
                    self.skipped[name] = (f"not scanned: {files:,} files, more than --dirty auto's "
                                          f"{budget * 1000:.0f} ms can look at; --dirty all scans it")
        self.started = time.monotonic()
        todo = [n for n in self.order if n not in self.skipped]
        self.pool = ThreadPoolExecutor(max_workers=SCANS_AT_ONCE) if todo else None
        self.scans = {n: self.pool.submit(dirty_scan, self.worktrees[n], untracked_cache=untracked_cache)
                      for n in todo} if self.pool else {}

    def results(self, status_of: dict[str, str]) -> tuple[dict[str, list[str]], int]:
        """The scans' answers — every one with ``--dirty all`` or for a completed stream, the
        others as far as the time budget (counted from when they started) goes — and how
        many of the plan's worktrees were left unscanned (each one's reason in :attr:`skipped`)."""
        import time
        from concurrent.futures import TimeoutError as FutureTimeout

        dirty_of: dict[str, list[str]] = {}
        deadline = self.started + self.budget
        unscanned = 0
        for name in self.order:
            if name not in status_of:
                continue  # not a stream of this plan
            if name in self.skipped:
                unscanned += 1
                continue
            wait = (None if self.dirty == "all" or status_of[name] == "completed"
                    else max(0.0, deadline - time.monotonic()))
            try:
                dirty_of[name] = self.scans[name].result(timeout=wait)
            except FutureTimeout:
                unscanned += 1
                self.skipped[name] = "not scanned: out of --dirty auto's time; --dirty all scans it"
            except Exception:  # noqa: BLE001 — a broken worktree is reported as unknown, not fatal
                unscanned += 1
                self.skipped[name] = "not scanned: git status failed in it"
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        return dirty_of, unscanned


def start_scans(repo: Repo, dirty: str = "auto", *, budget: float = DIRTY_BUDGET_S) -> DirtyScans:
    """Start scanning the streams' worktrees (``collect``'s ``dirty``) before the plan is read."""
    return DirtyScans(repo, dirty, read_all(StateStore(repo).snapshot().list("progress"))[0], budget=budget)


def collect(repo: Repo, plan: Plan, *, now: dt.datetime | None = None, dirty: str = "auto",
            forecast: bool = True, scans: DirtyScans | None = None) -> Status:
    """Status of every stream in ``plan``: progress, readiness, git evidence, attention.

    ``dirty`` says which worktrees are scanned for uncommitted files, the one costly part
    (each scan reads every file's metadata): ``all``; ``none``; or ``auto`` — completed
    streams' worktrees first (where a claim depends on it), then the others, most recently
    active first, while a small time budget lasts. Unscanned worktrees show ``dirty: null``
    and why in ``dirty_scan`` (too big for the budget, out of time), with the way to scan them.
    ``forecast`` adds the conflicts ``gitpar conflicts`` forecasts between active streams.
    ``scans``: the scans :func:`start_scans` started for this ``dirty`` (else they start here).
    """
    now = now or clock.now_utc()
    store = StateStore(repo)
    snap = store.snapshot()
    # unreadable state files are reported by name, never taken as "pending" or "free"
    progress, unreadable = read_all(snap.list("progress"))
    state_problems = [Attention(name, "unreadable", problem) for name, problem in sorted(unreadable.items())]
    for lk in all_locks(snap.list(LOCKS_DIR)).values():
        if lk.problem:
            state_problems.append(Attention(lk.stream or "?", "unreadable", lk.problem))
        elif lk.warning:
            state_problems.append(Attention(lk.stream, "lock", lk.warning))
    state_problems.extend(_holders_gone(snap))
    base = plan.settings.base
    base_tip = repo.tip(base)
    # the worktree scans run in other processes while the rest is worked out here
    scans = scans if scans is not None else DirtyScans(repo, dirty, progress)
    worktrees = scans.worktrees
    status_of = {name: (progress[name].status if name in progress else "pending") for name in plan.streams}
    ranges = load_ranges(repo)  # the commit-range cache: changed-file counts and branch paths
    cache = ranges["counts"]
    cached = len(cache)
    rows: list[tuple[str, Progress | None, Any, float | None]] = []
    merged_from = _merge_sources(repo, plan)
    for name in plan.streams:
        if name not in progress and name not in worktrees:
            rows.append((name, None, None, None))  # never started here: nothing of its own to show
            continue
        p = progress.get(name) or Progress(stream=name)
        ev = evidence(repo, name, base_tip, cache)
        if ev is not None and ev.ahead and base_tip is not None and ev.tip is not None:
            from gitpar.store.merge import own_changed_files

            # merging the integration branch or another stream in does not make their files its own
            own = own_changed_files(repo, repo.resolve(ev.tip), base_tip,
                                    [t for n, t in merged_from.items() if n != name])
            if own is not None:
                ev = replace(ev, files_changed=len(own))
        updated = parse_time(p.updated)
        last = updated.timestamp() if updated else None
        if ev is not None and ev.last_commit is not None:
            last = max(last or 0, ev.last_commit)
        rows.append((name, p, ev, last))
    broken = branch_violations(repo, plan, status_of, [name for name, p, ev, _ in rows
                                            if p is not None and p.status != "pending" and ev is not None and ev.ahead],
                               ranges=ranges)
    if len(cache) != cached or ranges.get("changed"):
        ranges.pop("changed", None)
        save_ranges(repo, ranges)  # once, whatever changed
    dirty_of, unscanned = scans.results(status_of)
    streams: list[StreamStatus] = []
    attention: list[Attention] = []
    stale_after = plan.settings.stale_after
    for name, reported, ev, last in rows:
        stream = plan.streams[name]
        if reported is None:
            ready = name not in unreadable and all(status_of.get(d) == "completed" for d in stream.depends_on)
            streams.append(NeverStarted(name, list(stream.depends_on), stream.agent, ready))
            continue
        p = reported
        ready = (p.status == "pending" and name not in unreadable
                 and all(status_of.get(d) == "completed" for d in stream.depends_on))
        files = dirty_of.get(name)
        evd: dict[str, Any] = {
            "branch": f"gitpar/{name}",
            "branch_exists": bool(ev and ev.branch_exists),
            "ahead": ev.ahead if ev else 0,
            "behind": ev.behind if ev else 0,
            "files_changed": ev.files_changed if ev else 0,
            "last_commit": _iso(ev.last_commit) if ev else None,
            "worktree": str(worktrees[name]) if name in worktrees else None,
            "dirty": None if files is None else bool(files),
            "dirty_files": None if files is None else len(files),
            "dirty_scan": scans.skipped.get(name),  # why it was not scanned (None: it was, or has no worktree)
            "worktree_missing": worktree_missing(p, worktrees.get(name)),
        }
        streams.append(StreamStatus(name=name, progress=p, ready=ready,
                                    depends_on=list(stream.depends_on),
                                    agent=p.agent or stream.agent, evidence=evd,
                                    last_activity=_iso(last), violations=broken.get(name, [])))
        attention.extend(_attention(name, p, ev, files, last, now, stale_after,
                                    remote=repo.state_remote() if name not in worktrees else None))
        if p.status in ("in_progress", "blocked"):
            gone = claim_gone(p.extra, p.updated, heartbeat=plan.settings.lock_heartbeat, now=now.timestamp())
            if gone:
                attention.append(Attention(name, "stale", f"{gone}; 'gitpar start {name} --take-over' "
                                           "takes the stream over now (recorded; the old worker is fenced off)"))
        if evd["worktree_missing"]:
            where = p.extra.get("worktree") or worktrees.get(name) or "its worktree"
            attention.append(Attention(name, "worktree", f"{p.status} but its worktree {where} is gone; "
                                       f"'gitpar start {name}' recreates it from gitpar/{name} "
                                       "(its commits are kept)"))
        for v in broken.get(name, []):
            attention.append(Attention(name, "violation", f"{v.path}: {v.message}"
                                       + (f" (commit {v.commit})" if v.commit else "")
                                       + "; 'gitpar finish' and 'gitpar integrate' refuse it until fixed"))
    attention.extend(state_problems)
    if snap.commit is not None:
        attention.extend(suspect_state(repo))
    for name in sorted(set(progress) - set(plan.streams)):
        attention.append(Attention(name, "orphan", f"progress/{name}.md on the state branch "
                                   "belongs to no stream in the plan"))
    if forecast and base_tip is not None and progress:
        from gitpar.core.conflicts import attention as forecast_attention

        attention.extend(Attention(s, k, m) for s, k, m in forecast_attention(repo, plan, progress))
    notes = []
    if unscanned:
        notes.append(f"{unscanned} worktrees were not scanned for uncommitted files "
                     "(dirty: null); 'gitpar status --dirty all' scans every one")
    for w in plan.warnings:
        repo.warn(w)

    queue = queue_view(repo, plan, progress)
    return Status(base=base, generated=now.strftime("%Y-%m-%dT%H:%M:%SZ"), streams=streams,
                  attention=attention, state_branch=snap.commit is not None,
                  warnings=list(repo.warnings), notes=notes, queue=queue)  # the one channel (store/repo.py)


# the git evidence of a stream with no progress file, no branch and no worktree here
_UNSTARTED: dict[str, Any] = {"branch": "", "branch_exists": False, "ahead": 0, "behind": 0, "files_changed": 0,
                              "last_commit": None, "worktree": None, "dirty": None, "dirty_files": None,
                              "dirty_scan": None, "worktree_missing": False}


def _merge_sources(repo: Repo, plan: Plan) -> dict[str, Oid]:
    """The tips whose commits a stream may merge in without making them its own: every
    stream's branch, and the integration branch (under the name ``""``)."""
    tips: dict[str, Oid | None] = {n: t for n, t in repo.stream_tips().items() if n in plan.streams}
    tips[""] = repo.tip(f"refs/heads/{plan.settings.integration_branch}")
    return {n: t for n, t in tips.items() if t is not None}


def worktree_missing(p: Progress, path: Path | None) -> bool:
    """Whether a stream in progress in this clone has lost its worktree: the folder was
    deleted (its entry may still be listed) or the entry pruned. A stream worked on in
    another clone or on another machine (its progress names a folder that exists, or another
    host) is not judged from here."""
    import socket

    if p.status not in ("in_progress", "blocked") or p.extra.get("integrated"):
        return False
    if path is not None and path.exists():
        return False
    host = str(p.extra.get("host") or "")
    if host and host != socket.gethostname():
        return False
    recorded = str(p.extra.get("worktree") or "")
    return not (recorded and path is None and os.path.exists(recorded))


def branch_violations(repo: Repo, plan: Plan, statuses: dict[str, str],
                      started: list[str], *, ranges: dict[str, Any] | None = None) -> dict[str, list[Violation]]:
    """Stream -> the violations on its branch, by the check pre-push and CI run.

    Cheap first: a branch whose commits touch only what the stream may change without a lock
    (by the base plan's rules) has none; only the others get the full check, lock history
    and all (``gitpar check --range BASE..gitpar/NAME``).

    ``ranges``: the commit-range cache (``store.worktrees.load_ranges``) the caller saves;
    its ``paths`` are updated here (and ``"changed"`` set when they were). Without it, this
    function reads and saves the cache itself.
    """
    base = plan.settings.base
    base_tip = repo.tip(base)
    if not started or base_tip is None:
        return {}
    from gitpar.core import streams
    from gitpar.plugins import manager as plugins

    # the filter's rules come from the plan status already read (the main worktree's, which
    # is the base's unless the orchestrator has uncommitted edits): reading and parsing the
    # base's plan again costs more than the whole filter; the full check reads the base's
    rules = Rules.from_plan(plan, statuses)
    out: dict[str, list[Violation]] = {}
    # each branch's paths, kept by its range: a status after a few more commits walks those
    own = ranges is None
    if ranges is None:
        ranges = load_ranges(repo)
    known: dict[str, tuple[str, str, tuple[str, ...]]] = ranges["paths"]
    kept = dict(known)
    for name in started:
        tip = repo.stream_tip(name)
        if tip is None:
            continue
        paths = list(paths_touched(repo, tip, base_tip, known.get(name)))
        kept[name] = (str(base_tip), str(tip), tuple(paths))
        if not judge(rules, name, paths, lambda _p: None) and not plugins.check_paths(name, paths, rules):
            continue
        found = streams.violations_on_branch(repo, name, base)
        if found:
            out[name] = found
    if kept != known:
        ranges["paths"] = {n: kept[n] for n in started if n in kept}
        ranges["changed"] = True
        if own:
            ranges.pop("changed")
            save_ranges(repo, ranges)
    return out


def suspect_state(repo: Any) -> list[Attention]:
    """State commits the lock proof cannot lean on (dated backwards or in the future, or a
    lock disagreeing with its commit's date), from the lock-history index: see docs/lockproof.md."""
    return [Attention("gitpar/_state", "suspect-state",
                      f"state commit {s.commit[:10]} is {s.why}; no hold it records proves a change "
                      "('gitpar doctor' says more)")
            for s in lock_history(repo, clock.real_now()).suspects]


def _attention(name: str, p: Progress, ev: Any, dirty: list[str] | None, last: float | None,
               now: dt.datetime, stale_after: float, *, remote: str | None = None) -> list[Attention]:
    """What needs a look about one stream; ``remote``: the plan's remote, when the stream has
    no worktree in this clone (so it may be worked on in another one)."""
    out = []
    for item in p.blocked:
        out.append(Attention(name, "blocked", item))
    for item in p.coordination:
        out.append(Attention(name, "coordination", item))
    if p.status == "failed":
        out.append(Attention(name, "failed", "the stream is marked failed"))
    if p.status in ("in_progress", "blocked") and last is not None:
        idle = now.timestamp() - last
        if idle > stale_after:
            hours = idle / 3600
            out.append(Attention(name, "stale", f"no commit and no progress for {hours:.1f}h"))
    if ev is not None:
        started_at = p.extra.get("base_commit")
        no_commits = ev.tip == started_at if started_at else ev.ahead == 0
        if p.completion > 0 and ev.branch_exists and no_commits:
            out.append(Attention(name, "unbacked",
                                 f"reports {p.completion}% but gitpar/{name} has no commits of its own"))
        if p.status == "completed" and dirty:
            out.append(Attention(name, "unbacked",
                                 f"reported completed but its worktree has {len(dirty)} uncommitted files"))
        if remote is not None and p.status in ("in_progress", "blocked") and not ev.branch_exists:
            host = p.extra.get("host") or "another machine"
            out.append(Attention(name, "coordination", f"started on {host} ({p.extra.get('worktree') or 'another clone'}), "
                                 f"branch gitpar/{name} not on {remote} yet"))
        elif p.status != "pending" and not ev.branch_exists and not p.extra.get("integrated"):
            out.append(Attention(name, "unbacked", f"reported {p.status} but gitpar/{name} does not exist"))
    return out
