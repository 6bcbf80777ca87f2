"""Merges computed in memory, and the few git operations that apply a result safely.

Everything that forecasts works on objects only: trees are compared by reading the tree
objects (each one once, cached), files are merged with libgit2's three-way file merge, and
whole merges with ``merge_trees`` into an in-memory index. Nothing here touches a worktree
or an index file except the functions that say so (``move_branch`` and
``keep_conflict``, in ``apply``); those run only when the result is known to be clean, or
when the user asked to keep a conflict.

The package, by job:

- ``files``: one file — its entry in a tree, its content, its three-way merge
  (``merge_file``), the rule a path merges by (``FileRule``);
- ``conflicts``: what a merge cannot resolve (``FileConflict``, ``Region``), read from an
  in-memory index or forecast for plain modifications (``conflicts_of_files``);
- ``trees``: whole merges in memory (``conflicts_of_commits``, ``merge_taking_theirs``,
  ``resolve_by_rules``), the merge commit (``write_merge``), a rebase in memory (``replay``);
- ``history``: merge bases and ancestry, the files a branch changed itself
  (``own_changed_files``), the commits that touched a path;
- ``apply``: what moves refs and files — ``move_branch`` with its worktrees, a temporary
  worktree for the test gate, ``keep_conflict``, ``held_interrupts``.

Their public names are importable from here.
"""

from gitpar.store.merge.apply import (
    INDEX_WAIT_S,
    add_temp_worktree,
    fetch_branch,
    held_interrupts,
    keep_conflict,
    merge_head,
    move_branch,
    operation_in_progress,
    push_with_lease,
    remove_temp_worktree,
    remove_temp_worktrees,
    reset_temp_worktree,
)
from gitpar.store.merge.conflicts import (
    FileConflict,
    Region,
    conflicts_of_files,
    conflicts_of_paths,
    describe_index_conflicts,
    rewritten_lines,
)
from gitpar.store.merge.files import FileRule, MergedFile, blob_data, file_at, merge_file
from gitpar.store.merge.history import (
    CommitInfo,
    commits_touching,
    is_ancestor,
    merge_base,
    merges_touching,
    own_changed_files,
    short,
    trailer_values,
)
from gitpar.store.merge.trees import (
    Replay,
    conflicts_of_commits,
    merge_taking_theirs,
    replay,
    resolve_by_rules,
    write_merge,
)
from gitpar.store.worktrees import worktrees, worktrees_on

__all__ = [
    "INDEX_WAIT_S",
    "fetch_branch",
    "push_with_lease",
    "CommitInfo",
    "FileConflict",
    "FileRule",
    "MergedFile",
    "Region",
    "Replay",
    "add_temp_worktree",
    "blob_data",
    "commits_touching",
    "conflicts_of_commits",
    "conflicts_of_files",
    "conflicts_of_paths",
    "describe_index_conflicts",
    "file_at",
    "held_interrupts",
    "is_ancestor",
    "keep_conflict",
    "merge_base",
    "merge_file",
    "merge_head",
    "merge_taking_theirs",
    "merges_touching",
    "move_branch",
    "operation_in_progress",
    "own_changed_files",
    "remove_temp_worktree",
    "remove_temp_worktrees",
    "reset_temp_worktree",
    "replay",
    "resolve_by_rules",
    "rewritten_lines",
    "short",
    "trailer_values",
    "worktrees",
    "worktrees_on",
    "write_merge",
]
