"""Bring streams up to date with the base: merge it in, or rebase onto it.

The result is computed in memory first (a merge of the two trees, or each of the
stream's commits replayed onto the base tip). Only a clean result touches anything: the
branch moves by compare-and-swap and its worktree's index and files follow. On a
conflict the worktree keeps its HEAD, index and files, and the report names the files
and the commits on both sides; ``keep_conflict`` instead runs the real git merge or
rebase there, leaving the conflict for the user. A worktree with uncommitted changes
is skipped, never stashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gitpar.core import streams as st
from gitpar.core.conflicts import active_streams
from gitpar.core.remote import refresh, remote_base
from gitpar.core.repo import Repo
from gitpar.errors import Refused, bad
from gitpar.store import merge as m
from gitpar.store.commits import commits_between
from gitpar.store.merge import CommitInfo, FileConflict
from gitpar.store.merge.apply import finish_moves
from gitpar.store.state import StateStore
from gitpar.store.worktrees import dirty_files, files_in_the_way

MODES = ("merge", "rebase")


@dataclass
class SyncResult:
    """What syncing one stream did."""

    stream: str
    outcome: str  # up to date | fast-forwarded | merged | rebased | skipped | conflict
    message: str
    old: str | None = None
    new: str | None = None
    conflicts: list[FileConflict] = field(default_factory=list)
    sides: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # path -> side -> commits
    conflicted_commit: CommitInfo | None = None
    kept: str | None = None  # where a conflict was left for manual resolution

    @property
    def ok(self) -> bool:
        return self.outcome in ("up to date", "fast-forwarded", "merged", "rebased")

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream, "outcome": self.outcome, "message": self.message,
            "old": self.old, "new": self.new,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "sides": self.sides,
            "conflicted_commit": self.conflicted_commit.short() if self.conflicted_commit else None,
            "kept": self.kept,
        }


def select(repo: Repo, name: str | None, all_: bool) -> list[str]:
    """The streams to sync: the one named, every active one, or this worktree's."""
    if name and all_:
        raise bad(None, "--all", "name a stream or give --all, not both", "drop one of them")
    plan = repo.load_plan()
    if all_:
        return active_streams(plan, st.all_progress(StateStore(repo).snapshot()))
    if name is None and repo.current_stream() is None:
        raise bad(None, "stream", "not inside a stream's worktree",
                  "name the stream (gitpar sync NAME) or sync every active one with --all")
    chosen = st.stream_of(repo, name)
    plan.stream(chosen)
    return [chosen]


def sync(repo: Repo, names: Sequence[str], *, mode: str = "merge",
         keep_conflict: bool = False) -> list[SyncResult]:
    """Sync each stream in ``names`` with the base; one result each, in order."""
    if mode not in MODES:
        raise bad(None, "mode", f"{mode!r} is not merge or rebase", "use --merge or --rebase")

    plan = repo.load_plan()
    refresh(repo)  # with a remote: sync to the remote's base (origin/main), fetched just now
    base = remote_base(repo) if plan.settings.base == repo.configured_base() else plan.settings.base
    if _base_tip(repo, base) is None:
        raise Refused(f"the base branch {base!r} does not exist")
    return [sync_one(repo, name, base, mode=mode, keep_conflict=keep_conflict) for name in names]


def sync_one(repo: Repo, name: str, base: str, *, mode: str = "merge",
             keep_conflict: bool = False) -> SyncResult:
    branch = f"gitpar/{name}"
    tip = repo.tip(f"refs/heads/{branch}")
    base_tip = _base_tip(repo, base)
    assert base_tip is not None
    if tip is None:
        return SyncResult(name, "skipped", f"its branch {branch} does not exist")
    unfinished = _finish_interrupted(repo, branch)
    if unfinished is not None:
        return SyncResult(name, "skipped", unfinished, old=str(tip))
    checked_out = m.worktrees_on(repo, branch)
    for wt in checked_out:
        busy = m.operation_in_progress(wt)
        if busy:
            return SyncResult(name, "skipped", f"{busy} is in progress in {wt.path}; finish or abort "
                              "it first", old=str(tip))
        dirty = dirty_files(wt.path)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            return SyncResult(name, "skipped", f"uncommitted changes in {wt.path} ({shown}); "
                              "commit or stash them yourself, then sync again", old=str(tip))
    mb = m.merge_base(repo, tip, base_tip)
    if mb == base_tip:
        return SyncResult(name, "up to date", f"{branch} already contains {base}", str(tip), str(tip))
    if mb == tip:
        new, outcome, what = base_tip, "fast-forwarded", f"fast-forwarded to {base}"
    elif mode == "merge":
        index, conflicts = m.conflicts_of_commits(repo, mb, tip, base_tip)
        if conflicts:  # shared files edited in turns under a lock, and merge: union files
            from gitpar.core.chain import settle

            conflicts = settle(repo, repo.load_plan(), index, tip, base_tip)
        if conflicts:
            return _conflict(repo, name, base, tip, base_tip, conflicts, None, mode,
                             checked_out, keep_conflict)
        new = m.write_merge(repo, index, [tip, base_tip],
                            f"Merge branch '{base}' into {branch}\n\nMerged by gitpar sync.\n")
        outcome, what = "merged", f"merged {base} ({m.short(base_tip)}) into it"
    else:
        commits = commits_between(repo, tip, base_tip, reverse=True, no_merges=True)
        replayed = m.replay(repo, commits, base_tip)
        if replayed.tip is None:
            return _conflict(repo, name, base, tip, base_tip, replayed.conflicts,
                             replayed.conflicted_at, mode, checked_out, keep_conflict)
        new = replayed.tip
        outcome = "rebased"
        what = f"rebased {_count(len(commits), 'commit')} onto {base} ({m.short(base_tip)})"
        if replayed.dropped:
            what += f"; {_count(len(replayed.dropped), 'commit')} became empty and were dropped (already in {base})"
    kept = _ignored_in_the_way(checked_out, tip, new)
    if kept:
        return SyncResult(name, "skipped", kept, old=str(tip))
    m.move_branch(repo, branch, tip, new, f"gitpar sync: {what}", checked_out)
    where = f" and its worktree {checked_out[0].path}" if checked_out else ""
    return SyncResult(name, outcome, f"{branch}{where}: {what}", str(tip), str(new))


def _finish_interrupted(repo: Repo, branch: str) -> str | None:
    """Finish a move of ``branch`` an earlier gitpar was killed in the middle of (the ref moved,
    its worktree not yet updated); None when there was none or it is finished now, else why not."""
    left = finish_moves(repo, branch)
    if not left:
        return None
    move = left[0]
    return (f"an earlier sync moved {branch} to {move.new[:10]} but was stopped before updating "
            f"{move.worktree}, and its index has changed since (neither {move.old[:10]} nor "
            f"{move.new[:10]}): committing what is staged there could revert the base's changes; "
            f"look with 'git -C {move.worktree} diff --cached {move.new[:10]}', then "
            f"'git -C {move.worktree} read-tree -m -u {move.old[:10]} {move.new[:10]}' or reset it yourself")


def _conflict(repo: Repo, name: str, base: str, tip: Any, base_tip: Any,
              conflicts: list[FileConflict], at: CommitInfo | None, mode: str,
              checked_out: Sequence[Any], keep: bool) -> SyncResult:
    sides: dict[str, dict[str, list[str]]] = {}
    for c in conflicts:
        for path in c.paths or (c.path,):
            sides[path] = {
                "stream": [i.short() for i in m.commits_touching(repo, tip, base_tip, path)],
                "base": [i.short() for i in m.commits_touching(repo, base_tip, tip, path)],
            }
    files = ", ".join(c.describe(f"gitpar/{name}", base) for c in conflicts)
    how = f"rebasing commit {at.short()}" if at else f"merging {base}"
    kept = None
    if keep and checked_out:
        kept = m.keep_conflict(checked_out[0], mode, base)
        message = f"conflict {how}: {files}; {kept}"
    else:
        where = f"{checked_out[0].path} is unchanged" if checked_out else "nothing was changed"
        message = (f"conflict {how}: {files}; gitpar/{name} and {where} "
                   "(--keep-conflict leaves the conflict in the worktree to resolve)")
    return SyncResult(name, "conflict", message, str(tip), None, conflicts, sides, at, kept)


def _ignored_in_the_way(checked_out: Sequence[Any], tip: Any, new: Any) -> str | None:
    """Why the sync would overwrite ignored files in a worktree (None: it would not)."""
    for wt in checked_out:
        found = files_in_the_way(wt.path, str(tip), str(new))
        if found:
            shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
            return (f"the base adds files that {wt.path} has as ignored files git keeps no copy of "
                    f"({shown}); move them aside, then sync again")
    return None


def _base_tip(repo: Repo, base: str) -> Any:
    """The base's commit: a local branch, or a remote's copy named ``origin/main``."""
    return repo.tip(base) or repo.tip(f"refs/remotes/{base}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
