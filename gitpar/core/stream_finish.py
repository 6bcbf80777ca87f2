"""Finishing and removing a stream: its branch judged as pre-push and CI judge it, its locks released."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitpar.core import plan as planmod
from gitpar.core.progress import (
    Progress,
    ProgressUpdate,
    apply_update,
    now_iso,
    progress_path,
    render_progress,
)
from gitpar.core.remote import remote_base
from gitpar.core.repo import Repo
from gitpar.core.stream_progress import fence, read_progress, report
from gitpar.errors import GitparError, Refused, bad
from gitpar.plugins import manager
from gitpar.store import worktrees as wt
from gitpar.store.commits import commits_between
from gitpar.store.merge import is_ancestor
from gitpar.store.merge.apply import finish_moves
from gitpar.store.repo import STATE_BRANCH
from gitpar.store.state import Snapshot, StateStore, push_branch

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.rules import Violation


def violations_on_branch(repo: Repo, name: str, base: str | None = None, *,
                         status: dict[str, str] | None = None) -> list[Violation]:
    """What on ``gitpar/<name>`` breaks the ownership and lock rules: the check pre-push and CI
    run (``gitpar check --range BASE..gitpar/NAME``), commit by commit. [] without a branch.
    ``status``: the streams' claim statuses, when the caller has read them already."""
    from gitpar.core.check import check_range

    if repo.tip(f"gitpar/{name}") is None:
        return []
    base = base or repo.configured_base()
    if repo.tip(base) is None:
        return []
    found = check_range(repo, base, f"gitpar/{name}", stream=name, status=status).violations
    return _own_violations(repo, name, found) if found else []


def _own_violations(repo: Repo, name: str, found: list[Violation]) -> list[Violation]:
    """``found`` without the commits of other streams that this branch merged in (by merging
    the integration branch or another stream's branch): those are their work, not this one's."""
    plan = repo.load_plan()
    others = [f"gitpar/{n}" for n in plan.streams if n != name]
    others.append(plan.settings.integration_branch)
    tips = [t for t in (repo.tip(f"refs/heads/{b}") for b in others) if t is not None]
    theirs: dict[str, bool] = {}
    kept = []
    for v in found:
        if v.commit is not None and v.commit not in theirs:
            oid = repo.resolve(v.commit)
            theirs[v.commit] = any(is_ancestor(repo, oid, t) for t in tips)
        if v.commit is None or not theirs[v.commit]:
            kept.append(v)
    return kept


def describe_violations(name: str, found: Sequence[Violation], limit: int = 10) -> str:
    """One line per violation (path, what is wrong, the fix), for a refusal's message."""
    lines = [f"gitpar/{name} breaks the plan's ownership rules ({len(found)} "
             f"violation{'s' if len(found) != 1 else ''}, as pre-push and CI see them):"]
    for v in found[:limit]:
        lines.append(f"  - {v.path}: {v.message}" + (f" (commit {v.commit})" if v.commit else "")
                     + (f"; fix: {v.fix}" if v.fix else ""))
    if len(found) > limit:
        lines.append(f"  ... and {len(found) - limit} more (gitpar check --range "
                     f"BASE..gitpar/{name} lists them all)")
    return "\n".join(lines)


def finish(repo: Repo, name: str, *, force: bool = False) -> Progress:
    """Mark the stream completed.

    Refused while its worktree has uncommitted changes, and while its branch breaks the
    ownership rules (the same check as pre-push and CI); ``force`` overrides both, and a
    forced finish over violations says so in the state commit's message. The checks are
    :func:`finish_checks`, the state commit :func:`record_finish`.
    """
    return record_finish(repo, finish_checks(repo, name, force=force))


@dataclass(frozen=True)
class FinishChecked:
    """A finish whose checks passed (:func:`finish_checks`): what recording it commits."""

    stream: str
    tip: str | None  # gitpar/<stream> when checked: recorded as the stream's landed work
    base_tip: str | None
    what: str  # the state commit's words for it


def finish_checks(repo: Repo, name: str, *, force: bool = False, worktree: Path | None = None,
                  status: dict[str, str] | None = None) -> FinishChecked:
    """Everything :func:`finish` checks, and the push of a ``remote:`` plan, without writing
    the state: refused (Refused, exit 1) while the worktree (``worktree`` when the caller
    knows it) has uncommitted changes or the branch breaks the ownership rules, unless
    ``force``. ``gitpar run --finish`` releases a stream's dependents once this passes and
    records the finish off its loop (:func:`record_finishes`). ``status``: the streams' claim
    statuses on the state branch as it is, when the caller keeps them (the ownership check's)."""
    plan = repo.load_plan("base")
    plan.stream(name)
    finish_moves(repo, f"gitpar/{name}")  # a sync killed half-way: its staged revert is no work
    path = worktree if worktree is not None else repo.stream_worktrees().get(name)
    scan = None
    if path is not None and not force:
        from concurrent.futures import ThreadPoolExecutor

        from gitpar.store.worktrees import dirty_files

        # git's status scan runs while the branch is judged: a finish costs the longer of
        # the two, not their sum (the runner's dependents wait for it)
        scan = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitpar-dirty")
        dirty_scan = scan.submit(dirty_files, path)
    try:
        found = violations_on_branch(repo, name, plan.settings.base, status=status)
    finally:
        if scan is not None:
            scan.shutdown(wait=True)
    if scan is not None:
        dirty = dirty_scan.result()
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            raise Refused(f"stream {name!r} has uncommitted changes in {path}: {shown}; "
                          "commit or discard them first (or --force)")
    if found and not force:
        raise Refused(describe_violations(name, found) + "\n  fix: take those changes out of "
                      f"gitpar/{name} (revert them, or rewrite the commits), or change the plan "
                      "on the base branch; 'gitpar finish --force' finishes anyway (recorded)")

    pushed = push_finished(repo, name)
    tip = repo.tip(f"refs/heads/gitpar/{name}")
    base_ref = remote_base(repo)
    base_tip = repo.tip(base_ref) or repo.tip(f"refs/remotes/{base_ref}")
    what = "completed, its locks released" + (f"; pushed gitpar/{name} to {pushed}" if pushed else "")
    if found:
        paths = sorted({v.path for v in found})
        what += (f"; forced (--force) over {len(found)} ownership violation"
                 f"{'s' if len(found) != 1 else ''}: {', '.join(paths[:10])}"
                 + (" ..." if len(paths) > 10 else ""))
    return FinishChecked(name, str(tip) if tip is not None else None,
                         str(base_tip) if base_tip is not None else None, what)


def _finish_changes(snap: Snapshot, checked: FinishChecked) -> dict[str, str | None]:
    """The state changes besides the progress file: its locks released, its tip landed."""
    from gitpar.core.landed import landed_changes
    from gitpar.core.locks import release_changes

    changes = release_changes(snap, checked.stream)
    if checked.tip is not None:  # its commits stay its work wherever they land
        changes.update(landed_changes(snap, checked.stream, checked.tip, checked.base_tip))
    return changes


def record_finish(repo: Repo, checked: FinishChecked) -> Progress:
    """Record one checked finish: the stream completed, its locks released (one CAS commit)."""
    progress = report(repo, checked.stream, ProgressUpdate(status="completed", completion=100),
                      what=checked.what, also=lambda snap: _finish_changes(snap, checked))
    from gitpar.core.locks.acquire import forget_stream_fences

    forget_stream_fences(repo, checked.stream)  # its holds are released: its workers claim none of them

    manager.emit("stream.finished", repo=repo, stream=checked.stream)
    return progress


def record_finishes(repo: Repo, checked: Sequence[FinishChecked]) -> dict[str, Progress | GitparError]:
    """Record several checked finishes in one CAS commit (what ``gitpar run --finish``'s
    writer batches). Each stream's record is what :func:`record_finish` writes, with the
    same refusals (a stream no longer in the base plan, a claim taken over elsewhere): a
    refused stream is left out of the commit and its error returned in its place, the
    others are committed. An error of the commit itself (no state branch, a remote that
    refuses) is every stream's. Stream -> its new progress, or the error."""
    if len(checked) == 1:
        try:
            return {checked[0].stream: record_finish(repo, checked[0])}
        except GitparError as exc:
            return {checked[0].stream: exc}
    out: dict[str, Progress | GitparError] = {}
    todo: list[FinishChecked] = []
    plan = repo.load_plan("base")
    for c in checked:
        try:
            plan.stream(c.stream)
        except GitparError as exc:
            out[c.stream] = exc
            continue
        todo.append(c)
    store = StateStore(repo)
    if todo and not store.exists():
        return {**out, **{c.stream: Refused(f"no state branch {STATE_BRANCH}; run 'gitpar init' first")
                          for c in todo}}
    fences = {c.stream: fence(repo, c.stream) for c in todo}
    update = ProgressUpdate(status="completed", completion=100)
    refused: dict[str, GitparError] = {}

    def change(snap: Snapshot) -> tuple[dict[str, str | None], str] | None:
        refused.clear()  # computed again from each snapshot (a lost race calls it again)
        changes: dict[str, str | None] = {}
        lines: list[str] = []
        when = now_iso()
        for c in todo:
            current = read_progress(repo, c.stream, snap) or Progress(stream=c.stream)
            refusal = fences[c.stream](current)
            if refusal:
                refused[c.stream] = Refused(refusal)
                continue
            changes[progress_path(c.stream)] = render_progress(apply_update(current, update, when))
            changes.update(_finish_changes(snap, c))
            lines.append(f"progress {c.stream}: {c.what}")
        if not lines:
            return None
        if len(lines) == 1:
            return changes, lines[0]
        names = [line.split(":", 1)[0][len("progress "):] for line in lines]
        return changes, (f"progress {', '.join(names)}: completed ({len(lines)} finishes), their locks "
                         "released\n\n" + "\n".join(lines))

    if todo:
        try:
            snap = store.update(change)
        except GitparError as exc:
            return {**out, **{c.stream: exc for c in todo}}
        from gitpar.plugins import manager

        for c in todo:
            if c.stream in refused:
                out[c.stream] = refused[c.stream]
                continue
            progress = read_progress(repo, c.stream, snap)
            assert progress is not None
            out[c.stream] = progress
            from gitpar.core.locks.acquire import forget_stream_fences

            forget_stream_fences(repo, c.stream)  # as record_finish: its holds are released
            manager.emit("stream.finished", repo=repo, stream=c.stream)
    return out


def push_finished(repo: Repo, name: str) -> str | None:
    """In a ``remote:`` plan, push ``gitpar/<name>`` before it is recorded completed, so that
    nothing completed exists only in this clone; the remote's name when pushed (None: no
    remote, or no local branch). Refused (exit 1) naming the unpushed commits and the command
    when the remote (or the pre-push hook) refuses the push."""
    remote = StateStore(repo).remote
    branch = f"gitpar/{name}"
    tip = repo.tip(f"refs/heads/{branch}")
    if remote is None or tip is None:
        return None
    there = repo.tip(f"refs/remotes/{remote}/{branch}")
    if there == tip:
        return remote
    ok, why = push_branch(repo, remote, branch)
    if ok:
        return remote
    unpushed = commits_between(repo, tip, [there] if there is not None else [repo.tip(repo.configured_base())])
    shown = "; ".join(f"{str(c.id)[:10]} {(c.message or '').splitlines()[0] if c.message else ''}"
                      for c in unpushed[:5]) + (" ..." if len(unpushed) > 5 else "")
    raise Refused(f"stream {name!r} is not completed: {remote} refused the push of {branch}, which has "
                  f"{len(unpushed)} commit{'s' if len(unpushed) != 1 else ''} not on {remote} ({shown}): "
                  f"{why.strip() or 'git gave no reason'}\n  fix: push them ('git push {remote} {branch}'), "
                  f"then 'gitpar finish {name}' again")


@dataclass
class Removal:
    stream: str
    worktree: Path | None
    problems: list[str]
    removed: bool
    refused: bool = False
    notes: list[str] = field(default_factory=list)


def remove(repo: Repo, name: str, *, force: bool = False, dry_run: bool = False) -> Removal:
    """Remove the stream's worktree, keeping the branch; refused when work would be lost."""
    planmod.check_name(name)
    if not dry_run:
        finish_moves(repo, f"gitpar/{name}")  # a sync killed half-way: its staged revert is no work
    path = repo.stream_worktrees().get(name)
    if path is None:
        raise bad(None, "NAME", f"stream {name!r} has no worktree to remove",
                  "'gitpar status' lists the streams and their worktrees")
    if repo.main_root is not None and path == repo.main_root:
        raise Refused(f"gitpar/{name} is checked out in the main worktree; switch it to another branch instead")

    problems: list[str] = []
    if path.is_dir() and not (path / ".git").exists():
        # its .git is gone (a removal by hand, or an older gitpar's stopped half way): git can
        # no longer say what in it is uncommitted
        problems.append(f"{path} is no longer a git worktree (it has no .git), so what is left "
                        "in it cannot be checked for uncommitted files")
        dirty: list[str] = []
    else:
        dirty = wt.dirty_files(path) if path.is_dir() else []
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        problems.append(f"uncommitted or untracked files: {shown}")
    ignored = wt.ignored_files(path, repo.main_root) if (path / ".git").exists() else []
    if ignored:
        shown = ", ".join(ignored[:5]) + (" ..." if len(ignored) > 5 else "")
        problems.append(f"ignored files git keeps no copy of: {shown} (move them out first, "
                        "or --force deletes them)")
    # the branch is kept, but a branch holding the only copy of commits is one 'git branch -D'
    # away from losing them: removing its worktree waits until the work is merged somewhere
    unique = wt.commits_on_no_other_branch(repo, f"gitpar/{name}")
    if unique:
        shown = "; ".join(unique[:3]) + (" ..." if len(unique) > 3 else "")
        problems.append(f"{len(unique)} commits on gitpar/{name} are on no other branch ({shown}); "
                        "integrate them first")
    notes: list[str] = []
    refused = bool(problems) and not force
    if dry_run:
        return Removal(stream=name, worktree=path, problems=problems, removed=False,
                       refused=refused, notes=notes)
    if refused:
        raise Refused(f"not removing {path}: {'; '.join(problems)}. --force removes the worktree "
                      "anyway (the branch is kept; uncommitted files are deleted); --dry-run shows what it would do")
    wt.remove_worktree(repo, path)
    return Removal(stream=name, worktree=path, problems=problems, removed=True, notes=notes)
