"""Running a user's command: the one place with the rules for it.

gitpar runs the user's commands in three places — a new worktree's ``setup`` commands
(``gitpar start``), ``gitpar run -- CMD`` in each stream's worktree, and the test gate of
``gitpar integrate`` — and all three follow these rules:

Environment
    The caller's environment, without the ``GIT_*`` variables that locate a repository
    (``GIT_DIR``, ``GIT_INDEX_FILE``, ``GIT_WORK_TREE`` ...: set by git when gitpar runs
    inside a hook, they would point the command's own git at the wrong repository; the
    identity, config and ssh variables stay — ``store.repo.no_git_env``), plus:

    - ``GITPAR_STREAM``: the stream the command runs for;
    - ``GITPAR_WORKTREE``: the folder it runs in (its current directory);
    - ``GITPAR_PORT``: the stream's port (``port_base`` + its index), for setup and run;
    - run only: ``GITPAR_RUN`` (the run's stamp), ``GITPAR_ATTEMPT`` (1, 2 ... with
      ``--retries``), ``GITPAR_SLOT`` (0 .. jobs-1, free while it runs);
    - the test gate only: ``GITPAR_TEST_TREE`` (the tree under test, the same folder as
      ``GITPAR_WORKTREE``) and ``GITPAR_COMMIT`` (the merged commit).

Input and output
    Standard input is ``/dev/null`` (nothing waits on a terminal it does not have);
    standard error goes with standard output, to a log file (setup, test gate) or to a pipe
    the runner copies to the log and the live view.

Process group
    Each command is the leader of its own session and process group, so ending it ends
    what it started (a test runner's workers, a dev server's children), and a Ctrl-C meant
    for gitpar reaches gitpar, which then stops the command's group: ``SIGTERM``, a grace
    period, then ``SIGKILL``. ``gitpar run --timeout`` ends a command the same way.

Shell
    ``setup`` entries and ``--test`` are shell command lines (``/bin/sh -c``); ``gitpar run
    -- CMD`` runs its argv as given (write ``sh -c '...'`` for a shell line).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from gitpar.store.repo import no_git_env

KILL_GRACE_S = 3.0
SHELL = "/bin/sh"


def command_env(stream: str, worktree: Path, *, port: int | None = None,
                extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a user's command for ``stream`` in ``worktree`` (module docstring)."""
    env = no_git_env()
    env.update({"GITPAR_STREAM": stream, "GITPAR_WORKTREE": str(worktree)})
    if port is not None:
        env["GITPAR_PORT"] = str(port)
    env.update(extra or {})
    return env


def shell_argv(command: str) -> list[str]:
    """A shell command line as an argv."""
    return [SHELL, "-c", command]


def popen(argv: Sequence[str], cwd: Path, env: Mapping[str, str],
          stdout: IO[Any] | int) -> subprocess.Popen[bytes]:
    """Start ``argv`` by the rules: no input, errors with the output, its own process group."""
    return subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True,
                            bufsize=0)


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid``; nothing if it is gone already."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop(proc: subprocess.Popen[Any], grace_s: float = KILL_GRACE_S) -> None:
    """End ``proc``'s process group: SIGTERM, then SIGKILL after ``grace_s``; waits for it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            signal_group(proc.pid, signal.SIGKILL)  # the leader is gone; its group may not be
            return
        signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def run_logged(command: str, cwd: Path, env: Mapping[str, str], log: IO[str],
               timeout_s: float | None = None) -> int:
    """Run the shell ``command`` with its output appended to ``log``; its exit code.

    On Ctrl-C (or any error while waiting) the command's group is stopped before the
    exception goes on; past ``timeout_s`` it is stopped and the code is 124, as timeout(1).
    """
    log.flush()
    proc = popen(shell_argv(command), cwd, env, log)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        code = proc.wait(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        stop(proc)
        return 124
    except BaseException:
        stop(proc)
        raise
    return code
