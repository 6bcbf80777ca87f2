"""``gitpar integrate --follow`` (issue 24): a real follower process takes streams as they
complete, says each landing and ejection as it happens, and stops cleanly on SIGINT: the
gate's process stopped, no temporary worktree left, the target at its last good merge."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import commit_plan, git, work, worktree_of

# fails for a tree holding a culprit's file; a tree with q3 waits long (a gate to interrupt)
GATE = "if [ -f q3/f.txt ]; then sleep 60; fi; ! grep -rqs BAD q*"


class Follower:
    """``gitpar integrate --follow`` as a subprocess, its stdout and stderr read as they come."""

    def __init__(self, repo: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_DIR")}
        self.proc = subprocess.Popen([sys.executable, "-m", "gitpar", "integrate", "--follow", *args],
                                     cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                        for s, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.readers:
            t.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for(self, lines: list[str], text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(lines):
                if text in line:
                    return line
            if self.proc.poll() is not None:
                time.sleep(0.2)
                found = [line for line in lines if text in line]
                assert found, f"the follower ended (exit {self.proc.returncode}) without {text!r}: {self.out} {self.err}"
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in {timeout} s: out={self.out} err={self.err[-20:]}")

    def stop(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        for t in self.readers:
            t.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _temp_worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ") and "gitpar-test-" in line]


@pytest.fixture
def three(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """s1, s2 (breaks the gate), s3 (its gate waits long), s4 depends on s2."""
    assert run(repo, "init", "--no-hooks").code == 0
    for i in (1, 2, 3):
        assert run(repo, "stream", "add", f"s{i}", "--owns", f"q{i}/**").code == 0
    assert run(repo, "stream", "add", "s4", "--owns", "q4/**", "--depends-on", "s2").code == 0
    commit_plan(repo)
    return repo


def test_follow_lands_streams_as_they_complete_and_stops_cleanly_on_sigint(three: Path, run) -> None:
    work(three, run, "s1", {"q1/f.txt": "ok\n"})
    follower = Follower(three, "--interval", "0.2", "--test", GATE)
    try:
        landed = follower.wait_for(follower.out, "landed s1")
        assert landed.split()[1:3] == ["landed", "s1"]
        assert git(three, "cat-file", "-t", "gitpar/_integration:q1/f.txt").strip() == "blob"
        # completed while the follower runs: the culprit is ejected, its dependent waits
        work(three, run, "s2", {"q2/f.txt": "BAD\n"})
        work(three, run, "s4", {"q4/f.txt": "ok\n"})
        ejected = follower.wait_for(follower.out, "ejected s2")
        assert "broke the tests" in ejected and "s2.log" in ejected
        time.sleep(1.0)  # several polls: s2 is not tried again at the same tip, s4 not taken
        assert not [line for line in follower.out if " s4" in line], follower.out
        assert sum("ejected s2" in line for line in follower.out) == 1, follower.out
        # a stream whose gate is running when SIGINT comes: the gate is stopped, nothing lands
        work(three, run, "s3", {"q3/f.txt": "ok\n"})
        follower.wait_for(follower.err, "testing gitpar/_integration + s3")
        time.sleep(0.5)
        running = _temp_worktrees(three)
        assert running, "the gate's temporary worktree should exist while it runs"
        t0 = time.monotonic()
        code = follower.stop()
    finally:
        follower.kill()
    assert code == 130, (follower.out, follower.err)
    assert time.monotonic() - t0 < 15, "SIGINT did not stop the 60 s gate"
    summary = follower.out[-1]
    assert summary.startswith("follow stopped by Ctrl-C"), follower.out
    assert "1 landed (s1)" in summary and "1 ejected (s2)" in summary, summary
    assert not _temp_worktrees(three), git(three, "worktree", "list")
    assert not any(Path(line.split(" ", 1)[1]).exists() for line in running), running
    # the landed tree: s1 only; the target points at a commit whose gate passed
    tree = git(three, "ls-tree", "-r", "--name-only", "gitpar/_integration")
    assert "q1/f.txt" in tree and "q2/f.txt" not in tree and "q3/f.txt" not in tree
    assert git(three, "rev-parse", "gitpar/_integration^2").strip() == git(three, "rev-parse", "gitpar/s1").strip()
    assert not any("Traceback" in line for line in follower.err), follower.err


def test_follow_stops_at_once_between_polls(three: Path, run) -> None:
    follower = Follower(three, "--interval", "30", "--test", "true")
    try:
        follower.wait_for(follower.err, "following the queue")
        time.sleep(1.0)
        code = follower.stop(timeout=10)
    finally:
        follower.kill()
    assert code == 130
    assert "0 landed" in follower.out[-1] and "gitpar/_integration" in follower.out[-1], follower.out
    assert not any("Traceback" in line for line in follower.err), follower.err


@pytest.mark.parametrize(("args", "option"), [
    (["--follow", "--interval", "0"], "--interval"),
    (["--follow", "--interval", "-1"], "--interval"),
    (["--follow", "--interval", "abc"], "--interval"),
    (["--follow", "--interval", "nan"], "--interval"),
    (["--interval", "5"], "--interval"),
    (["--follow", "--dry-run"], "--dry-run"),
    (["--follow", "--continue"], "--continue"),
    (["--follow", "--streams", "s1"], "--streams"),
    (["--follow", "-j", "0"], "-j/--jobs"),
])
def test_bad_follow_options_change_nothing(three: Path, run, args: list[str], option: str) -> None:
    work(three, run, "s1", {"q1/f.txt": "ok\n"})
    before = git(three, "for-each-ref")
    res = run(three, "integrate", *args)
    assert res.code == 2, res
    assert option in res.err and "Traceback" not in res.err, res.err
    assert git(three, "for-each-ref") == before


def test_follow_in_a_remote_plan_lands_a_stream_finished_in_another_clone(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """alice follows the queue with --land; bob, in his own clone, finishes api: its branch
    and completion reach alice only through the remote, fetched at each poll, and the
    landing is pushed to origin's main."""
    from servers import serve
    from test_landing import _alice, _clone, _commit, _ls_remote

    with serve("file", tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        follower = Follower(a, "--interval", "0.2", "--land", "--test", "true")
        try:
            follower.wait_for(follower.err, "following the queue")
            assert run(b, "start", "api").code == 0
            bw = worktree_of(b, "api")
            _commit(bw, "src/api/a.py", "a = 2\n", "api: work")
            assert run(bw, "finish").code == 0
            tip = git(b, "rev-parse", "gitpar/api").strip()
            follower.wait_for(follower.out, "landed api", timeout=60)
            follower.wait_for(follower.err, "landed gitpar/_integration on origin/main", timeout=30)
            code = follower.stop()
        finally:
            follower.kill()
        assert code == 130, (follower.out, follower.err)
        main = _ls_remote(a, "refs/heads/main")
        assert subprocess.run(["git", "merge-base", "--is-ancestor", tip, main], cwd=a).returncode == 0
        assert "1 landed (api)" in follower.out[-1], follower.out
        assert not any("Traceback" in line for line in follower.err), follower.err
