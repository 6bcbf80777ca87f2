"""The record of the loaded plugins (:class:`Loaded`): registering a plugin behind its guard,
and asking which plugins implement a hook and what they answer.

No state of its own: ``plugins.loading`` holds the one :class:`Loaded` of the process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitpar import __version__
from gitpar.errors import GitparError
from gitpar.plugins import hookspecs
from gitpar.plugins.guard import DISABLED_ENV, Guarded, PluginError, guarded

if TYPE_CHECKING:
    import pluggy


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


def add(state: Loaded, info: PluginInfo, get: Callable[[], Any]) -> None:
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
    register_in(state, plugin, info.name)


def register_in(state: Loaded, plugin: Any, name: str | None = None) -> str:
    """Register ``plugin`` (a module or an object with hookimpls) under ``name``.

    What pluggy gets is the plugin behind its guard (``plugins.guard``), so an error or a
    wrong answer names the plugin. Returns the name; PluginError if the name is taken or
    the plugin does not fit the hooks.
    """
    import pluggy  # noqa: TID253

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
    return frozenset(n for n in dir(hookspecs) if n.startswith("gitpar_"))


def _gitpar_version() -> str:
    return __version__


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


def unregister_from(state: Loaded, name: str) -> None:
    """Unregister the plugin called ``name`` from ``state`` (a no-op when there is none)."""
    plugin = state.pm.get_plugin(name)
    if plugin is not None:
        state.pm.unregister(plugin, name)
        state.impls.clear()
    info = state.infos.get(name)
    if info is not None and info.source in ("registered", "repository"):
        del state.infos[name]
