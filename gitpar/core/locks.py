"""Shared-file locks: ``locks/<path>.lock`` on the state branch.

A lock is taken, renewed and released by one compare-and-swap commit of the state
branch, so two streams can never both hold it; the branch's history is the proof of who
held what and when, which lets pre-push and CI judge a range of commits after the fact.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.core import clock, markdown
from gitpar.core.durations import MAX_SECONDS, format_duration, parse_duration
from gitpar.core.progress import now_iso, parse_time
from gitpar.errors import Refused, bad

if TYPE_CHECKING:
    from gitpar.core.plan import Plan
    from gitpar.plugins.hookspecs import Decision

LOCKS_DIR = "locks"
WAITING_SUFFIX = ".waiting"


def lock_file(path: str) -> str:
    return f"{LOCKS_DIR}/{path}.lock"


def waiting_file(path: str) -> str:
    """Who waits for ``path``'s lock: beside the lock file, so it outlives the lock's release."""
    return f"{LOCKS_DIR}/{path}{WAITING_SUFFIX}"


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
    # Why the file cannot be trusted (unreadable, fields missing, no expiry time): such a
    # lock counts as held, never as expired or stale (fail closed), until broken with
    # 'gitpar unlock --force'. Empty for a sound lock.
    problem: str = ""
    # Something odd but harmless (its 'path:' disagrees with its file name), reported.
    warning: str = ""

    def expires_at(self) -> float:
        if self.problem:
            return math.inf
        t = parse_time(self.expires)
        return t.timestamp() if t else math.inf

    def acquired_at(self) -> float:
        t = parse_time(self.acquired)
        return t.timestamp() if t else 0.0

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else clock.now()) >= self.expires_at()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path, "stream": self.stream, "agent": self.agent,
            "acquired": self.acquired, "expires": self.expires, "reason": self.reason,
            "host": self.host, "pid": self.pid, "worktree": self.worktree}
        if self.problem:
            out["problem"] = self.problem
        if self.warning:
            out["warning"] = self.warning
        return out


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
    from gitpar.errors import BadInput

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
                problem=(f"{where}: {', '.join(problems)} (the lock counts as held; {UNREADABLE_FIX})"
                         if problems else ""),
                warning=warning)


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
    """The time ``seconds`` from now, in whole seconds rounded up: the text keeps no
    fraction, and a lock must never last shorter than asked (a 1s TTL taken at .9 would)."""
    t = math.ceil((now if now is not None else clock.now()) + seconds)
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


def read_waiters(snap: Any, path: str) -> list[Waiter]:
    """The waiters for ``path`` on the state branch, crashed ones included."""
    file = waiting_file(path)
    text = snap.read(file)
    return parse_waiting(file, text) if text is not None else []


def _waiting_change(snap: Any, path: str, *, drop: str, add: Waiter | None = None,
                    now: float) -> dict[str, str | None]:
    """The change to ``path``'s waiting file: ``drop``'s entry (and gone ones) out, ``add`` in."""
    old = read_waiters(snap, path)
    new = [w for w in old if w.stream != drop and not w.gone(now)]
    if add is not None:
        new.append(add)
    if new == old:
        return {}
    return {waiting_file(path): render_waiting(path, new) if new else None}


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
    from gitpar.core.progress import clean_text

    agent, reason = clean_text(agent), clean_text(reason)  # one line: no forged structure
    now = clock.now()
    return Lock(path=path, stream=stream, agent=agent, acquired=now_iso(), expires=iso_in(ttl, now),
                reason=reason, host=socket.gethostname(), pid=os.getpid(), worktree=worktree)


def describe_ttl(seconds: float) -> str:
    return format_duration(seconds)


# -- operations on the state branch ----------------------------------------------------


def _context(repo: Any) -> tuple[Any, Callable[[Lock], str | None]]:
    """The state store and a function telling why a lock is stale (None when live)."""
    from gitpar.store.state import StateStore

    store = StateStore(repo)
    if not store.exists():
        raise Refused("no state branch gitpar/_state; run 'gitpar init' first")

    def why_stale(lock: Lock) -> str | None:
        return stale_reason(lock, store.snapshot())

    return store, why_stale


def stale_reason(lock: Lock, snap: Any) -> str | None:
    """Why ``lock`` is stale, or None when it is live.

    Stale: expired, or its stream is recorded completed, or it was taken on this machine
    from a worktree that is gone. Never because the holder's worktree is not on this disk:
    a lock taken on another machine is judged by its expiry and its stream's status.
    A lock whose file cannot be trusted (``lock.problem``) is never stale: fail closed.
    """
    from gitpar.core.progress import parse_progress, progress_path

    if lock.problem:
        return None
    if lock.expired():
        return f"expired at {lock.expires}"
    text = snap.read(progress_path(lock.stream))
    if text is not None:
        try:
            status = parse_progress(lock.stream, text).status
        except Exception:  # noqa: BLE001 — an unreadable progress file leaves the lock held
            status = None
        if status == "completed":
            return f"stream {lock.stream} is completed"
    if lock.worktree and lock.host == socket.gethostname() and not os.path.isdir(lock.worktree):
        return f"its worktree {lock.worktree} on this machine is gone"
    return None


_RULES: dict[int, tuple[Any, Any]] = {}  # id(plan) -> (plan, its ownership rules)


def _ownership_rules(plan: Any) -> Any:
    """The plan's ownership rules, built once per plan object (plans come from a cache, so a
    process taking many locks compiles thousands of streams' patterns once)."""
    from gitpar.core.rules import Rules

    found = _RULES.get(id(plan))
    if found is None or found[0] is not plan:
        found = (plan, Rules.from_plan(plan))
        _RULES.clear()
        _RULES[id(plan)] = found
    return found[1]


def check_lockable(plan: Any, stream: str, paths: Sequence[str]) -> None:
    """Refuse to lock a path another stream owns: only its owner may change it."""
    rules = _ownership_rules(plan)
    matched = rules.index_for(paths).match_many(paths)
    for path in paths:
        owners = [r.stream for r in matched[path] if r.kind == "owns" and r.stream != stream]
        if owners:
            raise Refused(f"{path} is owned by stream {owners[0]}; only it may change the file, "
                          "so there is nothing to lock (move the path to 'shares' of both streams "
                          "to edit it in turns)")


def lock(repo: Any, stream: str, paths: Sequence[str], *, ttl: float, reason: str = "",
         agent: str = "", wait: float = 0.0, worktree: str = "",
         on_wait: Callable[[list[Lock]], None] | None = None, plan: Plan | None = None,
         on_note: Callable[[str], None] | None = None,
         before_taking: Callable[[list[str]], None] | None = None) -> LockResult:
    """Take (or renew) the locks on ``paths`` for ``stream``: all of them or none.

    ``before_taking`` hears the paths about to be taken (not those renewed) inside the
    state update, once no other stream blocks them; raising refuses the lock, changing
    nothing (the shared-file chain checks there that it can bring versions in).

    With ``wait``, poll with exponential backoff and jitter for up to that many seconds;
    ``on_wait`` hears who holds what before each pause. A lock strategy chosen in the plan
    (``plugins: {locks: NAME}``, see :func:`_lock_by_strategy`) decides contention
    instead; ``on_note``, if given, then hears its reason for waiting whenever that changes
    (instead of ``on_wait``).
    """
    store, why_stale = _context(repo)
    paths = list(dict.fromkeys(paths))
    if plan is None:
        plan = repo.load_plan("base")  # cached by its tree: the cost does not grow with the plan
    if _strategy_chosen(plan):
        return _lock_by_strategy(repo, store, why_stale, plan, stream, paths, ttl=ttl, reason=reason,
                                 agent=agent, wait=wait, worktree=worktree, on_wait=on_wait,
                                 on_note=on_note, before_taking=before_taking)

    def stale(lock: Lock) -> bool:
        return why_stale(lock) is not None
    result = LockResult([], [], [])

    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        locks = all_locks(snap.list(LOCKS_DIR))
        holders, new, renewed, taken_over = plan_lock(locks, paths, stream, stale=stale, now=clock.now())
        if holders:
            raise Contended(holders)
        if before_taking is not None:
            before_taking([*new, *(path for path, _ in taken_over)])
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
            _emit_taken(repo, stream, paths, reason, ttl, result)
            return result
        except Contended as exc:
            pause = next(waits, None)
            if pause is None:
                raise
            if on_wait is not None:
                on_wait(exc.holders)
            time.sleep(pause)


def _strategy_chosen(plan: Plan) -> bool:
    # no plugins: section is the common case, decided without importing the plugin manager
    if plan.settings.extra.get("plugins") is None:
        return False
    from gitpar.plugins import manager

    return manager.strategy_chosen(plan, "locks")


def _priority(plan: Plan, stream: str) -> int:
    found = plan.streams.get(stream)
    return found.priority if found is not None else 0


class _Undecided(Exception):
    """Some paths cannot be taken now: (path, decision, holder or None) for each."""

    def __init__(self, blocked: list[tuple[str, Decision, Lock | None]]) -> None:
        super().__init__("; ".join(d.reason for _, d, _h in blocked))
        self.blocked = blocked


_SEVERITY = {"wait": 0, "escalate": 1, "refuse": 2}


def _lock_by_strategy(repo: Any, store: Any, why_stale: Callable[[Lock], str | None], plan: Plan,
                      stream: str, paths: list[str], *, ttl: float, reason: str, agent: str,
                      wait: float, worktree: str, on_wait: Callable[[list[Lock]], None] | None,
                      on_note: Callable[[str], None] | None,
                      before_taking: Callable[[list[str]], None] | None = None) -> LockResult:
    """:func:`lock` when the plan chooses a lock strategy: the strategy decides each contention.

    A path held by another stream, or free while other streams wait for it, is a
    ``Contention`` for ``manager.decide_contention``: ``take_over`` takes a free or stale
    lock (never a live one: that is refused as the strategy's error) and says so in the
    state commit; ``wait`` polls within ``wait`` seconds, the stream listed meanwhile in
    ``locks/<path>.waiting`` so that strategies see who else waits (``priority`` lets the
    higher-priority waiter go first when the lock is released); ``escalate`` marks the
    streams the decision names as needing a person (a coordination item in their
    progress, shown by ``gitpar status``) and refuses; ``refuse`` refuses.
    """
    from gitpar.plugins import manager
    from gitpar.plugins.hookspecs import Contention

    mine = _priority(plan, stream)
    started = time.monotonic()
    me = Waiter(stream=stream, priority=mine, since=now_iso(), until=iso_in(wait + 1),  # whole seconds
                host=socket.gethostname(), pid=os.getpid())
    result = LockResult([], [], [])
    chosen = manager.lock_strategy(plan).name  # an unknown name is bad input, contended or not

    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        now = clock.now()
        locks = all_locks(snap.list(LOCKS_DIR))
        new: list[str] = []
        renewed: list[str] = []
        taken_over: list[tuple[str, Lock, str]] = []
        blocked: list[tuple[str, Decision, Lock | None]] = []
        for path in paths:
            held = locks.get(path)
            if held is not None and held.stream == stream:
                renewed.append(path)
                continue
            waiting = {w.stream: w.priority for w in read_waiters(snap, path)
                       if w.stream != stream and not w.gone(now)}
            if held is None and not waiting:
                new.append(path)
                continue
            stale = why_stale(held) if held is not None else None
            decision = manager.decide_contention(plan, Contention(
                path=path, stream=stream, priority=mine, holder=held,
                holder_priority=_priority(plan, held.stream) if held is not None else 0,
                waited=time.monotonic() - started, stale=stale, waiting=waiting))
            if decision.action != "take_over":
                blocked.append((path, decision, held))
            elif held is None:
                new.append(path)
            elif stale is None:
                raise manager.PluginError(
                    f"lock strategy {chosen!r} decided to take over the live lock on {path} held by "
                    f"{held.stream} ({decision.reason}); gitpar takes over only a stale lock\n"
                    "  fix: update the plugin offering the strategy, or choose another in "
                    ".gitpar/plan.md (plugins: {locks: wait})")
            else:
                taken_over.append((path, held, decision.reason))
        if blocked:
            raise _Undecided(blocked)
        if before_taking is not None:
            before_taking([*new, *(path for path, _, _ in taken_over)])
        changes: dict[str, str | None] = {}
        for path in paths:
            changes[lock_file(path)] = render_lock(new_lock(path, stream, agent, ttl, reason, worktree))
            changes.update(_waiting_change(snap, path, drop=stream, now=now))
        result.taken, result.renewed = new, renewed
        result.took_over = [(path, old) for path, old, _why in taken_over]
        verb = "lock" if new or taken_over else "renew lock on"
        msg = f"{verb} {', '.join(paths)} for {stream}"
        if reason:
            msg += f": {reason}"
        for path, old, why in taken_over:
            msg += (f"\n\ntook over the stale lock on {path} held by {old.stream} (expired {old.expires}); "
                    f"lock strategy {chosen}: {why}")
        return changes, msg

    def listed(add: bool, on: Sequence[str], why: str) -> None:
        def edit(snap: Any) -> tuple[dict[str, str | None], str] | None:
            changes: dict[str, str | None] = {}
            for path in on:
                changes.update(_waiting_change(snap, path, drop=stream, add=me if add else None,
                                               now=clock.now()))
            if not changes:
                return None
            verb = "wait for" if add else "stop waiting for"
            return changes, f"{verb} the lock on {', '.join(on)}: {stream} (priority {mine}): {why}"

        store.update(edit)

    waits = iter(backoff_waits(wait)) if wait > 0 else iter(())
    waiting_on: list[str] = []
    last_note = ""
    try:
        while True:
            try:
                store.update(change)
                waiting_on = []  # the lock commit took this stream off the waiting lists
                _emit_taken(repo, stream, paths, reason, ttl, result)
                return result
            except _Undecided as undecided:
                worst = max(undecided.blocked, key=lambda b: _SEVERITY[b[1].action])
                path, decision, holder = worst
                holders = [h for _p, _d, h in undecided.blocked if h is not None]
                pause = next(waits, None) if decision.action == "wait" else None
                if pause is None:
                    why = decision.reason if decision.action != "wait" else f"gave up after {wait:g}s"
                    if waiting_on:
                        listed(False, waiting_on, why)
                        waiting_on = []
                    if decision.action == "escalate":
                        raise _escalate(repo, path, decision, holder) from None
                    if decision.action == "wait" and len(holders) == len(undecided.blocked):
                        raise Contended(holders) from None
                    raise Refused(f"{undecided} (lock strategy {chosen})") from None
                new_waits = [p for p, _d, _h in undecided.blocked if p not in waiting_on]
                if new_waits:
                    listed(True, new_waits, str(undecided))
                    waiting_on += new_waits
                if on_note is not None:  # the strategy's reason says more than the holders
                    if str(undecided) != last_note:
                        last_note = str(undecided)
                        on_note(last_note)
                elif on_wait is not None and holders:
                    on_wait(holders)
                time.sleep(pause)
    finally:
        if waiting_on:  # interrupted while waiting: leave no stale entry behind
            listed(False, waiting_on, "interrupted")


def _escalate(repo: Any, path: str, decision: Decision, holder: Lock | None) -> Refused:
    """Mark the decision's streams as needing a person; the refusal naming the holder."""
    from gitpar.core.progress import ProgressUpdate
    from gitpar.core.streams import report

    need = f"lock on {path}: {decision.reason}"
    for name in dict.fromkeys(decision.attention):
        report(repo, name, ProgressUpdate(need=(need,)), what=f"needs a person: lock contention on {path}")
    who = f"held by stream {holder.stream}" if holder is not None else "contested"
    marked = ", ".join(dict.fromkeys(decision.attention)) or "no stream"
    return Refused(f"{path} is {who}: {decision.reason}. Marked {marked} as needing attention "
                   "('gitpar status' lists them); agree who goes first, then lock again")


def unlock(repo: Any, stream: str, paths: Sequence[str], *, force: bool = False,
           who: str = "") -> list[tuple[str, Lock]]:
    """Release ``stream``'s locks on ``paths``; another stream's only with ``force`` (recorded)."""
    store, _why_stale = _context(repo)
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
    if released:
        from gitpar.plugins import events

        for path, held in released:
            if held.stream != stream:
                events.emit("lock.broken", repo=repo, stream=stream, path=path, holder=held.stream)
            else:
                events.emit("lock.released", repo=repo, stream=stream, path=path)
    return released


def _emit_taken(repo: Any, stream: str, paths: Sequence[str], reason: str, ttl: float,
                result: LockResult) -> None:
    """Tell plugins about each lock taken (``lock.taken``), naming a stale holder replaced."""
    from gitpar.plugins import events

    replaced = {path: old.stream for path, old in result.took_over}
    for path in paths:
        events.emit("lock.taken", repo=repo, stream=stream, path=path, reason=reason,
                    expires=iso_in(ttl), took_over=replaced.get(path))


def release_changes(snap: Any, stream: str) -> dict[str, str | None]:
    """Changes that drop every lock ``stream`` holds (used when it finishes)."""
    return {lock_file(p): None for p, lk in all_locks(snap.list(LOCKS_DIR)).items() if lk.stream == stream}


def list_locks(repo: Any) -> list[tuple[Lock, str | None]]:
    """Every lock with the reason it is stale (None when live); empty without a state branch."""
    from gitpar.store.state import StateStore

    snap = StateStore(repo).snapshot()
    if snap.commit is None:
        return []
    locks = all_locks(snap.list(LOCKS_DIR))
    return [(lk, stale_reason(lk, snap)) for _, lk in sorted(locks.items())]
