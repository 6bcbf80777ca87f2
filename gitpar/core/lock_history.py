"""The lock history: who held each shared path's lock, and when — the proof a range check uses.

Read from the state branch's history (every lock taken, replaced or released is a commit),
so releasing a lock later does not invalidate a change made while it was held.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitpar.core.locks import LOCKS_DIR, Lock, parse_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.repo import Repo


@dataclass(frozen=True)
class Held:
    stream: str
    start: float
    end: float


def lock_history(repo: Repo, now: float) -> dict[str, list[Held]]:
    """Who held each path's lock, and when, from the state branch's whole history.

    A hold starts at the lock's ``acquired`` time and ends at the first of: the commit that
    removed or replaced it, and its ``expires`` time.
    """
    from gitpar.store.commits import blob_text, locks_versions

    current: dict[str, tuple[Lock, str]] = {}  # path -> (lock, blob id)
    history: dict[str, list[Held]] = {}

    def close(path: str, lock: Lock, at: float) -> None:
        history.setdefault(path, []).append(
            Held(lock.stream, lock.acquired_at(), min(at, lock.expires_at())))

    for when, files in locks_versions(repo, LOCKS_DIR):
        seen: set[str] = set()
        for file, blob in files.items():
            if not file.endswith(".lock"):
                continue
            path = file[len(LOCKS_DIR) + 1:-len(".lock")]
            seen.add(path)
            old = current.get(path)
            if old is not None and old[1] == blob:
                continue
            lock = parse_lock(file, blob_text(repo, blob))
            if old is not None:
                close(path, old[0], when)
            current[path] = (lock, blob)
        for path in [p for p in current if p not in seen]:
            close(path, current.pop(path)[0], when)
    for path, (lock, _) in current.items():
        close(path, lock, now)
    return history


def held_at(history: dict[str, list[Held]], path: str, times: tuple[float, ...],
            stream: str | None = None) -> str | None:
    """Who held ``path``'s lock at any of ``times``: ``stream`` if it did, else another, else None."""
    other = None
    for held in history.get(path, ()):
        if any(held.start - 1 <= t <= held.end + 1 for t in times):  # whole-second timestamps
            if held.stream == stream:
                return stream
            other = other or held.stream
    return other
