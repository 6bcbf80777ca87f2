"""Parsed plans kept by what they were parsed from, in memory and in the git directory.

A plan of thousands of streams takes hundreds of milliseconds to parse and validate; a
state change or a hook must not pay that each time. A committed plan is keyed by its
``.gitpar`` tree id (it can never change); so is the main worktree's copy when git says the
folder is clean (:func:`worktree_key`); an edited one is parsed each time, never cached.
The files live in ``<git dir>/gitpar/cache/plans/`` (pickled Plan objects: this directory is as trusted as the repository's own hooks).

Beside them, ``rules/<key>.marshal`` keeps the ownership rules of a main worktree's plan
as plain data (:meth:`gitpar.core.rules.Rules.to_json`), which ``gitpar who`` reads
without importing the plan's classes (:mod:`gitpar.cli.quick`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitpar.store import cache as cache_file
from gitpar.store.quickgit import clean_tree

PLAN_DIR = ".gitpar"  # core.plan's, which this module does not import (the who fast path)

KEEP = 8  # plans kept on disk
_memory: dict[str, Any] = {}


def worktree_key(root: str) -> str | None:
    """The key of the plan in the worktree at ``root``: ``tree-<id>`` of its committed
    ``.gitpar`` tree when git says the folder holds exactly that tree (``git status``, which
    handles racy timestamps, so an edit that keeps a file's size and time is seen); None when
    the folder differs from it in any way: such a plan is parsed, never cached."""
    tree = clean_tree(root, PLAN_DIR)
    return None if tree is None else f"tree-{tree}"


def get(repo: Any, key: str, build: Callable[[], Any]) -> Any:
    """The plan cached under ``key``, else ``build()`` (BadInput from it is not cached)."""
    if key in _memory:
        return _memory[key]
    path = Path(repo.gitpar_dir) / "cache" / "plans" / f"{key}.pickle"
    plan = cache_file.read(path)
    if plan is None:
        plan = build()
        cache_file.write(path, plan, keep=KEEP)
    _memory[key] = plan
    return plan


def _rules_file(gitpar_dir: Path, key: str) -> Path:
    return gitpar_dir / "cache" / "rules" / f"{key}.marshal"


def read_rules(gitpar_dir: Path, key: str) -> dict[str, Any] | None:
    """The rules JSON :func:`write_rules` kept for the plan ``key``, or None."""
    data = cache_file.read_marshal(_rules_file(gitpar_dir, key))
    return data if isinstance(data, dict) and "patterns" in data else None


def write_rules(gitpar_dir: Path, key: str, rules: dict[str, Any]) -> None:
    """Keep ``rules`` (``Rules.to_json()``) for the plan ``key``; the ``KEEP`` newest stay."""
    cache_file.write_marshal(_rules_file(gitpar_dir, key), rules, keep=KEEP)
