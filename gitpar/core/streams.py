"""The life of a stream: define, start, report progress, finish, remove."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitpar.core import plan as planmod
from gitpar.core.durations import parse_duration
from gitpar.core.plan import Plan, Stream
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
from gitpar.store.repo import STATE_BRANCH, require_main_root
from gitpar.store.state import README_TEXT, Snapshot, StateStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.rules import Violation

# -- plan editing --------------------------------------------------------------------


def init(repo: Repo, base: str | None = None, remote: str | None = None) -> list[str]:
    """Create ``.gitpar/plan.md``, ``.gitpar/streams/`` and the state branch. Returns what was done.

    With a remote (``remote``, or ``remote:`` in an existing plan.md), a state branch the
    remote already has is adopted (never a second root), and a new one is published there.
    """
    root = require_main_root(repo)
    done: list[str] = []
    plan_file = root / planmod.PLAN_FILE
    if base is None:
        base = repo.current_branch() or "main"
        if base.startswith("gitpar/"):
            base = "main"
    if remote is not None:
        StateStore(repo, remote=remote)  # an unknown remote is BadInput before anything is written
    if plan_file.is_file():
        base = planmod.parse_settings(plan_file.read_text(encoding="utf-8"))[0].base
    # the branch the plan is read from, recorded where no stream's commit can move it
    repo.record_base(base)
    repo.__dict__.pop("_base", None)
    if not plan_file.exists():
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(planmod.render_settings(base, remote), encoding="utf-8")
        done.append(f"wrote {planmod.PLAN_FILE} (base: {base}" + (f", remote: {remote})" if remote else ")"))
    elif remote is not None and repo.state_remote() != remote:
        text = plan_file.read_text(encoding="utf-8")
        line = f"remote: {remote}"
        new, n = re.subn(r"(?m)^remote:[^\n]*$", line, text, count=1)
        if n == 0:
            new = text.replace("---\n", f"---\n{line}\n", 1)
        planmod.parse_settings(new)
        plan_file.write_text(new, encoding="utf-8")
        done.append(f"set remote: {remote} in {planmod.PLAN_FILE}; commit it to {base}")
    repo.__dict__.pop("_remote", None)
    (root / planmod.STREAMS_DIR).mkdir(parents=True, exist_ok=True)
    store = StateStore(repo)
    if store.remote is not None and store.fetch() is not None:
        done.append(f"adopted {store.remote}'s state branch {STATE_BRANCH}")
    elif store.local_tip() is None:
        store.update(lambda snap: ({"README.md": README_TEXT}, "init: create the state branch"))
        done.append(f"created the state branch {STATE_BRANCH}"
                    + (f" and published it to {store.remote}" if store.remote else ""))
    elif store.remote is not None:
        store.update(lambda snap: None)  # publish the local state branch to the new remote
        done.append(f"published the state branch {STATE_BRANCH} to {store.remote}")
    return done


def plan_files(repo: Repo) -> dict[str, str]:
    root = require_main_root(repo)
    files = repo.plan_files_in_dir(root)
    if planmod.PLAN_FILE not in files and not files:
        raise bad(planmod.PLAN_DIR, None, "no plan in this repository", "run 'gitpar init' first")
    return files


def stream_add(repo: Repo, name: str, *, owns: Sequence[str] = (), shares: Sequence[str] = (),
               depends_on: Sequence[str] = (), agent: str = "", priority: int = 0,
               estimate: str | None = None, brief: str = "", description: str = "") -> tuple[Stream, list[str]]:
    """Write ``.gitpar/streams/<name>.md`` after validating it against the whole plan."""
    planmod.check_name(name)
    files = plan_files(repo)
    path = planmod.stream_file(name)
    if path in files:
        raise bad(path, None, f"stream {name!r} already exists",
                  f"edit {path}, or remove it first with 'gitpar stream rm {name}'")
    deps: list[str] = []
    for item in depends_on:
        deps.extend(d.strip() for d in item.split(",") if d.strip())
    est: float | None = None
    if estimate is not None:
        try:
            est = parse_duration(estimate)
        except ValueError as exc:
            raise bad(path, "estimate", str(exc), "write it like --estimate 2h (90s, 45m, 2h, 1d)") from None
    stream = Stream(name=name, description=description, owns=tuple(owns), shares=tuple(shares),
                    depends_on=tuple(dict.fromkeys(deps)), agent=agent, priority=priority,
                    estimate=est, brief=brief)
    text = planmod.render_stream(stream)
    new_files = dict(files)
    new_files[path] = text
    plan = planmod.load_plan(new_files)  # validates the stream and the graph it joins
    for w in plan.warnings:
        repo.warn(w)
    check_overlaps(repo, plan)
    from gitpar.core.ownership import pattern_matches_nothing

    tracked = repo.tracked_files()
    for kind, pattern in planmod.iter_patterns(plan.streams[name]):
        if pattern_matches_nothing(pattern, tracked):
            repo.warn(f"{path}: {kind} pattern {pattern!r} matches no file in the tree yet")
    root = require_main_root(repo)
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return plan.streams[name], plan.warnings


def check_overlaps(repo: Repo, plan: Plan) -> None:
    """BadInput when two streams that may run at once own the same files of the tree."""
    from gitpar.core.overlap import find_overlaps, overlap_error

    overlaps = find_overlaps(plan, repo.tracked_files)
    if overlaps:
        raise overlap_error(overlaps)


def stream_rm(repo: Repo, name: str, *, force: bool = False) -> str:
    """Delete a stream's definition; refused while others depend on it or it has started."""
    planmod.check_name(name)
    plan = repo.load_plan()
    plan.stream(name)
    dependents = plan.dependents(name)
    if dependents and not force:
        raise Refused(f"streams {', '.join(dependents)} depend on {name!r}; remove those "
                      "dependencies first (or --force, which leaves them pointing at nothing)")
    progress = read_progress(repo, name)
    if progress is not None and progress.status not in ("pending", "completed") and not force:
        raise Refused(f"stream {name!r} is {progress.status}; finish or remove it first (or --force)")
    root = require_main_root(repo)
    (root / planmod.stream_file(name)).unlink()
    return planmod.stream_file(name)


# -- reading state -------------------------------------------------------------------


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


def worktree_path(repo: Repo, plan: Plan, name: str) -> Path:
    root = require_main_root(repo)
    template = plan.settings.worktrees
    rel = template.replace("{repo}", repo.name).replace("{stream}", name)
    return (root / rel).resolve() if not os.path.isabs(rel) else Path(rel)


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


# -- start ---------------------------------------------------------------------------


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
    from gitpar.store import worktrees as wt

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
    from gitpar.store.quickgit import worktree_git_dir

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
    from gitpar.plugins import events
    from gitpar.plugins import manager as plugins

    result.notes = plugins.prepare_worktree(repo, plan, name, path, port)
    events.emit("stream.started", repo=repo, stream=name, worktree=str(path), port=port,
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
    from gitpar.store.merge import is_ancestor

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


# -- progress, finish, remove --------------------------------------------------------


def report(repo: Repo, name: str, update: ProgressUpdate, *, what: str | None = None,
           also: Callable[[Snapshot], dict[str, str | None]] | None = None) -> Progress:
    """Apply ``update`` to the stream's progress file in one CAS commit (with ``also``'s changes).

    The stream must be defined in the plan on the base branch (read from its cache: the
    cost of a progress report must not grow with the number of streams)."""
    repo.load_plan("base").stream(name)
    store = StateStore(repo)
    if not store.exists():
        raise Refused(f"no state branch {STATE_BRANCH}; run 'gitpar init' first")

    fenced = _fence(repo, name)

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
        from gitpar.plugins import events

        if progress.status == "blocked":
            events.emit("stream.blocked", repo=repo, stream=name, blocked=list(progress.blocked))
        else:
            events.emit("stream.failed", repo=repo, stream=name,
                        reason=progress.blocked[-1] if progress.blocked else "")
    return progress


def _fence(repo: Repo, name: str) -> Callable[[Progress], str | None]:
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


def branch_violations(repo: Repo, name: str, base: str | None = None) -> list[Violation]:
    """What on ``gitpar/<name>`` breaks the ownership and lock rules: the check pre-push and CI
    run (``gitpar check --range BASE..gitpar/NAME``), commit by commit. [] without a branch."""
    from gitpar.core.check import check_range

    if repo.tip(f"gitpar/{name}") is None:
        return []
    base = base or repo.configured_base()
    if repo.tip(base) is None:
        return []
    found = check_range(repo, base, f"gitpar/{name}", stream=name).violations
    return _own_violations(repo, name, found) if found else []


def _own_violations(repo: Repo, name: str, found: list[Violation]) -> list[Violation]:
    """``found`` without the commits of other streams that this branch merged in (by merging
    the integration branch or another stream's branch): those are their work, not this one's."""
    from gitpar.store.merge import is_ancestor

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


def finish_moves(repo: Repo, branch: str) -> None:
    """Finish a move of ``branch`` that a killed ``sync`` left half-done (the ref moved, the
    worktree not yet updated), as the next command touching the stream does; one whose
    worktree changed since is left for ``sync`` and ``doctor`` to report."""
    from gitpar.store.merge.apply import finish_moves as finish_recorded

    finish_recorded(repo, branch)


def finish(repo: Repo, name: str, *, force: bool = False) -> Progress:
    """Mark the stream completed.

    Refused while its worktree has uncommitted changes, and while its branch breaks the
    ownership rules (the same check as pre-push and CI); ``force`` overrides both, and a
    forced finish over violations says so in the state commit's message.
    """
    plan = repo.load_plan("base")
    plan.stream(name)
    finish_moves(repo, f"gitpar/{name}")  # a sync killed half-way: its staged revert is no work
    path = repo.stream_worktrees().get(name)
    if path is not None and not force:
        from gitpar.store.worktrees import dirty_files

        dirty = dirty_files(path)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            raise Refused(f"stream {name!r} has uncommitted changes in {path}: {shown}; "
                          "commit or discard them first (or --force)")
    found = branch_violations(repo, name, plan.settings.base)
    if found and not force:
        raise Refused(describe_violations(name, found) + "\n  fix: take those changes out of "
                      f"gitpar/{name} (revert them, or rewrite the commits), or change the plan "
                      "on the base branch; 'gitpar finish --force' finishes anyway (recorded)")
    from gitpar.core.landed import landed_changes
    from gitpar.core.locks import release_changes
    from gitpar.core.remote import remote_base

    pushed = push_finished(repo, name)
    tip = repo.tip(f"refs/heads/gitpar/{name}")
    base_ref = remote_base(repo)
    base_tip = repo.tip(base_ref) or repo.tip(f"refs/remotes/{base_ref}")

    def release(snap: Snapshot) -> dict[str, str | None]:
        changes = release_changes(snap, name)
        if tip is not None:  # its commits stay its work wherever they land
            changes.update(landed_changes(snap, name, str(tip), str(base_tip) if base_tip else None))
        return changes

    what = "completed, its locks released" + (f"; pushed gitpar/{name} to {pushed}" if pushed else "")
    if found:
        paths = sorted({v.path for v in found})
        what += (f"; forced (--force) over {len(found)} ownership violation"
                 f"{'s' if len(found) != 1 else ''}: {', '.join(paths[:10])}"
                 + (" ..." if len(paths) > 10 else ""))
    progress = report(repo, name, ProgressUpdate(status="completed", completion=100),
                      what=what, also=release)
    from gitpar.plugins import events

    events.emit("stream.finished", repo=repo, stream=name)
    return progress


def push_finished(repo: Repo, name: str) -> str | None:
    """In a ``remote:`` plan, push ``gitpar/<name>`` before it is recorded completed, so that
    nothing completed exists only in this clone; the remote's name when pushed (None: no
    remote, or no local branch). Refused (exit 1) naming the unpushed commits and the command
    when the remote (or the pre-push hook) refuses the push."""
    from gitpar.store.commits import commits_between
    from gitpar.store.state import push_branch

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
    from gitpar.store import worktrees as wt

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
