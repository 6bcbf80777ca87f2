"""Commits as gitpar judges them: the paths each changed, and the history of locks."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pygit2

from gitpar.core.locks import LOCKS_DIR, Lock, parse_lock
from gitpar.core.progress import parse_time
from gitpar.store.repo import STATE_REF, Repo, walk_files

_TRAILER = re.compile(r"^Gitpar-Stream:\s*(\S+)\s*$", re.M)


@dataclass(frozen=True)
class CommitChange:
    sha: str
    summary: str
    author_time: int
    commit_time: int
    paths: tuple[str, ...]
    stream_trailer: str | None


def _paths_between(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree) -> set[str]:
    """Every path added, deleted or modified (content, mode, type) from ``old`` to ``new``.

    Renames are not detected, so both sides of a rename are reported.
    """
    if old is None:
        diff = new.diff_to_tree(swap=True)
    else:
        diff = old.diff_to_tree(new)
    out: set[str] = set()
    for delta in diff.deltas:
        out.add(delta.old_file.path)
        out.add(delta.new_file.path)
    return out


def changed_paths(repo: pygit2.Repository, commit: pygit2.Commit) -> set[str]:
    """Paths ``commit`` changed. For a merge: only paths that differ from every parent —
    what the merge itself wrote (conflict resolutions), not what it brought in."""
    tree = commit.tree
    if not commit.parents:
        return _paths_between(repo, None, tree)
    sets = [_paths_between(repo, p.tree, tree) for p in commit.parents]
    result = sets[0]
    for s in sets[1:]:
        result = result & s
    return result


def commits_between(repo: Repo, base: pygit2.Oid | None, head: pygit2.Oid,
                    exclude: list[pygit2.Oid] | None = None) -> list[CommitChange]:
    """Commits reachable from ``head`` but not from ``base`` (or ``exclude``), oldest first."""
    walker = repo.git.walk(head, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    for oid in [base, *(exclude or [])]:
        if oid is not None:
            walker.hide(oid)
    out = []
    for c in walker:
        trailer = _TRAILER.findall(c.message or "")
        out.append(CommitChange(sha=str(c.id), summary=(c.message or "").splitlines()[0] if c.message else "",
                                author_time=int(c.author.time), commit_time=int(c.commit_time),
                                paths=tuple(sorted(changed_paths(repo.git, c))),
                                stream_trailer=trailer[-1] if trailer else None))
    return out


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
    ref = repo.git.references.get(STATE_REF)
    if ref is None:
        return {}
    walker = repo.git.walk(ref.target, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    current: dict[str, tuple[Lock, str]] = {}  # path -> (lock, blob id)
    history: dict[str, list[Held]] = {}
    last_locks_tree: pygit2.Oid | None = None

    def close(path: str, lock: Lock, at: float) -> None:
        history.setdefault(path, []).append(
            Held(lock.stream, lock.acquired_at(), min(at, lock.expires_at())))

    for commit in walker:
        try:
            locks_entry = commit.tree[LOCKS_DIR]
            locks_tree: pygit2.Oid | None = locks_entry.id
        except KeyError:
            locks_tree = None
        if locks_tree == last_locks_tree:
            continue
        last_locks_tree = locks_tree
        files: dict[str, pygit2.Oid] = {}
        if locks_tree is not None:
            files = {p: oid for p, oid in walk_files(repo.git, locks_tree, LOCKS_DIR) if p.endswith(".lock")}
        seen: set[str] = set()
        for file, blob in files.items():
            path = file[len(LOCKS_DIR) + 1:-len(".lock")]
            seen.add(path)
            old = current.get(path)
            if old is not None and old[1] == str(blob):
                continue
            text = repo.git[blob].peel(pygit2.Blob).data.decode("utf-8", errors="replace")
            lock = parse_lock(file, text)
            if old is not None:
                close(path, old[0], commit.commit_time)
            current[path] = (lock, str(blob))
        for path in [p for p in current if p not in seen]:
            close(path, current.pop(path)[0], commit.commit_time)
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


def commit_time_of(text: str | None) -> float | None:
    t = parse_time(text)
    return t.timestamp() if t else None
