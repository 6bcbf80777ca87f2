"""Test helpers for plugin authors: real repositories with a plan, a plugin for one test.

With pytest, import the fixtures into your ``conftest.py``::

    from gitpar.testing import gitpar_repo, hermetic_git  # noqa: F401

and write tests against real git::

    from gitpar.testing import plugin_registered, run

    def test_my_plugin(gitpar_repo):
        with plugin_registered(my_plugin, "my-plugin"):
            result = run(gitpar_repo, "start", "api")
        assert result.code == 0

Nothing here mocks git: :func:`make_repo` runs ``git init`` and ``gitpar init`` in a
folder, and :func:`hermetic` gives git its own HOME, no system config and a fixed
identity, so the tests do not depend on the machine's git configuration.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Result", "commit_plan", "git", "gitpar_repo", "hermetic", "hermetic_git", "make_repo",
           "plugin_registered", "run", "run_process", "worktree_of"]


@dataclass
class Result:
    """What a gitpar command did: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd``; AssertionError with git's message when it fails."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


HERMETIC_UNSET = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITPAR_DISABLED_PLUGINS")


def hermetic_env(home: Path) -> dict[str, str]:
    """The variables that make git ignore the machine's configuration and identity."""
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
           "NO_COLOR": "1"}
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "tester"
        env[f"GIT_{who}_EMAIL"] = "tester@example.com"
    return env


@contextlib.contextmanager
def hermetic(home: Path) -> Iterator[None]:
    """Within the block, git (and libgit2) read their configuration from ``home`` only."""
    import pygit2

    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    saved = {k: os.environ.get(k) for k in (*hermetic_env(home), *HERMETIC_UNSET)}
    level = pygit2.enums.ConfigLevel.GLOBAL
    saved_search = pygit2.settings.search_path[level]
    os.environ.update(hermetic_env(home))
    for key in HERMETIC_UNSET:
        os.environ.pop(key, None)
    # libgit2 reads the global config from HOME once per process; point it at ours
    pygit2.settings.search_path[level] = str(home)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        pygit2.settings.search_path[level] = saved_search


def make_repo(path: Path, files: Mapping[str, str] | None = None,
              streams: Mapping[str, Mapping[str, Any]] | None = None,
              settings: Mapping[str, Any] | None = None) -> Path:
    """A repository at ``path`` with ``files`` committed on main, gitpar initialised, and
    ``streams`` (name -> ``owns``, ``shares``, ``depends_on``, ``priority``, ``estimate``,
    ``agent``, ``brief``) committed as the plan; ``settings`` are added to plan.md.

    Call it inside :func:`hermetic` (the ``hermetic_git`` fixture does).
    """
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    files = files if files is not None else {"src/api/a.py": "a = 1\n", "src/ui/b.py": "b = 1\n",
                                             "src/config.py": "config = 1\n", "docs/x.md": "doc\n"}
    for rel, text in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init", "--allow-empty")
    _ok(run(path, "init", "--no-hooks"))
    if settings:
        _add_settings(path, settings)
    for name, spec in (streams or {}).items():
        args = ["stream", "add", name]
        for key in ("owns", "shares", "depends_on"):
            for value in _list(spec.get(key)):
                args += [f"--{key.replace('_', '-')}", value]
        for key in ("priority", "estimate", "agent", "brief", "description"):
            if spec.get(key) is not None:
                args += [f"--{key}", str(spec[key])]
        _ok(run(path, *args))
    commit_plan(path)
    return path


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _add_settings(path: Path, settings: Mapping[str, Any]) -> None:
    import yaml

    plan = path / ".gitpar" / "plan.md"
    text = plan.read_text()
    head, sep, rest = text[4:].partition("\n---")
    # a key init already wrote is replaced, not written twice (a duplicate key is a plan error)
    kept = [line for line in head.splitlines() if line.partition(":")[0].strip() not in settings]
    extra = yaml.safe_dump(dict(settings), sort_keys=False, default_flow_style=None)
    plan.write_text("---\n" + "\n".join(kept).rstrip("\n") + "\n" + extra + "---" + rest)


def _ok(result: Result) -> None:
    if result.code != 0:
        raise AssertionError(f"gitpar failed ({result.code}): {result.text}")


def commit_plan(path: Path) -> None:
    """Commit ``.gitpar/`` on the current branch (the plan is read from the base branch)."""
    git(path, "add", "-A", ".gitpar")
    git(path, "commit", "-qm", "plan", check=False)


def worktree_of(path: Path, stream: str) -> Path:
    """The worktree of ``stream`` (its branch ``gitpar/<stream>`` checked out)."""
    where = None
    for line in git(path, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            where = line[len("worktree "):]
        if line == f"branch refs/heads/gitpar/{stream}" and where:
            return Path(where)
    raise AssertionError(f"no worktree for stream {stream}")


def run(cwd: Path, *args: str) -> Result:
    """Run gitpar in this process from ``cwd`` (fast), plugin commands included."""
    from gitpar.cli.cmd_plugins import add_plugin_commands
    from gitpar.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                add_plugin_commands(list(args))
            except Exception as exc:  # the same handling main() gives it once hooked up
                from gitpar.errors import GitparError

                if not isinstance(exc, GitparError):
                    raise
                sys.stderr.write(f"gitpar: {exc}\n")
                return Result(exc.exit_code, out.getvalue(), err.getvalue())
            code = main(list(args))
    finally:
        os.chdir(before)
    return Result(code, out.getvalue(), err.getvalue())


def sigint_default() -> None:
    """A ``preexec_fn`` for a child process a test interrupts with SIGINT: the signal's
    default action back, which a test run started as a shell's background job would
    otherwise pass on as ignored (Python then never raises KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_process(cwd: Path, *args: str, env: Mapping[str, str] | None = None,
                python: Sequence[str] | None = None) -> Result:
    """Run gitpar in a real subprocess, as a user would (``python -m gitpar``)."""
    cmd = [*(python or [sys.executable]), "-m", "gitpar", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def plugin_registered(plugin: Any, name: str | None = None) -> Iterator[str]:
    """Register ``plugin`` (a module, class or object with hookimpls) for the block only.

    Yields the name it is registered under. Its commands, if it adds any, are taken off
    the command line again afterwards. When the same plugin is already loaded under that
    name (installed, so found by its entry point), it is used as it is.
    """
    from gitpar.cli.cmd_plugins import remove_plugin_commands
    from gitpar.plugins import manager

    if name is not None and manager.plugin_object(name) is plugin:
        yield name
        return
    registered = manager.register(plugin, name)
    try:
        yield registered
    finally:
        manager.unregister(registered)
        remove_plugin_commands()


try:  # pytest fixtures, for plugin authors who use pytest
    import pytest
except ImportError:  # pragma: no cover
    pass
else:
    @pytest.fixture
    def hermetic_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
        """git with its own HOME, no system config and a fixed identity; yields HOME."""
        home = tmp_path_factory.mktemp("home")
        with hermetic(home):
            yield home

    @pytest.fixture
    def gitpar_repo(hermetic_git: Path, tmp_path: Path) -> Path:
        """A repository with a committed plan: streams ``api`` and ``ui`` (after api)."""
        return make_repo(tmp_path / "repo", streams={
            "api": {"owns": ["src/api/**"], "shares": ["src/config.py"], "estimate": "1h"},
            "ui": {"owns": ["src/ui/**"], "shares": ["src/config.py"], "depends_on": ["api"]},
        })
