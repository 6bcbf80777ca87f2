"""Commits as gitpar judges them: the paths each changed, and the history of locks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pygit2

from gitpar.store.repo import Repo, walk_files

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


def state_tip(repo: Repo) -> str | None:
    """The state branch's tip: the local branch, else a remote's copy (a CI clone)."""
    from gitpar.store.state import StateStore

    tip = StateStore(repo).tip()
    return None if tip is None else str(tip)


def is_ancestor(repo: Repo, old: str, new: str) -> bool:
    """Whether commit ``old`` is ``new`` or one of its ancestors."""
    try:
        return old == new or bool(repo.git.descendant_of(new, old))
    except (KeyError, ValueError, pygit2.GitError):
        return False


def locks_versions(repo: Repo, folder: str, tip: str, since: str | None = None,
                   last_tree: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """The state branch's ``folder`` (e.g. ``locks``) through history, oldest first, from
    after commit ``since`` (whose folder was the tree ``last_tree``) up to ``tip``.

    Yields ``(commit time, {file path: blob id})`` for each commit where the folder changed
    (an empty dict when the folder is gone). Read the blobs with ``blob_text``.
    """
    walker = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if since is not None:
        walker.hide(pygit2.Oid(hex=since))
    last: pygit2.Oid | None | bool = False if since is None else (
        pygit2.Oid(hex=last_tree) if last_tree else None)
    for commit in walker:
        try:
            tree_id: pygit2.Oid | None = commit.tree[folder].id
        except KeyError:
            tree_id = None
        if tree_id == last:
            continue
        last = tree_id
        files = {} if tree_id is None else {p: str(oid) for p, oid in walk_files(repo.git, tree_id, folder)}
        yield int(commit.commit_time), files


def blob_text(repo: Repo, blob_id: str) -> str:
    """The text of a blob (undecodable bytes replaced)."""
    data: bytes = repo.git[blob_id].peel(pygit2.Blob).data
    return data.decode("utf-8", errors="replace")


def folder_at(repo: Repo, commit: str, folder: str) -> str | None:
    """The tree id of ``folder`` in ``commit`` (None when it has none)."""
    return repo.subtree_at(pygit2.Oid(hex=commit), folder)
