"""The pre-commit framework runs gitpar's check from .pre-commit-hooks.yaml (pre-commit try-repo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, git, worktree_of, write

# pre-commit is a test dependency: run as this interpreter's module, never skipped because
# a 'pre-commit' script is not on PATH
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


@pytest.mark.slow
def test_pre_commit_try_repo(started_plain: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    api = worktree_of(started_plain, "api")
    # pre-commit caches the environments it builds; one cache for the session
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path_factory.getbasetemp() / "pre-commit-cache"))
    write(api / "src/ui/b.py", "not mine\n")
    git(api, "add", "-A")
    res = subprocess.run([*PRE_COMMIT, "try-repo", str(ROOT), "gitpar-check"], cwd=api, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "src/ui/b.py" in res.stdout and "owned by stream ui" in res.stdout
    git(api, "reset", "-q", "--hard")
    write(api / "src/api/a.py", "mine\n")
    git(api, "add", "-A")
    res = subprocess.run([*PRE_COMMIT, "try-repo", str(ROOT), "gitpar-check"], cwd=api, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture
def started_plain(planned: Path, run) -> Path:
    assert run(planned, "hooks", "uninstall").code == 0  # only the framework's hook runs here
    assert run(planned, "start", "api").code == 0
    assert run(planned, "start", "ui", "--force").code == 0
    return planned
