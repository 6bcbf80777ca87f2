"""What a lock is: its file on the state branch (``locks/<path>.lock``), reading and
writing it, the waiting list beside it, and the checks on what a caller asks for."""


from __future__ import annotations

import datetime as dt
import math
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.core import clock, markdown
from gitpar.core.durations import MAX_SECONDS, format_duration, parse_duration
from gitpar.core.locks.holders import holder_process
from gitpar.core.paths import repo_path
from gitpar.core.progress import clean_text, now_iso, parse_time
from gitpar.errors import BadInput, Refused, bad

# the value type lives in gitpar.model; re-exported here while other modules still import it from here
from gitpar.model.lock import Lock as Lock

if TYPE_CHECKING:
    pass

LOCKS_DIR = "locks"
WAITING_SUFFIX = ".waiting"


def lock_file(path: str) -> str:
    return f"{LOCKS_DIR}/{path}.lock"


def waiting_file(path: str, root: str = LOCKS_DIR) -> str:
    """Who waits for ``path``'s lock: beside the lock file, so it outlives the lock's release
    (``root``: the folder of that kind of lock, ``resources`` for a resource's)."""
    return f"{root}/{path}{WAITING_SUFFIX}"


def render_lock(lock: Lock) -> str:
    meta = lock.to_dict()
    meta.pop("problem", None)
    meta.pop("warning", None)
    return markdown.render(meta, f"Locked by stream {lock.stream} for: {lock.reason or '(no reason given)'}")


UNREADABLE_FIX = "break it with 'gitpar unlock --force PATH' (recorded), then lock it again"


def parse_lock(file: str, text: str) -> Lock:
    """The lock in ``file`` (``locks/<path>.lock``); never raises.

    The path is always the file's: a ``path:`` that disagrees is kept as a warning. A file
    that cannot be trusted — malformed YAML, aliases, no ``stream``, an ``expires`` that
    is not a time (``never``) — is a lock held by whoever it names (or nobody), with the
    problem recorded: gitpar fails closed, so such a lock is never expired, stale or free.
    """
    path = file[len(LOCKS_DIR) + 1:-len(".lock")]
    where = f"gitpar/_state:{file}"
    try:
        meta, _ = markdown.parse(text, where)
    except BadInput as exc:
        problem = str(exc).split("\n")[0]
        return Lock(path=path, stream="", agent="", acquired="", expires="",
                    problem=f"{problem} (the lock counts as held; {UNREADABLE_FIX})")

    def text_of(key: str) -> str:
        value = meta.get(key)
        return "" if value is None or isinstance(value, (dict, list)) else str(value)

    pid = meta.get("pid") or 0
    stream, expires = text_of("stream"), text_of("expires")
    problems = []
    if not meta:
        problems.append("no frontmatter")
    elif not stream:
        problems.append("no 'stream'")
    if parse_time(expires) is None:
        problems.append(f"'expires: {expires}' is not a time" if expires else "no 'expires' time")
    warning = ""
    named = text_of("path")
    if named and named != path:
        warning = (f"{where}: its 'path: {named}' disagrees with the file name; the lock is "
                   f"taken to be on {path}")
    return Lock(path=path, stream=stream, agent=text_of("agent"), acquired=text_of("acquired"),
                expires=expires, reason=text_of("reason"), host=text_of("host"),
                pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else 0,
                worktree=text_of("worktree"),
                holder_pid=_whole(meta.get("holder_pid")), holder_started=text_of("holder_started"),
                fence=_whole(meta.get("fence")),
                problem=(f"{where}: {', '.join(problems)} (the lock counts as held; {UNREADABLE_FIX})"
                         if problems else ""),
                warning=warning)


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def all_locks(files: dict[str, str]) -> dict[str, Lock]:
    """Locks by path, from the state branch's ``locks/`` files (path on branch to text).

    Never raises: an unreadable lock file is a lock with a ``problem`` (see parse_lock).
    """
    out = {}
    for file, text in files.items():
        if file.endswith(".lock") and file.startswith(LOCKS_DIR + "/"):
            lock = parse_lock(file, text)
            out[lock.path] = lock
    return out


def check_wait(wait: float) -> float:
    """``--wait`` seconds; BadInput unless a finite number from 0 to ten years."""
    if not math.isfinite(wait) or wait < 0 or wait > MAX_SECONDS:
        raise bad(None, "--wait", f"{wait} is not a number of seconds to wait",
                  "give the seconds to wait, from 0 up, e.g. --wait 60")
    return wait


def check_lock_path(raw: str, cwd: Path, root: Path) -> str:
    """``raw`` as a repository path that may be locked; BadInput otherwise.

    Refused: paths outside the repository, ``.gitpar/**`` (the plan belongs to nobody and
    is changed on the base branch), and paths through a symlinked directory — the lock
    must name the file that really changes, so the real path is judged.
    """
    rel = repo_path(raw, cwd, root)
    if rel == ".gitpar" or rel.startswith(".gitpar/"):
        raise bad(None, "path", f"{raw!r} is part of the plan (.gitpar/), which no stream locks",
                  "change the plan on the base branch (gitpar stream add/rm, or a commit there)")
    full = os.path.join(os.path.normpath(str(root)), rel)
    parent = os.path.dirname(full)
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(parent)
    expected = os.path.normpath(os.path.join(real_root, os.path.dirname(rel)))
    if real_parent != expected:
        inside = real_parent == real_root or real_parent.startswith(real_root + os.sep)
        where = (f"really {os.path.relpath(os.path.join(real_parent, os.path.basename(rel)), real_root)}"
                 if inside else f"really {os.path.join(real_parent, os.path.basename(rel))}, "
                 "outside the repository")
        raise bad(None, "path", f"{raw!r} goes through a symlinked directory ({where})",
                  "lock the real path of the file, not a path through a symlink")
    return rel


# The longest lock gitpar writes (--ttl, the plan's lock_ttl): a lock file on the state
# branch claiming a longer one was not written by gitpar (the lock history calls it suspect).
MAX_TTL_S = 30 * 86400.0


def check_ttl(ttl: str | None, default: float) -> float:
    if ttl is None:
        if default > MAX_TTL_S:
            raise bad(".gitpar/plan.md", "lock_ttl", f"{default / 86400:g} days is longer than a lock may "
                      f"last ({MAX_TTL_S / 86400:.0f} days)", "set a shorter lock_ttl (e.g. 2h) and renew locks")
        return default
    try:
        seconds = parse_duration(ttl)
    except ValueError as exc:
        raise bad(None, "--ttl", str(exc), "give a duration like 30m, 2h or 1d") from None
    if seconds <= 0:
        raise bad(None, "--ttl", f"{ttl!r} is not a positive duration", "give a duration like 30m or 2h")
    if seconds > MAX_TTL_S:
        raise bad(None, "--ttl", f"{ttl!r} is longer than a lock may last ({MAX_TTL_S / 86400:.0f} days)",
                  "give a shorter duration (e.g. 1d) and renew the lock when it runs out")
    return seconds


def iso_in(seconds: float, now: float | None = None) -> str:
    """The time ``seconds`` from now, in whole seconds rounded up: the text keeps no
    fraction, and a lock must never last shorter than asked (a 1s TTL taken at .9 would)."""
    t = math.ceil((now if now is not None else clock.real_now()) + seconds)
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LockResult:
    taken: list[str]
    renewed: list[str]
    took_over: list[tuple[str, Lock]]  # path, the stale lock replaced
    fences: dict[str, int] = field(default_factory=dict)  # each hold's fencing number


class TakenOver(Refused):
    """This worker's hold was taken over while it was away (its fencing number is no longer
    the lock's): its write is refused (exit 1), not made."""


class Contended(Refused):
    """Some paths are held by other streams; ``holders`` says by whom."""

    def __init__(self, holders: list[Lock]) -> None:
        self.holders = holders
        shown = "; ".join(f"{h.path} is locked: {h.problem}" if h.problem else
                          f"{h.path} is locked by stream {h.stream}"
                          + (f" ({h.agent})" if h.agent else "")
                          + f" until {h.expires}" + (f" for: {h.reason}" if h.reason else "")
                          for h in holders)
        super().__init__(f"{shown}. Wait with --wait SECONDS, ask {holders[0].stream} to "
                         f"'gitpar unlock', or take it with 'gitpar unlock --force' (recorded)")


@dataclass(frozen=True)
class Waiter:
    """A stream waiting for a lock under a lock strategy (``locks/<path>.waiting``).

    Written when the stream starts waiting, removed when it gets the lock or gives up. A
    waiter that crashed is ignored once its ``--wait`` has run out (``until``), or at once
    when it ran on this host and its process is gone.
    """

    stream: str
    priority: int
    since: str
    until: str  # when its --wait runs out
    host: str = ""
    pid: int = 0

    def gone(self, now: float) -> bool:
        t = parse_time(self.until)
        if t is None or now >= t.timestamp():
            return True
        if self.host == socket.gethostname() and self.pid > 0:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "priority": self.priority, "since": self.since,
                "until": self.until, "host": self.host, "pid": self.pid}


def parse_waiting(file: str, text: str) -> list[Waiter]:
    meta, _ = markdown.parse(text, f"gitpar/_state:{file}")
    out = []
    for raw in meta.get("waiting") or []:
        if not isinstance(raw, dict) or not raw.get("stream"):
            continue
        prio, pid = raw.get("priority"), raw.get("pid")
        out.append(Waiter(stream=str(raw["stream"]), priority=prio if isinstance(prio, int) else 0,
                          since=str(raw.get("since") or ""), until=str(raw.get("until") or ""),
                          host=str(raw.get("host") or ""), pid=pid if isinstance(pid, int) else 0))
    return out


def render_waiting(path: str, waiters: Sequence[Waiter]) -> str:
    body = (f"Streams waiting for the lock on {path}, in the order they asked. The plan's lock "
            "strategy reads this list; gitpar keeps it up to date.")
    return markdown.render({"path": path, "waiting": [w.to_dict() for w in waiters]}, body)


def read_waiters(snap: Any, path: str, root: str = LOCKS_DIR) -> list[Waiter]:
    """The waiters for ``path`` on the state branch, crashed ones included."""
    file = waiting_file(path, root)
    text = snap.read(file)
    return parse_waiting(file, text) if text is not None else []


def _waiting_change(snap: Any, path: str, *, drop: str, add: Waiter | None = None,
                    now: float, root: str = LOCKS_DIR) -> dict[str, str | None]:
    """The change to ``path``'s waiting file: ``drop``'s entry (and gone ones) out, ``add`` in."""
    old = read_waiters(snap, path, root)
    new = [w for w in old if w.stream != drop and not w.gone(now)]
    if add is not None:
        new.append(add)
    if new == old:
        return {}
    return {waiting_file(path, root): render_waiting(path, new) if new else None}


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
    agent, reason = clean_text(agent), clean_text(reason)  # one line: no forged structure

    now = clock.real_now()  # a write: GITPAR_NOW never stamps a lock
    holder_pid, holder_started = holder_process()
    return Lock(path=path, stream=stream, agent=agent, acquired=now_iso(), expires=iso_in(ttl, now),
                reason=reason, host=socket.gethostname(), pid=os.getpid(), worktree=worktree,
                holder_pid=holder_pid, holder_started=holder_started)


def describe_ttl(seconds: float) -> str:
    return format_duration(seconds)
