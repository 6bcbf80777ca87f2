"""Defining streams: ``init``, ``stream add``, ``stream rm`` (the plan files of the main worktree)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gitpar.core import plan as planmod
from gitpar.core.durations import parse_duration
from gitpar.core.overlap import find_overlaps, overlap_error
from gitpar.core.ownership import pattern_matches_nothing
from gitpar.core.plan import Plan, Stream
from gitpar.core.repo import Repo
from gitpar.core.stream_progress import read_progress
from gitpar.errors import Refused, bad
from gitpar.store.repo import STATE_BRANCH, require_main_root
from gitpar.store.state import README_TEXT, StateStore


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
