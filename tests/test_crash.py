"""Crashes: kill -9 at random moments of every state-changing command, and the crash log
an unexpected error leaves (in the repository's git dir, one line on the terminal).

A git wrapper on PATH also kills ``sync`` on purpose between its branch move and its
worktree update (``bench_crash.WINDOWS``): the next sync must finish the move.

Crash injection, short mode (the long mode, 400+ trials, is ``python bench/bench_crash.py``):
20 trials spread over lock, unlock, progress, start, finish, remove, sync and integrate,
each killed after a delay drawn over the command's measured duration. Every trial must
leave the state branch readable, each lock whole or absent, no work lost, and the next
command working.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_crash  # noqa: E402

from gitpar.plugins.hookspecs import hookimpl  # noqa: E402


@pytest.mark.slow
def test_kill_9_at_random_moments(tmp_path: Path) -> None:
    figures = bench_crash.run_trials(20, seed=11, work=tmp_path)
    assert figures["trials"] == 20
    assert figures["failures"] == 0, figures["failed"]
    # the kills land mid-command, not only before or after it
    assert figures["killed"] >= 10, figures  # type: ignore[operator]
    per = figures["per_command"]
    assert set(per) == set(bench_crash.COMMANDS)  # type: ignore[arg-type]
    # the windows killed on purpose (a sync between its branch move and the worktree update)
    assert figures["windows"] == {name: {"killed": True, "failures": 0}  # type: ignore[comparison-overlap]
                                  for name in bench_crash.WINDOWS}


def test_a_sync_killed_between_the_branch_move_and_the_worktree_update(tmp_path: Path) -> None:
    """The window the random trials hit only by chance, killed on purpose with a git wrapper."""
    from gitpar.testing import hermetic

    env = bench_crash.hermetic_env(tmp_path / "home")
    with hermetic(tmp_path / "home"):
        template = bench_crash.build_template(tmp_path / "template", env)
        for n, name in enumerate(bench_crash.WINDOWS):
            t = bench_crash.window_trial(template, tmp_path, env, name, n)
            assert t.killed and not t.problems, (name, t.problems)


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


# -- the crash log ---------------------------------------------------------------------------


class Crashing:
    """A plugin command with a bug: the unexpected error the one handler must catch."""

    @hookimpl
    def gitpar_register_commands(self, app):  # type: ignore[no-untyped-def]
        @app.command()
        def boom() -> None:
            raise RuntimeError("a bug\nwith a second line")


def test_a_crash_is_logged_in_the_repositorys_git_dir(tmp_path: Path) -> None:
    from gitpar.testing import git, hermetic, make_repo, plugin_registered, run

    with hermetic(tmp_path / "home"):
        repo = make_repo(tmp_path / "repo", streams={"api": {"owns": ["src/api/**"]}})
        (repo / "sub").mkdir()
        with plugin_registered(Crashing(), "crashing"):
            r = run(repo / "sub", "boom")
        log = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()) / "gitpar/crash.log"
        assert r.code == 3, r
        assert r.err.count("\n") == 1, r.err  # one line, no traceback
        assert f"internal error: RuntimeError: a bug (details in {log})" in r.err
        text = log.read_text()
        for field in ("gitpar: ", "python: ", "pygit2: ", "libgit2: ", "git: git version"):
            assert f"- {field}" in text, text
        assert "gitpar boom" in text and "Traceback" in text and "RuntimeError: a bug" in text
        assert not (tmp_path / "home/.local/state/gitpar/crash.log").exists()


def test_outside_a_repository_the_crash_log_is_per_user(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gitpar.testing import hermetic, plugin_registered, run

    with hermetic(tmp_path / "home"):
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
        (tmp_path / "nowhere").mkdir()
        with plugin_registered(Crashing(), "crashing"):
            r = run(tmp_path / "nowhere", "boom")
        log = tmp_path / "state/gitpar/crash.log"
        assert r.code == 3 and f"(details in {log})" in r.err, r
        assert "Traceback" in log.read_text()


def test_a_crash_inside_a_hook_prints_one_line_and_the_log(tmp_path: Path) -> None:
    import subprocess

    from hostile import planted_hook_cache

    from gitpar.testing import hermetic

    with hermetic(tmp_path / "home"):
        repo, wt = planted_hook_cache(tmp_path)  # a bug the hook did not foresee
        (wt / "src/api/a.py").write_text("a = 3\n")
        proc = subprocess.run(["git", "commit", "-qam", "crash"], cwd=wt, capture_output=True, text=True)
        log = repo / ".git/gitpar/crash.log"
        assert proc.returncode != 0
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("gitpar (pre-commit): internal error: TypeError") and str(log) in lines[0]
        text = log.read_text()
        assert "gitpar-hook pre-commit" in text and "Traceback" in text and "- libgit2: " in text


def test_doctor_reports_a_killed_integrations_temporary_worktree(tmp_path: Path) -> None:
    from gitpar.testing import git, hermetic, make_repo, run, run_process, worktree_of

    with hermetic(tmp_path / "home"):
        r = make_repo(tmp_path / "r", streams={"api": {"owns": ["src/api/**"]}})
        assert run(r, "start", "api").code == 0
        wt = worktree_of(r, "api")
        (wt / "src/api/a.py").write_text("a = 2\n")
        git(wt, "commit", "-qam", "api work")
        assert run(wt, "finish").code == 0
        # the gate's test kills the integrate process itself, as a kill -9 of the run would
        res = run_process(r, "integrate", "--test", "kill -9 $PPID; sleep 5")
        assert res.code != 0
        left = [line.split()[1] for line in git(r, "worktree", "list", "--porcelain").splitlines()
                if line.startswith("worktree ") and "gitpar-test-" in line]
        assert left, "the killed run left no temporary worktree to find"
        res = run(r, "doctor", "--json")
        found = [f for f in __import__("json").loads(res.out)["findings"] if f["check"] == "temp-worktree"]
        assert [f for f in found if left[0] in f["problem"]], found
        assert "git worktree remove --force" in found[0]["fix"]
