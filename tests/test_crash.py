"""Crash injection, short mode: kill -9 at random moments of every state-changing command.

The long mode (400+ trials) is ``python bench/bench_crash.py``; this runs 20 trials, spread
over lock, unlock, progress, start, finish, remove, sync and integrate, each killed after a
delay drawn over the command's measured duration. Every trial must leave the state branch
readable, each lock whole or absent, no work lost, and the next command working.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_crash  # noqa: E402


def test_kill_9_at_random_moments(tmp_path: Path) -> None:
    figures = bench_crash.run_trials(20, seed=11, work=tmp_path)
    assert figures["trials"] == 20
    assert figures["failures"] == 0, figures["failed"]
    # the kills land mid-command, not only before or after it
    assert figures["killed"] >= 10, figures  # type: ignore[operator]
    per = figures["per_command"]
    assert set(per) == set(bench_crash.COMMANDS)  # type: ignore[arg-type]


def test_checks_catch_a_half_written_lock_and_lost_work(tmp_path: Path) -> None:
    # the checks themselves must be able to fail
    from hostile import plant_state_file

    from gitpar.testing import hermetic

    env = bench_crash.hermetic_env(tmp_path / "home")
    with hermetic(tmp_path / "home"):
        template = bench_crash.build_template(tmp_path / "template", env)
        repo, trees = bench_crash.copy_template(template, tmp_path / "copy")
        assert bench_crash.check_state(repo) == []
        assert bench_crash.check_work(repo, trees) == []
        plant_state_file(repo, "locks/src/config.py.lock", "---\nstream: api\nexpires: 20")
        (trees["api"] / "src/api/untracked.py").unlink()
        assert any("half a lock" in p for p in bench_crash.check_state(repo))
        assert any("untracked" in p for p in bench_crash.check_work(repo, trees))
