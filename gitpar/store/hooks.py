"""Installing gitpar's hook shims in the repository's common hooks folder.

One install serves every worktree (worktrees share the common git directory's hooks).
A hook already there is kept as ``<hook>.legacy`` and still runs first, as pre-commit
does; reinstalling is idempotent; uninstalling puts the legacy hook back.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from importlib import resources
from pathlib import Path

import gitpar
from gitpar.errors import Refused
from gitpar.store.repo import Repo, git

HOOKS = ("pre-commit", "commit-msg", "pre-push")
MARKER = "gitpar-hook: installed by `gitpar hooks install`"


def hooks_dir(repo: Repo) -> Path:
    """The folder git runs hooks from; Refused when core.hooksPath points elsewhere."""
    proc = git(["config", "--get", "core.hooksPath"], repo.common_dir, check=False)
    configured = proc.stdout.strip()
    default = repo.common_dir / "hooks"
    if configured:
        base = repo.main_root or repo.common_dir
        path = (base / os.path.expanduser(configured)).resolve()
        if path != default.resolve():
            raise Refused(f"core.hooksPath is set to {configured!r}, so git runs hooks from {path}, "
                          "which another hook manager (or the repository) owns; gitpar does not write "
                          "there. Unset it ('git config --unset core.hooksPath') and run "
                          "'gitpar hooks install' again, or call 'gitpar check --staged' from your "
                          "manager's pre-commit hook")
    return default


def _template() -> str:
    """The hook shim template: the top-level ``hooks/hook-tmpl``, installed as the package
    data ``gitpar.hooks``; read from the source tree when gitpar runs from a checkout."""
    source = Path(__file__).resolve().parents[2] / "hooks" / "hook-tmpl"
    if source.is_file():
        return source.read_text(encoding="utf-8")
    return resources.files("gitpar.hooks").joinpath("hook-tmpl").read_text(encoding="utf-8")


def import_paths() -> list[str]:
    """Folders the hook's interpreter (started with -S, without site) needs on sys.path."""
    paths = [str(Path(gitpar.__file__).resolve().parent.parent)]
    for p in sys.path:
        if p and ("site-packages" in p or "dist-packages" in p) and os.path.isdir(p) and p not in paths:
            paths.append(p)
    return paths


def render(hook: str) -> str:
    return (_template().replace("__HOOK__", hook).replace("__PYTHON__", sys.executable)
            .replace("__PATHS__", json.dumps(import_paths())))


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(repo: Repo) -> list[str]:
    """Write the shims; returns what was done."""
    folder = hooks_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for hook in HOOKS:
        path = folder / hook
        legacy = folder / f"{hook}.legacy"
        text = render(hook)
        if path.exists() and not is_ours(path):
            if legacy.exists():
                raise Refused(f"{path} and {legacy} both exist; move one away, then install again")
            path.rename(legacy)
            done.append(f"kept the existing {hook} hook as {legacy.name}; it still runs first")
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        tmp = path.with_suffix(".gitpar-tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        tmp.replace(path)
        done.append(f"installed the {hook} hook in {folder}")
    return done


def uninstall(repo: Repo) -> list[str]:
    folder = hooks_dir(repo)
    done = []
    for hook in HOOKS:
        path = folder / hook
        legacy = folder / f"{hook}.legacy"
        if path.exists() and is_ours(path):
            path.unlink()
            done.append(f"removed the {hook} hook")
            if legacy.exists():
                legacy.rename(path)
                done.append(f"restored the previous {hook} hook")
    return done or ["no gitpar hooks installed"]


def status(repo: Repo) -> list[dict[str, str | None]]:
    try:
        folder = hooks_dir(repo)
    except Refused as exc:
        return [{"hook": h, "state": "blocked", "chains": None, "path": str(exc)} for h in HOOKS]
    rows: list[dict[str, str | None]] = []
    for hook in HOOKS:
        path = folder / hook
        legacy = folder / f"{hook}.legacy"
        if not path.exists():
            state = "missing"
        elif not is_ours(path):
            state = "foreign"
        elif path.read_text(encoding="utf-8") != render(hook):
            state = "outdated"
        else:
            state = "installed"
        rows.append({"hook": hook, "state": state, "chains": legacy.name if legacy.exists() else None,
                     "path": str(path)})
    return rows
