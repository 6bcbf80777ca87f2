"""A stream's progress on the state branch: read it, report it, and whose write it is."""

from __future__ import annotations

from collections.abc import Callable

from gitpar.core import plan as planmod
from gitpar.core.progress import (
    Progress,
    ProgressUpdate,
    apply_update,
    now_iso,
    parse_progress,
    progress_path,
    render_progress,
)
from gitpar.core.repo import Repo
from gitpar.errors import Refused, bad
from gitpar.store.repo import STATE_BRANCH
from gitpar.store.state import Snapshot, StateStore


def read_progress(repo: Repo, name: str, snap: Snapshot | None = None) -> Progress | None:
    snap = snap or StateStore(repo).snapshot()
    text = snap.read(progress_path(name))
    return None if text is None else parse_progress(name, text)


def all_progress(snap: Snapshot) -> dict[str, Progress]:
    out = {}
    for path, text in snap.list("progress").items():
        name = path[len("progress/"):-3]
        if path.endswith(".md") and "/" not in name:
            out[name] = parse_progress(name, text)
    return out


def statuses(snap: Snapshot) -> dict[str, str]:
    return {name: p.status for name, p in all_progress(snap).items()}


def stream_of(repo: Repo, stream: str | None) -> str:
    """The stream named, or the one whose worktree we are in; BadInput otherwise."""
    if stream:
        planmod.check_name(stream)
        return stream
    found = repo.current_stream()
    if found is None:
        raise bad(None, "stream", "not inside a stream's worktree (its branch is not gitpar/<name>)",
                  "run this in the stream's worktree, or name the stream with --stream NAME")
    return found


def writer_of(repo: Repo, stream: str | None) -> tuple[str, str]:
    """The stream a state write (lock, unlock, progress, finish) is made for, and who makes
    it: ``""`` when it is the worktree's own stream, else ``"by the orchestrator in <path>"``.

    Identity is the branch, for writes too: in a stream's worktree, ``--stream`` may name
    only that stream (BadInput naming the worktree's stream otherwise). From the main
    worktree (or any that is no stream's) naming a stream is the orchestrator's override,
    recorded as such in the state commit."""
    own = repo.current_stream()
    name = stream_of(repo, stream)
    if own is not None:
        if name != own:
            raise bad(None, "--stream", f"this is stream {own}'s worktree (branch gitpar/{own}): "
                      f"it cannot write as stream {name} (identity is the branch)",
                      f"run it in {name}'s worktree, or from the main worktree as the orchestrator "
                      f"(recorded), or drop --stream to act for {own}")
        return name, ""
    return name, f"by the orchestrator in {repo.here or repo.main_root or repo.gitpar_dir}"


def report(repo: Repo, name: str, update: ProgressUpdate, *, what: str | None = None,
           also: Callable[[Snapshot], dict[str, str | None]] | None = None) -> Progress:
    """Apply ``update`` to the stream's progress file in one CAS commit (with ``also``'s changes).

    The stream must be defined in the plan on the base branch (read from its cache: the
    cost of a progress report must not grow with the number of streams)."""
    repo.load_plan("base").stream(name)
    store = StateStore(repo)
    if not store.exists():
        raise Refused(f"no state branch {STATE_BRANCH}; run 'gitpar init' first")

    fenced = fence(repo, name)

    def change(snap: Snapshot) -> tuple[dict[str, str | None], str]:
        current = read_progress(repo, name, snap) or Progress(stream=name)
        refusal = fenced(current)
        if refusal:
            raise Refused(refusal)
        new = apply_update(current, update, now_iso())
        changes: dict[str, str | None] = {progress_path(name): render_progress(new)}
        if also is not None:
            changes.update(also(snap))
        return changes, f"progress {name}: {what or update.describe()}"

    before = read_progress(repo, name)
    snap = store.update(change)
    progress = read_progress(repo, name, snap)
    assert progress is not None
    if progress.status in ("blocked", "failed") and (before is None or before.status != progress.status):
        from gitpar.plugins import manager

        if progress.status == "blocked":
            manager.emit("stream.blocked", repo=repo, stream=name, blocked=list(progress.blocked))
        else:
            manager.emit("stream.failed", repo=repo, stream=name,
                        reason=progress.blocked[-1] if progress.blocked else "")
    return progress


def fence(repo: Repo, name: str) -> Callable[[Progress], str | None]:
    """The check of a progress report made from ``name``'s own worktree: refused when that
    worktree holds a claim the stream's progress no longer has (taken over elsewhere). Read
    from the worktree we run in: the cost of a report does not grow with the streams."""
    from gitpar.core.claim import worktree_claim

    mine = worktree_claim(str(repo.here_gitdir)) if repo.current_stream() == name else None

    def check(current: Progress) -> str | None:
        from gitpar.core.claim import superseded

        claim, taken = current.extra.get("claim"), current.extra.get("taken_over")
        return superseded(name, mine, str(claim) if claim else None, str(taken) if taken else None)

    return check
