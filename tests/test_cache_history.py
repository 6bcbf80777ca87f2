"""The state-history index (lock holds and streams' statuses, extended from the last state
tip read) answers as a walk of the whole history does, after each of a random sequence of
real state changes, a rewritten state branch and a hand-written state file among them."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from conftest import git, worktree_of
from hostile import plant_state_file

from gitpar.core import clock, report
from gitpar.core.lock_history import lock_history
from gitpar.core.repo import open_repo

STATE = "gitpar/_state"


def _answers(repo_dir: Path, now: float) -> tuple[object, ...]:
    repo = open_repo(repo_dir)
    history = lock_history(repo, now)
    return (report.status_history(repo, now), {p: history[p] for p in history},
            [(s.commit, s.why) for s in history.suspects])


def test_the_state_history_index_answers_as_the_whole_walk(started: Path, run) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(28)
    ui = worktree_of(started, "ui")
    tips = [git(started, "rev-parse", STATE).strip()]
    cache = started / ".git/gitpar/cache"

    def progress() -> None:
        run(ui, "progress", *rng.choice([["--completion", str(rng.randint(1, 99))], ["--blocked", "waiting"],
                                         ["--unblocked"], ["--completion", "100"]]))

    def lock() -> None:
        run(started, "lock", rng.choice(["src/config.py", "docs/x.md"]), "--stream", rng.choice(["api", "ui"]))

    def unlock() -> None:
        for stream in ("api", "ui"):
            run(started, "unlock", "src/config.py", "docs/x.md", "--stream", stream)

    def rewrite() -> None:  # the state branch set back to an earlier commit
        git(started, "update-ref", f"refs/heads/{STATE}", rng.choice(tips))

    def hostile() -> None:
        plant_state_file(started, "progress/ui.md", rng.choice(["---\nstatus: [\n", "---\nstream: ui\nstatus: failed\n---\n"]))

    ops = [progress, lock, unlock, rewrite, hostile]
    sequence = [progress, lock, progress, unlock, rewrite, hostile, progress]
    sequence += [rng.choice(ops) for _ in range(6)]
    now = clock.real_now() + 3600
    for step, op in enumerate(sequence):
        op()
        tips.append(git(started, "rev-parse", STATE).strip())
        warm = _answers(started, now)  # the index extended from the step before
        shutil.rmtree(cache, ignore_errors=True)
        cold = _answers(started, now)
        done = [o.__name__ for o in sequence[:step + 1]]
        assert warm == cold, f"after {done}"
    assert cold[0] and cold[1]  # the walk found statuses and holds: the comparison compared something
