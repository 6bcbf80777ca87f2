"""Whole merges in memory: two commits merged into an in-memory index (renames found),
the merge taking one side, conflicts settled by the paths' rules, the merge commit written
to the object store, and commits replayed onto a new base (a rebase without a worktree).
No ref moves and no worktree is touched here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pygit2

from gitpar.errors import GitparError
from gitpar.store.merge.conflicts import FileConflict, describe_index_conflicts
from gitpar.store.merge.files import (
    REGULAR_MODES,
    FileRule,
    blob_data,
    blob_of,
    empty_tree,
    filemode,
    merge_file,
    tree_of,
)
from gitpar.store.merge.history import CommitInfo, commit_info
from gitpar.store.repo import Repo, signature


def conflicts_of_commits(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid,
                         theirs: pygit2.Oid) -> tuple[pygit2.Index, list[FileConflict]]:
    """The whole in-memory merge of ``theirs`` into ``ours`` (renames found) and its conflicts."""
    g = repo.git
    ancestor = tree_of(g, base)
    index = g.merge_trees(ancestor if ancestor is not None else empty_tree(g),
                          g[ours].peel(pygit2.Tree), g[theirs].peel(pygit2.Tree))
    return index, describe_index_conflicts(repo, index)


def merge_taking_theirs(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid,
                        theirs: pygit2.Oid) -> pygit2.Index | None:
    """The in-memory merge taking ``theirs``'s side of every conflicting hunk, or None when
    conflicts remain that have no hunks to take a side of (deletions, modes, binaries)."""
    g = repo.git
    index = g.merge_trees(tree_of(g, base) or empty_tree(g), g[ours].peel(pygit2.Tree),
                          g[theirs].peel(pygit2.Tree), favor=pygit2.enums.MergeFavor.THEIRS)
    return None if index.conflicts is not None else index


def resolve_by_rules(repo: Repo, index: pygit2.Index,
                     rule_of: Callable[[str], FileRule | None]) -> list[FileConflict]:
    """Resolve in place the text conflicts of a merge's in-memory ``index`` that a path's
    rule settles; the conflicts left (described as :func:`describe_index_conflicts` does)."""
    if index.conflicts is None:
        return []
    g = repo.git
    settled: list[tuple[str, pygit2.Oid, int]] = []
    for anc, ours, theirs in list(index.conflicts):
        if ours is None or theirs is None or ours.path != theirs.path:
            continue  # a delete or rename conflict: no lines to merge
        rule = rule_of(ours.path)
        if rule is None or ours.mode not in REGULAR_MODES or theirs.mode not in REGULAR_MODES:
            continue
        mine, other = blob_of(g, ours.id).data, blob_of(g, theirs.id).data
        bases = [*rule.bases, str(anc.id) if anc is not None else ""]  # "": an add/add
        for base_id in bases:
            base = blob_data(repo, base_id) if base_id else b""
            if base is None:
                continue
            merged = merge_file(base, mine, other, union=rule.union)
            if not merged.conflicts and not merged.binary:
                settled.append((ours.path, g.create_blob(merged.text), ours.mode))
                break
    for path, blob, mode in settled:
        del index.conflicts[path]
        index.add(pygit2.IndexEntry(path, blob, filemode(mode)))
    return describe_index_conflicts(repo, index)


def write_merge(repo: Repo, index: pygit2.Index, parents: Sequence[pygit2.Oid], message: str) -> pygit2.Oid:
    """A commit of a clean in-memory merge, written to the object store only (no ref moves)."""
    if index.conflicts is not None:
        raise GitparError("internal: writing a merge that has conflicts")
    tree = index.write_tree(repo.git)
    sig = signature(repo.git)
    return repo.git.create_commit(None, sig, sig, message, tree, list(parents))


@dataclass
class Replay:
    """The result of replaying commits onto a new base in memory."""

    tip: pygit2.Oid | None  # None when a commit conflicted
    conflicted_at: CommitInfo | None = None
    conflicts: list[FileConflict] = field(default_factory=list)
    dropped: list[CommitInfo] = field(default_factory=list)  # became empty (already upstream)


def replay(repo: Repo, commits: Sequence[pygit2.Commit], onto: pygit2.Oid) -> Replay:
    """Cherry-pick ``commits`` (oldest first, no merges) onto ``onto``, in memory only."""
    g = repo.git
    current = onto
    dropped = []
    for c in commits:
        parent_tree = c.parents[0].tree if c.parents else empty_tree(g)
        current_tree = g[current].peel(pygit2.Tree)
        index = g.merge_trees(parent_tree, current_tree, c.tree)
        if index.conflicts is not None:
            return Replay(None, commit_info(c), describe_index_conflicts(repo, index))
        tree = index.write_tree(g)
        if tree == current_tree.id and c.tree_id != parent_tree.id:
            dropped.append(commit_info(c))
            continue
        sig = signature(g)
        current = g.create_commit(None, c.author, sig, c.message, tree, [current])
    return Replay(current, dropped=dropped)
