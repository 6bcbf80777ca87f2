"""Telling plugins what happened, without loading them when none could be listening.

Only plugins installed through the ``gitpar`` entry-point group, or loaded from the
repository by the plan (``plugins: {load: [...]}``), can implement ``gitpar_event``;
gitpar's own defaults do not. So when there are none, an event costs nothing: no pluggy,
no manager (a lock or a progress report stays as fast as without plugins).
"""

from __future__ import annotations

from typing import Any


def listeners_possible(repo: Any) -> bool:
    """Whether a plugin could implement ``gitpar_event`` here (cheap: no plugin is loaded)."""
    import sys

    if "gitpar.plugins.manager" in sys.modules:
        return True  # already loaded in this process (a test's plugin, another hook): ask it
    from gitpar.plugins.discovery import any_installed

    if any_installed():
        return True
    root = getattr(repo, "main_root", None)
    if root is None:
        return False
    try:
        text = (root / ".gitpar" / "plan.md").read_text(encoding="utf-8")
    except OSError:
        return False
    return "plugins:" in text  # the plan may opt in to repository plugins: ask the manager


def emit(kind: str, *, repo: Any, stream: str | None = None, path: str | None = None,
         **data: Any) -> None:
    """``gitpar.plugins.manager.emit``, skipped when no plugin could listen."""
    if not listeners_possible(repo):
        return
    from gitpar.plugins import manager

    manager.emit(kind, repo=repo, stream=stream, path=path, **data)
