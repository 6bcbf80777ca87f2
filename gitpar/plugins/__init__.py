"""gitpar's plugins: hook specifications, the manager, and gitpar's own defaults as plugins.

For plugin authors::

    from gitpar.plugins import hookimpl

    @hookimpl
    def gitpar_prepare_worktree(worktree, brief):
        ...

and an entry point in the ``gitpar`` group of the plugin's ``pyproject.toml``::

    [project.entry-points.gitpar]
    my-plugin = "my_plugin"

The names below are imported lazily: importing this package costs nothing until a hook
is needed (start-up matters). The hook reference is ``docs/plugins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitpar.plugins.hookspecs import (
        ConflictCase,
        ConflictStrategy,
        Contention,
        Decision,
        Event,
        LockStrategy,
        Proposal,
        Resolution,
        hookimpl,
        hookspec,
    )
    from gitpar.plugins.manager import PluginError

__all__ = ["ConflictCase", "ConflictStrategy", "Contention", "Decision", "Event", "LockStrategy",
           "PluginError", "Proposal", "Resolution", "hookimpl", "hookspec"]


def __getattr__(name: str) -> Any:
    if name == "PluginError":
        from gitpar.plugins.manager import PluginError

        return PluginError
    if name in __all__:
        from gitpar.plugins import hookspecs

        return getattr(hookspecs, name)
    raise AttributeError(f"module 'gitpar.plugins' has no attribute {name!r}")
