"""``gitpar integrate --follow``: the queue kept running, taking streams as they complete.

Every ``interval`` seconds a poll opens the repository afresh, fetches the plan's remote
once (``core.remote.refresh``; nothing without a remote), and picks the completed streams
not yet in the target (:func:`waiting`). When there are any, they go through the same queue
as ``gitpar integrate`` (:func:`~gitpar.core.integrate.run.integrate`, with ``-j``,
``--retries`` and ``--land``), which tells each landing and ejection as it happens.

A stream the queue ejected is not tried again until its branch moves (a fix was committed,
or it was finished again); its dependents wait for it. A Ctrl-C (SIGINT) stops the follower:
in a gate, the queue stops every gate's process group and removes its temporary worktree;
a target that is moving finishes its move (``store.merge.held_interrupts``), so no branch is
left half-moved; in the wait between polls it stops at once. :class:`Followed` is what the
summary says. A queue that cannot go on (the test command is missing, the target already
fails the gate) ends the follower too: each later poll would only say it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.integrate.result import Progress, Step
from gitpar.core.integrate.run import check_jobs, integrate
from gitpar.core.integrate.select import check_target, check_test_command
from gitpar.core.remote import refresh
from gitpar.core.repo import Repo
from gitpar.core.streams import all_progress
from gitpar.errors import RemoteError
from gitpar.store import merge as m
from gitpar.store.state import StateStore


@dataclass
class Followed:
    """What a follower did, for its summary."""

    target: str = ""
    polls: int = 0
    runs: int = 0  # queue runs (polls that found streams to land)
    landed: list[str] = field(default_factory=list)
    ejected: dict[str, str] = field(default_factory=dict)  # stream -> outcome and why
    gate_runs: int = 0
    end: str | None = None  # the target's commit at the end
    interrupted: bool = False
    stopped: str | None = None  # why the queue could not go on
    fetch_errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "target": self.target, "polls": self.polls, "runs": self.runs,
                "landed": self.landed, "ejected": self.ejected, "gate_runs": self.gate_runs,
                "end": self.end, "interrupted": self.interrupted, "stopped": self.stopped,
                "fetch_errors": self.fetch_errors}


def waiting(repo: Repo, target: str, skip: dict[str, str]) -> list[str]:
    """The completed streams not in ``target`` yet that the queue can take now: not ejected
    at their branch's current tip (``skip``: stream -> tip it was ejected at), each
    dependency already in the target or taken too."""
    plan = repo.load_plan()
    prog = all_progress(StateStore(repo).snapshot())
    start = repo.tip(f"refs/heads/{target}") or repo.tip(plan.settings.base)
    if start is None:
        return []

    def in_target(name: str) -> bool:
        tip = repo.stream_tip(name)
        if tip is None:  # integrated, then its branch cleaned up
            value = prog[name].extra.get("integrated") if name in prog else None
            return isinstance(value, str) and value.startswith(f"{target}@")
        return m.is_ancestor(repo, tip, start)

    names = []
    for name in plan.streams:
        p = prog.get(name)
        tip = repo.stream_tip(name)
        if p is None or p.status != "completed" or tip is None or skip.get(name) == str(tip):
            continue
        if not in_target(name):
            names.append(name)
    while True:  # drop those whose dependency is neither in the target nor taken
        taken = set(names)
        kept = [n for n in names if all(d in taken or in_target(d) for d in plan.streams[n].depends_on)]
        if kept == names:
            return names
        names = kept


def follow(open_repo: Callable[[], Repo], *, interval: float, into: str | None = None,
           test: str | None = None, jobs: int = 1, retries: int = 0, fresh: bool = False,
           land: bool = False, cleanup: bool = False, say: Progress | None = None,
           on_step: Callable[[Step], None] | None = None, offline: bool = False,
           sleep: Callable[[float], None] = time.sleep) -> Followed:
    """Poll and land until Ctrl-C or a queue that cannot go on; see the module's docstring."""
    say = say or (lambda _msg: None)
    check_jobs(jobs, retries)
    done = Followed()
    skip: dict[str, str] = {}  # ejected stream -> the tip it was ejected at

    def told(step: Step) -> None:
        if step.ejected:
            done.ejected[step.stream] = f"{step.outcome}: {step.detail.splitlines()[0] if step.detail else ''}"
        elif step.outcome.startswith("merged") and step.stream not in done.landed:
            done.landed.append(step.stream)
        if on_step is not None:
            on_step(step)

    try:
        while True:
            repo = open_repo()  # a fresh view: the plan, the state and the refs as they are now
            done.polls += 1
            if done.polls == 1:  # bad input is said before anything runs
                plan = repo.load_plan()
                done.target = check_target(into or plan.settings.integration_branch)
                command = test if test is not None else plan.settings.test
                if command is not None:
                    check_test_command(command)
            try:
                refresh(repo, offline=offline)
            except RemoteError as exc:  # a remote away for a moment: try again at the next poll
                done.fetch_errors += 1
                say(f"poll {done.polls}: {exc}; trying again in {interval:g} s")
                sleep(interval)
                continue
            names = waiting(repo, done.target, skip)
            if names:
                done.runs += 1
                run = integrate(repo, into=done.target, test=test, streams=names, jobs=jobs,
                                retries=retries, fresh=fresh and done.runs == 1, land=land, cleanup=cleanup,
                                progress=say, on_step=told)
                done.gate_runs += run.gate_runs
                done.end = run.end
                for step in run.steps:
                    if step.ejected:
                        tip = repo.stream_tip(step.stream)
                        if tip is not None:
                            skip[step.stream] = str(tip)
                if run.interrupted:
                    done.interrupted = True
                    done.stopped = None
                    return done
                if run.stopped:
                    done.stopped = run.stopped
                    return done
            sleep(interval)
    except KeyboardInterrupt:
        done.interrupted = True
        return done
    finally:
        if done.end is None:
            try:
                tip = open_repo().tip(f"refs/heads/{done.target}") if done.target else None
            except Exception:  # noqa: BLE001 - the summary's last line only
                tip = None
            done.end = str(tip) if tip is not None else None
