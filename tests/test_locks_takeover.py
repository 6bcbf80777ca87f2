"""A claimed stream whose holder is gone is taken over at once (``start --take-over``), by the
rule locks follow, and the old worker is fenced off; a live holder is not taken over unless
forced. Clones of one origin (a bare repository over file://) as machines, real processes as
holders, real hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import git, worktree_of
from servers import serve
from test_landing import _alice, _clone

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
        # status says so before anyone takes it over, with the way to
        st = json.loads(gitpar_proc(k, "status", "--json").stdout)
        gone = [a for a in st["attention"] if a["stream"] == "api" and "holder gone" in a["message"]]
        assert gone and f"process {holder.pid}" in gone[0]["message"] and "--take-over" in gone[0]["message"], st
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
        plan.write_text(plan.read_text().replace("lock_ttl: 2h", "lock_ttl: 2h\nlock_heartbeat: 8s"))
        assert "lock_heartbeat: 8s" in plan.read_text()
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
        time.sleep(8.5)  # a heartbeat long enough for a loaded machine to take the first steps within it
        back = gitpar_proc(b, "start", "api", "--take-over")
        assert back.returncode == 0, back
        assert "holder gone: no report for" in git(b, "log", "-1", "--format=%B", f"origin/{STATE}")


# -- fencing numbers on file locks ----------------------------------------------------------------


def _state(repo: Path) -> str:
    return git(repo, "rev-parse", STATE).strip()


def _dead_holder_lock(started: Path, path: str = "src/config.py") -> int:
    """api locks ``path`` held by a process that then ends; the process id."""
    api = worktree_of(started, "api")
    holder = subprocess.Popen(["sleep", "60"])
    try:
        r = gitpar_proc(api, "lock", path, env=dict(os.environ, GITPAR_HOLDER_PID=str(holder.pid)))
        assert r.returncode == 0, r
    finally:
        holder.kill()
        holder.wait()
    assert "fence: 1" in git(started, "show", f"{STATE}:locks/{path}.lock")
    return holder.pid


def test_a_file_lock_taken_over_refuses_its_old_holders_renewal_and_unlock(started: Path) -> None:
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    _dead_holder_lock(started)
    took = gitpar_proc(ui, "lock", "src/config.py")
    assert took.returncode == 0 and "took over the stale lock" in took.stderr, took
    message = git(started, "log", "-1", "--format=%B", STATE)
    assert "held by api" in message and "fence 1" in message and "fence 2 now" in message, message
    assert git(started, "show", f"{STATE}:locks/src/config.py.fence").strip() == "2"
    assert "fence: 2" in git(started, "show", f"{STATE}:locks/src/config.py.lock")
    before = _state(started)
    # api's worker was only paused: it comes back and renews "its" lock
    back = gitpar_proc(api, "lock", "src/config.py")
    assert back.returncode == 1, back
    assert "taken over since this worker took it (its fence 1, the lock's is now 2; stream ui holds it now" \
        in back.stderr and "Traceback" not in back.stderr, back.stderr
    assert _state(started) == before  # nothing written
    # ... or releases it: refused too, nothing released, and its claim is dropped
    gone = gitpar_proc(api, "unlock", "src/config.py")
    assert gone.returncode == 1 and "taken over" in gone.stderr and "nothing was released" in gone.stderr, gone
    assert _state(started) == before and "stream: ui" in git(started, "show", f"{STATE}:locks/src/config.py.lock")
    again = gitpar_proc(api, "unlock", "src/config.py")
    assert again.returncode == 2 and "locked by stream ui, not api" in again.stderr, again
    # numbers only grow: released and taken again, the lock gets 3
    assert gitpar_proc(ui, "unlock", "src/config.py").returncode == 0
    assert gitpar_proc(api, "lock", "src/config.py").returncode == 0
    assert "fence: 3" in git(started, "show", f"{STATE}:locks/src/config.py.lock")
    # a renewal keeps the number
    assert gitpar_proc(api, "lock", "src/config.py").returncode == 0
    assert "fence: 3" in git(started, "show", f"{STATE}:locks/src/config.py.lock")


def test_racing_a_take_over_against_the_old_holders_renewal_one_wins_and_the_numbers_agree(started: Path) -> None:
    """The old holder's renewal and another stream's take-over, started at once as two
    processes: exactly one succeeds, and the lock's number is the state's last one."""
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    _dead_holder_lock(started)
    procs = [subprocess.Popen([sys.executable, "-m", "gitpar", "lock", "src/config.py"], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for cwd in (api, ui)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    won = [i for i, (code, _) in enumerate(results) if code == 0]
    assert len(won) == 1, results
    lock = git(started, "show", f"{STATE}:locks/src/config.py.lock")
    last = git(started, "show", f"{STATE}:locks/src/config.py.fence").strip()
    if won == [0]:  # api renewed before ui looked: its number stays, ui found it held
        assert "stream: api" in lock and last == "1" and "locked by stream api" in results[1][1], results
    else:  # ui took it over: api's renewal is refused by the fence
        assert "stream: ui" in lock and last == "2" and "taken over" in results[0][1], results
    assert f"fence: {last}" in lock


def test_a_commit_under_a_lock_taken_over_from_this_worker_is_refused(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """The pre-commit hook's lock proof checks the fence: the stream holds the lock again —
    taken in another clone — so only the number tells this worker's hold from the new one."""
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run, chain=False)
        b = _clone(tmp_path, url, "bob", run)
        k = _clone(tmp_path, url, "carol", run)
        assert gitpar_proc(b, "start", "api").returncode == 0
        bw = worktree_of(b, "api")
        assert gitpar_proc(bw, "lock", "CHANGES.md", "--ttl", "1s").returncode == 0
        with (bw / "CHANGES.md").open("a") as f:
            f.write("bob's line\n")
        time.sleep(1.5)  # bob's lock ran out; the orchestrator locks the file for api from carol's clone
        took = gitpar_proc(k, "lock", "CHANGES.md", "--stream", "api")
        assert took.returncode == 0, took
        assert gitpar_proc(b, "locks").returncode == 0  # bob's clone fetches the state
        assert "stream: api" in git(b, "show", f"{STATE}:locks/CHANGES.md.lock")  # api holds it: the rules allow
        git(bw, "add", "CHANGES.md")
        commit = subprocess.run(["git", "commit", "-qm", "bob's change"], cwd=bw, capture_output=True, text=True)
        assert commit.returncode != 0, commit
        assert "the lock on CHANGES.md was taken over since this worker took it (its fence 1" in commit.stderr, commit
        assert "gitpar unlock CHANGES.md" in commit.stderr
        # a file whose lock was not taken over commits as before
        git(bw, "restore", "--staged", "CHANGES.md")
        with (bw / "src/api/a.py").open("a") as f:
            f.write("a = 2\n")
        git(bw, "commit", "-qm", "api's own file", "--", "src/api/a.py")


def test_finish_releases_the_streams_locks_and_resources_and_its_fence_records(started: Path) -> None:
    api = worktree_of(started, "api")
    assert gitpar_proc(api, "lock", "src/config.py").returncode == 0
    assert gitpar_proc(api, "lock", "--resource", "db:dev").returncode == 0
    records = [started / ".git/gitpar/lock-fences/api/src/config.py", started / ".git/gitpar/fences/api/db:dev"]
    assert all(r.read_text().strip() == "1" for r in records)
    done = gitpar_proc(api, "finish")
    assert done.returncode == 0, done
    files = git(started, "ls-tree", "-r", "--name-only", STATE)
    assert "locks/src/config.py.lock" not in files and "resources/db:dev.lock" not in files, files
    assert "locks/src/config.py.fence" in files  # the numbers outlive the holds
    assert not any(r.exists() for r in records)
