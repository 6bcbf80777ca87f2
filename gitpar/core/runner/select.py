"""Preparing a run: which streams, in which order, on which worktrees — decided and checked
before anything runs (``--dry-run`` prints it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitpar.core import schedule as sch
from gitpar.core.analysis import _num
from gitpar.core.history import Estimate, estimates, read_history
from gitpar.core.plan import Plan, topological_order
from gitpar.core.repo import Repo
from gitpar.core.runner.joblog import read_joblog
from gitpar.core.runner.options import (
    RunOptions,
    check_command_exists,
    check_placeholders,
    substitute,
)
from gitpar.core.schedule import Schedule
from gitpar.core.stream_progress import all_progress
from gitpar.core.stream_start import worktree_path
from gitpar.errors import Refused, bad
from gitpar.store.state import StateStore


@dataclass
class RunPlan:
    """Everything decided before anything runs."""

    options: RunOptions
    plan: Plan
    order: list[str]  # the streams that will run, dependencies first
    deps: dict[str, tuple[str, ...]]  # dependencies within this run
    estimates: dict[str, Estimate]
    rank: dict[str, float]  # remaining path length (bottom level)
    planned: Schedule  # the plan's schedule for these streams: the run starts them in its order
    worktrees: dict[str, Path]  # existing ones
    ports: dict[str, int]
    needs_start: list[str]
    new_worktrees: dict[str, Path]  # where the streams still to start will get theirs
    resumed: dict[str, int]  # stream -> exit value in the joblog (not run again)
    status: dict[str, str]
    state_branch: bool
    log_root: Path

    def to_dict(self) -> dict[str, Any]:
        """The dry-run's JSON shape."""
        rows = []
        for name in sorted(self.order, key=lambda n: (self.planned.slots[n].start, -self.rank[n], n)):
            slot = self.planned.slots[name]
            rows.append({
                "stream": name, "start_s": _num(slot.start), "finish_s": _num(slot.finish),
                "slot": slot.worker + 1, "estimate_s": _num(self.estimates[name].seconds),
                "estimate_source": self.estimates[name].source,
                "remaining_path_s": _num(self.rank[name]), "after": list(self.deps[name]),
                "starts_stream": name in self.needs_start,
                "worktree": str(self.worktrees[name]) if name in self.worktrees else None,
                "command": self.argv(name, self.worktrees.get(name) or self.new_worktrees.get(name),
                                     self.ports.get(name)),
            })
        return {"version": 1, "jobs": self.options.jobs, "makespan_s": _num(self.planned.makespan),
                "command": list(self.options.command), "runs": rows,
                "resumed": [{"stream": n, "exit": e} for n, e in self.resumed.items()]}

    def argv(self, name: str, worktree: Path | None, port: int | None) -> list[str]:
        """The command for ``name`` with its placeholders filled in."""
        values = {"stream": name, "brief": self.plan.streams[name].brief,
                  "worktree": str(worktree) if worktree else f"<worktree of {name}>",
                  "port": str(port) if port is not None else "<port>"}
        return [substitute(a, values) for a in self.options.command]


def prepare(repo: Repo, options: RunOptions) -> RunPlan:
    """Check the options, the plan and the state, and decide what runs in which order.

    Raises BadInput (exit 2) or Refused (exit 1) before anything runs.
    """
    if options.jobs < 1:
        raise bad(None, "-j", f"{options.jobs} is not a number of parallel jobs",
                  "give a whole number of at least 1, e.g. -j 4")
    if options.retries < 0:
        raise bad(None, "--retries", f"{options.retries} is negative", "give 0 or more")
    check_placeholders(options.command)
    if options.resume and options.joblog is None:
        raise bad(None, "--resume", "resuming needs the joblog of the earlier run",
                  "add --joblog FILE (the same file as the run to resume)")
    plan = repo.load_plan()  # validated: unknown dependencies and cycles are BadInput here
    store = StateStore(repo)
    exists = store.exists()
    snap = store.snapshot()
    progress = all_progress(snap) if exists else {}
    history = read_history(snap) if exists else {}
    status = {n: (progress[n].status if n in progress else "pending") for n in plan.streams}
    selected = _select(plan, options, status)
    if not selected:
        raise Refused("no stream to run: " + ("every stream is completed" if options.select == "all"
                      else "no stream is ready (pending or in progress with its dependencies "
                           "completed)"))
    chosen = set(selected)
    for name in selected:
        for dep in plan.streams[name].depends_on:
            if dep not in chosen and status[dep] != "completed":
                raise Refused(f"stream {name!r} depends on {dep!r} ({status[dep]}), which is neither "
                              f"completed nor in this run; add it (--streams {dep},{name}) or run --all")
    resumed: dict[str, int] = {}
    if options.resume and options.joblog is not None:
        for name, exitval in read_joblog(options.joblog).items():
            if name in chosen and (options.resume == "all" or exitval == 0):
                resumed[name] = exitval
    order = [n for n in _topological(plan, selected) if n not in resumed]
    worktrees = repo.stream_worktrees()
    needs_start = [n for n in order if n not in worktrees]
    for name in needs_start:
        if status[name] == "completed":
            raise Refused(f"stream {name!r} is completed and has no worktree to run in; "
                          "leave it out of --streams")
    if needs_start:
        if not exists:
            raise Refused("streams " + ", ".join(needs_start) + " have no worktree yet and "
                          "starting them needs the state branch; run 'gitpar init' first")
        base_plan = repo.load_plan_at_base(plan.settings.base)
        missing = [n for n in needs_start if base_plan is None or n not in base_plan.streams]
        if missing:
            raise Refused(f"streams {', '.join(missing)} are not committed on the base branch "
                          f"{plan.settings.base!r}; commit .gitpar/ first (a stream starts from "
                          "the plan on its base branch)")
    check_command_exists(options.command)
    est = estimates(plan, history, options.command_key)
    runs = set(order)
    deps = {n: tuple(d for d in plan.streams[n].depends_on if d in runs or d in resumed)
            for n in order}
    tasks = [sch.Task(n, est[n].seconds, tuple(d for d in deps[n] if d in runs),
                      plan.streams[n].priority, plan.streams[n].resources) for n in order]
    rank = sch.bottom_levels(tasks)
    planned = sch.schedule(tasks, options.jobs)  # the schedule 'gitpar plan' shows
    ports: dict[str, int] = {}
    for name in order:
        port = progress[name].extra.get("port") if name in progress else None
        if isinstance(port, int) and name in worktrees:
            ports[name] = port
    return RunPlan(options=options, plan=plan, order=order, deps=deps, estimates=est, rank=rank,
                   planned=planned, worktrees={n: worktrees[n] for n in order if n in worktrees},
                   ports=ports, needs_start=needs_start,
                   new_worktrees={n: worktree_path(repo, plan, n) for n in needs_start},
                   resumed=resumed, status=status,
                   state_branch=exists, log_root=repo.gitpar_dir / "logs")


def _select(plan: Plan, options: RunOptions, status: Mapping[str, str]) -> list[str]:
    if options.select == "streams":
        names: list[str] = []
        for item in options.streams:
            for name in (n.strip() for n in item.split(",")):
                if name:
                    plan.stream(name)  # BadInput naming the known streams
                    names.append(name)
        if not names:
            raise bad(None, "--streams", "no stream named", "list streams like --streams api,ui")
        return list(dict.fromkeys(names))
    if options.select == "ready":
        return [n for n, s in plan.streams.items() if status[n] != "completed"
                and all(status[d] == "completed" for d in s.depends_on)]
    if options.select != "all":
        raise bad(None, "selection", f"{options.select!r} is not a selection", "use all, ready or streams")
    return [n for n in plan.streams if status[n] != "completed"]


def _topological(plan: Plan, names: Sequence[str]) -> list[str]:
    chosen = set(names)
    return [n for n in topological_order(plan.streams) if n in chosen]
