"""Loading plugins, once per process, and the registry the manager asks.

Loading happens on the first call that needs a hook, never at import, so ``gitpar --help``
and the commands that ask no hook pay nothing. What is loaded, in order:

1. gitpar's own defaults (``gitpar.plugins.builtin``), as plugins like any other;
2. installed plugins: the ``gitpar`` entry-point group. They are found by reading the
   ``entry_points.txt`` of the distributions on ``sys.path`` directly: importing
   ``importlib.metadata`` alone costs more than the whole 30 ms budget here;
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitpar.errors import GitparError, bad
from gitpar.plugins.discovery import (
    ENTRY_POINT_GROUP,
    EntryPoint,
    any_installed,
    find_entry_points,
    forget,
)
from gitpar.plugins.guard import DISABLED_ENV, Guarded, PluginError, guarded

if TYPE_CHECKING:
    import pluggy

    from gitpar.model.plan import Plan
    from gitpar.store.repo import Oid

    # gitpar.core.repo.Repo, used through its methods only: the plugins never import the core
    Repo = Any

PLAN_FILE = ".gitpar/plan.md"
__all__ = ["DISABLED_ENV", "PLAN_FILE", "EntryPoint", "Loaded", "PluginError", "PluginInfo",
           "find_entry_points"]


@dataclass
class PluginInfo:
    """What ``gitpar plugins`` shows about one plugin."""

    name: str
    source: str  # builtin | installed | repository
    module: str = ""
    package: str | None = None
    version: str | None = None
    blocked: bool = False
    hooks: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "module": self.module,
                "package": self.package, "version": self.version, "blocked": self.blocked,
                "hooks": list(self.hooks), "strategies": list(self.strategies)}


@dataclass
class Loaded:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]  # by plugin name, in load order
    warnings: list[str] = field(default_factory=list)
    repo_key: tuple[str, str] | None = None  # whose repository plugins are registered, read from which commit
    repo_plugins: list[str] = field(default_factory=list)
    answered_by: dict[str, str] = field(default_factory=dict)  # firstresult hook -> last plugin answering
    answers: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)  # hook -> (plugin, answer) of a collect()
    impls: dict[str, list[Any]] = field(default_factory=dict)  # hook -> its hookimpls (cleared on (un)register)

    def record(self, hook: str, plugin: str, answer: Any) -> None:
        """Called by the guard with every answer that is not None."""
        self.answered_by[hook] = plugin
        collecting = self.answers.get(hook)
        if collecting is not None:
            collecting.append((plugin, answer))


_loaded: Loaded | None = None
_repos: dict[str, Repo | None] = {}  # folder -> the repository around it (which one, not its state)
_no_plugins_at: dict[tuple[str, str], bool] = {}  # (repository, base commit) -> no repository plugin


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
    source = repo if repo is not None else _repo_here()
    key = _repo_key(source, at)  # by the base commit, asked each time: the base may move
    if key != _loaded.repo_key:
        _swap_repo_plugins(_loaded, source, key)
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
    return _no_repository_plugins(repo if repo is not None or at is not None else _repo_here(), at)


def _no_repository_plugins(repo: Repo | None, at: Oid | None) -> bool:
    """Whether the plan on ``repo``'s base (or in ``at``) loads no repository plugin."""
    key = _repo_key(repo, at)
    if repo is None or key is None:
        return True
    found = _no_plugins_at.get(key)
    if found is None:
        try:
            found = not _repo_plugin_paths(repo, repo.resolve(key[1]))
        except GitparError:
            found = False  # a malformed plugins setting: the load says what is wrong with it
        _no_plugins_at[key] = found
    return found


def pm(repo: Repo | None = None) -> pluggy.PluginManager:
    """The loaded plugin manager: ``pm().hook.gitpar_...(...)``."""
    return load(repo).pm


def reset() -> None:
    """Forget the loaded plugins; the next call loads them again (tests, long-lived processes)."""
    global _loaded
    _loaded = None
    forget()
    _repos.clear()
    _no_plugins_at.clear()


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

    from gitpar.plugins import hookspecs
    from gitpar.plugins.builtin import DEFAULT_PLUGINS

    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    state = Loaded(pm=manager, infos={})
    blocked = blocked_names()
    for name in blocked:
        manager.set_blocked(name)
    for module, name in DEFAULT_PLUGINS:
        info = PluginInfo(name=name, source="builtin", module=module, package="gitpar",
                          version=_gitpar_version())
        _add(state, info, functools.partial(importlib.import_module, module))
    for ep in find_entry_points():
        if ep.name in state.infos:
            state.warnings.append(f"plugin {ep.name!r} of {ep.package} {ep.version} is ignored: "
                                  f"a plugin of that name is already loaded "
                                  f"({state.infos[ep.name].package or state.infos[ep.name].source})")
            continue
        info = PluginInfo(name=ep.name, source="installed", module=ep.value, package=ep.package,
                          version=ep.version or None)
        _add(state, info, functools.partial(_load_entry_point, ep))
    known = set(state.infos)
    for name in blocked:
        if name not in known and not _looks_like_repo_plugin(name):
            state.warnings.append(f"{DISABLED_ENV} names {name!r}, which is not installed "
                                  f"(installed: {', '.join(sorted(known)) or 'none'})")
    _check_pending(state)
    return state


def _add(state: Loaded, info: PluginInfo, get: Callable[[], Any]) -> None:
    state.infos[info.name] = info
    if state.pm.is_blocked(info.name):
        info.blocked = True
        return
    try:
        plugin = get()
    except GitparError:
        raise
    except Exception as exc:
        raise PluginError(f"plugin {info.name!r} failed to load: {type(exc).__name__}: {exc}\n"
                          f"  fix: reinstall or update it, or disable it with {DISABLED_ENV}={info.name}") from exc
    register(plugin, info.name, state=state)


def register(plugin: Any, name: str | None = None, *, state: Loaded | None = None) -> str:
    """Register ``plugin`` (a module or an object with hookimpls) under ``name``.

    What pluggy gets is the plugin behind its guard (``plugins.guard``), so an error or a
    wrong answer names the plugin. Returns the name; PluginError if the name is taken or
    the plugin does not fit the hooks.
    """
    import pluggy  # noqa: TID253

    state = state or load()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    if name not in state.infos:
        state.infos[name] = PluginInfo(name=name, source="registered",
                                       module=getattr(plugin, "__name__", type(plugin).__name__))
    if any(isinstance(p, Guarded) and p.plugin is plugin for p in state.pm.get_plugins()):
        raise PluginError(f"plugin {name!r} cannot be registered: it is registered already")
    try:
        got = state.pm.register(guarded(plugin, name, state.record), name)
    except pluggy.PluginValidationError as exc:
        state.infos.pop(name, None)
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise PluginError(f"plugin {name!r} does not fit gitpar's hooks: {detail}\n"
                          f"  fix: update the plugin for this gitpar, or disable it with {DISABLED_ENV}={name}") from None
    except ValueError as exc:
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}") from None
    state.impls.clear()
    if got is None:  # blocked
        state.infos[name].blocked = True
    return name


def plugin_object(name: str) -> Any:
    """The plugin registered as ``name`` (the object itself, not its guard), or None."""
    got = pm().get_plugin(name)
    return got.plugin if isinstance(got, Guarded) else got


def unregister(name: str) -> None:
    """Unregister the plugin called ``name`` (a no-op when there is none)."""
    if _loaded is None:
        return
    plugin = _loaded.pm.get_plugin(name)
    if plugin is not None:
        _loaded.pm.unregister(plugin, name)
        _loaded.impls.clear()
    info = _loaded.infos.get(name)
    if info is not None and info.source in ("registered", "repository"):
        del _loaded.infos[name]


def _check_pending(state: Loaded) -> None:
    """Warn about hookimpls named ``gitpar_*`` that match no hook (a typo, or a newer gitpar's)."""
    for name, plugin in state.pm.list_name_plugin():
        if plugin is None:
            continue
        for attr in dir(plugin):
            if not attr.startswith("gitpar_") or attr in _spec_names():
                continue
            if state.pm.parse_hookimpl_opts(plugin, attr) is not None:
                state.warnings.append(f"plugin {name!r} implements {attr}, which this gitpar does not "
                                      "know (a typo, or a hook of a newer gitpar); it is never called")


@functools.lru_cache(maxsize=1)
def _spec_names() -> frozenset[str]:
    from gitpar.plugins import hookspecs

    return frozenset(n for n in dir(hookspecs) if n.startswith("gitpar_"))


def _gitpar_version() -> str:
    from gitpar import __version__

    return __version__


# -- repository plugins ---------------------------------------------------------------------


def _looks_like_repo_plugin(name: str) -> bool:
    return name.endswith(".py") or "/" in name


def _repo_here() -> Repo | None:
    """The repository around the current folder (opened once per folder; its refs and
    therefore its base commit are read anew on each use)."""
    cwd = os.getcwd()
    if cwd not in _repos:
        _repos[cwd] = _repo_around(cwd)
    return _repos[cwd]


def _repo_around(cwd: str) -> Repo | None:
    from gitpar.store.repo import repo_around

    return repo_around(cwd)  # the core's Repo class (gitpar.core.repo sets it), never imported here


def _repo_key(repo: Repo | None, at: Oid | None) -> tuple[str, str] | None:
    """Which repository's plugins, from which commit: ``at``, else the base branch's tip.

    The base is looked up as a branch (``refs/heads/<base>``) only, so a plan naming
    ``HEAD`` or a remote ref as its base cannot make the head of a change trusted.
    """
    if repo is None:
        return None
    if at is None:
        try:
            at = repo.tip(f"refs/heads/{repo.configured_base()}")
        except GitparError:
            at = None
    return None if at is None else (str(repo.common_dir), str(at))


def plugin_settings(plan: Plan) -> Mapping[str, Any]:
    """The ``plugins:`` mapping of plan.md (empty when absent); BadInput when malformed."""
    raw = plan.settings.extra.get("plugins")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise bad(PLAN_FILE, "plugins", f"must be a mapping, got {raw!r}",
                  "write it like plugins: {locks: priority, load: [.gitpar/plugins/team.py]}")
    return raw


def _repo_plugin_paths(repo: Repo, commit: Oid) -> list[str]:
    """The ``plugins.load`` list of the plan committed in ``commit``."""
    settings = repo.settings_at(commit)  # plan.md's settings there, read by the core
    if settings is None:
        return []
    raw = settings.extra.get("plugins")
    load_list = raw.get("load") if isinstance(raw, Mapping) else None
    if load_list is None:
        return []
    if isinstance(load_list, str):
        load_list = [load_list]
    if not isinstance(load_list, list) or not all(isinstance(p, str) for p in load_list):
        raise bad(PLAN_FILE, "plugins.load", f"must be a list of paths, got {load_list!r}",
                  "write it like load: [.gitpar/plugins/team.py]")
    return load_list


def repository_plugin_files(repo: Repo, at: Oid | None) -> list[str]:
    """The files ``plugins.load`` lists in the plan committed at ``at`` (the hook's cache key)."""
    if at is None:
        return []
    try:
        return _repo_plugin_paths(repo, at)
    except GitparError:
        return []


def _swap_repo_plugins(state: Loaded, repo: Repo | None, key: tuple[str, str] | None) -> None:
    for name in state.repo_plugins:
        unregister(name)
    state.repo_plugins = []
    state.repo_key = key
    if repo is None or key is None:
        return
    from gitpar.store.repo import blob_at

    commit = repo.resolve(key[1])
    where = f"the base branch ({key[1][:10]})"
    for rel in _repo_plugin_paths(repo, commit):
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts or "." in parts or "" in parts:
            raise bad(PLAN_FILE, "plugins.load", f"{rel!r} is outside the repository",
                      "list Python files inside the repository, like .gitpar/plugins/team.py")
        source = blob_at(repo.git, commit, rel)
        if source is None:
            raise bad(PLAN_FILE, "plugins.load", f"{rel} does not exist in {where}",
                      "commit the plugin to the base branch, fix the path, or remove it from plugins.load")
        info = PluginInfo(name=rel, source="repository", module=rel)
        _add(state, info, functools.partial(_import_source, source, rel, key[1]))
        if not info.blocked:
            state.repo_plugins.append(rel)


def _import_source(source: bytes, rel: str, commit: str) -> Any:
    """A module made from a plugin's committed source (never from a file on disk)."""
    import sys
    import types

    module_name = "gitpar_repo_plugin_" + "".join(c if c.isalnum() else "_" for c in rel)
    module = types.ModuleType(module_name)
    module.__file__ = f"{commit[:10]}:{rel}"
    sys.modules[module_name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


# -- asking -----------------------------------------------------------------------------------


def impls(state: Loaded, hook: str) -> list[Any]:
    """The hookimpls of ``hook`` (cached until a plugin is registered or unregistered)."""
    found = state.impls.get(hook)
    if found is None:
        found = state.impls[hook] = getattr(state.pm.hook, hook).get_hookimpls()
    return found


def is_builtin(state: Loaded, name: str) -> bool:
    """Whether ``name`` is one of gitpar's own plugins."""
    info = state.infos.get(name)
    return info is not None and info.source == "builtin"


def collect(state: Loaded, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call ``pm.hook.<hook>(**kwargs)``; each answer with the plugin that gave it, in
    pluggy's order (the guard records them as they come)."""
    state.answers[hook] = []
    try:
        getattr(state.pm.hook, hook)(**kwargs)
        return state.answers[hook]
    finally:
        del state.answers[hook]


def sole_builtin(state: Loaded, hook: str, **kwargs: Any) -> tuple[bool, Any]:
    """(True, its answer) when gitpar's own plugin is the only implementation of ``hook``.

    The core asks some hooks per stream or per commit: with no plugin installed that must
    cost nothing beyond gitpar's own answer, so this skips pluggy's call machinery then.
    """
    impl = builtin_only(state, hook)
    if impl is not None:
        return True, impl.function(*(kwargs[a] for a in impl.argnames))
    return False, None


def builtin_only(state: Loaded, hook: str) -> Any:
    """gitpar's own hookimpl of ``hook`` when it is the only implementation (None otherwise)."""
    found = impls(state, hook)
    if len(found) == 1 and is_builtin(state, found[0].plugin_name) and not found[0].wrapper \
            and not found[0].hookwrapper:
        return found[0]
    return None
