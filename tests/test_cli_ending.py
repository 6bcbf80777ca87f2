"""One way a command ends (``cli/session.run_guarded``), for the command line, the hooks and
the guard: an expected error is its message and code, Ctrl-C 130, a closed pipe 0, anything
else one line naming the crash log and 3; the guard answering a harness fails closed (exit 2)
on every error, as a parameter of the same function, not a copy of it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import planted_hook_cache

from gitpar.cli.session import run_guarded
from gitpar.errors import BadInput, Refused
from gitpar.testing import hermetic, make_repo

HOOK = {"label": "gitpar (pre-commit)", "program": "gitpar-hook", "refusal": 1, "warnings": False}
HARNESS = {"fail_closed": "gitpar guard could not judge this edit, so it is blocked", "warnings": False}


def raising(exc: BaseException):  # type: ignore[no-untyped-def]
    def body() -> int:
        raise exc
    return body


@pytest.mark.parametrize(("how", "exc", "code", "said"), [
    ({}, BadInput("plan.md: base: bad; fix: name a branch"), 2, "gitpar: plan.md: base: bad; fix: name a branch"),
    ({}, Refused("held by api"), 1, "gitpar: held by api"),
    ({}, KeyboardInterrupt(), 130, "gitpar: interrupted"),
    ({}, BrokenPipeError(), 0, ""),
    (HOOK, BadInput("plan.md: bad"), 1, "gitpar (pre-commit): plan.md: bad"),  # git reads 1 as the hook's no
    (HOOK, Refused("fenced"), 1, "gitpar (pre-commit): fenced"),
    (HOOK, KeyboardInterrupt(), 130, "gitpar (pre-commit): interrupted"),
    (HARNESS, BadInput("--stream: 'X' is not a stream name"), 2,
     "gitpar guard could not judge this edit, so it is blocked: BadInput: --stream: 'X' is not a stream name"),
    (HARNESS, ValueError("a bug"), 2, "gitpar guard could not judge this edit, so it is blocked: ValueError: a bug"),
    (HARNESS, BrokenPipeError("gone"), 2, "gitpar guard could not judge this edit, so it is blocked: "
                                          "BrokenPipeError: gone"),
])
def test_what_ends_a_command_and_how(how, exc, code, said, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_guarded(["x"], raising(exc), **how) == code
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (said + "\n" if said else "")


def test_an_answer_passes_through_untouched(capsys) -> None:  # type: ignore[no-untyped-def]
    for how in ({}, HOOK, HARNESS):
        assert run_guarded([], lambda: 7, **how) == 7
        assert run_guarded([], lambda: None, **how) is None  # a light command handing over
    assert capsys.readouterr().err == ""


def test_a_crash_in_each_caller_is_one_line_and_the_log(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    for how, label, program in (({}, "gitpar", "gitpar"), (HOOK, "gitpar (pre-commit)", "gitpar-hook")):
        assert run_guarded(["pre-commit"], raising(TypeError("a bug")), **how) == 3
        err = capsys.readouterr().err
        log = tmp_path / "state/gitpar/crash.log"
        assert err == f"{label}: internal error: TypeError: a bug (details in {log})\n"
        assert f"{program} pre-commit" in log.read_text() and "Traceback" in log.read_text()


def test_the_guard_fails_closed_for_a_harness_and_crashes_plainly_otherwise(tmp_path: Path) -> None:
    with hermetic(tmp_path / "home"):
        repo, wt = planted_hook_cache(tmp_path)
        edit = json.dumps({"tool_name": "Edit", "tool_input": {"file_path": str(wt / "src/api/a.py")}, "cwd": str(wt)})
        harness = subprocess.run([sys.executable, "-m", "gitpar", "guard", "--format", "claude"], cwd=wt,
                                 input=edit, capture_output=True, text=True)
        assert harness.returncode == 2, harness
        assert harness.stderr.startswith("gitpar guard could not judge this edit, so it is blocked: TypeError")
        plain = subprocess.run([sys.executable, "-m", "gitpar", "guard", "src/api/a.py"], cwd=wt,
                               capture_output=True, text=True)
        assert plain.returncode == 3 and plain.stderr.count("\n") == 1, plain
        assert plain.stderr.startswith("gitpar: internal error: TypeError") and "crash.log" in plain.stderr


def test_ctrl_c_ends_a_command_with_130_and_one_line(tmp_path: Path) -> None:
    with hermetic(tmp_path / "home"):
        repo = make_repo(tmp_path / "repo", streams={"api": {"owns": ["src/api/**"]}})
        proc = subprocess.Popen([sys.executable, "-m", "gitpar", "status", "--watch", "0.2"], cwd=repo,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == "gitpar: interrupted" and "Traceback" not in err
