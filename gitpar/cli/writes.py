"""The bodies of the write commands answered before the command line loads (``progress``,
``lock``, ``unlock``):
the full command (``cli/main.py``) and :mod:`gitpar.cli.quick` both call them, so they
cannot say different things. Nothing here imports typer."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

SECTIONS = ("completed", "current", "blocked", "next", "coordination")


def percent(text: str) -> int:
    """``--completion``'s type: a whole number 0..100, else gitpar's usual exit-2 message."""
    from gitpar.core.progress import check_completion

    try:
        return check_completion(int(text))
    except ValueError:
        return check_completion(text)


def progress(*, stream: str | None = None, status: str | None = None, completion: int | None = None,
             done: Sequence[str] = (), current: str | None = None, blocked: Sequence[str] = (),
             next_: Sequence[str] = (), need: Sequence[str] = (), agent: str | None = None,
             clear: Sequence[str] = (), json_: bool = False) -> None:
    """``gitpar progress``: report progress for the stream of this worktree (or ``stream``)."""
    from gitpar.cli import output as o
    from gitpar.cli.session import _repo
    from gitpar.core import (
        stream_progress as streams,  # the job's module: the rest of streams' is not needed
    )
    from gitpar.core.progress import ProgressUpdate, check_status, check_text
    from gitpar.errors import bad

    if status is not None:
        check_status(status)
    for section in clear:
        if section not in SECTIONS:
            raise bad("--clear", "section", f"{section!r} is not a section",
                      "use completed, current, blocked, next or coordination")
    # newlines and other control characters become spaces: text cannot forge a section
    done, blocked, next_, need = ([check_text(t, opt) for t in items] for opt, items in
                                  (("--done", done), ("--blocked", blocked), ("--next", next_), ("--need", need)))
    current = None if current is None else check_text(current, "--current")
    agent = None if agent is None else check_text(agent, "--agent")
    repo = _repo()
    name, by = streams.writer_of(repo, stream)
    update = ProgressUpdate(status=status, completion=completion, done=tuple(done), current=current,
                            blocked=tuple(blocked), next=tuple(next_), need=tuple(need), agent=agent,
                            clear=tuple(clear))
    p = streams.report(repo, name, update, what=f"{update.describe()}\n\nreported for {name}, {by}" if by else None)
    if json_:
        o.emit_json(p.to_dict())
    else:
        o.err(f"{name}: {p.status}, {p.completion}%")


def paths_in(repo: Any, raw: list[str]) -> list[str]:
    """``raw`` (relative to the current folder) as paths of the repository's worktree."""
    import os
    from pathlib import Path

    from gitpar.core.paths import repo_path

    root = repo.here or repo.main_root
    if root is None:
        from gitpar.errors import Refused

        raise Refused("this repository has no worktree to name paths in")
    cwd = Path(os.getcwd())
    return [repo_path(p, cwd, root) for p in raw]


def lock(paths: list[str] | None = None, *, resource: list[str] | None = None, ttl: str | None = None,
         reason: str = "", wait: float = 0.0, stream: str | None = None, agent: str = "",
         chain: bool | None = None) -> None:
    """``gitpar lock``: the command's body (``cli/cmd_enforce.lock`` has its help)."""
    import os
    import time
    from pathlib import Path

    from gitpar.cli import output as o
    from gitpar.cli.session import _repo
    from gitpar.core import chain as chain_
    from gitpar.core import locks
    from gitpar.core import stream_progress as streams  # writer_of's module, not all of streams'
    from gitpar.core.progress import check_text
    from gitpar.errors import Refused, bad

    if resource is not None:
        from gitpar.core.locks.resources import check_resource_name

        for r in resource:
            check_resource_name(r)  # before anything is read: bad input changes nothing
        if paths:
            raise bad(None, "--resource", "paths and --resource in one call",
                      "lock the files and the resources with two 'gitpar lock' calls")
    elif not paths:
        raise bad(None, "PATH", "nothing to lock", "name the paths, or a resource with --resource NAME")
    repo = _repo()
    name, by = streams.writer_of(repo, stream)
    plan = repo.load_plan("base")  # what enforcement trusts; cached, so a lock costs the same at any size
    plan.stream(name)
    seconds = locks.check_ttl(ttl, plan.settings.lock_ttl)
    locks.check_wait(wait)
    reason, agent = check_text(reason, "--reason"), check_text(agent, "--agent")
    if resource is not None:
        _lock_resources(repo, name, resource, seconds, reason, agent, wait)
        return
    paths = paths or []
    root = repo.here or repo.main_root
    if root is None:
        raise Refused("this repository has no worktree to name paths in")
    rel = [locks.check_lock_path(p, Path(os.getcwd()), root) for p in paths]
    locks.check_lockable(plan, name, rel)

    def waiting(holders: list[locks.Lock]) -> None:
        for h in holders:
            o.err(f"waiting: {h.path} is locked by {h.stream} until {h.expires}"
                  + (f" ({h.reason})" if h.reason else ""))

    chained = plan.settings.lock_chain if chain is None else chain
    worktree = repo.stream_worktrees().get(name)
    brought: list[chain_.Brought] = []
    notes: list[str] = []

    def before_taking(taken: list[str]) -> None:
        if not chained or worktree is None or not worktree.exists():
            return
        from gitpar.core.remote import refresh

        refresh(repo)  # the last holder's branch may have been pushed from another clone
        found, said = chain_.plan_chain(repo, name, taken, worktree, time.time(), finished_only=chain is None)
        brought[:], notes[:] = found, said

    result = locks.lock(repo, name, rel, ttl=seconds, reason=reason, agent=agent, wait=wait,
                        worktree=str(worktree or ""), on_wait=waiting, plan=plan,
                        on_note=lambda note: o.err(f"waiting: {note}"), before_taking=before_taking, by=by)
    if brought and worktree is not None:
        chain_.bring_in(worktree, brought)
        chain_.save_record(repo, name, brought)
        for b in brought:
            o.out(b.describe())
    for note in notes:
        o.err(f"note: {note}")
    for path, old in result.took_over:
        o.err(f"took over the stale lock on {path} from {old.stream} (expired {old.expires})")
    o.err(f"{name} holds {', '.join(rel)} for {locks.describe_ttl(seconds)}"
          + (" (renewed)" if result.renewed and not result.taken else ""))


def _lock_resources(repo: Any, name: str, resources: list[str], seconds: float, reason: str, agent: str,
                    wait: float) -> None:
    from gitpar.cli import output as o
    from gitpar.core import locks
    from gitpar.core.locks.resources import lock_resources

    def waiting(holders: list[locks.Lock]) -> None:
        for h in holders:
            o.err(f"waiting: resource {h.path} is held by {h.stream} until {h.expires}"
                  + (f" ({h.reason})" if h.reason else ""))

    worktree = repo.stream_worktrees().get(name)
    result = lock_resources(repo, name, resources, ttl=seconds, reason=reason, agent=agent, wait=wait,
                            worktree=str(worktree or ""), on_wait=waiting,
                            on_note=lambda note: o.err(f"waiting: {note}"))
    for res, old in result.took_over:
        o.err(f"took over the stale hold on resource {res} from {old.stream} (expired {old.expires})")
    o.err(f"{name} holds resource {', '.join(f'{r} (fence {result.fences[r]})' for r in resources)} "
          f"for {locks.describe_ttl(seconds)}" + (" (renewed)" if result.renewed and not result.taken else ""))


def unlock(paths: list[str] | None = None, *, resource: list[str] | None = None, force: bool = False,
           stream: str | None = None) -> None:
    """``gitpar unlock``: the command's body (``cli/cmd_enforce.unlock`` has its help)."""
    from gitpar.cli import output as o
    from gitpar.cli.session import _repo
    from gitpar.core import locks
    from gitpar.core import stream_progress as streams  # writer_of's module, not all of streams'
    from gitpar.errors import bad
    from gitpar.store.repo import signature

    if resource is not None:
        from gitpar.core.locks.resources import check_resource_name

        for r in resource:
            check_resource_name(r)
        if paths:
            raise bad(None, "--resource", "paths and --resource in one call", "release them with two calls")
    elif not paths:
        raise bad(None, "PATH", "nothing to release", "name the paths, or a resource with --resource NAME")
    repo = _repo()
    if stream is None and repo.current_stream() is None and force:
        name, by = "orchestrator", ""
    else:
        name, by = streams.writer_of(repo, stream)
    if resource is not None:
        from gitpar.core.locks.resources import unlock_resources

        sig = signature(repo.git)
        freed = unlock_resources(repo, name, resource, force=force, who=f"{sig.name} <{sig.email}>")
        if not freed:
            o.err("nothing to release")
        for res, held in freed:
            o.err(f"released resource {res}" + (f" (was held by {held.stream})" if held.stream != name else ""))
        return
    paths = paths or []
    rel = paths_in(repo, paths)
    sig = signature(repo.git)
    released = locks.unlock(repo, name, rel, force=force, who=f"{sig.name} <{sig.email}>", by=by)
    if not released:
        o.err("nothing to release")
    for path, held in released:
        o.err(f"released {path}" + (f" (was held by {held.stream})" if held.stream != name else ""))
