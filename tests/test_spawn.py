"""One way to run a user's command (core/spawn.py): setup, run and the test gate alike."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitpar.core import spawn
from gitpar.testing import git, hermetic, make_repo, run, worktree_of


def env_of(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def test_setup_run_and_the_test_gate_get_the_documented_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dump = tmp_path / "env"
    dump.mkdir()
    with hermetic(tmp_path / "home"):
        repo = make_repo(tmp_path / "repo", streams={"api": {"owns": ["src/api/**"]}},
                         settings={"setup": [f"env > {dump}/setup"]})
        with monkeypatch.context() as inside_a_hook:
            # git's repository variables, as a hook has them, must not reach the user's command
            inside_a_hook.setenv("GIT_INDEX_FILE", str(tmp_path / "elsewhere.index"))
            inside_a_hook.setenv("GIT_WORK_TREE", str(tmp_path))
            assert run(repo, "start", "api").code == 0
            r = run(repo, "run", "--streams", "api", "--", "sh", "-c", f"env > {dump}/run; read x || true")
            assert r.code == 0, r
        wt = worktree_of(repo, "api")
        (wt / "src/api/new.py").write_text("x = 1\n")
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", "api: work")
        assert run(wt, "finish").code == 0
        with monkeypatch.context() as inside_a_hook:
            inside_a_hook.setenv("GIT_INDEX_FILE", str(tmp_path / "elsewhere.index"))
            r = run(repo, "integrate", "--test", f"env > {dump}/gate")
        assert r.code == 0, r

    setup, ran, gate = (env_of(dump / n) for n in ("setup", "run", "gate"))
    for env in (setup, ran, gate):
        assert env["GITPAR_STREAM"] == "api"
        assert "GIT_INDEX_FILE" not in env and "GIT_WORK_TREE" not in env
        assert env["GIT_AUTHOR_NAME"]  # identity stays
    assert setup["GITPAR_WORKTREE"] == ran["GITPAR_WORKTREE"] == str(wt)
    assert setup["GITPAR_PORT"] == ran["GITPAR_PORT"]
    assert {"GITPAR_RUN", "GITPAR_ATTEMPT", "GITPAR_SLOT"} <= set(ran) and "GITPAR_RUN" not in setup
    assert gate["GITPAR_TEST_TREE"] == gate["GITPAR_WORKTREE"] != str(wt) and gate["GITPAR_COMMIT"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaped yet has ended too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def test_a_timeout_ends_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    with (tmp_path / "log").open("w") as log:
        began = time.monotonic()
        code = spawn.run_logged(f"sleep 60 & echo $! > {pidfile}; wait", tmp_path,
                                spawn.command_env("s", tmp_path), log, timeout_s=0.5)
    assert code == 124 and time.monotonic() - began < 10
    child = int(pidfile.read_text())
    for _ in range(100):  # the grandchild got the group's SIGTERM
        if not alive(child):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the command's child {child} outlived it")


def test_the_command_reads_no_terminal_and_writes_its_errors_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "log"
    with log.open("w") as out:
        out.write("$ header\n")
        code = spawn.run_logged("cat; echo oops >&2; exit 3", tmp_path, spawn.command_env("s", tmp_path), out)
    assert code == 3
    assert log.read_text() == "$ header\noops\n"
