"""A claimed stream whose holder is gone is taken over at once (``start --take-over``), by the
rule locks follow, and the old worker is fenced off; a live holder is not taken over unless
forced. Clones of one origin (a bare repository over file://) as machines, real processes as
holders, real hooks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import git, worktree_of
from test_landing import _alice, _clone

from gitpar.testing_servers import serve

STATE = "gitpar/_state"


def gitpar_proc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitpar", *args], cwd=cwd, capture_output=True, text=True,
                          env=env)


def remote_state(clone: Path) -> str:
    git(clone, "fetch", "-q", "origin")
    return git(clone, "rev-parse", f"origin/{STATE}").strip()


def test_a_stream_whose_holder_process_ended_is_taken_over_at_once(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        k = _clone(tmp_path, url, "carol", run)
        holder = subprocess.Popen(["sleep", "60"])
        try:
            started = gitpar_proc(b, "start", "api", env=dict(os.environ, GITPAR_HOLDER_PID=str(holder.pid)))
            assert started.returncode == 0, started
            bw = worktree_of(b, "api")
            assert f"holder_pid: {holder.pid}" in git(b, "show", f"origin/{STATE}:progress/api.md")
            assert subprocess.run(["git", "push", "-q", "origin", "gitpar/api"], cwd=bw).returncode == 0
            before = remote_state(k)
            # the holder runs: not taken over, nothing changed
            refused = gitpar_proc(k, "start", "api", "--take-over")
            assert refused.returncode == 1, refused
            assert f"process {holder.pid}" in refused.stderr and "--force" in refused.stderr, refused.stderr
            assert "Traceback" not in refused.stderr
            assert remote_state(k) == before and not (k / ".git/worktrees/api").exists()
        finally:
            holder.kill()
            holder.wait()
        took = gitpar_proc(k, "start", "api", "--take-over")
        assert took.returncode == 0, took
        message = git(k, "log", "-1", "--format=%B", f"origin/{STATE}")
        assert "took over stream api" in message and f"holder gone: its process {holder.pid}" in message, message
        assert "fenced off" in message
        assert "holder_pid" not in git(k, "show", f"origin/{STATE}:progress/api.md")  # carol claims no process
        # bob's worker comes back: its next write is refused, naming the take-over
        said = gitpar_proc(bw, "progress", "--completion", "50")
        assert said.returncode == 1 and "taken over" in said.stderr, said
        # carol's worker goes on
        assert gitpar_proc(worktree_of(k, "api"), "progress", "--completion", "60").returncode == 0


def test_a_stream_not_reported_within_the_heartbeat_is_taken_over(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        plan = a / ".gitpar/plan.md"
        plan.write_text(plan.read_text().replace("lock_ttl: 2h", "lock_ttl: 2h\nlock_heartbeat: 3s"))
        assert "lock_heartbeat: 3s" in plan.read_text()
        git(a, "commit", "-qam", "heartbeats")
        git(a, "push", "-q", "origin", "main")
        b = _clone(tmp_path, url, "bob", run)
        k = _clone(tmp_path, url, "carol", run)
        assert gitpar_proc(b, "start", "api").returncode == 0
        bw = worktree_of(b, "api")
        assert subprocess.run(["git", "push", "-q", "origin", "gitpar/api"], cwd=bw).returncode == 0
        fresh = gitpar_proc(k, "start", "api", "--take-over")
        assert fresh.returncode == 1 and "within the plan's lock_heartbeat" in fresh.stderr, fresh
        forced = gitpar_proc(k, "start", "api", "--take-over", "--force")
        assert forced.returncode == 0, forced
        assert "taken from a live holder with --force" in git(k, "log", "-1", "--format=%B", f"origin/{STATE}")
        # now carol holds it and goes silent; bob takes it back once the heartbeat is missed
        time.sleep(3.5)
        back = gitpar_proc(b, "start", "api", "--take-over")
        assert back.returncode == 0, back
        assert "holder gone: no report for" in git(b, "log", "-1", "--format=%B", f"origin/{STATE}")
