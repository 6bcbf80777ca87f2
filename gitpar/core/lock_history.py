"""The lock history: who held each shared path's lock, and when — the proof a range check uses.

Read from the state branch's history (every lock taken, replaced or released is a commit),
so releasing a lock later does not invalidate a change made while it was held.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gitpar.core import clock
from gitpar.core.clock import CLOCK_SKEW_S
from gitpar.core.locks import LOCKS_DIR, Lock, parse_lock
from gitpar.core.locks.model import MAX_TTL_S
from gitpar.core.repo import Repo
from gitpar.store import cache as cache_file
from gitpar.store.commits import blob_text, dated_folder_versions, folder_at, is_ancestor, state_tip


@dataclass(frozen=True)
class Held:
    stream: str
    start: float
    end: float


class _Holds:
    """One path's closed holds, in order of start: four flat arrays (the index keeps them as a
    few byte strings, however long the history) and the running maximum of the ends, so
    "who held it at time t" is a binary search, not a walk through every hold."""

    __slots__ = ("starts", "ends", "peak", "who", "suspect")

    def __init__(self) -> None:
        self.starts = array("d")
        self.ends = array("d")
        self.peak = array("d")  # peak[i] = max(ends[:i + 1]): never decreases
        self.who = array("I")  # index into _Index.names
        self.suspect = array("I")  # 0: a trusted hold; k: _Index.suspects[k - 1] makes it suspect

    def add(self, start: float, end: float, who: int, suspect: int = 0) -> None:
        i = len(self.starts)
        if i and start < self.starts[-1]:  # out of order (a suspect, backdated commit): insert in place
            i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.who.insert(i, who)
        self.suspect.insert(i, suspect)
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
    """Who held each path's lock, and when: a mapping of path to its trusted holds (oldest
    first), read from the index without copying it; :meth:`held_at` answers a range check's
    question for one path in time logarithmic in that path's holds.

    A suspect hold (:data:`Suspect`) proves nothing: :meth:`held_at` skips it for the stream
    asking and records in :attr:`refused` the state commit that made it suspect, so the
    check can name it."""

    def __init__(self, index: _Index, now: float) -> None:
        self._index, self._now = index, now
        self.refused: dict[str, str] = {}  # state commit -> why: suspect holds a check could not use

    @property
    def suspects(self) -> list[Suspect]:
        """The state commits whose dates or lock fields cannot be trusted, oldest first."""
        return [Suspect(*s) for s in self._index.suspects]

    def _open(self, path: str) -> tuple[Held, int] | None:
        found = self._index.current.get(path)
        if found is None:
            return None
        lock, _blob, start, suspect = found
        return Held(lock.stream, start, min(self._now, start + _ttl(lock))), suspect

    def __getitem__(self, path: str) -> list[Held]:
        holds = self._index.closed.get(path)
        opened = self._open(path)
        if holds is None and opened is None:
            raise KeyError(path)
        names = self._index.names
        out = [] if holds is None else [Held(names[w], a, b) for a, b, w, bad in
                                        zip(holds.starts, holds.ends, holds.who, holds.suspect, strict=True)
                                        if not bad]
        return out + ([opened[0]] if opened is not None and not opened[1] else [])

    def newest(self, path: str, n: int) -> tuple[list[Held], int]:
        """``path``'s ``n`` newest trusted holds (by start, oldest first), read from the end
        of its arrays without going through the others, and how many older trusted ones
        there are: what a page that shows recent work asks, whatever the history's length."""
        out: list[Held] = []
        opened = self._open(path)
        if opened is not None and not opened[1]:
            out.append(opened[0])
        holds = self._index.closed.get(path)
        older = 0
        if holds is not None:
            names = self._index.names
            j = len(holds.starts) - 1
            while j >= 0 and len(out) < n:
                if not holds.suspect[j]:
                    out.append(Held(names[holds.who[j]], holds.starts[j], holds.ends[j]))
                j -= 1
            older = holds.suspect[:j + 1].count(0) if j >= 0 else 0
        out.sort(key=lambda h: h.start)
        return out, older

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.closed.keys() | self._index.current.keys())

    def __len__(self) -> int:
        return len(self._index.closed.keys() | self._index.current.keys())

    def _refuse(self, suspect: int) -> None:
        sha, why = self._index.suspects[suspect - 1]
        self.refused[sha] = why

    def held_at(self, path: str, times: tuple[float, ...], stream: str | None = None) -> str | None:
        """Who held ``path``'s lock at any of ``times``: ``stream`` if it did, else another, else None.

        Only a trusted hold proves ``stream`` held it; a suspect one is noted in :attr:`refused`."""
        others: list[tuple[float, int, str]] = []  # (start, order, stream): the earliest is named
        holds = self._index.closed.get(path)
        if holds is not None:
            names = self._index.names
            for t in times:
                for j in holds.covering(t, SLACK_S):
                    if names[holds.who[j]] == stream:
                        if not holds.suspect[j]:
                            return stream
                        self._refuse(holds.suspect[j])
                        continue
                    others.append((holds.starts[j], 0, names[holds.who[j]]))
        found = self._open(path)
        if found is not None:
            opened, suspect = found
            if any(opened.start - SLACK_S <= t <= opened.end + SLACK_S for t in times):
                if opened.stream != stream:
                    others.append((opened.start, 1, opened.stream))
                elif not suspect:
                    return stream
                else:
                    self._refuse(suspect)
        return min(others)[2] if others else None


# A hold runs between two state commits' dates and a change is dated by its committer date,
# all whole seconds of the same kind: no slack, or a commit made the second after an unlock
# (under the next holder's lock) would still count as made under the released hold.
SLACK_S = 0.0


@dataclass(frozen=True)
class Suspect:
    """A state commit the lock proof cannot lean on, and why (its date, or its lock's fields)."""

    commit: str
    why: str


def lock_history(repo: Repo, now: float) -> LockHistory:
    """Who held each path's lock, and when, from the state branch's history.

    A hold runs from the state commit that added the lock (its committer date, not the lock
    file's ``acquired`` field) to the first of: the state commit that removed or replaced
    it, and the lock's TTL (``expires`` - ``acquired``) after it started; a hold still open
    ends ``now``. A state commit dated more than :data:`~gitpar.core.clock.CLOCK_SKEW_S`
    before an earlier one (backwards) or after the real clock (the future), or whose lock's
    ``acquired`` is that far from the commit's date, or whose TTL is longer than
    :data:`MAX_TTL_S`, is a :class:`Suspect`: the holds it starts or ends prove nothing.

    The holds found are kept in an index (``<git dir>/gitpar/cache/lock-history.marshal``, plain data)
    keyed by the state tip they were read up to, and extended from there: a check reads
    only the state commits made since the last one, not the whole history, and the index
    keeps each path's holds as flat arrays, so loading it and asking about a path cost
    almost nothing however long the history is. A tip that does not descend from the
    indexed one (a rewritten branch) rebuilds the index.
    """
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
    # path -> (the lock held at ``tip``, its blob id, its hold's start, its suspect number)
    current: dict[str, tuple[Lock, str, float, int]]
    closed: dict[str, _Holds]  # path -> holds that ended at or before ``tip``
    names: list[str]  # the streams _Holds.who points into
    latest: float = 0.0  # the newest trusted state commit date read so far
    suspects: list[tuple[str, str]] = field(default_factory=list)  # (state commit, why)


def date_doubt(when: float, parent: float, real_now: float) -> str | None:
    """Why a commit dated ``when`` (its parent's newest date ``parent``) cannot date a change,
    or None: more than :data:`~gitpar.core.clock.CLOCK_SKEW_S` backwards or in the future."""
    if when > real_now + CLOCK_SKEW_S:
        return f"{_iso(when)} lies in the future"
    if parent and when < parent - CLOCK_SKEW_S:
        return f"{_iso(when)} goes backwards from its parent's {_iso(parent)}"
    return None


def _ttl(lock: Lock) -> float:
    return max(0.0, lock.expires_at() - lock.acquired_at())


def _iso(t: float) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"@{t:.0f}"


def _lock_doubt(lock: Lock, when: float) -> str | None:
    """Why a lock file written by a state commit dated ``when`` disagrees with it, or None."""
    acquired = lock.acquired_at()
    if abs(acquired - when) > CLOCK_SKEW_S:
        return (f"its lock on {lock.path} says acquired {lock.acquired or '(nothing)'}, but the commit is "
                f"dated {_iso(when)}")
    if _ttl(lock) > MAX_TTL_S + CLOCK_SKEW_S:
        return (f"its lock on {lock.path} lasts from {lock.acquired} to {lock.expires}, longer than any "
                f"lock gitpar writes ({MAX_TTL_S / 86400:.0f} days)")
    return None


def _extend(repo: Repo, index: _Index, tip: str) -> None:
    number = {name: i for i, name in enumerate(index.names)}
    real_now = clock.real_now()  # the future is judged by the real clock, never GITPAR_NOW

    def suspect(sha: str, why: str) -> int:
        if len(index.suspects) >= MAX_SUSPECTS:  # a history forged wholesale: keep the index small
            if index.suspects[-1][0] != "(more)":
                index.suspects.append(("(more)", f"one of many more suspect state commits after the first "
                                           f"{MAX_SUSPECTS} (like {sha[:10]}: {why})"))
            return len(index.suspects)
        index.suspects.append((sha, why))
        return len(index.suspects)

    def close(path: str, held: tuple[Lock, str, float, int], at: float, doubt: int) -> None:
        lock, _blob, start, bad_start = held
        who = number.get(lock.stream)
        if who is None:
            who = number[lock.stream] = len(index.names)
            index.names.append(lock.stream)
        holds = index.closed.get(path)
        if holds is None:
            holds = index.closed[path] = _Holds()
        holds.add(start, max(start, min(at, start + _ttl(lock))), who, bad_start or doubt)

    since = index.tip or None
    for sha, when, files in dated_folder_versions(repo, LOCKS_DIR, tip, since=since, last_tree=index.last_tree):
        dated = 0  # the suspect number of this commit's date, 0 when it can be trusted
        if when > real_now + CLOCK_SKEW_S:
            dated = suspect(sha, f"dated {_iso(when)}, in the future")
        elif when < index.latest - CLOCK_SKEW_S:
            dated = suspect(sha, f"dated {_iso(when)}, backwards from {_iso(index.latest)} "
                                 "of an earlier state commit")
        else:
            index.latest = max(index.latest, when)
        if files is None:
            continue
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
                close(path, old, when, dated)
            doubt = _lock_doubt(lock, when) if not dated and not lock.problem else None
            index.current[path] = (lock, blob, float(when), dated or (suspect(sha, doubt) if doubt else 0))
        for path in [p for p in index.current if p not in seen]:
            close(path, index.current.pop(path), when, dated)


MAX_SUSPECTS = 1000  # suspect state commits named one by one; the rest share one entry
_ARRAYS = ("starts", "ends", "peak", "who", "suspect")  # _Holds' arrays, in the plain data's order


def _index_file(repo: Repo) -> Path:
    return Path(repo.gitpar_dir) / "cache" / "lock-history.marshal"


def index_to_plain(index: _Index) -> dict[str, Any]:
    """``index`` as marshal-able data (no class instance): the locks as tuples of their
    fields, each path's holds as the bytes of its arrays."""
    names = tuple(f.name for f in fields(Lock))
    return {"tip": index.tip, "last_tree": index.last_tree, "lock_fields": names,
            "current": {p: (tuple(getattr(lock, n) for n in names), blob, start, bad)
                        for p, (lock, blob, start, bad) in index.current.items()},
            "closed": {p: tuple(getattr(h, a).tobytes() for a in _ARRAYS) for p, h in index.closed.items()},
            "names": list(index.names), "latest": index.latest, "suspects": list(index.suspects)}


def index_from_plain(data: Any) -> _Index | None:
    """The :class:`_Index` :func:`index_to_plain` made ``data`` of; None when it is not."""
    names = tuple(f.name for f in fields(Lock))
    try:
        if data["lock_fields"] != names:
            return None
        closed = {}
        for path, arrays in data["closed"].items():
            holds = closed[path] = _Holds()
            for attr, raw in zip(_ARRAYS, arrays, strict=True):
                getattr(holds, attr).frombytes(raw)
            if not len(holds.starts) == len(holds.ends) == len(holds.peak) == len(holds.who) == len(holds.suspect):
                return None
        current = {p: (Lock(**dict(zip(names, values, strict=True))), blob, start, bad)
                   for p, (values, blob, start, bad) in data["current"].items()}
        return _Index(tip=data["tip"], last_tree=data["last_tree"], current=current, closed=closed,
                      names=list(data["names"]), latest=data["latest"],
                      suspects=[(a, b) for a, b in data["suspects"]])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def read_part(repo: Repo, name: str) -> Any:
    """One part of the state-history index (``locks``: the lock holds; ``progress``: the
    streams' statuses, ``core/report.py``), or None. One file keyed by state commits: each
    part records the state tip it was read up to and is extended from there."""
    data = cache_file.read_marshal(_index_file(repo))
    return data.get(name) if isinstance(data, dict) else None


def write_part(repo: Repo, name: str, value: Any) -> None:
    """Keep ``value`` (plain data) as the part ``name``, the other parts as they are."""
    data = cache_file.read_marshal(_index_file(repo))
    parts = data if isinstance(data, dict) else {}
    parts[name] = value
    cache_file.write_marshal(_index_file(repo), parts)


def _load_index(repo: Repo) -> _Index | None:
    return index_from_plain(read_part(repo, "locks"))


def _save_index(repo: Repo, index: _Index) -> None:
    write_part(repo, "locks", index_to_plain(index))


def held_at(history: Mapping[str, Sequence[Held]], path: str, times: tuple[float, ...],
            stream: str | None = None) -> str | None:
    """Who held ``path``'s lock at any of ``times``: ``stream`` if it did, else another, else None."""
    if isinstance(history, LockHistory):
        return history.held_at(path, times, stream)
    other = None
    for held in history.get(path, ()):
        if any(held.start - SLACK_S <= t <= held.end + SLACK_S for t in times):
            if held.stream == stream:
                return stream
            other = other or held.stream
    return other
