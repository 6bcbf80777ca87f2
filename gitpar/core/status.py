"""The consolidated status: every stream's progress, checked against what git shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.plan import Plan
from gitpar.core.progress import Progress, parse_time
from gitpar.store.repo import Repo
from gitpar.store.state import StateStore

SCHEMA_VERSION = 1


@dataclass
class Attention:
    stream: str
    kind: str  # blocked | coordination | stale | unbacked | failed | setup
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"stream": self.stream, "kind": self.kind, "message": self.message}


@dataclass
class StreamStatus:
    name: str
    progress: Progress
    ready: bool
    depends_on: list[str]
    agent: str
    evidence: dict[str, Any]
    last_activity: str | None

    def to_dict(self) -> dict[str, Any]:
        out = self.progress.to_dict()
        out["agent"] = self.agent
        out.update({"ready": self.ready, "depends_on": self.depends_on,
                    "last_activity": self.last_activity, "git": self.evidence})
        return out


@dataclass
class Status:
    base: str
    generated: str
    streams: list[StreamStatus]
    attention: list[Attention] = field(default_factory=list)
    state_branch: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.streams), "pending": 0, "active": 0, "blocked": 0,
                  "completed": 0, "failed": 0}
        key = {"pending": "pending", "in_progress": "active", "blocked": "blocked",
               "completed": "completed", "failed": "failed"}
        for s in self.streams:
            k = key.get(s.progress.status)
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
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def collect(repo: Repo, plan: Plan, *, now: dt.datetime | None = None,
            check_dirty: bool = True) -> Status:
    """Status of every stream in ``plan``: progress, readiness, git evidence, attention."""
    from gitpar.core.streams import all_progress
    from gitpar.store.worktrees import evidence

    now = now or dt.datetime.now(dt.timezone.utc)
    store = StateStore(repo)
    snap = store.snapshot()
    progress = all_progress(snap)
    base = plan.settings.base
    base_tip = repo.tip(base)
    worktrees = repo.stream_worktrees()
    status_of = {name: (progress[name].status if name in progress else "pending") for name in plan.streams}
    streams: list[StreamStatus] = []
    attention: list[Attention] = []
    stale_after = plan.settings.stale_after
    for name, stream in plan.streams.items():
        p = progress.get(name) or Progress(stream=name)
        started = name in progress
        ev = evidence(repo, name, base_tip, worktrees.get(name), check_dirty=check_dirty) if (
            started or name in worktrees) else None
        ready = p.status == "pending" and all(status_of.get(d) == "completed" for d in stream.depends_on)
        updated = parse_time(p.updated)
        last = updated.timestamp() if updated else None
        if ev is not None and ev.last_commit is not None:
            last = max(last or 0, ev.last_commit)
        evd: dict[str, Any] = {
            "branch": f"gitpar/{name}",
            "branch_exists": bool(ev and ev.branch_exists),
            "ahead": ev.ahead if ev else 0,
            "behind": ev.behind if ev else 0,
            "files_changed": ev.files_changed if ev else 0,
            "last_commit": _iso(ev.last_commit) if ev else None,
            "worktree": str(worktrees[name]) if name in worktrees else None,
            "dirty": (bool(ev.dirty) if ev and ev.dirty is not None else None),
            "dirty_files": (len(ev.dirty) if ev and ev.dirty is not None else None),
        }
        streams.append(StreamStatus(name=name, progress=p, ready=ready,
                                    depends_on=list(stream.depends_on),
                                    agent=p.agent or stream.agent, evidence=evd,
                                    last_activity=_iso(last)))
        attention.extend(_attention(name, p, ev, last, now, stale_after))
    for name in sorted(set(progress) - set(plan.streams)):
        attention.append(Attention(name, "orphan", f"progress/{name}.md on the state branch "
                                   "belongs to no stream in the plan"))
    return Status(base=base, generated=now.strftime("%Y-%m-%dT%H:%M:%SZ"), streams=streams,
                  attention=attention, state_branch=snap.commit is not None,
                  warnings=list(plan.warnings))


def _attention(name: str, p: Progress, ev: Any, last: float | None, now: dt.datetime,
               stale_after: float) -> list[Attention]:
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
        if p.status == "completed" and ev.dirty:
            out.append(Attention(name, "unbacked",
                                 f"reported completed but its worktree has {len(ev.dirty)} uncommitted files"))
        if p.status != "pending" and not ev.branch_exists:
            out.append(Attention(name, "unbacked", f"reported {p.status} but gitpar/{name} does not exist"))
    return out
