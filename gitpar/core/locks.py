"""Shared-file locks: ``locks/<path>.lock`` on the state branch.

A lock is taken, renewed and released by one compare-and-swap commit of the state
branch, so two streams can never both hold it; the branch's history is the proof of who
held what and when, which lets pre-push and CI judge a range of commits after the fact.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitpar.core import markdown
from gitpar.core.durations import format_duration, parse_duration
from gitpar.core.progress import now_iso, parse_time
from gitpar.errors import Refused, bad

LOCKS_DIR = "locks"


def lock_file(path: str) -> str:
    return f"{LOCKS_DIR}/{path}.lock"


@dataclass(frozen=True)
class Lock:
    """One held lock, as its file on the state branch says."""

    path: str
    stream: str
    agent: str
    acquired: str
    expires: str
    reason: str = ""
    host: str = ""
    pid: int = 0
    worktree: str = ""

    def expires_at(self) -> float:
        t = parse_time(self.expires)
        return t.timestamp() if t else 0.0

    def acquired_at(self) -> float:
        t = parse_time(self.acquired)
        return t.timestamp() if t else 0.0

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "stream": self.stream, "agent": self.agent,
                "acquired": self.acquired, "expires": self.expires, "reason": self.reason,
                "host": self.host, "pid": self.pid, "worktree": self.worktree}


def render_lock(lock: Lock) -> str:
    return markdown.render(lock.to_dict(), f"Locked by stream {lock.stream} for: {lock.reason or '(no reason given)'}")


def parse_lock(file: str, text: str) -> Lock:
    meta, _ = markdown.parse(text, f"gitpar/_state:{file}")
    path = meta.get("path") or file[len(LOCKS_DIR) + 1:-len(".lock")]
    pid = meta.get("pid") or 0
    return Lock(path=str(path), stream=str(meta.get("stream") or ""), agent=str(meta.get("agent") or ""),
                acquired=str(meta.get("acquired") or ""), expires=str(meta.get("expires") or ""),
                reason=str(meta.get("reason") or ""), host=str(meta.get("host") or ""),
                pid=int(pid) if isinstance(pid, int) else 0, worktree=str(meta.get("worktree") or ""))


def all_locks(files: dict[str, str]) -> dict[str, Lock]:
    """Locks by path, from the state branch's ``locks/`` files (path on branch to text)."""
    out = {}
    for file, text in files.items():
        if file.endswith(".lock"):
            lock = parse_lock(file, text)
            out[lock.path] = lock
    return out


def repo_path(raw: str, cwd: Path, root: Path) -> str:
    """``raw`` (relative to ``cwd``, or absolute) as a repository path; BadInput if outside."""
    if not raw or not raw.strip():
        raise bad(None, "path", "the path is empty", "name a file inside the repository")
    if "\0" in raw or "\n" in raw:
        raise bad(None, "path", f"{raw!r} contains a control character", "name a file inside the repository")
    full = os.path.normpath(os.path.join(cwd, raw))
    root_s = os.path.normpath(str(root))
    rel = os.path.relpath(full, root_s)
    if rel == "." or rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
        raise bad(None, "path", f"{raw!r} is outside the repository {root_s}",
                  "name a file inside the repository, relative to where you are")
    rel = rel.replace(os.sep, "/")
    if rel == ".git" or rel.startswith(".git/"):
        raise bad(None, "path", f"{raw!r} is inside .git, which gitpar does not lock",
                  "name a tracked file of the repository")
    return rel


def check_ttl(ttl: str | None, default: float) -> float:
    if ttl is None:
        return default
    try:
        seconds = parse_duration(ttl)
    except ValueError as exc:
        raise bad(None, "--ttl", str(exc), "give a duration like 30m, 2h or 1d") from None
    if seconds <= 0:
        raise bad(None, "--ttl", f"{ttl!r} is not a positive duration", "give a duration like 30m or 2h")
    return seconds


def iso_in(seconds: float, now: float | None = None) -> str:
    t = (now if now is not None else time.time()) + seconds
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LockResult:
    taken: list[str]
    renewed: list[str]
    took_over: list[tuple[str, Lock]]  # path, the stale lock replaced


class Contended(Refused):
    """Some paths are held by other streams; ``holders`` says by whom."""

    def __init__(self, holders: list[Lock]) -> None:
        self.holders = holders
        shown = "; ".join(f"{h.path} is locked by stream {h.stream}"
                          + (f" ({h.agent})" if h.agent else "")
                          + f" until {h.expires}" + (f" for: {h.reason}" if h.reason else "")
                          for h in holders)
        super().__init__(f"{shown}. Wait with --wait SECONDS, ask {holders[0].stream} to "
                         f"'gitpar unlock', or take it with 'gitpar unlock --force' (recorded)")


def plan_lock(locks: dict[str, Lock], paths: Sequence[str], stream: str, *, stale: Callable[[Lock], bool],
              now: float) -> tuple[list[Lock], list[str], list[str], list[tuple[str, Lock]]]:
    """Who blocks ``paths`` for ``stream``: (holders, new, renewed, stale-taken-over)."""
    holders, new, renewed, taken_over = [], [], [], []
    for path in paths:
        held = locks.get(path)
        if held is None:
            new.append(path)
        elif held.stream == stream:
            renewed.append(path)
        elif held.expired(now) or stale(held):
            taken_over.append((path, held))
        else:
            holders.append(held)
    return holders, new, renewed, taken_over


def backoff_waits(total: float, *, first: float = 0.05, cap: float = 2.0) -> Iterable[float]:
    """Pauses for polling: exponential with full jitter, until ``total`` seconds are used."""
    deadline = time.monotonic() + total
    pause = first
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        yield min(left, random.uniform(pause / 2, pause))
        pause = min(pause * 2, cap)


def new_lock(path: str, stream: str, agent: str, ttl: float, reason: str, worktree: str) -> Lock:
    now = time.time()
    return Lock(path=path, stream=stream, agent=agent, acquired=now_iso(), expires=iso_in(ttl, now),
                reason=reason, host=socket.gethostname(), pid=os.getpid(), worktree=worktree)


def describe_ttl(seconds: float) -> str:
    return format_duration(seconds)


# -- operations on the state branch ----------------------------------------------------


def _context(repo: Any) -> tuple[Any, Callable[[Lock], bool]]:
    """The state store and a predicate telling whether a lock is stale."""
    from gitpar.core.streams import statuses
    from gitpar.store.state import StateStore

    store = StateStore(repo)
    if not store.exists():
        raise Refused("no state branch gitpar/_state; run 'gitpar init' first")
    worktrees = repo.stream_worktrees()
    status = statuses(store.snapshot())

    def stale(lock: Lock) -> bool:
        return stale_reason(lock, status, worktrees) is not None

    return store, stale


def stale_reason(lock: Lock, status: dict[str, str], worktrees: dict[str, Path]) -> str | None:
    """Why ``lock`` is stale (expired, its stream finished, its worktree gone), or None."""
    if lock.expired():
        return f"expired at {lock.expires}"
    if status.get(lock.stream) == "completed":
        return f"stream {lock.stream} is completed"
    if lock.stream not in worktrees:
        return f"stream {lock.stream} has no worktree"
    return None


def check_lockable(plan: Any, stream: str, paths: Sequence[str]) -> None:
    """Refuse to lock a path another stream owns: only its owner may change it."""
    from gitpar.core.rules import Rules

    rules = Rules.from_plan(plan)
    for path in paths:
        owners = [r.stream for r in rules.index.match(path) if r.kind == "owns" and r.stream != stream]
        if owners:
            raise Refused(f"{path} is owned by stream {owners[0]}; only it may change the file, "
                          "so there is nothing to lock (move the path to 'shares' of both streams "
                          "to edit it in turns)")


def lock(repo: Any, stream: str, paths: Sequence[str], *, ttl: float, reason: str = "",
         agent: str = "", wait: float = 0.0, worktree: str = "",
         on_wait: Callable[[list[Lock]], None] | None = None) -> LockResult:
    """Take (or renew) the locks on ``paths`` for ``stream``: all of them or none.

    With ``wait``, poll with exponential backoff and jitter for up to that many seconds;
    ``on_wait`` hears who holds what before each pause.
    """
    store, stale = _context(repo)
    paths = list(dict.fromkeys(paths))
    result = LockResult([], [], [])

    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        locks = all_locks(snap.list(LOCKS_DIR))
        holders, new, renewed, taken_over = plan_lock(locks, paths, stream, stale=stale, now=time.time())
        if holders:
            raise Contended(holders)
        changes: dict[str, str | None] = {}
        for path in paths:
            changes[lock_file(path)] = render_lock(new_lock(path, stream, agent, ttl, reason, worktree))
        result.taken, result.renewed, result.took_over = new, renewed, taken_over
        verb = "lock" if new or taken_over else "renew lock on"
        msg = f"{verb} {', '.join(paths)} for {stream}"
        if reason:
            msg += f": {reason}"
        for path, old in taken_over:
            msg += f"\n\ntook over the stale lock on {path} held by {old.stream} (expired {old.expires})"
        return changes, msg

    waits = iter(backoff_waits(wait)) if wait > 0 else iter(())
    while True:
        try:
            store.update(change)
            return result
        except Contended as exc:
            pause = next(waits, None)
            if pause is None:
                raise
            if on_wait is not None:
                on_wait(exc.holders)
            time.sleep(pause)


def unlock(repo: Any, stream: str, paths: Sequence[str], *, force: bool = False,
           who: str = "") -> list[tuple[str, Lock]]:
    """Release ``stream``'s locks on ``paths``; another stream's only with ``force`` (recorded)."""
    store, _stale = _context(repo)
    paths = list(dict.fromkeys(paths))
    released: list[tuple[str, Lock]] = []

    def change(snap: Any) -> tuple[dict[str, str | None], str] | None:
        locks = all_locks(snap.list(LOCKS_DIR))
        released.clear()
        changes: dict[str, str | None] = {}
        broken = []
        for path in paths:
            held = locks.get(path)
            if held is None:
                continue
            if held.stream != stream:
                if not force:
                    raise bad(None, "path", f"{path} is locked by stream {held.stream}, not {stream}",
                              f"ask {held.stream} to release it, or break it with --force (recorded)")
                broken.append(held)
            changes[lock_file(path)] = None
            released.append((path, held))
        if not changes:
            return None
        msg = f"unlock {', '.join(p for p, _ in released)} for {stream}"
        if broken:
            msg = (f"break lock on {', '.join(b.path for b in broken)} held by "
                   f"{', '.join(sorted({b.stream for b in broken}))}, by {stream}"
                   + (f" ({who})" if who else "") + " with --force")
        return changes, msg

    store.update(change)
    return released


def release_changes(snap: Any, stream: str) -> dict[str, str | None]:
    """Changes that drop every lock ``stream`` holds (used when it finishes)."""
    return {lock_file(p): None for p, lk in all_locks(snap.list(LOCKS_DIR)).items() if lk.stream == stream}


def list_locks(repo: Any) -> list[tuple[Lock, str | None]]:
    """Every lock with the reason it is stale (None when live); empty without a state branch."""
    from gitpar.core.streams import statuses
    from gitpar.store.state import StateStore

    store = StateStore(repo)
    snap = store.snapshot()
    if snap.commit is None:
        return []
    status = statuses(snap)
    worktrees = repo.stream_worktrees()
    locks = all_locks(snap.list(LOCKS_DIR))
    return [(lk, stale_reason(lk, status, worktrees)) for _, lk in sorted(locks.items())]
