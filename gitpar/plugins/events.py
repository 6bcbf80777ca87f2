"""Telling plugins what happened, without loading them when none could be listening.

Only plugins installed through the ``gitpar`` entry-point group, or loaded from the
repository by the plan (``plugins: {load: [...]}``), can implement ``gitpar_event``;
gitpar's own defaults do not. So when there are none, an event costs nothing: no pluggy,
no manager (a lock or a progress report stays as fast as without plugins).
"""

from __future__ import annotations

from typing import Any


def listeners_possible(repo: Any) -> bool:
    """Whether a plugin could implement ``gitpar_event`` here: the one plugin gate
    (:func:`gitpar.plugins.loading.only_builtins`, keyed by the base commit; none of gitpar's
    own plugins listens), answered without loading any plugin."""
    from gitpar.plugins.loading import only_builtins

    return not only_builtins(repo)


def emit(kind: str, *, repo: Any, stream: str | None = None, path: str | None = None,
         **data: Any) -> None:
    """``gitpar.plugins.manager.emit``, skipped when no plugin could listen."""
    if not listeners_possible(repo):
        return
    from gitpar.plugins import manager

    manager.emit(kind, repo=repo, stream=stream, path=path, **data)
