"""Fixtures: hermetic git (own HOME, no system config, fixed identity), real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitpar.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITPAR_DISABLED_PLUGINS"):
        monkeypatch.delenv(key, raising=False)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "tester")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "tester@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    # libgit2 reads the global config from HOME once per process; point it at ours
    import pygit2

    pygit2.settings.search_path[pygit2.enums.ConfigLevel.GLOBAL] = str(home)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def text(self) -> str:
        return self.out + self.err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


def gitpar(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run the installed gitpar in a real subprocess, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "gitpar", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


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


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with a few files committed on main."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r / "src/api/a.py", "a = 1\n")
    write(r / "src/ui/b.py", "b = 1\n")
    write(r / "src/config.py", "".join(f"line{i}\n" for i in range(1, 11)))
    write(r / "docs/x.md", "doc\n")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "init")
    return r


def commit_plan(r: Path) -> None:
    git(r, "add", "-A", ".gitpar")
    git(r, "commit", "-qm", "plan", check=False)


def worktree_of(r: Path, stream: str) -> Path:
    out = git(r, "worktree", "list", "--porcelain")
    path = None
    for line in out.splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree "):]
        if line == f"branch refs/heads/gitpar/{stream}":
            assert path
            return Path(path)
    raise AssertionError(f"no worktree for {stream}")


@pytest.fixture
def planned(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """``repo`` with gitpar initialised and two committed streams: api, ui (ui after api)."""
    assert run(repo, "init").code == 0
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py",
               "--estimate", "1h").code == 0
    assert run(repo, "stream", "add", "ui", "--owns", "src/ui/**", "--shares", "src/config.py",
               "--depends-on", "api").code == 0
    commit_plan(repo)
    return repo


def edit_config(wt: Path, line: int, text: str) -> None:
    config = wt / "src/config.py"
    lines = config.read_text().splitlines()
    lines[line - 1] = text
    config.write_text("\n".join(lines) + "\n")


def work(repo: Path, run, name: str, files: dict[str, str], config: tuple[int, str] | None = None,  # type: ignore[no-untyped-def]
         finish: bool = True, chain: bool = False) -> Path:
    """Start ``name``, commit ``files`` (and a config line) in its worktree, finish it.

    The config line is edited on the base's version of the file unless ``chain``: taking the
    lock then brings in the previous holder's version first (so the streams do not conflict).
    """
    assert run(repo, "start", name).code == 0
    wt = worktree_of(repo, name)
    for path, text in files.items():
        write(wt / path, text)
    if config:  # a shared file: changed under its lock, as the rules want (finish releases it)
        assert run(wt, "lock", "src/config.py", *(() if chain else ("--no-chain",))).code == 0
        edit_config(wt, *config)
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", f"{name}: work")
    if finish:
        assert run(wt, "finish").code == 0
    return wt
