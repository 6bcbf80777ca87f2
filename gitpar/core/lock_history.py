"""The lock history: who held each shared path's lock, and when — the proof a range check uses.

Read from the state branch's history (every lock taken, replaced or released is a commit),
so releasing a lock later does not invalidate a change made while it was held.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitpar.core.locks import LOCKS_DIR, Lock, parse_lock
from gitpar.store import cache as cache_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.repo import Repo


@dataclass(frozen=True)
class Held:
    stream: str
    start: float
    end: float


class _Holds:
    """One path's closed holds, in order of start: three flat arrays (the index pickles as a
    few byte strings, however long the history) and the running maximum of the ends, so
    "who held it at time t" is a binary search, not a walk through every hold."""

    __slots__ = ("starts", "ends", "peak", "who")

    def __init__(self) -> None:
        self.starts = array("d")
        self.ends = array("d")
        self.peak = array("d")  # peak[i] = max(ends[:i + 1]): never decreases
        self.who = array("I")  # index into _Index.names

    def __getstate__(self) -> tuple[array[float], array[float], array[float], array[int]]:
        return self.starts, self.ends, self.peak, self.who

    def __setstate__(self, state: tuple[array[float], array[float], array[float], array[int]]) -> None:
        self.starts, self.ends, self.peak, self.who = state

    def add(self, start: float, end: float, who: int) -> None:
        i = len(self.starts)
        if i and start < self.starts[-1]:  # out of order (a clock set back): insert in place
            i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.who.insert(i, who)
        if i == len(self.peak):
            self.peak.append(max(end, self.peak[-1]) if i else end)
        else:
            del self.peak[i:]
            for j in range(i, len(self.starts)):
                self.peak.append(max(self.ends[j], self.peak[j - 1]) if j else self.ends[j])

    def covering(self, t: float, slack: float) -> Iterator[int]:
        """The holds whose [start - slack, end + slack] contains ``t``, latest first."""
        j = bisect.bisect_right(self.starts, t + slack) - 1
        while j >= 0 and self.peak[j] >= t - slack:
            if self.ends[j] >= t - slack:
                yield j
            j -= 1


class LockHistory(Mapping[str, list[Held]]):
    """Who held each path's lock, and when: a mapping of path to its holds (oldest first),
    read from the index without copying it; :meth:`held_at` answers a range check's
    question for one path in time logarithmic in that path's holds."""

    def __init__(self, index: _Index, now: float) -> None:
        self._index, self._now = index, now

    def _open(self, path: str) -> Held | None:
        found = self._index.current.get(path)
        if found is None:
            return None
        lock = found[0]
        return Held(lock.stream, lock.acquired_at(), min(self._now, lock.expires_at()))

    def __getitem__(self, path: str) -> list[Held]:
        holds = self._index.closed.get(path)
        opened = self._open(path)
        if holds is None and opened is None:
            raise KeyError(path)
        names = self._index.names
        out = [] if holds is None else [Held(names[w], a, b) for a, b, w in
                                        zip(holds.starts, holds.ends, holds.who, strict=True)]
        return out + ([opened] if opened is not None else [])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.closed.keys() | self._index.current.keys())

    def __len__(self) -> int:
        return len(self._index.closed.keys() | self._index.current.keys())

    def held_at(self, path: str, times: tuple[float, ...], stream: str | None = None) -> str | None:
        """Who held ``path``'s lock at any of ``times``: ``stream`` if it did, else another, else None."""
        others: list[tuple[float, int, str]] = []  # (start, order, stream): the earliest is named
        holds = self._index.closed.get(path)
        if holds is not None:
            names = self._index.names
            for t in times:
                for j in holds.covering(t, SLACK_S):
                    if names[holds.who[j]] == stream:
                        return stream
                    others.append((holds.starts[j], 0, names[holds.who[j]]))
        opened = self._open(path)
        if opened is not None and any(opened.start - SLACK_S <= t <= opened.end + SLACK_S for t in times):
            if opened.stream == stream:
                return stream
            others.append((opened.start, 1, opened.stream))
        return min(others)[2] if others else None


SLACK_S = 1.0  # lock and commit times are whole seconds


def lock_history(repo: Repo, now: float) -> LockHistory:
    """Who held each path's lock, and when, from the state branch's history.

    A hold starts at the lock's ``acquired`` time and ends at the first of: the commit that
    removed or replaced it, and its ``expires`` time; a hold still open ends ``now``.

    The holds found are kept in an index (``<git dir>/gitpar/cache/lock-history.pickle``)
    keyed by the state tip they were read up to, and extended from there: a check reads
    only the state commits made since the last one, not the whole history, and the index
    keeps each path's holds as flat arrays, so loading it and asking about a path cost
    almost nothing however long the history is. A tip that does not descend from the
    indexed one (a rewritten branch) rebuilds the index.
    """
    from gitpar.store.commits import folder_at, is_ancestor, state_tip

    tip = state_tip(repo)
    index = _load_index(repo) if tip is not None else None
    if index is None or tip is None or not is_ancestor(repo, index.tip, tip):
        index = _Index(tip="", last_tree=None, current={}, closed={}, names=[])
    if tip is not None and index.tip != tip:
        _extend(repo, index, tip)
        index.tip, index.last_tree = tip, folder_at(repo, tip, LOCKS_DIR)
        _save_index(repo, index)
    return LockHistory(index, now)


@dataclass
class _Index:
    tip: str  # the state commit read up to ("" for none yet)
    last_tree: str | None  # its locks/ tree
    current: dict[str, tuple[Lock, str]]  # path -> (the lock held at ``tip``, its blob id)
    closed: dict[str, _Holds]  # path -> holds that ended at or before ``tip``
    names: list[str]  # the streams _Holds.who points into


def _extend(repo: Repo, index: _Index, tip: str) -> None:
    from gitpar.store.commits import blob_text, folder_versions

    number = {name: i for i, name in enumerate(index.names)}

    def close(path: str, lock: Lock, at: float) -> None:
        who = number.get(lock.stream)
        if who is None:
            who = number[lock.stream] = len(index.names)
            index.names.append(lock.stream)
        holds = index.closed.get(path)
        if holds is None:
            holds = index.closed[path] = _Holds()
        holds.add(lock.acquired_at(), min(at, lock.expires_at()), who)

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


_INDEX_VERSION = 2


def _index_file(repo: Repo) -> Path:
    return Path(repo.gitpar_dir) / "cache" / "lock-history.pickle"


def _load_index(repo: Repo) -> _Index | None:
    found = cache_file.read(_index_file(repo))
    if not (isinstance(found, tuple) and len(found) == 2 and found[0] == _INDEX_VERSION):
        return None
    return found[1] if isinstance(found[1], _Index) else None


def _save_index(repo: Repo, index: _Index) -> None:
    cache_file.write(_index_file(repo), (_INDEX_VERSION, index))


def held_at(history: Mapping[str, Sequence[Held]], path: str, times: tuple[float, ...],
            stream: str | None = None) -> str | None:
    """Who held ``path``'s lock at any of ``times``: ``stream`` if it did, else another, else None."""
    if isinstance(history, LockHistory):
        return history.held_at(path, times, stream)
    other = None
    for held in history.get(path, ()):
        if any(held.start - 1 <= t <= held.end + 1 for t in times):  # whole-second timestamps
            if held.stream == stream:
                return stream
            other = other or held.stream
    return other
