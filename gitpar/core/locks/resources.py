"""Locks on resources that are not files: a port, a dev database, the GPU, the merge slot.

``gitpar lock --resource NAME`` holds ``resources/<NAME>.lock`` on the state branch, a file
of the same shape as a file lock's (``resource:`` instead of ``path:``, then ``stream``,
``agent``, ``acquired``, ``expires``, ``reason``, ``host``, ``pid``, ``worktree``), taken,
renewed and released by one compare-and-swap commit of the state branch each — so with the
same guarantees: never two holders, the branch's log as the audit log, a remote coordinating
clones through the same fetch-commit-push, a TTL, ``--wait`` with backoff, a stale holder
(expired, its stream completed, its worktree gone from this machine) taken over and said so.
A resource is no path: the commit hooks and the CI check never look at these files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitpar.core import clock
from gitpar.core.locks.model import (
    LOCKS_DIR,
    Contended,
    Lock,
    LockResult,
    backoff_waits,
    new_lock,
    parse_lock,
    plan_lock,
    render_lock,
)
from gitpar.errors import Refused, bad

RESOURCES_DIR = "resources"


def check_resource_name(name: str) -> str:
    """``name`` when it names a resource; BadInput (exit 2, naming ``--resource``) otherwise."""
    from gitpar.core.plan import RESOURCE_NAME_FIX, resource_name_problem

    problem = resource_name_problem(name)
    if problem:
        raise bad(None, "--resource", problem, "--resource " + RESOURCE_NAME_FIX.replace("like ", "like --resource ", 1))
    return name


def resource_file(name: str) -> str:
    return f"{RESOURCES_DIR}/{name}.lock"


def fence_file(name: str) -> str:
    """The last fencing number given for ``name``: it outlives the hold, so numbers only grow."""
    return f"{RESOURCES_DIR}/{name}.fence"


def _last_fence(snap: Any, name: str) -> int:
    text = snap.read(fence_file(name))
    try:
        return max(0, int((text or "0").strip()))
    except ValueError:
        return 0


def _record(repo: Any, stream: str, name: str) -> Path:
    """Where this clone keeps the fencing number of a hold its stream's worker took."""
    return Path(repo.gitpar_dir) / "fences" / stream / name


def _recorded(repo: Any, stream: str, name: str) -> int | None:
    try:
        return int(_record(repo, stream, name).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


@dataclass
class ResourceResult(LockResult):
    """What :func:`lock_resources` did, and the fencing number of each hold."""

    fences: dict[str, int] = field(default_factory=dict)


class TakenOver(Refused):
    """This worker's hold was taken over while it was away: refused (exit 1), not renewed."""


def render_resource(lock: Lock) -> str:
    """The file's text: a lock's, with ``resource:`` naming it."""
    return render_lock(lock).replace("\npath: ", "\nresource: ", 1)


def parse_resource(file: str, text: str) -> Lock:
    """The hold in ``file`` (``resources/<name>.lock``), read as a lock file is (never raises;
    an unreadable file is a hold with a ``problem``: it counts as held)."""
    name = file[len(RESOURCES_DIR) + 1:-len(".lock")]
    lock = parse_lock(f"{LOCKS_DIR}/{name}.lock", text.replace("\nresource:", "\npath:", 1))
    where = f"gitpar/_state:{LOCKS_DIR}/{name}.lock"
    return replace(lock, problem=lock.problem.replace(where, f"gitpar/_state:{file}"),
                   warning=lock.warning.replace(where, f"gitpar/_state:{file}").replace("'path:", "'resource:"))


def all_resources(files: dict[str, str]) -> dict[str, Lock]:
    """Holds by resource name, from the state branch's ``resources/`` files."""
    out = {}
    for file, text in files.items():
        if file.endswith(".lock") and file.startswith(RESOURCES_DIR + "/") and file.count("/") == 1:
            lock = parse_resource(file, text)
            out[lock.path] = lock
    return out


class ResourceHeld(Contended):
    """Another stream holds a resource asked for (exit 1), said in a resource's words."""

    def __init__(self, holders: list[Lock]) -> None:
        super().__init__(holders)
        h = holders[0]
        self.args = (f"resource {h.path} is held by stream {h.stream} until {h.expires}"
                     + (f" for: {h.reason}" if h.reason else "")
                     + f". Wait with --wait SECONDS, ask {h.stream} to 'gitpar unlock --resource {h.path}', or "
                     f"break it with 'gitpar unlock --resource {h.path} --force' (recorded)",)


def _store(repo: Any) -> tuple[Any, Callable[[Lock], str | None]]:
    from gitpar.core.locks.acquire import _context

    return _context(repo)


def lock_resources(repo: Any, stream: str, names: Sequence[str], *, ttl: float, reason: str = "",
                   agent: str = "", wait: float = 0.0, worktree: str = "",
                   on_wait: Callable[[list[Lock]], None] | None = None) -> ResourceResult:
    """Take (or renew) ``names`` for ``stream``: all of them or none, in one state commit.

    With ``wait``, poll with exponential backoff and jitter for up to that many seconds;
    ``on_wait`` hears who holds what before each pause."""
    names = [check_resource_name(n) for n in dict.fromkeys(names)]
    store, why_stale = _store(repo)
    result = LockResult([], [], [])
    fences: dict[str, int] = {}

    recorded = {n: _recorded(repo, stream, n) for n in names}

    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        held = all_resources(snap.list(RESOURCES_DIR))
        holders, new, renewed, taken_over = plan_lock(held, names, stream, stale=lambda lk: why_stale(lk) is not None,
                                                      now=clock.real_now())
        if holders:
            raise Contended(holders)
        changes: dict[str, str | None] = {}
        fences.clear()
        for n in names:
            last = _last_fence(snap, n)
            mine = recorded[n]
            if mine is not None and mine != last:
                # this worker held it (fence `mine`); since then another took it: what it did with
                # the resource meanwhile may have collided, so it is told, not renewed
                raise TakenOver(f"resource {n} was taken over since this worker took it (its fence {mine}, "
                                f"the resource's is now {last}); release the claim with 'gitpar unlock "
                                f"--resource {n}', check what you did with it meanwhile, then lock it again")
            current = held.get(n)
            fence = current.fence if n in renewed and current is not None and current.fence else last + 1
            fences[n] = fence
            if fence != last:
                changes[fence_file(n)] = f"{fence}\n"
            changes[resource_file(n)] = render_resource(replace(new_lock(n, stream, agent, ttl, reason, worktree),
                                                                fence=fence))
        result.taken, result.renewed, result.took_over = new, renewed, taken_over
        verb = "lock resource" if new or taken_over else "renew resource"
        msg = f"{verb} {', '.join(names)} for {stream}" + (f": {reason}" if reason else "")
        for n, old in taken_over:
            msg += f"\n\ntook over the stale hold on resource {n} held by {old.stream} (expired {old.expires})"
        return changes, msg

    waits = iter(backoff_waits(wait)) if wait > 0 else iter(())
    while True:
        try:
            store.update(change)
            for n, fence in fences.items():
                record = _record(repo, stream, n)
                record.parent.mkdir(parents=True, exist_ok=True)
                record.write_text(f"{fence}\n", encoding="utf-8")
            return ResourceResult(result.taken, result.renewed, result.took_over, dict(fences))
        except Contended as exc:
            pause = next(waits, None)
            if pause is None:
                raise ResourceHeld(exc.holders) from None
            if on_wait is not None:
                on_wait(exc.holders)
            time.sleep(pause)


def unlock_resources(repo: Any, stream: str, names: Sequence[str], *, force: bool = False,
                     who: str = "") -> list[tuple[str, Lock]]:
    """Release ``names`` held by ``stream`` (``force``: whoever holds them, recorded); the
    released holds. Another stream's hold without ``force`` is refused, changing nothing."""
    from gitpar.errors import Refused

    names = [check_resource_name(n) for n in dict.fromkeys(names)]
    store, _ = _store(repo)
    released: list[tuple[str, Lock]] = []
    recorded = {n: _recorded(repo, stream, n) for n in names}

    def change(snap: Any) -> tuple[dict[str, str | None], str] | None:
        held = all_resources(snap.list(RESOURCES_DIR))
        released.clear()
        for n in names:
            lk = held.get(n)
            if lk is None:
                continue
            if lk.stream != stream and not force:
                if recorded[n] is not None:
                    continue  # taken over from this worker: its claim is dropped, the new hold stays
                raise Refused(f"resource {n} is held by stream {lk.stream}, not {stream}; "
                              f"'gitpar unlock --resource {n} --force' breaks it (recorded)")
            released.append((n, lk))
        if not released:
            return None
        msg = f"release resource {', '.join(n for n, _ in released)} for {stream}"
        broken = [f"{n} (held by {lk.stream})" for n, lk in released if lk.stream != stream]
        if broken:
            msg = f"break resource {', '.join(broken)}" + (f" by {who}" if who else "") + f" as {stream}"
        return {resource_file(n): None for n, _ in released}, msg

    store.update(change)
    for n in names:
        _record(repo, stream, n).unlink(missing_ok=True)  # this worker no longer claims it
    return released


def release_resource_changes(snap: Any, stream: str) -> dict[str, str | None]:
    """The changes releasing every resource ``stream`` holds (for ``finish``)."""
    return {resource_file(n): None for n, lk in all_resources(snap.list(RESOURCES_DIR)).items()
            if lk.stream == stream}


def list_resources(repo: Any) -> list[tuple[Lock, str | None]]:
    """Every hold, with why it is stale (None: live), read as ``locks`` reads file locks."""
    from gitpar.core.locks.acquire import stale_reason
    from gitpar.store.state import StateStore

    store = StateStore(repo)
    if not store.exists():
        return []
    from gitpar.core.locks.acquire import _heartbeat
    from gitpar.core.locks.holders import heartbeat_gone

    snap = store.snapshot()
    heartbeat, now = _heartbeat(repo), clock.now()
    return [(lk, stale_reason(lk, snap) or heartbeat_gone(lk, heartbeat, now))
            for _, lk in sorted(all_resources(snap.list(RESOURCES_DIR)).items())]
