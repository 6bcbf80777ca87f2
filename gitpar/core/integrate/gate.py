"""The test gate: the test command run in a temporary detached worktree of a merge commit,
its log, and the warning when the command would test code from outside that tree (an
editable install pointing at another checkout).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO

from gitpar.core.repo import Repo
from gitpar.errors import GitparError
from gitpar.store import merge as m
from gitpar.store.repo import Oid


class Gate:
    """What the test gate learns once per run: whether its code comes from outside the tree
    (a warning on the repository's channel); with ``reuse``, the run's temporary worktrees,
    kept between gates and reset to the next gate's commit (``store.merge.reset_temp_worktree``:
    exactly that commit's tree) instead of made and removed for each, until :meth:`close`."""

    def __init__(self, repo: Repo, *, reuse: bool = False) -> None:
        self.repo = repo
        self.looked = False
        self.reuse = reuse
        self._free: list[Path] = []
        self._made: set[Path] = set()
        self._closed = False
        self._lock = threading.Lock()

    def worktree(self, commit: Oid) -> Path:
        """A temporary detached worktree of ``commit``: a free one reset, or a new one."""
        with self._lock:
            path = self._free.pop() if self._free and not self._closed else None
        if path is not None:
            try:
                m.reset_temp_worktree(path, commit)
                return path
            except GitparError:
                self._forget(path)
        path = m.add_temp_worktree(self.repo, commit)
        if self.reuse:
            with self._lock:
                self._made.add(path)
        return path

    def release(self, path: Path) -> None:
        """A gate is done with ``path``: kept for the next gate, or removed."""
        with self._lock:
            keep = self.reuse and not self._closed and path in self._made
            if keep:
                self._free.append(path)
        if not keep:
            self._forget(path)

    def _forget(self, path: Path) -> None:
        with self._lock:
            self._made.discard(path)
        m.remove_temp_worktree(self.repo, path)

    def close(self) -> None:
        """Remove every worktree kept (the run is over, or was interrupted)."""
        with self._lock:
            self._closed = True
            left, self._free = list(self._made), []
            self._made.clear()
        m.remove_temp_worktrees(self.repo, left)

    def look(self, command: str, path: Path, env: dict[str, str]) -> None:
        if self.looked:
            return
        self.looked = True
        for where in foreign_code(command, path, env):
            self.repo.warn(f"the test command may run code from outside the tree under test: "
                           f"{where}; point it at $GITPAR_TEST_TREE (see docs/integrate.md)")


def fill_test_command(command: str, path: Path) -> str:
    """``command`` with ``{worktree}`` replaced by the gate's worktree (shell-quoted)."""
    return command.replace("{worktree}", shlex.quote(str(path)))


def log_tail(log: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of a test log (without gitpar's own first and last lines)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    body = text[1:]
    if body and body[-1].startswith("[exit "):
        body = body[:-1]
    return body[-lines:]


# asks the gate's Python which installed distributions are editable, and where they point
_EDITABLE_PROBE = r"""
import json
from importlib import metadata
for dist in metadata.distributions():
    try:
        raw = dist.read_text("direct_url.json")
        info = json.loads(raw) if raw else {}
    except Exception:
        continue
    if (info.get("dir_info") or {}).get("editable") and str(info.get("url", "")).startswith("file://"):
        print(dist.metadata["Name"], info["url"][len("file://"):], sep="\t")
"""


def foreign_code(command: str, path: Path, env: dict[str, str]) -> list[str]:
    """Editable Python installs, seen by the ``python`` the gate runs, that point at a
    checkout other than the tree under test — the tests would import that code instead of
    the merged one. Only for a command that looks like Python's; [] when it cannot tell."""
    words = command.replace("/", " ").split()
    if not any(w.startswith(("python", "pytest", "tox", "nox", "uv")) for w in words):
        return []
    python = shutil.which("python3", path=env.get("PATH")) or shutil.which("python", path=env.get("PATH"))
    if python is None:
        return []
    try:
        proc = subprocess.run([python, "-c", _EDITABLE_PROBE], cwd=path, env=env, capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    tree = path.resolve()
    found = []
    for line in proc.stdout.splitlines():
        name, _, where = line.partition("\t")
        if not where:
            continue
        target = Path(where).resolve()
        if target != tree and tree not in target.parents:
            found.append(f"{name} is installed editable from {target} (python: {python})")
    return found


class Cancelled(Exception):
    """A gate stopped because its result is no longer wanted (the queue moved on)."""


def run_test(repo: Repo, name: str, commit: Oid, command: str,
             gate: Gate | None = None, *, cancel: threading.Event | None = None,
             log_name: str | None = None, log_dir: str = "integrate") -> tuple[int, Path]:
    """Run ``command`` (through sh) in a temporary detached worktree of ``commit``.

    ``{worktree}`` in the command is that worktree; ``GITPAR_TEST_TREE`` (and
    ``GITPAR_WORKTREE``) name it in the environment. The output goes to a log file
    (``log_name``, default the stream's name, in ``.gitpar/logs/<log_dir>/``). The worktree is removed afterwards, also on
    Ctrl-C, which stops the command's whole process group first, and when ``cancel`` is set
    (then :class:`Cancelled` is raised): the merge queue runs gates in threads and stops the
    ones whose result it no longer needs. With a ``gate`` made with ``reuse``, the worktree
    is the gate's, kept for its next run (:meth:`Gate.close` removes them).
    """
    log = repo.gitpar_dir / "logs" / log_dir / f"{log_name or name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    path = gate.worktree(commit) if gate is not None else m.add_temp_worktree(repo, commit)
    try:
        from gitpar.core import spawn

        env = spawn.command_env(name.removesuffix("-before"), path,
                                extra={"GITPAR_TEST_TREE": str(path), "GITPAR_COMMIT": str(commit)})
        command = fill_test_command(command, path)
        if gate is not None:
            gate.look(command, path, env)
        with log.open("w", encoding="utf-8") as out:
            out.write(f"$ {command}   # in {path} at {commit}\n")
            if cancel is None:
                code = spawn.run_logged(command, path, env, out)
            else:
                code = _run_cancellable(command, path, env, out, cancel)
            out.write(f"[exit {code}]\n")
        return code, log
    finally:
        if gate is not None:
            gate.release(path)
        else:
            m.remove_temp_worktree(repo, path)


def _run_cancellable(command: str, path: Path, env: dict[str, str], out: IO[str],
                     cancel: threading.Event) -> int:
    """``spawn.run_logged``, also stopping the command's group when ``cancel`` is set."""
    from gitpar.core import spawn

    out.flush()
    proc = spawn.popen(spawn.shell_argv(command), path, env, out)
    try:
        while True:
            try:
                return proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if cancel.is_set():
                    spawn.stop(proc)
                    out.write("[stopped: the queue no longer needs this result]\n")
                    raise Cancelled from None
    except BaseException:
        spawn.stop(proc)
        raise
