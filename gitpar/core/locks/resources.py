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

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from gitpar.core import clock
from gitpar.core.locks.acquire import Folder, _heartbeat, stale_reason, unlock
from gitpar.core.locks.holders import heartbeat_gone
from gitpar.core.locks.model import (
    LOCKS_DIR,
    Contended,
    Lock,
    LockResult,
    TakenOver,
    parse_lock,
    render_lock,
)
from gitpar.core.plan import RESOURCE_NAME_FIX, resource_name_problem
from gitpar.errors import bad
from gitpar.store.state import StateStore

RESOURCES_DIR = "resources"


def check_resource_name(name: str) -> str:
    """``name`` when it names a resource; BadInput (exit 2, naming ``--resource``) otherwise."""
    problem = resource_name_problem(name)
    if problem:
        raise bad(None, "--resource", problem, "--resource " + RESOURCE_NAME_FIX.replace("like ", "like --resource ", 1))
    return name


def resource_file(name: str) -> str:
    return f"{RESOURCES_DIR}/{name}.lock"


def fence_file(name: str) -> str:
    """The last fencing number given for ``name``: it outlives the hold, so numbers only grow."""
    return f"{RESOURCES_DIR}/{name}.fence"


ResourceResult = LockResult  # what lock_resources did, with each hold's fencing number (``fences``)


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


RESOURCES = Folder(RESOURCES_DIR, all_resources, render_resource, resource=True, records="fences")


def lock_resources(repo: Any, stream: str, names: Sequence[str], *, ttl: float, reason: str = "",
                   agent: str = "", wait: float = 0.0, worktree: str = "",
                   on_wait: Callable[[list[Lock]], None] | None = None,
                   on_note: Callable[[str], None] | None = None, plan: Any = None) -> LockResult:
    """Take (or renew) ``names`` for ``stream``: all of them or none, in one state commit —
    :func:`gitpar.core.locks.acquire.lock` with the resources' folder, so with the same
    backoff, lock strategy (the plan's ``plugins: {locks: NAME}``) and fencing.

    With ``wait``, poll with exponential backoff and jitter for up to that many seconds;
    ``on_wait`` hears who holds what before each pause (``on_note``: a strategy's reason)."""
    from gitpar.core.locks.acquire import lock

    names = [check_resource_name(n) for n in dict.fromkeys(names)]
    try:
        return lock(repo, stream, names, ttl=ttl, reason=reason, agent=agent, wait=wait, worktree=worktree,
                    on_wait=on_wait, on_note=on_note, plan=plan, folder=RESOURCES)
    except TakenOver:
        raise
    except Contended as exc:
        raise ResourceHeld(exc.holders) from None


def unlock_resources(repo: Any, stream: str, names: Sequence[str], *, force: bool = False,
                     who: str = "") -> list[tuple[str, Lock]]:
    """Release ``names`` held by ``stream`` (``force``: whoever holds them, recorded); the
    released holds. Another stream's hold without ``force`` is refused, changing nothing;
    so is a hold taken over from this worker (:class:`TakenOver`, naming the new holder)."""
    names = [check_resource_name(n) for n in dict.fromkeys(names)]
    return unlock(repo, stream, names, force=force, who=who, folder=RESOURCES)


def release_resource_changes(snap: Any, stream: str) -> dict[str, str | None]:
    """The changes releasing every resource ``stream`` holds (for ``finish``)."""
    return {RESOURCES.file(n): None for n, lk in RESOURCES.holds(snap).items() if lk.stream == stream}


def list_resources(repo: Any) -> list[tuple[Lock, str | None]]:
    """Every hold, with why it is stale (None: live), read as ``locks`` reads file locks."""
    store = StateStore(repo)
    if not store.exists():
        return []

    snap = store.snapshot()
    heartbeat, now = _heartbeat(repo), clock.now()
    return [(lk, stale_reason(lk, snap) or heartbeat_gone(lk, heartbeat, now))
            for _, lk in sorted(all_resources(snap.list(RESOURCES_DIR)).items())]
