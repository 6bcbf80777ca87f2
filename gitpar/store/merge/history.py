"""A branch's history as merges see it: merge bases and ancestry, the files a branch
changed itself (``own_changed_files``), and the commits that touched a path (to say who
wrote each side of a conflict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pygit2

from gitpar.store.commits import (
    changed_paths,
    commits_between,
)
from gitpar.store.merge.files import empty_tree, tree_entry
from gitpar.store.repo import Repo


def merge_base(repo: Repo, a: pygit2.Oid, b: pygit2.Oid) -> pygit2.Oid | None:
    try:
        return repo.git.merge_base(a, b)
    except (pygit2.GitError, KeyError):
        return None


def is_ancestor(repo: Repo, ancestor: pygit2.Oid, commit: pygit2.Oid) -> bool:
    """Whether ``ancestor`` is ``commit`` or one of its ancestors."""
    return ancestor == commit or bool(repo.git.descendant_of(commit, ancestor))


def own_changed_files(repo: Repo, tip: pygit2.Oid, base_tip: pygit2.Oid,
                      others: Sequence[pygit2.Oid]) -> list[str] | None:
    """The files a branch changed itself since its merge base with the base: its net change
    (merge base .. ``tip``) less what it only merged in from ``others`` (the integration
    branch, other streams' branches). A file counts when one of the branch's own commits
    touched it (a merge: only what it resolved); its own commits are its first-parent line
    and what it merged in that no other holds. None when the branch merged nothing in, so
    its net change is all its own.
    """
    walker = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(base_tip)
    if not any(len(c.parent_ids) > 1 for c in walker):
        return None
    first = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    first.simplify_first_parent()
    first.hide(base_tip)
    unshared = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    for oid in (base_tip, *others):
        unshared.hide(oid)
    own = {c.id: c for c in first} | {c.id: c for c in unshared}
    touched: set[str] = set()
    for c in own.values():
        touched |= changed_paths(repo.git, c)
    start = merge_base(repo, tip, base_tip)
    old = repo.git[start].peel(pygit2.Tree) if start is not None else empty_tree(repo.git)
    diff = old.diff_to_tree(repo.git[tip].peel(pygit2.Tree))
    net = {d.new_file.path for d in diff.deltas} | {d.old_file.path for d in diff.deltas}
    return sorted(net & touched)


@dataclass(frozen=True)
class CommitInfo:
    """A commit as a conflict's report names it."""

    sha: str
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)

    def short(self) -> str:
        return f"{self.sha[:10]} {self.subject}"


def commit_info(c: pygit2.Commit) -> CommitInfo:
    """``c``'s id, subject and ``Gitpar-*`` trailers."""
    message = c.message or ""
    trailers = {}
    for line in message.splitlines():
        if ": " in line and line.split(": ", 1)[0].startswith("Gitpar-"):
            key, value = line.split(": ", 1)
            trailers[key] = value.strip()
    return CommitInfo(str(c.id), message.splitlines()[0] if message else "", trailers)


def commits_touching(repo: Repo, tip: pygit2.Oid, hide: pygit2.Oid | None, path: str,
                     limit: int = 5) -> list[CommitInfo]:
    """Non-merge commits between ``hide`` and ``tip`` that changed ``path`` (newest first)."""
    out = []
    for c in commits_between(repo, tip, hide, no_merges=True):
        before = tree_entry(c.parents[0].tree, path) if c.parents else None
        if tree_entry(c.tree, path) != before:
            out.append(commit_info(c))
            if len(out) >= limit:
                break
    return out


def trailer_values(repo: Repo, tip: pygit2.Oid, hide: pygit2.Oid | None, key: str) -> list[str]:
    """The values of the trailer ``key`` (``Gitpar-Replaces``) in the commits between
    ``hide`` and ``tip``, newest first (every line of that key, not only the last)."""
    prefix = f"{key}:"
    return [line[len(prefix):].strip() for c in commits_between(repo, tip, hide)
            for line in (c.message or "").splitlines() if line.startswith(prefix)]


def merges_touching(repo: Repo, tip: pygit2.Oid, hide: pygit2.Oid | None,
                    path: str) -> list[CommitInfo]:
    """First-parent commits of ``tip`` back to ``hide`` that changed ``path`` (merges included)."""
    out = []
    for c in commits_between(repo, tip, hide, first_parent=True):
        before = tree_entry(c.parents[0].tree, path) if c.parents else None
        if tree_entry(c.tree, path) != before:
            out.append(commit_info(c))
    return out


def short(oid: pygit2.Oid | str | None) -> str:
    return "" if oid is None else str(oid)[:10]
