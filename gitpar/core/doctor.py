"""``gitpar doctor``: what is wrong with this clone's gitpar set-up, and what can be mended.

Each finding says what is wrong, why it matters and how to mend it; ``fix`` mends only
what cannot lose work: worktree entries whose folder is gone, missing or outdated hooks,
locks that are already free to take (expired, or their stream completed). It never
touches a branch, a worktree's files or a live lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitpar.core import clock, locks
from gitpar.core.lock_history import lock_history
from gitpar.core.locks import LOCKS_DIR, parse_lock
from gitpar.core.progress import parse_progress
from gitpar.core.repo import Repo
from gitpar.errors import GitparError
from gitpar.store import hooks
from gitpar.store.merge.apply import finish_moves, pending_moves, unmerged_index
from gitpar.store.state import StateStore


@dataclass
class Finding:
    check: str  # stale-lock | orphaned-worktree | hooks | state | remote | unpushed | state-history
    problem: str
    fix: str
    fixable: bool = False
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "problem": self.problem, "fix": self.fix,
                "fixable": self.fixable, "fixed": self.fixed}


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.fixed for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "ok": self.ok, "checked": self.checked,
                "findings": [f.to_dict() for f in self.findings]}


def diagnose(repo: Repo, *, fix: bool = False, offline: bool = False) -> Diagnosis:
    """Look at the state branch, the remote, locks, worktrees and hooks; mend the safe ones."""
    out = Diagnosis()
    _state(repo, out, offline)
    _locks(repo, out, fix)
    _worktrees(repo, out, fix)
    _half_moved(repo, out, fix)
    _hooks(repo, out, fix)
    _unpushed(repo, out)
    _forged_history(repo, out)
    _temp_worktrees(repo, out)
    return out


def _forged_history(repo: Repo, out: Diagnosis) -> None:
    """State commits the lock proof cannot lean on: dated backwards or in the future, or
    writing a lock whose ``acquired``/TTL disagree with the commit's date (docs/lockproof.md)."""
    out.checked.append("state-history")
    try:
        suspects = lock_history(repo, clock.real_now()).suspects
    except GitparError:
        return  # an unreadable state branch is reported by the state check
    for s in suspects:
        out.findings.append(Finding(
            "state-history", f"state commit {s.commit[:10]} is {s.why}: the lock history there is suspect "
            "(forged or made with a wrong clock), so no hold it records proves a change",
            "find who pushed it (git log gitpar/_state); protect gitpar/_state from force-pushes "
            "and direct pushes (docs/lockproof.md); changes it alone would prove are refused"))


def _state(repo: Repo, out: Diagnosis, offline: bool) -> None:
    out.checked.append("state")
    try:
        store = StateStore(repo)
        if store.remote is not None and not offline:
            out.checked.append("remote")
            store.fetch()
        snap = store.snapshot()
    except GitparError as exc:
        out.findings.append(Finding("state", str(exc).split("\n  fix: ")[0],
                                    str(exc).split("\n  fix: ")[-1] if "fix:" in str(exc) else
                                    "see the message"))
        return
    if snap.commit is None:
        out.findings.append(Finding("state", "there is no state branch gitpar/_state", "run 'gitpar init'"))
        return
    if store.remote is not None and store.tracking_ref is not None:
        local = store.local_tip()
        theirs = store._ref_target(store.tracking_ref)
        if theirs is None:
            out.findings.append(Finding("remote", f"{store.remote} has no gitpar/_state yet",
                                        "the next state change publishes it ('gitpar init' does too)"))
        elif local is not None and local != theirs:
            out.findings.append(Finding("remote", f"the local gitpar/_state has changes {store.remote} "
                                        "has not seen", "the next state change pushes them"))
    for path, text in snap.list_all().items():
        try:
            if path.startswith(LOCKS_DIR + "/") and path.endswith(".lock"):
                parse_lock(path, text)
            elif path.startswith("progress/") and path.endswith(".md"):
                parse_progress(path[len("progress/"):-3], text)
        except GitparError as exc:
            out.findings.append(Finding("state", f"gitpar/_state:{path} cannot be read: "
                                        f"{str(exc).splitlines()[0]}",
                                        "rewrite it with 'gitpar progress'/'gitpar lock', or "
                                        "'gitpar unlock --force' for a lock"))


def _locks(repo: Repo, out: Diagnosis, fix: bool) -> None:
    out.checked.append("locks")
    try:
        found = locks.list_locks(repo)
    except GitparError:
        return
    for lock, why in found:
        if why is None:
            continue
        finding = Finding("stale-lock", f"the lock on {lock.path} held by {lock.stream} is stale: {why}",
                          f"'gitpar unlock --force {lock.path}' (doctor --fix does it, recorded)",
                          fixable=True)
        if fix:
            try:
                locks.unlock(repo, lock.stream, [lock.path], force=True)
                finding.fixed = True
            except GitparError as exc:
                finding.problem += f" (not fixed: {exc})"
        out.findings.append(finding)


def _worktrees(repo: Repo, out: Diagnosis, fix: bool) -> None:
    from gitpar.store import worktrees as wt

    out.checked.append("worktrees")
    missing = wt.missing_worktrees(repo)
    for entry, folder in missing:
        out.findings.append(Finding("orphaned-worktree", f"worktree entry {entry!r} points at {folder}, "
                                    "which is gone", "'git worktree prune' (doctor --fix does it)",
                                    fixable=True, fixed=fix))
    if fix and missing:
        wt.prune_worktrees(repo)
    try:
        plan = repo.load_plan_at_base()
    except GitparError:
        plan = None
    if plan is not None:
        for name, path in sorted(repo.stream_worktrees().items()):
            if name not in plan.streams:
                out.findings.append(Finding("orphaned-worktree", f"{path} has gitpar/{name} checked out, "
                                            "a stream the base plan does not define",
                                            f"define it in .gitpar/streams/{name}.md, or remove the "
                                            f"worktree with 'git worktree remove {path}' once its work is safe"))


def _half_moved(repo: Repo, out: Diagnosis, fix: bool) -> None:
    """A stream worktree a killed sync left half-moved: its branch moved (a recorded pending
    move), or its HEAD is a merge, while its index is still the old side — a staged revert of
    what came in, which a commit would land. ``fix`` finishes a recorded move."""
    out.checked.append("half-moved")
    recorded = {m.worktree for m in pending_moves(repo)}
    left = {m.worktree: m for m in finish_moves(repo)} if fix else None
    for move in pending_moves(repo) if not fix else []:
        if move.state == "finished":
            continue
        out.findings.append(Finding(
            "half-moved", f"{move.worktree}: {move.branch} was moved to {move.new[:10]} but the worktree was "
            f"not updated (a gitpar command was stopped half-way); its index is a staged revert of the change",
            "'gitpar doctor --fix' (or 'gitpar sync') finishes it", fixable=move.state == "half-moved"))
    for where in recorded:
        if left is not None:
            unfinished = left.get(where)
            out.findings.append(Finding(
                "half-moved", f"{where}: a move of its branch stopped half-way"
                + (" could not be finished: its index changed since" if unfinished else ""),
                "'gitpar doctor --fix' finishes it" if not unfinished else
                f"look with 'git -C {where} diff --cached HEAD' and reset the index yourself",
                fixable=True, fixed=unfinished is None))
    for name, path in sorted(repo.stream_worktrees().items()):
        if str(path) in recorded or not path.exists():
            continue
        side = unmerged_index(path)
        if side is not None:
            out.findings.append(Finding(
                "half-moved", f"{path}: the index of gitpar/{name} is the tree of {side[:10]}, a parent of its "
                "last merge, not the merge itself: committing it would revert what the merge brought in",
                f"'git -C {path} read-tree -m -u {side[:10]} HEAD' updates it (after checking 'git -C {path} "
                "diff --cached HEAD')"))


def _hooks(repo: Repo, out: Diagnosis, fix: bool) -> None:
    out.checked.append("hooks")
    bad = [row for row in hooks.status(repo) if row["state"] in ("missing", "outdated")]
    for row in bad:
        out.findings.append(Finding("hooks", f"the {row['hook']} hook is {row['state']}",
                                    "'gitpar hooks install' (doctor --fix does it)", fixable=True,
                                    fixed=fix))
    if fix and bad:
        hooks.install(repo)


TEMP_WORKTREE_PREFIX = "gitpar-test-"  # store.merge.apply.add_temp_worktree's folders


def _temp_worktrees(repo: Repo, out: Diagnosis) -> None:
    """Temporary worktrees of integrate's gates (``<tmp>/gitpar-test-*/tree``) still there:
    a run removes its own when it ends, so these are left by a run that was killed."""
    for wt in repo.worktrees()[1:]:
        if wt.branch is None and wt.path.name == "tree" and wt.path.parent.name.startswith(TEMP_WORKTREE_PREFIX) \
                and wt.path.is_dir():
            out.findings.append(Finding("temp-worktree", f"{wt.path} is a temporary worktree of an "
                                        "integration run that did not end (killed?)",
                                        f"once no 'gitpar integrate' is running: 'git worktree remove --force "
                                        f"{wt.path}' and delete {wt.path.parent}"))


def _unpushed(repo: Repo, out: Diagnosis) -> None:
    from gitpar.store import worktrees as wt

    remote = repo.state_remote()
    if remote is None:
        return
    out.checked.append("unpushed")
    for name in sorted(repo.stream_worktrees()):
        ahead = wt.unpushed(repo, remote, f"gitpar/{name}")
        if ahead is None:
            out.findings.append(Finding("unpushed", f"gitpar/{name} is not on {remote}: another machine "
                                        "could not take it over", f"'git push -u {remote} gitpar/{name}'"))
        elif ahead:
            out.findings.append(Finding("unpushed", f"gitpar/{name} has {ahead} commits not on {remote}",
                                        f"'git push {remote} gitpar/{name}'"))
