"""Taking, renewing and releasing locks: one compare-and-swap commit of the state branch
each, directly or through the plan's lock strategy (the plugins' ``gitpar_lock_strategy``)."""


from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.core import clock
from gitpar.core.locks.holders import heartbeat_gone, holder_gone
from gitpar.core.plan import Plan
from gitpar.core.progress import ProgressUpdate, now_iso, parse_progress, progress_path
from gitpar.core.rules import Rules, fold
from gitpar.core.stream_progress import report
from gitpar.errors import Refused, bad
from gitpar.store.state import StateStore

if TYPE_CHECKING:
    from gitpar.model.hooks import Decision
from gitpar.core.locks.model import (
    LOCKS_DIR,
    Contended,
    Lock,
    LockResult,
    TakenOver,
    Waiter,
    _waiting_change,
    all_locks,
    backoff_waits,
    iso_in,
    new_lock,
    plan_lock,
    read_waiters,
    render_lock,
)


def _context(repo: Any) -> tuple[Any, Callable[[Lock], str | None]]:
    """The state store and a function telling why a lock is stale (None when live)."""
    store = StateStore(repo)
    if not store.exists():
        raise bad(None, None, "there is no state branch gitpar/_state to hold locks",
                  "run 'gitpar init' first (with a remote, it adopts the remote's state branch)")

    heartbeat = _heartbeat(repo)

    def why_stale(lock: Lock) -> str | None:  # judged for a write: by the real clock

        now = clock.real_now()
        return stale_reason(lock, store.snapshot(), now=now, repo=repo) or heartbeat_gone(lock, heartbeat, now)

    return store, why_stale


@dataclass(frozen=True)
class Folder:
    """A kind of lock: the state branch's folder holding its ``<name>.lock`` files, how they
    read and write, and how messages name one. File locks (``locks/<path>.lock``) and
    resources (``resources/<name>.lock``, :mod:`gitpar.core.locks.resources`) are the same
    locks in two folders, taken, renewed, fenced and released by the one write path here."""

    root: str
    read: Callable[[dict[str, str]], dict[str, Lock]]
    render: Callable[[Lock], str]
    resource: bool = False
    records: str = "lock-fences"  # where this clone keeps its workers' fencing numbers

    def file(self, name: str) -> str:
        return f"{self.root}/{name}.lock"

    def fence_file(self, name: str) -> str:
        """The last fencing number given for ``name``: it outlives the hold, so numbers only grow."""
        return f"{self.root}/{name}.fence"

    def holds(self, snap: Any) -> dict[str, Lock]:
        return self.read(snap.list(self.root))

    def hold_on(self, name: str) -> str:
        """How a message names the hold on ``name``."""
        return f"hold on resource {name}" if self.resource else f"lock on {name}"


FILES = Folder(LOCKS_DIR, all_locks, render_lock)


def last_fence(snap: Any, folder: Folder, name: str) -> int:
    """The last fencing number given for ``name`` (0: none yet)."""
    text = snap.read(folder.fence_file(name))
    try:
        return max(0, int((text or "0").strip()))
    except ValueError:
        return 0


def fence_record(repo: Any, stream: str, folder: Folder, name: str) -> Path:
    """Where this clone keeps the fencing number of the hold its stream's worker took."""
    return Path(repo.gitpar_dir) / folder.records / stream / name


def recorded_fence(repo: Any, stream: str, folder: Folder, name: str) -> int | None:
    try:
        return int(fence_record(repo, stream, folder, name).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _remember(repo: Any, stream: str, folder: Folder, fences: dict[str, int]) -> None:
    for name, fence in fences.items():
        record = fence_record(repo, stream, folder, name)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"{fence}\n", encoding="utf-8")


def forget_fences(repo: Any, stream: str, folder: Folder, names: Sequence[str]) -> None:
    """This worker no longer claims the holds on ``names``."""
    for name in names:
        fence_record(repo, stream, folder, name).unlink(missing_ok=True)


def forget_stream_fences(repo: Any, stream: str) -> None:
    """This clone's workers of ``stream`` claim no hold any more (it finished: all released)."""
    import shutil

    for records in ("lock-fences", "fences"):
        shutil.rmtree(Path(repo.gitpar_dir) / records / stream, ignore_errors=True)


def taken_over_message(folder: Folder, name: str, mine: int, last: int, holder: Lock | None) -> str:
    now = f"; stream {holder.stream} holds it now (fence {holder.fence})" if holder is not None and holder.fence \
        else ""
    again = f"gitpar lock --resource {name}" if folder.resource else f"gitpar lock {name}"
    return (f"the {folder.hold_on(name)} was taken over since this worker took it (its fence {mine}, "
            f"the lock's is now {last}{now}): what you did meanwhile may collide with the new holder's work; "
            f"check it, then take it again with '{again}'")


def _refuse_taken_over(snap: Any, folder: Folder, names: Sequence[str], held: dict[str, Lock],
                       recorded: dict[str, int | None]) -> dict[str, int]:
    """The last fencing number of each of ``names``; :class:`TakenOver` (nothing written) when
    this worker's recorded number is not the last given: it was taken over while away. Asked
    before anything else, so the worker hears of the take-over, not of a lock held."""
    lasts = {}
    for name in names:
        last = lasts[name] = last_fence(snap, folder, name)
        mine = recorded.get(name)
        if mine is not None and mine != last:
            raise TakenOver(taken_over_message(folder, name, mine, last, held.get(name)))
    return lasts


def _fenced(folder: Folder, names: Sequence[str], held: dict[str, Lock], renewed: Sequence[str],
            lapsed: set[str], recorded: dict[str, int | None],
            lasts: dict[str, int]) -> tuple[dict[str, str | None], dict[str, int]]:
    """The fencing number of each hold taken or renewed now, and the fence files' changes.

    A new holder (a take, a take-over) gets one more than the last given; a renewal keeps
    its number — unless the stream's own hold had lapsed (``lapsed``: expired or stale) and
    is taken again by another of its workers (one whose record is not the hold's): a new
    hold, so a new number."""
    changes: dict[str, str | None] = {}
    fences: dict[str, int] = {}
    for name in names:
        last = lasts[name]
        current = held.get(name)
        keep = (name in renewed and current is not None and current.fence
                and (name not in lapsed or recorded.get(name) == current.fence))
        fence = current.fence if keep and current is not None else last + 1
        fences[name] = fence
        if fence != last:
            changes[folder.fence_file(name)] = f"{fence}\n"
    return changes, fences


def _lock_message(folder: Folder, stream: str, names: Sequence[str], new: bool, reason: str, by: str) -> str:
    if folder.resource:
        verb = "lock resource" if new else "renew resource"
    else:
        verb = "lock" if new else "renew lock on"
    msg = f"{verb} {', '.join(names)} for {stream}"
    if reason:
        msg += f": {reason}"
    if by:
        msg += f"\n\ntaken for {stream}, {by}"
    return msg


def stale_reason(lock: Lock, snap: Any, now: float | None = None, repo: Any = None) -> str | None:
    """Why ``lock`` is stale, or None when it is live.

    Stale: expired, or its stream is recorded completed, or it was taken on this machine
    from a worktree that is gone. Never because the holder's worktree is not on this disk:
    a lock taken on another machine is judged by its expiry and its stream's status.
    A lock whose file cannot be trusted (``lock.problem``) is never stale: fail closed.
    ``now`` is the moment judged (default :func:`gitpar.core.clock.now`, a read); a write
    (taking a lock over) passes the real clock, so ``GITPAR_NOW`` cannot make a lock stale.
    """
    if lock.problem:
        return None
    if lock.expired(clock.now() if now is None else now):
        return f"expired at {lock.expires}"
    text = snap.read(progress_path(lock.stream))
    if text is not None:
        try:
            status = parse_progress(lock.stream, text).status
        except Exception:  # noqa: BLE001 — an unreadable progress file leaves the lock held
            status = None
        if status == "completed":
            return f"stream {lock.stream} is completed"
    if lock.worktree and lock.host == socket.gethostname() and not os.path.isdir(lock.worktree) \
            and not _moved(repo, lock):
        return f"its worktree {lock.worktree} on this machine is gone"

    return holder_gone(lock)


def _moved(repo: Any, lock: Lock) -> bool:
    """Whether the stream of ``lock`` still has a worktree here, elsewhere than where the lock
    was taken ('git worktree move'): then the lock is live, not left by a deleted worktree."""
    if repo is None:
        return False
    try:
        path = repo.stream_worktrees().get(lock.stream)
    except Exception:  # noqa: BLE001 — the worktree list cannot be read: the lock is judged as before
        return False
    return path is not None and os.path.isdir(path)


def lookalike_holders(locks: dict[str, Lock], paths: Sequence[str], stream: str,
                      stale: Callable[[Lock], bool]) -> list[Lock]:
    """Live locks of other streams on a look-alike of one of ``paths`` (the same file on a
    case-insensitive or normalising file system: ``docs/X.md`` and ``docs/x.md``)."""
    wanted = {fold(p): p for p in paths}
    return [lk for lk in locks.values() if lk.stream != stream and lk.path not in paths
            and wanted.get(fold(lk.path)) is not None and not stale(lk)]


_RULES: dict[int, tuple[Any, Any]] = {}  # id(plan) -> (plan, its ownership rules)


def _ownership_rules(plan: Any) -> Any:
    """The plan's ownership rules, built once per plan object (plans come from a cache, so a
    process taking many locks compiles thousands of streams' patterns once)."""
    found = _RULES.get(id(plan))
    if found is None or found[0] is not plan:
        found = (plan, Rules.from_plan(plan))
        _RULES.clear()
        _RULES[id(plan)] = found
    return found[1]


def check_lockable(plan: Any, stream: str, paths: Sequence[str]) -> None:
    """Refuse to lock a path another stream owns: only its owner may change it.

    A look-alike of a stream's path (differing only by case or Unicode normalisation) is
    refused too: it is that path in a macOS or Windows checkout, so lock the real one.
    """
    rules = _ownership_rules(plan)
    paths = list(paths)
    for path, found in rules.lookalikes(paths).items():
        r = found[0]
        raise Refused(f"{path} differs only by case or Unicode normalisation from a path of stream "
                      f"{r.stream}'s {r.kind!r} ({r.pattern}), and is that file in a macOS or Windows "
                      "checkout; it is judged as that path, so it is not locked: spell the path as "
                      "the plan does")
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
         before_taking: Callable[[list[str]], None] | None = None, by: str = "",
         folder: Folder = FILES) -> LockResult:
    """Take (or renew) the locks on ``paths`` for ``stream``: all of them or none.

    ``folder``: the kind of lock (:data:`FILES`; resources pass theirs). Every hold gets a
    fencing number (``LockResult.fences``; :func:`_fenced`): a worker taken over while it
    was away is refused (:class:`TakenOver`) on its next lock or renewal.

    ``by`` (``"by the orchestrator in ..."``) says in the state commit that someone other
    than the stream's own worktree took them (:func:`gitpar.core.streams.writer_of`).

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
    recorded = {p: recorded_fence(repo, stream, folder, p) for p in paths}
    if _strategy_chosen(plan):
        return _lock_by_strategy(repo, store, why_stale, plan, stream, paths, ttl=ttl, reason=reason,
                                 agent=agent, wait=wait, worktree=worktree, on_wait=on_wait,
                                 on_note=on_note, before_taking=before_taking, by=by, folder=folder,
                                 recorded=recorded)

    def stale(lock: Lock) -> bool:
        return why_stale(lock) is not None
    result = LockResult([], [], [])

    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        locks = folder.holds(snap)
        now = clock.real_now()
        lasts = _refuse_taken_over(snap, folder, paths, locks, recorded)
        holders, new, renewed, taken_over = plan_lock(locks, paths, stream, stale=stale, now=now)
        if not folder.resource:
            holders = holders or lookalike_holders(locks, paths, stream, stale)
        if holders:
            raise Contended(holders)
        lapsed = {p for p in renewed if locks[p].expired(now) or stale(locks[p])}
        changes, fences = _fenced(folder, paths, locks, renewed, lapsed, recorded, lasts)
        if before_taking is not None:
            before_taking([*new, *(path for path, _ in taken_over)])
        for path in paths:
            changes[folder.file(path)] = folder.render(replace(new_lock(path, stream, agent, ttl, reason, worktree),
                                                               fence=fences[path]))
        result.taken, result.renewed, result.took_over, result.fences = new, renewed, taken_over, fences
        msg = _lock_message(folder, stream, paths, bool(new or taken_over), reason, by)
        for path, old in taken_over:
            msg += (f"\n\ntook over the stale {folder.hold_on(path)} held by {old.stream} (expired {old.expires}"
                    + (f", fence {old.fence}" if old.fence else "") + f"; fence {fences[path]} now)")
        return changes, msg

    waits = iter(backoff_waits(wait)) if wait > 0 else iter(())
    while True:
        try:
            store.update(change)
            _remember(repo, stream, folder, result.fences)
            if not folder.resource:
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
                      before_taking: Callable[[list[str]], None] | None = None, by: str = "",
                      folder: Folder = FILES, recorded: dict[str, int | None] | None = None) -> LockResult:
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
    from gitpar.model.hooks import Contention
    from gitpar.plugins import manager

    mine = _priority(plan, stream)
    started = time.monotonic()
    me = Waiter(stream=stream, priority=mine, since=now_iso(), until=iso_in(wait + 1),  # whole seconds
                host=socket.gethostname(), pid=os.getpid())
    result = LockResult([], [], [])
    chosen = manager.lock_strategy(plan).name  # an unknown name is bad input, contended or not

    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        now = clock.real_now()
        locks = folder.holds(snap)
        lasts = _refuse_taken_over(snap, folder, paths, locks, recorded or {})
        new: list[str] = []
        renewed: list[str] = []
        taken_over: list[tuple[str, Lock, str]] = []
        blocked: list[tuple[str, Decision, Lock | None]] = []
        for path in paths:
            held = locks.get(path)
            if held is not None and held.stream == stream:
                renewed.append(path)
                continue
            waiting = {w.stream: w.priority for w in read_waiters(snap, path, folder.root)
                       if w.stream != stream and not w.gone(now)}
            if held is None and not waiting:
                new.append(path)
                continue
            stale = why_stale(held) if held is not None else None
            decision = manager.decide_contention(plan, Contention(
                path=path, stream=stream, priority=mine, holder=held,
                holder_priority=_priority(plan, held.stream) if held is not None else 0,
                waited=time.monotonic() - started, stale=stale, waiting=waiting, resource=folder.resource))
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
        lapsed = {p for p in renewed if locks[p].expired(now) or why_stale(locks[p]) is not None}
        changes, fences = _fenced(folder, paths, locks, renewed, lapsed, recorded or {}, lasts)
        if before_taking is not None:
            before_taking([*new, *(path for path, _, _ in taken_over)])
        for path in paths:
            changes[folder.file(path)] = folder.render(replace(new_lock(path, stream, agent, ttl, reason, worktree),
                                                               fence=fences[path]))
            changes.update(_waiting_change(snap, path, drop=stream, now=now, root=folder.root))
        result.taken, result.renewed, result.fences = new, renewed, fences
        result.took_over = [(path, old) for path, old, _why in taken_over]
        msg = _lock_message(folder, stream, paths, bool(new or taken_over), reason, by)
        for path, old, why in taken_over:
            msg += (f"\n\ntook over the stale {folder.hold_on(path)} held by {old.stream} (expired {old.expires}"
                    + (f", fence {old.fence}" if old.fence else "") + f"; fence {fences[path]} now); "
                    f"lock strategy {chosen}: {why}")
        return changes, msg

    def listed(add: bool, on: Sequence[str], why: str) -> None:
        def edit(snap: Any) -> tuple[dict[str, str | None], str] | None:
            changes: dict[str, str | None] = {}
            for path in on:
                changes.update(_waiting_change(snap, path, drop=stream, add=me if add else None,
                                               now=clock.real_now(), root=folder.root))
            if not changes:
                return None
            verb = "wait for" if add else "stop waiting for"
            what = f"resource {', '.join(on)}" if folder.resource else f"the lock on {', '.join(on)}"
            return changes, f"{verb} {what}: {stream} (priority {mine}): {why}"

        store.update(edit)

    waits = iter(backoff_waits(wait)) if wait > 0 else iter(())
    waiting_on: list[str] = []
    last_note = ""
    try:
        while True:
            try:
                store.update(change)
                waiting_on = []  # the lock commit took this stream off the waiting lists
                _remember(repo, stream, folder, result.fences)
                if not folder.resource:
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
    need = f"lock on {path}: {decision.reason}"
    for name in dict.fromkeys(decision.attention):
        report(repo, name, ProgressUpdate(need=(need,)), what=f"needs a person: lock contention on {path}")
    who = f"held by stream {holder.stream}" if holder is not None else "contested"
    marked = ", ".join(dict.fromkeys(decision.attention)) or "no stream"
    return Refused(f"{path} is {who}: {decision.reason}. Marked {marked} as needing attention "
                   "('gitpar status' lists them); agree who goes first, then lock again")


def unlock(repo: Any, stream: str, paths: Sequence[str], *, force: bool = False,
           who: str = "", by: str = "", folder: Folder = FILES) -> list[tuple[str, Lock]]:
    """Release ``stream``'s locks on ``paths``; another stream's only with ``force`` (recorded).

    ``by`` (``"by the orchestrator in ..."``) records who released them for ``stream``. A
    worker whose hold was taken over while it was away (its recorded fencing number is not
    the lock's) is refused (:class:`TakenOver`, nothing released: the lock is the new
    holder's, even when that holder is a worker of the same stream), and no longer claims it."""
    store, _why_stale = _context(repo)
    paths = list(dict.fromkeys(paths))
    released: list[tuple[str, Lock]] = []
    recorded = {p: recorded_fence(repo, stream, folder, p) for p in paths}

    def change(snap: Any) -> tuple[dict[str, str | None], str] | None:
        locks = folder.holds(snap)
        released.clear()
        changes: dict[str, str | None] = {}
        broken = []
        for path in paths:
            held = locks.get(path)
            if held is None:
                continue
            mine = recorded[path]
            if mine is not None and held.fence and mine != held.fence and not force:
                raise TakenOver(taken_over_message(folder, path, mine, held.fence, held)
                                .replace("; check it, then take it again", "; nothing was released. Check it, "
                                         "then take it again", 1))
            if held.stream != stream:
                if not force:
                    if folder.resource:
                        raise Refused(f"resource {path} is held by stream {held.stream}, not {stream}; "
                                      f"'gitpar unlock --resource {path} --force' breaks it (recorded)")
                    raise bad(None, "path", f"{path} is locked by stream {held.stream}, not {stream}",
                              f"ask {held.stream} to release it, or break it with --force (recorded)")
                broken.append(held)
            changes[folder.file(path)] = None
            released.append((path, held))
        if not changes:
            return None
        if folder.resource:
            msg = f"release resource {', '.join(p for p, _ in released)} for {stream}"
            if broken:
                msg = (f"break resource {', '.join(f'{b.path} (held by {b.stream})' for b in broken)}"
                       + (f" by {who}" if who else "") + f" as {stream}")
            return changes, msg
        msg = f"unlock {', '.join(p for p, _ in released)} for {stream}"
        if by:
            msg += f"\n\nreleased {stream}'s lock, {by}"
        if broken:
            msg = (f"break lock on {', '.join(b.path for b in broken)} held by "
                   f"{', '.join(sorted({b.stream for b in broken}))}, by {stream}"
                   + (f" ({who})" if who else "") + " with --force")
        return changes, msg

    try:
        store.update(change)
    except TakenOver:
        forget_fences(repo, stream, folder, paths)  # said once: the worker no longer claims them
        raise
    forget_fences(repo, stream, folder, paths)  # released, or held by none: this worker claims none of them
    if released and not folder.resource:
        from gitpar.plugins import manager

        for path, held in released:
            if held.stream != stream:
                manager.emit("lock.broken", repo=repo, stream=stream, path=path, holder=held.stream)
            else:
                manager.emit("lock.released", repo=repo, stream=stream, path=path)
    return released


def _emit_taken(repo: Any, stream: str, paths: Sequence[str], reason: str, ttl: float,
                result: LockResult) -> None:
    """Tell plugins about each lock taken (``lock.taken``), naming a stale holder replaced."""
    from gitpar.plugins import manager

    replaced = {path: old.stream for path, old in result.took_over}
    for path in paths:
        manager.emit("lock.taken", repo=repo, stream=stream, path=path, reason=reason,
                    expires=iso_in(ttl), took_over=replaced.get(path))


def release_file_changes(snap: Any, stream: str) -> dict[str, str | None]:
    """Changes that drop every file lock ``stream`` holds (``gitpar.core.locks.release_changes``
    adds its resources)."""
    return {FILES.file(p): None for p, lk in FILES.holds(snap).items() if lk.stream == stream}


def list_locks(repo: Any) -> list[tuple[Lock, str | None]]:
    """Every lock with the reason it is stale (None when live); empty without a state branch."""
    snap = StateStore(repo).snapshot()
    if snap.commit is None:
        return []

    locks = all_locks(snap.list(LOCKS_DIR))
    heartbeat, now = _heartbeat(repo), clock.now()
    found = [(lk, stale_reason(lk, snap, repo=repo) or heartbeat_gone(lk, heartbeat, now))
             for _, lk in sorted(locks.items())]
    return [(lk, why or invalid_reason(repo, lk)) for lk, why in found]


def invalid_reason(repo: Any, lock: Lock) -> str | None:
    """Why ``lock`` is no lock at all: its stream may not lock its path (the plan, or a file
    another stream owns; see ``Rules.lock_invalid``). Listed as stale, so 'doctor --fix'
    breaks it; everything that judges a change ignores it."""
    if lock.problem or not lock.stream:
        return None
    try:
        plan = repo.load_plan_at_base()
    except Exception:  # noqa: BLE001 — no readable plan: nothing to judge the lock by
        return None
    if plan is None:
        return None
    return _ownership_rules(plan).lock_invalid(lock.stream, lock.path)


def _heartbeat(repo: Any) -> float | None:
    """The plan's ``lock_heartbeat:`` in seconds (None: not asked, or no plan to read)."""
    try:
        return repo.load_plan("base").settings.lock_heartbeat  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 — no readable plan: no heartbeats asked (the TTL still holds)
        return None
