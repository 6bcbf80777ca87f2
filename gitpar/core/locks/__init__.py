"""Shared-file locks: ``locks/<path>.lock`` on the state branch.

A lock is taken, renewed and released by one compare-and-swap commit of the state
branch, so two streams can never both hold it; the branch's history is the proof of who
held what and when, which lets pre-push and CI judge a range of commits after the fact.

The package, by job: ``model`` (what a lock is, its file and its checks) and ``acquire``
(the operations on the state branch). Their public names are importable from here.
"""

from gitpar.core.locks.acquire import (
    check_lockable,
    list_locks,
    lock,
    release_file_changes,
    stale_reason,
    unlock,
)
from gitpar.core.locks.model import (
    LOCKS_DIR,
    UNREADABLE_FIX,
    WAITING_SUFFIX,
    Contended,
    Lock,
    LockResult,
    Waiter,
    all_locks,
    backoff_waits,
    check_lock_path,
    check_ttl,
    check_wait,
    describe_ttl,
    iso_in,
    lock_file,
    new_lock,
    parse_lock,
    parse_waiting,
    plan_lock,
    read_waiters,
    render_lock,
    render_waiting,
    waiting_file,
)
from gitpar.core.locks.resources import release_resource_changes


def release_changes(snap: object, stream: str) -> dict[str, str | None]:
    """Changes that drop every lock and resource hold ``stream`` has (used when it finishes)."""
    return {**release_file_changes(snap, stream), **release_resource_changes(snap, stream)}


__all__ = [
    "Contended",
    "LOCKS_DIR",
    "Lock",
    "LockResult",
    "UNREADABLE_FIX",
    "WAITING_SUFFIX",
    "Waiter",
    "all_locks",
    "backoff_waits",
    "check_lock_path",
    "check_lockable",
    "check_ttl",
    "check_wait",
    "describe_ttl",
    "iso_in",
    "list_locks",
    "lock",
    "lock_file",
    "new_lock",
    "parse_lock",
    "parse_waiting",
    "plan_lock",
    "read_waiters",
    "release_changes",
    "render_lock",
    "render_waiting",
    "stale_reason",
    "unlock",
    "waiting_file",
]
