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
