"""Fixtures: hermetic git (own HOME, no system config, fixed identity), real repositories.

The helpers are gitpar.testing's, the ones plugin authors use: ``git``, ``Result``,
``commit_plan``, ``worktree_of``, and ``gitpar`` (``run_process``: a real subprocess).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitpar.cli.main import main
from gitpar.testing import (
    HERMETIC_UNSET,
    Result,
    commit_plan,
    git,
    hermetic,
    hermetic_env,
    worktree_of,
)
from gitpar.testing import run as run_in_process
from gitpar.testing import run_process as gitpar

__all__ = ["ROOT", "Result", "commit_plan", "edit_config", "git", "gitpar", "work", "worktree_of", "write"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """gitpar.testing.hermetic's environment, undone after each test by monkeypatch."""
    home = tmp_path_factory.mktemp("home")
    for key, value in hermetic_env(home).items():
        monkeypatch.setenv(key, value)
    for key in HERMETIC_UNSET:
        monkeypatch.delenv(key, raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    # libgit2 reads the global config from HOME once per process; point it at ours
    import pygit2

    pygit2.settings.search_path[pygit2.enums.ConfigLevel.GLOBAL] = str(home)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run gitpar in-process (fast) from a directory: run(cwd, *args) -> Result."""

    def _run(cwd: Path, *args: str) -> Result:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _make_repo(r: Path) -> Path:
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r / "src/api/a.py", "a = 1\n")
    write(r / "src/ui/b.py", "b = 1\n")
    write(r / "src/config.py", "".join(f"line{i}\n" for i in range(1, 11)))
    write(r / "docs/x.md", "doc\n")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "init")
    return r


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a few files committed on main."""
    return _make_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def planned_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``planned``'s repository, built once per session (by the CLI, as a user would) and
    copied for each test: nothing in it names its own folder, so a copy is the same repository."""
    base = tmp_path_factory.mktemp("planned-template")
    with hermetic(base / "home"):
        r = _make_repo(base / "repo")
        for args in (["init"],
                     ["stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py", "--estimate", "1h"],
                     ["stream", "add", "ui", "--owns", "src/ui/**", "--shares", "src/config.py", "--depends-on", "api"]):
            done = run_in_process(r, *args)
            assert done.code == 0, done
        commit_plan(r)
    return r


@pytest.fixture
def planned(repo: Path, planned_template: Path) -> Path:
    """``repo`` with gitpar initialised (hooks installed) and two committed streams: api, and
    ui after api."""
    shutil.rmtree(repo)
    shutil.copytree(planned_template, repo, symlinks=True)
    return repo


@pytest.fixture
def started(planned: Path, run) -> Path:
    """``planned`` with both streams started (ui forced) and the hooks installed."""
    assert run(planned, "start", "api").code == 0
    assert run(planned, "start", "ui", "--force").code == 0
    return planned


def edit_config(wt: Path, line: int, text: str) -> None:
    config = wt / "src/config.py"
    lines = config.read_text().splitlines()
    lines[line - 1] = text
    config.write_text("\n".join(lines) + "\n")


def work(repo: Path, run, name: str, files: dict[str, str], config: tuple[int, str] | None = None,  # type: ignore[no-untyped-def]
         finish: bool = True, chain: bool = False) -> Path:
    """Start ``name``, commit ``files`` (and a config line) in its worktree, finish it.

    The config line is edited on the base's version of the file (the lock taken with
    ``--no-chain``, so streams that edit the same line conflict), or with ``chain`` on the
    previous holder's version, which the lock then brings in first (the plan's default).
    """
    assert run(repo, "start", name).code == 0
    wt = worktree_of(repo, name)
    for path, text in files.items():
        write(wt / path, text)
    if config:  # a shared file: changed under its lock, as the rules want (finish releases it)
        assert run(wt, "lock", "src/config.py", "--chain" if chain else "--no-chain").code == 0
        edit_config(wt, *config)
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", f"{name}: work")
    if finish:
        assert run(wt, "finish").code == 0
    return wt
