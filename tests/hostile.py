"""Helpers for the hostile-input tests: plant files on the state branch as an attacker would."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

STATE = "refs/heads/gitpar/_state"


def _git(repo: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True,
                          env={**os.environ, **(env or {})}, check=False)
    if proc.returncode:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode()}")
    return proc.stdout.decode().strip()


def plant_state_file(repo: Path, path: str, content: str | bytes | None) -> None:
    """Commit ``content`` at ``path`` on the state branch (None deletes it), with plumbing."""
    index = repo / ".git" / "plant-index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        _git(repo, "read-tree", STATE, env=env)
        if content is None:
            _git(repo, "update-index", "--force-remove", path, env=env)
        else:
            data = content.encode() if isinstance(content, str) else content
            oid = _git(repo, "hash-object", "-w", "--stdin", data=data)
            _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{oid},{path}", env=env)
        tree = _git(repo, "write-tree", env=env)
        commit = _git(repo, "commit-tree", tree, "-p", STATE, "-m", f"plant {path}")
        _git(repo, "update-ref", STATE, commit)
    finally:
        index.unlink(missing_ok=True)


def planted_hook_cache(tmp_path: Path) -> tuple[Path, Path]:
    """A started stream (``api``, hooks installed, its worktree) whose hook cache loads but
    holds the wrong shape: a bug the code did not foresee. Call it inside ``hermetic``."""
    from gitpar.store import cache as cache_file
    from gitpar.testing import git, make_repo, run, worktree_of

    repo = make_repo(tmp_path / "repo", files={"src/api/a.py": "a = 1\n"}, streams={"api": {"owns": ["src/api/**"]}})
    assert run(repo, "hooks", "install").code == 0
    assert run(repo, "start", "api").code == 0
    wt = worktree_of(repo, "api")
    (wt / "src/api/a.py").write_text("a = 2\n")
    git(wt, "commit", "-qam", "warm the hook's cache")
    cache = repo / ".git/gitpar/cache/hook-rules.marshal"
    data = cache_file.read_marshal(cache)
    data["locks"] = 5
    cache_file.write_marshal(cache, data)
    return repo, wt
