"""The crash log: what an unexpected error leaves behind for a bug report.

Like pre-commit's error handler, the one handler around every command (and around each
hook) writes the versions that matter (gitpar, Python, pygit2, libgit2, git), the command
line and the traceback to a file and prints one line with its path. The file is
``<common git dir>/gitpar/crash.log`` of the repository the command ran in, so two
repositories (or two users) never overwrite each other's log; outside a repository it is
``$XDG_STATE_HOME/gitpar/crash.log`` (``~/.local/state`` by default).

Standard library only at import time: the hook imports it when it crashes.
"""

from __future__ import annotations

import os
import sys

from gitpar import __version__

LOG_NAME = "crash.log"
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def log_path(cwd: str) -> str:
    """Where a crash in a command run from ``cwd`` is logged (see the module docstring)."""
    common = _common_git_dir(cwd)
    if common is not None:
        return os.path.join(common, "gitpar", LOG_NAME)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "gitpar", LOG_NAME)


def _common_git_dir(cwd: str) -> str | None:
    import subprocess

    try:
        proc = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                              cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out and os.path.isdir(out) else None


def versions() -> list[tuple[str, str]]:
    """The versions a bug report needs, each read without failing."""
    import platform


    found = [("gitpar", __version__), ("python", f"{platform.python_version()} ({sys.executable})"),
             ("platform", platform.platform())]
    try:
        import pygit2

        found += [("pygit2", str(getattr(pygit2, "__version__", "?"))), ("libgit2", pygit2.LIBGIT2_VERSION)]
    except Exception as exc:  # noqa: BLE001 — a broken pygit2 may be the crash itself
        found.append(("pygit2", f"not importable: {type(exc).__name__}: {exc}"))
    found.append(("git", _git_version()))
    return found


def _git_version() -> str:
    import subprocess

    try:
        proc = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"not runnable: {exc}"
    return proc.stdout.strip() or proc.stderr.strip()


def write(exc: BaseException, argv: Sequence[str], cwd: str | None = None) -> str:
    """Write the crash log for ``exc``; its path (or a note that it could not be written)."""
    import traceback

    cwd = cwd or os.getcwd()
    path = log_path(cwd)
    lines = ["### versions", ""]
    lines += [f"- {name}: {value}" for name, value in versions()]
    lines += ["", "### command", "", f"    {' '.join(argv)}", f"    (in {cwd})", "",
              "### error", "", "```",
              *"".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines(),
              "```", ""]
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
    except OSError as err:
        return f"nowhere: {path} could not be written: {err}"
    return path


def one_line(exc: BaseException, log: str) -> str:
    """The single line a crash prints: the error and where its log is."""
    text = str(exc).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    return f"internal error: {type(exc).__name__}{detail} (details in {log})"
