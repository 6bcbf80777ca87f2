"""The plugin packages of plugins/, installed as a user installs them, driven as a user drives them.

They are installed once per test session with ``pip install --no-deps --target DIR``
(copies of the sources, so no build files land in the checkout), and found by gitpar
through their entry points with ``PYTHONPATH=DIR`` — the real packaging (pyproject,
entry point, package data) without a virtual environment per test. ``--no-deps``:
gitpar itself is the one under test, already importable. Build isolation stays on:
the packages build with their own declared backend, as on a user's machine.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, commit_plan, git, gitpar, worktree_of

from gitpar.plugins import manager
from gitpar.testing import run as run_with_plugins

PACKAGES = ("gitpar-python", "gitpar-codeowners", "gitpar-agents", "gitpar-mcp")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the plugin packages installed by pip (their dependencies, like gitpar-mcp's
    ``mcp``, come from the test extra)."""
    work = tmp_path_factory.mktemp("plugin-packages")
    sources = []
    for name in PACKAGES:
        src = work / "src" / name
        shutil.copytree(ROOT / "plugins" / name, src,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        sources.append(str(src))
    target = work / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                           "--target", str(target), *sources], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return target


@pytest.fixture
def env(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


@pytest.fixture
def on_path(site: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The installed packages importable in this process, found by entry point."""
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("GITPAR_DISABLED_PLUGINS", raising=False)
    manager.reset()
    yield site
    manager.reset()
    for name in list(sys.modules):
        if name.split(".")[0] in ("gitpar_python", "gitpar_codeowners", "gitpar_agents", "gitpar_mcp"):
            del sys.modules[name]


def core_calls(function: str, module: str, name: str) -> bool:
    """Whether the core already calls the plugin hook ``name`` (hooked up separately)."""
    import importlib

    return name in inspect.getsource(getattr(importlib.import_module(module), function))


def py_project(tmp_path: Path, run) -> Path:  # type: ignore[no-untyped-def]
    p = tmp_path / "py"
    (p / "pkg").mkdir(parents=True)
    (p / "pkg/__init__.py").write_text("")
    (p / "pkg/core.py").write_text("X = 1\n")
    (p / "pkg/api.py").write_text("from pkg.core import X\n")
    (p / "pkg/cli.py").write_text("from pkg import api\n")
    git(p, "init", "-q", "-b", "main")
    git(p, "add", "-A")
    git(p, "commit", "-qm", "init")
    assert run(p, "init", "--no-hooks").code == 0
    return p


def test_installed_packages_are_listed_with_their_hooks(planned: Path, env: dict[str, str]) -> None:
    r = gitpar(planned, "plugins", "--json", env=env)
    assert r.code == 0, r
    by_name = {p["name"]: p for p in json.loads(r.out)["plugins"]}
    assert by_name["gitpar-python"]["hooks"] == ["gitpar_propose_streams"]
    assert by_name["gitpar-codeowners"]["hooks"] == ["gitpar_register_commands"]
    assert by_name["gitpar-agents"]["hooks"] == ["gitpar_prepare_worktree", "gitpar_register_commands"]
    assert by_name["gitpar-mcp"]["hooks"] == ["gitpar_register_commands"]
    for name in PACKAGES:
        assert (by_name[name]["source"], by_name[name]["version"]) == ("installed", "0.1.0")
        assert by_name[name]["module"] == name.replace("-", "_")


def test_suggest_through_a_real_process(tmp_path: Path, run, env: dict[str, str]) -> None:
    p = py_project(tmp_path, run)
    r = gitpar(p, "suggest", "--json", env=env)
    assert r.code == 0, r
    streams = {s["name"]: s for s in json.loads(r.out)["streams"]}
    assert streams["api"]["depends_on"] == ["core"] and streams["cli"]["depends_on"] == ["api"]
    assert "pkg/core.py" in streams["core"]["owns"]


def test_codeowners_export(tmp_path: Path, run, on_path: Path) -> None:
    p = py_project(tmp_path, run)
    assert run(p, "stream", "add", "core", "--owns", "pkg/core.py", "--agent", "@org/core").code == 0
    commit_plan(p)
    r = run_with_plugins(p, "codeowners", "export")
    assert r.code == 0, r
    assert "pkg/core.py @org/core" in r.out.splitlines()


@pytest.mark.skipif(not core_calls("main", "gitpar.cli.main", "add_plugin_commands"),
                    reason="main() does not load plugin commands yet (one line, see docs/plugins.md)")
def test_codeowners_export_through_a_real_process(tmp_path: Path, run, env: dict[str, str]) -> None:
    p = py_project(tmp_path, run)
    assert run(p, "stream", "add", "core", "--owns", "pkg/core.py").code == 0
    commit_plan(p)
    r = gitpar(p, "codeowners", "export", env=env)
    assert r.code == 0, r
    assert "pkg/core.py" in r.out
    r = gitpar(p, "codeowners", "export", env={**env, "GITPAR_DISABLED_PLUGINS": "gitpar-codeowners"})
    assert r.code == 2 and "No such command" in r.err


def test_agents_file_through_the_manager(tmp_path: Path, run, on_path: Path) -> None:
    from gitpar.core import streams
    from gitpar.core.repo import open_repo

    p = py_project(tmp_path, run)
    assert run(p, "stream", "add", "core", "--owns", "pkg/core.py").code == 0
    commit_plan(p)
    assert run(p, "start", "core").code == 0
    wt = worktree_of(p, "core")
    repo = open_repo(p)
    data = streams.brief(repo, "core")
    lines = manager.prepare_worktree(repo, repo.load_plan(), "core", wt, int(data["port"]), data)
    assert "wrote AGENTS.md, CLAUDE.md, .claude/settings.local.json (ignored by git in this worktree)" in lines
    assert "- pkg/core.py" in (wt / "AGENTS.md").read_text()
    assert git(wt, "status", "--porcelain", "AGENTS.md", "CLAUDE.md") == ""


@pytest.mark.skipif(not core_calls("start", "gitpar.core.streams", "prepare_worktree"),
                    reason="streams.start() does not call the gitpar_prepare_worktree hook yet")
def test_agents_file_on_start_through_a_real_process(tmp_path: Path, run, env: dict[str, str]) -> None:
    p = py_project(tmp_path, run)
    assert run(p, "stream", "add", "core", "--owns", "pkg/core.py").code == 0
    commit_plan(p)
    r = gitpar(p, "start", "core", env=env)
    assert r.code == 0, r
    wt = worktree_of(p, "core")
    assert (wt / "AGENTS.md").is_file()
    assert git(wt, "status", "--porcelain") == ""
    assert gitpar(wt, "finish", env=env).code == 0


@pytest.mark.slow
def test_the_packages_own_tests(site: Path) -> None:
    """Each package's tests, in one process, against the installed packages."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("GITPAR_DISABLED_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *(str(ROOT / "plugins" / n / "tests") for n in PACKAGES)],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
