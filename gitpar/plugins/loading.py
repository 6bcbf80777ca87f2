"""Loading plugins, once per process: the one :class:`~gitpar.plugins.registry.Loaded` the
manager asks (``plugins.registry`` records and asks it; ``plugins.repository`` reads the
repository's plugins).

Loading happens on the first call that needs a hook, never at import, so ``gitpar --help``
and the commands that ask no hook pay nothing. What is loaded, in order:

1. gitpar's own defaults (``gitpar.plugins.builtin``), as plugins like any other;
2. installed plugins: the ``gitpar`` entry-point group. They are found by reading the
   ``entry_points.txt`` of the distributions on ``sys.path`` directly: importing
   ``importlib.metadata`` alone costs more than a command that asks a hook may spend here;
3. repository plugins: Python files listed under ``plugins: {load: [...]}`` in
   ``.gitpar/plan.md`` *as committed on the base branch*, their code read from the base
   branch's blobs. They are code from the repository, so nothing from the repository is
   loaded unless the plan on the base opts in, and nothing from a working tree or from the
   head of a change being judged is ever run: a pull request that adds a plugin (or edits
   one) gets it run only once it is merged into the base. ``gitpar check --base REF``
   reads them from ``REF`` (``load(repo, at=...)``).

``GITPAR_DISABLED_PLUGINS`` (names separated by commas) blocks plugins by name (pluggy's
``set_blocked``). Every plugin is registered behind its guard (``plugins.guard``).

Warnings: loading may run before any repository is open, so its warnings (:func:`warn`)
wait here until :func:`hand_over` puts them on a repository's ``warnings``, the one
channel (``store.repo``'s docstring has the rule); ``load(repo)`` does, and the command
line takes what still waits when the command ends.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import TYPE_CHECKING, Any

from gitpar.plugins import hookspecs
from gitpar.plugins.builtin import DEFAULT_PLUGINS
from gitpar.plugins.discovery import (
    ENTRY_POINT_GROUP,
    EntryPoint,
    any_installed,
    find_entry_points,
    forget,
)
from gitpar.plugins.guard import DISABLED_ENV, Guarded, PluginError
from gitpar.plugins.registry import (
    Loaded,
    PluginInfo,
    _check_pending,
    _gitpar_version,
    add,
    builtin_only,
    collect,
    impls,
    is_builtin,
    register_in,
    sole_builtin,
    unregister_from,
)
from gitpar.plugins.repository import (
    PLAN_FILE,
    looks_like_repo_plugin,
    no_repository_plugins,
    plugin_settings,
    repo_here,
    repo_key,
    repository_plugin_files,
    swap_repo_plugins,
)
from gitpar.plugins.repository import forget as forget_repositories
from gitpar.store.repo import Oid

if TYPE_CHECKING:
    import pluggy


    # gitpar.core.repo.Repo, used through its methods only: the plugins never import the core
    Repo = Any

# the names the manager takes from here, wherever they are defined
__all__ = ["DISABLED_ENV", "PLAN_FILE", "EntryPoint", "Loaded", "PluginError", "PluginInfo",
           "_check_pending", "blocked_names", "builtin_only", "collect", "find_entry_points",
           "hand_over", "impls", "is_builtin", "load", "only_builtins", "plugin_object",
           "plugin_settings", "pm", "register", "repository_plugin_files", "reset", "sole_builtin",
           "take_warnings", "unregister", "waiting_warnings", "warn"]


_loaded: Loaded | None = None


# -- finding installed plugins ----------------------------------------------------------


def _load_entry_point(ep: EntryPoint) -> Any:
    module_name, _, attr = ep.value.partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in attr.strip().split(".") if attr.strip() else []:
        obj = getattr(obj, part)
    return obj


def blocked_names() -> list[str]:
    """The plugin names ``GITPAR_DISABLED_PLUGINS`` blocks."""
    raw = os.environ.get(DISABLED_ENV, "")
    return [n.strip() for n in raw.split(",") if n.strip()]


# -- loading ------------------------------------------------------------------------------


def load(repo: Repo | None = None, at: Oid | None = None) -> Loaded:
    """Load the plugins once per process (and the repository's, when its base plan opts in).

    Repository plugins are read from the commit ``at`` (``gitpar check --base``), else from
    the tip of ``repo``'s base branch (else of the repository around the current folder).
    """
    global _loaded
    if _loaded is None:
        _loaded = _load_all()
    source = repo if repo is not None else repo_here()
    key = repo_key(source, at)  # by the base commit, asked each time: the base may move
    if key != _loaded.repo_key:
        swap_repo_plugins(_loaded, source, key)
    if repo is not None:
        hand_over(repo)
    return _loaded


def only_builtins(repo: Repo | None = None, at: Oid | None = None) -> bool:
    """The one plugin gate: whether :func:`load` (with the same arguments) would register
    gitpar's own plugins and nothing else, all of them enabled — no plugin installed (no
    entry point in the group), none blocked (``GITPAR_DISABLED_PLUGINS`` empty), none loaded
    from the repository by the plan on its base — answered without loading anything. A hook
    none of gitpar's own implements (``builtin.HOOKS``) then has no answer: its caller skips
    the load, and gitpar's own are called directly. False once the plugins are loaded
    (asking them is then the cheap way). The repository part is keyed by the base commit
    (``at``, else the base branch's tip, looked up on every call), never by the folder or the
    process: a long-lived process sees a plugin the base plan opts into later."""
    if _loaded is not None or os.environ.get(DISABLED_ENV, "").strip() or any_installed():
        return False
    return no_repository_plugins(repo if repo is not None or at is not None else repo_here(), at)


def pm(repo: Repo | None = None) -> pluggy.PluginManager:
    """The loaded plugin manager: ``pm().hook.gitpar_...(...)``."""
    return load(repo).pm


def reset() -> None:
    """Forget the loaded plugins; the next call loads them again (tests, long-lived processes)."""
    global _loaded
    _loaded = None
    forget()
    forget_repositories()


def warn(text: str) -> None:
    """A warning about the plugins, waiting for a repository's channel (once)."""
    state = _loaded if _loaded is not None else load()
    if text not in state.warnings:
        state.warnings.append(text)


def waiting_warnings() -> list[str]:
    """The warnings waiting here (blocked names not installed, unknown hooks ...), left in place."""
    return [] if _loaded is None else list(_loaded.warnings)


def take_warnings() -> list[str]:
    """The warnings waiting here, each once; they wait no longer."""
    if _loaded is None:
        return []
    out, _loaded.warnings[:] = list(_loaded.warnings), []
    return out


def hand_over(repo: Repo) -> None:
    """Put the warnings waiting here on ``repo``'s warnings, the one channel."""
    for w in take_warnings():
        repo.warn(w)


def _load_all() -> Loaded:
    import pluggy  # noqa: TID253 — imported on the first hook call only


    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    state = Loaded(pm=manager, infos={})
    blocked = blocked_names()
    for name in blocked:
        manager.set_blocked(name)
    for module, name in DEFAULT_PLUGINS:
        info = PluginInfo(name=name, source="builtin", module=module, package="gitpar",
                          version=_gitpar_version())
        add(state, info, functools.partial(importlib.import_module, module))
    for ep in find_entry_points():
        if ep.name in state.infos:
            state.warnings.append(f"plugin {ep.name!r} of {ep.package} {ep.version} is ignored: "
                                  f"a plugin of that name is already loaded "
                                  f"({state.infos[ep.name].package or state.infos[ep.name].source})")
            continue
        info = PluginInfo(name=ep.name, source="installed", module=ep.value, package=ep.package,
                          version=ep.version or None)
        add(state, info, functools.partial(_load_entry_point, ep))
    known = set(state.infos)
    for name in blocked:
        if name not in known and not looks_like_repo_plugin(name):
            state.warnings.append(f"{DISABLED_ENV} names {name!r}, which is not installed "
                                  f"(installed: {', '.join(sorted(known)) or 'none'})")
    _check_pending(state)
    return state


def plugin_object(name: str) -> Any:
    """The plugin registered as ``name`` (the object itself, not its guard), or None."""
    got = pm().get_plugin(name)
    return got.plugin if isinstance(got, Guarded) else got



def register(plugin: Any, name: str | None = None, *, state: Loaded | None = None) -> str:
    """Register ``plugin`` (a module or an object with hookimpls) under ``name``, in the
    process's plugins unless ``state`` is given (:func:`registry.register_in`)."""
    return register_in(state or load(), plugin, name)


def unregister(name: str) -> None:
    """Unregister the plugin called ``name`` (a no-op when there is none)."""
    if _loaded is not None:
        unregister_from(_loaded, name)


