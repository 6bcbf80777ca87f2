"""What an integration merges and into what: the target (``DEFAULT_TARGET``, checked as a
branch name), the test command (checked before anything merges), the streams in
dependency order, and the run remembered in ``.git/gitpar/integrate.json`` for
``--continue``.
"""

from __future__ import annotations

import heapq
import json
import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitpar.core.plan import DEFAULT_INTEGRATION_BRANCH, Plan
from gitpar.core.repo import Repo
from gitpar.errors import bad
from gitpar.store.repo import STATE_BRANCH, valid_branch_name

DEFAULT_TARGET = DEFAULT_INTEGRATION_BRANCH  # the plan's default integration_branch
RUN_FILE = "integrate.json"
# shell words that are not programs on PATH: a test command may start with them
_SHELL_WORDS = {
    "!", "[", "[[", ".", ":", "cd", "command", "eval", "exec", "exit", "export", "false", "for",
    "if", "set", "source", "test", "true", "type", "until", "while", "case", "{", "(", "time",
    "ulimit", "umask", "unset", "env", "echo", "printf", "read", "wait", "trap", "shift",
}


def dependency_order(plan: Plan, names: Sequence[str]) -> list[str]:
    """``names`` with dependencies first; among the ready ones, higher priority, then name."""
    chosen = set(names)
    deps = {n: [d for d in plan.streams[n].depends_on if d in chosen] for n in chosen}
    waiting = {n: len(d) for n, d in deps.items()}
    dependents: dict[str, list[str]] = {n: [] for n in chosen}
    for n, ds in deps.items():
        for d in ds:
            dependents[d].append(n)
    ready = [(-plan.streams[n].priority, n) for n in chosen if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        for m in dependents[n]:
            waiting[m] -= 1
            if waiting[m] == 0:
                heapq.heappush(ready, (-plan.streams[m].priority, m))
    return order


def check_target(target: str) -> str:
    if not target or target.startswith("-") or not valid_branch_name(target):
        raise bad(None, "--into", f"{target!r} is not a valid branch name",
                  "give a branch name, e.g. --into main or --into release")
    if target == STATE_BRANCH:
        raise bad(None, "--into", f"{STATE_BRANCH} is gitpar's state branch", "integrate into another branch")
    if target.startswith("gitpar/") and not target.startswith("gitpar/_"):
        raise bad(None, "--into", f"{target} is a stream's branch",
                  f"integrate into another branch (the default is {DEFAULT_TARGET})")
    return target


def check_test_command(command: str) -> str:
    """BadInput when the test command's program is clearly not there (before merging anything)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise bad(None, "--test", f"cannot parse {command!r}: {exc}", "quote the command as for sh -c") from None
    if not words:
        raise bad(None, "--test", "the test command is empty", "give a command, e.g. --test 'pytest -q'")
    first = next((w for w in words if "=" not in w or w.startswith("=")), None)
    if first is None or first in _SHELL_WORDS or "/" in first or first.startswith("$"):
        return command  # shell syntax, or a path checked when it runs (inside the merged tree)
    if shutil.which(first) is None:
        raise bad(None, "--test", f"{first!r} is not a command found on PATH",
                  "check the spelling, install it, or give its path")
    return command


def _run_path(repo: Repo) -> Path:
    return repo.gitpar_dir / RUN_FILE


def saved_run(repo: Repo) -> dict[str, Any] | None:
    try:
        data = json.loads(_run_path(repo).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def save_run(repo: Repo, data: dict[str, Any]) -> None:
    path = _run_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def forget_run(repo: Repo) -> None:
    try:
        _run_path(repo).unlink()
    except FileNotFoundError:
        pass


QUEUE_FILE = "queue.json"


def save_queue_state(repo: Repo, run: Any, live: dict[str, str]) -> None:
    """What ``gitpar status`` shows of the queue (``.git/gitpar/queue.json``): the streams
    being tested or waiting in a running queue (``live``, empty once it ends), the ejected
    ones of the last run and why (with the branch tip they were ejected at: a stream whose
    branch moved since waits again), and the gate's recorded durations for an ETA."""
    import time

    old = queue_state(repo) or {}
    seconds = [float(x) for x in (old.get("gate_seconds") or []) if isinstance(x, (int, float))]
    seconds = (seconds + list(run.gate_seconds))[-50:] if not live else seconds
    data = {"version": 1, "target": run.target, "updated": time.time(), "pid": os.getpid(),
            "jobs": run.jobs, "live": live,
            "ejected": [{"stream": s.stream, "outcome": s.outcome, "why": s.detail.splitlines()[0] if s.detail else "",
                         "log": s.log, "tip": str(repo.stream_tip(s.stream) or "") or None}
                        for s in run.steps if s.ejected] if not live else old.get("ejected", []),
            "gate_seconds": seconds}
    path = repo.gitpar_dir / QUEUE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def queue_state(repo: Repo) -> dict[str, Any] | None:
    """The queue's last saved state (see save_queue_state), or None."""
    try:
        data = json.loads((repo.gitpar_dir / QUEUE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
