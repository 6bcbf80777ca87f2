"""The lock history: who held each shared path's lock, and when — the proof a range check uses.

Read from the state branch's history (every lock taken, replaced or released is a commit),
so releasing a lock later does not invalidate a change made while it was held.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitpar.core import cache_file
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
    """Who held each path's lock, and when, from the state branch's history.

    A hold starts at the lock's ``acquired`` time and ends at the first of: the commit that
    removed or replaced it, and its ``expires`` time; a hold still open ends ``now``.

    The holds found are kept in an index (``<git dir>/gitpar/cache/lock-history.pickle``)
    keyed by the state tip they were read up to, and extended from there: a check reads
    only the state commits made since the last one, not the whole history. A tip that does
    not descend from the indexed one (a rewritten branch) rebuilds the index.
    """
    from gitpar.store.commits import folder_at, is_ancestor, state_tip

    tip = state_tip(repo)
    if tip is None:
        return {}
    index = _load_index(repo)
    if index is None or not is_ancestor(repo, index.tip, tip):
        index = _Index(tip="", last_tree=None, current={}, closed={})
    if index.tip != tip:
        _extend(repo, index, tip)
        index.tip, index.last_tree = tip, folder_at(repo, tip, LOCKS_DIR)
        _save_index(repo, index)
    history = {path: list(holds) for path, holds in index.closed.items()}
    for path, (lock, _) in index.current.items():
        history.setdefault(path, []).append(Held(lock.stream, lock.acquired_at(), min(now, lock.expires_at())))
    return history


@dataclass
class _Index:
    tip: str  # the state commit read up to ("" for none yet)
    last_tree: str | None  # its locks/ tree
    current: dict[str, tuple[Lock, str]]  # path -> (the lock held at ``tip``, its blob id)
    closed: dict[str, list[Held]]  # path -> holds that ended at or before ``tip``


def _extend(repo: Repo, index: _Index, tip: str) -> None:
    from gitpar.store.commits import blob_text, folder_versions

    def close(path: str, lock: Lock, at: float) -> None:
        index.closed.setdefault(path, []).append(
            Held(lock.stream, lock.acquired_at(), min(at, lock.expires_at())))

    since = index.tip or None
    for when, files in folder_versions(repo, LOCKS_DIR, tip, since=since, last_tree=index.last_tree):
        seen: set[str] = set()
        for file, blob in files.items():
            if not file.endswith(".lock"):
                continue
            path = file[len(LOCKS_DIR) + 1:-len(".lock")]
            seen.add(path)
            old = index.current.get(path)
            if old is not None and old[1] == blob:
                continue
            lock = parse_lock(file, blob_text(repo, blob))
            if old is not None:
                close(path, old[0], when)
            index.current[path] = (lock, blob)
        for path in [p for p in index.current if p not in seen]:
            close(path, index.current.pop(path)[0], when)


_INDEX_VERSION = 1


def _index_file(repo: Repo) -> Path:
    return Path(repo.gitpar_dir) / "cache" / "lock-history.pickle"


def _load_index(repo: Repo) -> _Index | None:
    found = cache_file.read(_index_file(repo))
    if not (isinstance(found, tuple) and len(found) == 2 and found[0] == _INDEX_VERSION):
        return None
    return found[1] if isinstance(found[1], _Index) else None


def _save_index(repo: Repo, index: _Index) -> None:
    cache_file.write(_index_file(repo), (_INDEX_VERSION, index))


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
