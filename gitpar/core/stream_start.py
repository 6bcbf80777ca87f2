"""Starting a stream: its branch and worktree, its claim, its setup, and its brief."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitpar.core.plan import Plan
from gitpar.core.progress import (
    Progress,
    ProgressUpdate,
    now_iso,
    progress_path,
    render_progress,
)
from gitpar.core.repo import Repo
from gitpar.core.stream_plan import check_overlaps
from gitpar.core.stream_progress import all_progress, read_progress, report, statuses
from gitpar.errors import Refused
from gitpar.plugins import manager as plugins
from gitpar.store import worktrees as wt
from gitpar.store.merge import is_ancestor
from gitpar.store.quickgit import worktree_git_dir
from gitpar.store.repo import STATE_BRANCH, require_main_root
from gitpar.store.state import Snapshot, StateStore


def worktree_path(repo: Repo, plan: Plan, name: str) -> Path:
    root = require_main_root(repo)
    template = plan.settings.worktrees
    rel = template.replace("{repo}", repo.name).replace("{stream}", name)
    return (root / rel).resolve() if not os.path.isabs(rel) else Path(rel)


@dataclass
class Started:
    stream: str
    branch: str
    worktree: Path
    port: int
    copied: list[str] = field(default_factory=list)
    setup_log: Path | None = None
    setup_failed: str | None = None
    reused: bool = False
    notes: list[str] = field(default_factory=list)  # what plugins did to the worktree


def open_dependencies(plan: Plan, name: str, status: dict[str, str]) -> list[str]:
    return [d for d in plan.streams[name].depends_on if status.get(d) != "completed"]


def start(repo: Repo, name: str, *, force: bool = False, agent: str | None = None,
          take_over: bool = False) -> Started:
    """Branch ``gitpar/<name>`` from the base tip, its worktree, port, setup and progress file.

    A stream is claimed by one worker: one in progress in another clone (its progress
    records the host and worktree) is refused unless ``take_over``, which continues it from
    the remote's ``gitpar/<name>``. Where only the remote has ``gitpar/<name>``, the new
    local branch starts from it, never afresh from the base.
    """
    from gitpar.core.remote import refresh, remote_base

    plan = repo.load_plan()
    stream = plan.stream(name)
    refresh(repo)  # another clone's claim, a dependency completed elsewhere, the remote's base
    base_plan = repo.load_plan_at_base(plan.settings.base)
    if base_plan is not None:
        check_overlaps(repo, base_plan)
    if base_plan is None or name not in base_plan.streams:
        raise Refused(f"stream {name!r} is not committed on the base branch {plan.settings.base!r}; "
                      f"commit {stream.file} first (hooks read the plan from the base branch)")
    store = StateStore(repo)
    if not store.exists():
        raise Refused(f"no state branch {STATE_BRANCH}; run 'gitpar init' first")
    snap = store.snapshot()
    status = statuses(snap)
    waiting = open_dependencies(plan, name, status)
    if waiting and not force:
        described = ", ".join(f"{d} ({status.get(d, 'pending')})" for d in waiting)
        raise Refused(f"stream {name!r} depends on {described}, not completed yet; "
                      "finish those first, or start anyway with --force")
    existing = read_progress(repo, name, snap)
    if existing is not None and existing.status == "completed" and not force:
        raise Refused(f"stream {name!r} is already completed (use --force to start it again)")
    remote = store.remote
    remote_branch = f"refs/remotes/{remote}/gitpar/{name}" if remote else None
    elsewhere = claimed_elsewhere(repo, existing)
    if elsewhere and not take_over:
        raise Refused(f"stream {name!r} is {existing.status if existing else ''} {elsewhere}; one worker "
                      "at a time: ask there, or continue it here with 'gitpar start "
                      f"{name} --take-over' (from {remote or 'the remote'}'s gitpar/{name})")

    from_tip = None
    if remote_branch is not None and repo.tip(f"refs/heads/gitpar/{name}") is None:
        from_tip = repo.tip(remote_branch)
    took_from = ""  # why the old worker may be replaced, said in the state commit
    if take_over and elsewhere and existing is not None:
        from gitpar.core import clock
        from gitpar.core.claim import take_over_reason

        took_from = take_over_reason(name, existing.extra, existing.updated, heartbeat=plan.settings.lock_heartbeat,
                                     now=clock.real_now(), force=force) or "taken over with --take-over"
    if take_over and elsewhere and from_tip is None and repo.tip(f"refs/heads/gitpar/{name}") is None:
        raise Refused(f"gitpar/{name} is not on {remote or 'any remote'}, so its work cannot be taken "
                      f"over from here; push it there from {elsewhere.removeprefix('in progress ')} first "
                      f"('git push {remote or 'origin'} gitpar/{name}')")
    start_commit = wt.create_branch(repo, name, _start_base(repo, plan.settings.base, remote_base(repo)),
                                    from_tip=from_tip)
    worktrees = repo.stream_worktrees()
    reused = name in worktrees and worktrees[name].exists()
    if name in worktrees and not reused:  # its folder was deleted: drop the stale entry
        wt.prune_worktrees(repo)
    path = worktrees[name] if reused else worktree_path(repo, plan, name)
    if not reused:
        wt.add_worktree(repo, name, path)
    copied = copy_files(require_main_root(repo), path, plan.settings.copy)

    from gitpar.core.claim import holder_fields, new_claim, record_worktree_claim

    claim = new_claim()  # this worktree's claim: a take-over elsewhere fences it off

    def write(snap: Snapshot) -> tuple[dict[str, str | None], str]:
        ports: dict[int, str] = {}
        for other in all_progress(snap).values():
            port = other.extra.get("port")
            if isinstance(port, int):
                ports[port] = other.stream
        current = read_progress(repo, name, snap) or Progress(stream=name)
        raced = "" if take_over else claimed_elsewhere(repo, current)
        if raced:  # another clone's start won the race since we read the state
            raise Refused(f"stream {name!r} was just started {raced}; one worker at a time: ask "
                          f"there, or continue it here with 'gitpar start {name} --take-over'")
        port = current.extra.get("port")
        if not isinstance(port, int) or ports.get(port, name) != name:
            port = plan.settings.port_base
            while port in ports:
                port += 1
        now = now_iso()
        extra = dict(current.extra, port=port, worktree=str(path), host=socket.gethostname(), claim=claim)
        extra.pop("holder_pid", None)
        extra.pop("holder_started", None)
        extra.update(holder_fields())  # the process claiming the stream, when GITPAR_HOLDER_PID names one
        took = ""
        if take_over and elsewhere:
            extra["taken_over"] = f"{socket.gethostname()} in {path} at {now}"
            took = (f"\n\ntook over stream {name} {elsewhere} (claim {current.extra.get('claim') or 'none'}): "
                    f"{took_from}; that worker is fenced off")
        extra.setdefault("base_commit", str(start_commit))
        new = replace(current, status="in_progress", agent=agent or current.agent or stream.agent,
                      started=current.started or now, updated=now, extra=extra)
        return ({progress_path(name): render_progress(new)},
                f"start {name}: branch gitpar/{name}, worktree {path}, port {port}{took}")

    snap = store.update(write)
    record_worktree_claim(worktree_git_dir(str(path)), claim)
    progress = read_progress(repo, name, snap)
    assert progress is not None
    port = int(progress.extra["port"])
    result = Started(stream=name, branch=f"gitpar/{name}", worktree=path, port=port,
                     copied=copied, reused=reused)

    result.notes = plugins.prepare_worktree(repo, plan, name, path, port, brief(repo, name))
    plugins.emit("stream.started", repo=repo, stream=name, worktree=str(path), port=port,
                 branch=f"gitpar/{name}")
    if plan.settings.setup:
        log, failed = run_setup(repo, name, path, port, plan.settings.setup)
        result.setup_log, result.setup_failed = log, failed
        if failed:
            report(repo, name, ProgressUpdate(status="failed",
                                              blocked=(f"setup failed: {failed} (log: {log})",)),
                   what=f"setup failed: {failed}")
    return result


def _start_base(repo: Repo, base: str, remote_base: str) -> str:
    """Where a new stream branches from: the remote's base (``origin/main``) when it is at
    or ahead of the local one (work landed from another clone), else the local base."""
    if remote_base == base:
        return base
    local, there = repo.tip(base), repo.tip(f"refs/remotes/{remote_base}")
    if there is None or (local is not None and not is_ancestor(repo, local, there)):
        return base
    return f"refs/remotes/{remote_base}"


def claimed_elsewhere(repo: Repo, progress: Progress | None) -> str:
    """Where ``progress`` says its stream is being worked on, when that is not this clone
    ('' when it is here, or not in progress)."""
    if progress is None or progress.status not in ("in_progress", "blocked"):
        return ""
    host = str(progress.extra.get("host") or "")
    worktree = str(progress.extra.get("worktree") or "")
    here = {os.path.realpath(p) for p in repo.stream_worktrees().values()}
    if (not host or host == socket.gethostname()) and (
            not worktree or os.path.realpath(worktree) in here or not os.path.exists(worktree)):
        return ""  # here, or here and its worktree is gone (start recreates it)
    if not worktree and not host:
        return ""
    return f"in progress on {host or 'another machine'} in {worktree or 'another clone'}"


def copy_files(src_root: Path, dst_root: Path, paths: Sequence[str]) -> list[str]:
    """Copy the configured untracked files (``.env`` ...) into the new worktree, when present."""
    copied = []
    for rel in paths:
        src = src_root / rel
        dst = dst_root / rel
        if not src.exists() or dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy2(src, dst)
        copied.append(rel)
    return copied


def run_setup(repo: Repo, name: str, worktree: Path, port: int,
              commands: Sequence[str]) -> tuple[Path, str | None]:
    """Run the setup commands in the worktree, output kept in a log; the first failure, if any."""
    log = repo.gitpar_dir / "logs" / name / "setup.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    from gitpar.core import spawn

    env = spawn.command_env(name, worktree, port=port)
    with log.open("w", encoding="utf-8") as out:
        for command in commands:
            out.write(f"$ {command}\n")
            code = spawn.run_logged(command, worktree, env, out)
            if code != 0:
                out.write(f"[exit {code}]\n")
                return log, f"{command!r} exited {code}"
    return log, None


def brief(repo: Repo, name: str) -> dict[str, Any]:
    """What a worker needs: the brief, the rules, and the commands to report."""
    plan = repo.load_plan()
    stream = plan.stream(name)
    progress = read_progress(repo, name) if StateStore(repo).exists() else None
    path = repo.stream_worktrees().get(name)
    port = progress.extra.get("port") if progress else None
    q = shlex.quote
    return {
        "stream": name,
        "description": stream.description,
        "brief": stream.brief,
        "owns": list(stream.owns),
        "shares": list(stream.shares),
        "depends_on": list(stream.depends_on),
        "agent": stream.agent,
        "estimate_s": stream.estimate,
        "branch": f"gitpar/{name}",
        "worktree": str(path) if path else None,
        "port": port,
        "base": plan.settings.base,
        "status": progress.status if progress else "pending",
        "commands": {
            "progress": f"gitpar progress --completion 40 --done {q('what you finished')} "
                        f"--current {q('what you are doing')} --next {q('what comes next')}",
            "blocked": f"gitpar progress --blocked {q('what stops you')}",
            "need": f"gitpar progress --need {q('what you need from another stream')}",
            "lock": "gitpar lock PATH --reason 'why'   (then: gitpar unlock PATH)",
            "finish": "gitpar finish",
        },
    }
