"""The plugin manager: loads plugins once, and asks them on the core's behalf.

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

``GITPAR_DISABLED_PLUGINS`` (names separated by commas) blocks plugins by name.

Every hookimpl is wrapped when registered so that a plugin that raises, or returns the
wrong type, becomes a :class:`PluginError` naming the plugin and the hook, with exit 2:
the user must act (update the plugin, or disable it).
"""

from __future__ import annotations

import functools
import importlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.errors import GitparError, bad
from gitpar.plugins.discovery import ENTRY_POINT_GROUP, EntryPoint, find_entry_points

if TYPE_CHECKING:
    import pluggy
    import typer

    from gitpar.core.history import Estimate, RunRecord
    from gitpar.core.plan import Plan, Stream
    from gitpar.core.repo import Repo
    from gitpar.core.rules import Rules, Violation
    from gitpar.plugins.hookspecs import (
        ConflictCase,
        ConflictStrategy,
        Contention,
        Decision,
        LockStrategy,
        Proposal,
        Resolution,
    )
    from gitpar.store.repo import Oid

DISABLED_ENV = "GITPAR_DISABLED_PLUGINS"
PLAN_FILE = ".gitpar/plan.md"


class PluginError(GitparError):
    """A plugin failed: it raised, returned the wrong type, or clashes with another."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code



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
class _Loaded:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]  # by plugin name, in load order
    warnings: list[str] = field(default_factory=list)
    repo_key: tuple[str, str] | None = None  # whose repository plugins are registered, read from which commit
    repo_plugins: list[str] = field(default_factory=list)
    answered_by: dict[str, str] = field(default_factory=dict)  # firstresult hook -> last plugin answering
    impls: dict[str, list[Any]] = field(default_factory=dict)  # hook -> its hookimpls (cleared on (un)register)


_loaded: _Loaded | None = None
_last_cwd: str | None = None  # the folder the last load without a repository was for


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


def load(repo: Repo | None = None, at: Oid | None = None) -> _Loaded:
    """Load the plugins once per process (and the repository's, when its base plan opts in).

    Repository plugins are read from the commit ``at`` (``gitpar check --base``), else from
    the tip of ``repo``'s base branch (else of the repository around the current folder).
    """
    global _loaded, _last_cwd
    cwd = os.getcwd()
    if _loaded is None:
        _loaded = _load_all()
    elif repo is None and at is None and cwd == _last_cwd:
        return _loaded  # the hot path: loaded, same folder
    source = repo
    if source is None:
        source = _repo_around(cwd)
        _last_cwd = cwd
    key = _repo_key(source, at)
    if key != _loaded.repo_key:
        _swap_repo_plugins(_loaded, source, key)
    if at is not None:
        _last_cwd = cwd  # later calls of this command ask without naming the commit
    if repo is not None:  # the CLI shows a repository's warnings after the command
        repo.warnings.extend(w for w in take_warnings() if w not in repo.warnings)
    return _loaded


def pm(repo: Repo | None = None) -> pluggy.PluginManager:
    """The loaded plugin manager: ``pm().hook.gitpar_...(...)``."""
    return load(repo).pm


def reset() -> None:
    """Forget the loaded plugins; the next call loads them again (tests, long-lived processes)."""
    global _loaded, _last_cwd
    _loaded = None
    _last_cwd = None


def take_warnings() -> list[str]:
    """Warnings from loading (blocked names not installed, unknown hooks), each once."""
    if _loaded is None:
        return []
    out, _loaded.warnings[:] = list(_loaded.warnings), []
    return out


def _load_all() -> _Loaded:
    import pluggy  # noqa: TID253 — imported on the first hook call only

    from gitpar.plugins import hookspecs
    from gitpar.plugins.builtin import DEFAULT_PLUGINS

    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    state = _Loaded(pm=manager, infos={})
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


def _add(state: _Loaded, info: PluginInfo, get: Callable[[], Any]) -> None:
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


def register(plugin: Any, name: str | None = None, *, state: _Loaded | None = None) -> str:
    """Register ``plugin`` (a module or an object with hookimpls) under ``name``.

    Its hookimpls are wrapped so that an error or a wrong return value names the plugin.
    Returns the name; PluginError if the name is taken or the plugin does not fit the hooks.
    """
    import pluggy  # noqa: TID253

    state = state or load()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    if name not in state.infos:
        state.infos[name] = PluginInfo(name=name, source="registered",
                                       module=getattr(plugin, "__name__", type(plugin).__name__))
    try:
        got = state.pm.register(plugin, name)
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
    for caller in state.pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                # pluggy calls ``impl.function`` with the arguments named in ``impl.argnames``
                # (computed from the original); wrapping it keeps tryfirst/trylast, firstresult
                # and wrappers intact while every error and answer is traced to this plugin
                impl.function = _guarded(impl.function, name, caller.name, state)  # type: ignore[misc]
    return name


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


def _check_pending(state: _Loaded) -> None:
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


def _repo_around(cwd: str) -> Repo | None:
    from gitpar.core.repo import open_repo

    try:
        return open_repo(cwd)
    except GitparError:
        return None


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
    from gitpar.core.plan import parse_settings

    text = repo.plan_files_at(commit).get(PLAN_FILE)
    if text is None:
        return []
    settings, _ = parse_settings(text)
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


def _swap_repo_plugins(state: _Loaded, repo: Repo | None, key: tuple[str, str] | None) -> None:
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


# -- guarding every call ---------------------------------------------------------------------


def _guarded(function: Callable[..., Any], plugin: str, hook: str, state: _Loaded) -> Callable[..., Any]:
    check = _RETURN_CHECKS.get(hook)

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        try:
            result = function(*args)
        except GitparError as exc:
            if str(exc).startswith(f"plugin {plugin!r}"):
                raise
            raise PluginError(f"plugin {plugin!r} ({hook}): {exc}", exc.exit_code) from exc
        except Exception as exc:
            raise plugin_failed(plugin, hook, exc) from exc
        if result is not None:
            if check is not None:
                problem = check(result)
                if problem:
                    raise PluginError(f"plugin {plugin!r} returned {_short(result)} from {hook}, "
                                      f"but {problem}\n  fix: update the plugin, or disable it with "
                                      f"{DISABLED_ENV}={plugin}")
            state.answered_by[hook] = plugin
        return result

    return call


def plugin_failed(plugin: str, where: str, exc: BaseException) -> PluginError:
    """The error for a plugin that raised ``exc`` in ``where``."""
    return PluginError(f"plugin {plugin!r} failed in {where}: {type(exc).__name__}: {exc}\n"
                       f"  fix: report it to the plugin's authors, or disable it with "
                       f"{DISABLED_ENV}={plugin}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _list_of(kind: type | tuple[type, ...], what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, kind) for v in value):
            return f"it must return a list of {what} (or None)"
        return None

    return check


def _check_estimate(value: Any) -> str | None:
    seconds = getattr(value, "seconds", value)  # an Estimate, or a number (no import: a hot path)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or seconds < 0:
        return "it must return seconds as a number >= 0 (or None)"
    return None


def _check_strategies(method: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(getattr(s, "name", None), str) and callable(getattr(s, method, None))
                for s in value):
            return f"it must return a list of strategies, objects with a name and a {method}() method"
        return None

    return check


def _check_str(value: Any) -> str | None:
    return None if isinstance(value, str) else "it must return text (or None)"


def _check_violations(value: Any) -> str | None:
    from gitpar.core.rules import Violation

    return _list_of(Violation, "gitpar.core.rules.Violation")(value)


def _check_proposals(value: Any) -> str | None:
    from gitpar.plugins.hookspecs import Proposal

    return _list_of(Proposal, "gitpar.plugins.Proposal")(value)


_RETURN_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "gitpar_estimate": _check_estimate,
    "gitpar_lock_strategies": _check_strategies("decide"),
    "gitpar_conflict_strategies": _check_strategies("resolve"),
    "gitpar_prepare_worktree": _list_of(str, "lines of text"),
    "gitpar_render_brief": _check_str,
    "gitpar_check_paths": _check_violations,
    "gitpar_propose_streams": _check_proposals,
}


def _per_plugin(state: _Loaded, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call each plugin's ``hook`` in pluggy's order, keeping who answered what."""
    out = []
    for impl in reversed(getattr(state.pm.hook, hook).get_hookimpls()):
        if impl.wrapper or impl.hookwrapper:
            continue
        result = impl.function(*(kwargs[a] for a in impl.argnames))
        if result is not None:
            out.append((impl.plugin_name, result))
    return out


# -- what the core asks ------------------------------------------------------------------------
#
# The hot hooks skip pluggy's call machinery when nobody but gitpar's own plugin implements
# them (or nobody at all): the core asks them per stream or per commit, and when no plugin
# is installed that must cost nothing beyond gitpar's own answer.


def _impls(state: _Loaded, hook: str) -> list[Any]:
    found = state.impls.get(hook)
    if found is None:
        found = state.impls[hook] = getattr(state.pm.hook, hook).get_hookimpls()
    return found


def _sole_builtin(state: _Loaded, hook: str, **kwargs: Any) -> tuple[bool, Any]:
    """(True, its answer) when gitpar's own plugin is the only implementation of ``hook``."""
    impls = _impls(state, hook)
    if len(impls) == 1 and _is_builtin(state, impls[0].plugin_name) and not impls[0].wrapper \
            and not impls[0].hookwrapper:
        return True, impls[0].function(*(kwargs[a] for a in impls[0].argnames))
    return False, None



def estimate(stream: Stream, plan: Plan, history: Sequence[RunRecord],
             command: str | None = None) -> Estimate | None:
    """The stream's estimate from the plugins (``gitpar_estimate``), or None when none knows."""
    state = load()
    kwargs = {"stream": stream, "plan": plan, "history": history, "command": command}
    solo, answer = _sole_builtin(state, "gitpar_estimate", **kwargs)
    if solo:
        return answer  # type: ignore[no-any-return]  # the built-in answers an Estimate or None
    answer = state.pm.hook.gitpar_estimate(**kwargs)
    from gitpar.core.history import Estimate

    if answer is None or isinstance(answer, Estimate):
        return answer
    return Estimate(float(answer), f"plugin {state.answered_by.get('gitpar_estimate', '?')}")


def lock_strategies() -> dict[str, tuple[str, LockStrategy]]:
    """Every lock strategy by name, with the plugin offering it."""
    return _strategies(load(), "gitpar_lock_strategies")


def conflict_strategies() -> dict[str, tuple[str, ConflictStrategy]]:
    """Every integration conflict strategy by name, with the plugin offering it."""
    return _strategies(load(), "gitpar_conflict_strategies")


def _strategies(state: _Loaded, hook: str) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for plugin, strategies in _per_plugin(state, hook):
        for strategy in strategies:
            if strategy.name in out:
                other = out[strategy.name][0]
                pair = sorted((other, plugin), key=lambda n: (_is_builtin(state, n), n))
                raise PluginError(f"plugins {pair[0]!r} and {pair[1]!r} both offer a strategy named "
                                  f"{strategy.name!r} ({hook})\n  fix: uninstall one of them, or disable "
                                  f"it with {DISABLED_ENV}={pair[0]}")
            out[strategy.name] = (plugin, strategy)
    return out


def _is_builtin(state: _Loaded, name: str) -> bool:
    info = state.infos.get(name)
    return info is not None and info.source == "builtin"


DEFAULT_STRATEGIES: Mapping[str, str] = {"locks": "wait", "conflicts": "stop"}


def strategy_chosen(plan: Plan, key: str) -> bool:
    """Whether the plan chooses a ``key`` strategy (``locks``, ``conflicts``) other than the default.

    The defaults (``wait``, ``stop``) are what the core does by itself, so it asks the plugins
    only when this is true: the default path loads no plugin. BadInput when ``plugins:`` is
    malformed.
    """
    default = DEFAULT_STRATEGIES[key]
    return bool(plugin_settings(plan).get(key, default) != default)


def _chosen(plan: Plan, key: str, default: str, known: Mapping[str, tuple[str, Any]]) -> tuple[str, Any]:
    settings = plugin_settings(plan)
    name = settings.get(key, default)
    if name not in known:
        raise bad(PLAN_FILE, f"plugins.{key}", f"no strategy named {name!r} (known: {', '.join(sorted(known))})",
                  "choose a known strategy, or install the plugin that offers it")
    return known[name]


def _options(plan: Plan, name: str) -> Mapping[str, Any]:
    options = plugin_settings(plan).get(name) or {}
    if not isinstance(options, Mapping):
        raise bad(PLAN_FILE, f"plugins.{name}", f"the options of strategy {name!r} must be a mapping, "
                  f"got {options!r}", f"write it like {name}: {{timeout: 10m}}")
    return options


def lock_strategy(plan: Plan) -> LockStrategy:
    """The lock strategy the plan chooses (``plugins: {locks: NAME}``; default ``wait``)."""
    return _chosen(plan, "locks", "wait", lock_strategies())[1]  # type: ignore[no-any-return]


def decide_contention(plan: Plan, contention: Contention) -> Decision:
    """What the plan's lock strategy decides about ``contention`` (options filled in)."""
    from dataclasses import replace

    from gitpar.plugins.hookspecs import CONTENTION_ACTIONS, Decision

    plugin, strategy = _chosen(plan, "locks", "wait", lock_strategies())
    contention = replace(contention, options=_options(plan, strategy.name))
    decision = _call_strategy(plugin, strategy, "decide", contention)
    if not isinstance(decision, Decision) or decision.action not in CONTENTION_ACTIONS:
        raise PluginError(f"plugin {plugin!r}: strategy {strategy.name!r} returned {_short(decision)}, "
                          f"but decide() must return a Decision with action {', '.join(CONTENTION_ACTIONS)}")
    return decision


def resolve_conflict(plan: Plan, case: ConflictCase) -> Resolution:
    """What the plan's conflict strategy does about ``case`` (``plugins: {conflicts: NAME}``)."""
    from dataclasses import replace

    from gitpar.plugins.hookspecs import RESOLUTION_ACTIONS, Resolution

    plugin, strategy = _chosen(plan, "conflicts", "stop", conflict_strategies())
    case = replace(case, options=_options(plan, strategy.name))
    resolution = _call_strategy(plugin, strategy, "resolve", case)
    if not isinstance(resolution, Resolution) or resolution.action not in RESOLUTION_ACTIONS:
        raise PluginError(f"plugin {plugin!r}: strategy {strategy.name!r} returned {_short(resolution)}, "
                          f"but resolve() must return a Resolution with action {', '.join(RESOLUTION_ACTIONS)}")
    if resolution.action == "take_stream" and not resolution.review:
        raise PluginError(f"plugin {plugin!r}: strategy {strategy.name!r} takes a side without a review "
                          "note; a side is never taken silently")
    return resolution


def _call_strategy(plugin: str, strategy: Any, method: str, arg: Any) -> Any:
    try:
        return getattr(strategy, method)(arg)
    except GitparError:
        raise
    except Exception as exc:
        raise plugin_failed(plugin, f"strategy {strategy.name!r}", exc) from exc


def prepare_worktree(repo: Repo, plan: Plan, name: str, worktree: Path, port: int,
                     brief: Mapping[str, Any] | None = None) -> list[str]:
    """Let every plugin prepare a stream's new worktree; the lines they report."""
    if brief is None:
        from gitpar.core import streams

        brief = streams.brief(repo, name)
    state = load(repo)
    answers = state.pm.hook.gitpar_prepare_worktree(
        name=name, worktree=Path(worktree), stream=plan.stream(name), port=port, brief=brief,
        plan=plan, repo=repo)
    return [line for lines in answers for line in lines]


def render_brief(brief: Mapping[str, Any], stream: Stream, plan: Plan) -> str:
    """The brief as markdown (``gitpar_render_brief``; the built-in is ``gitpar brief``'s text)."""
    answer = load().pm.hook.gitpar_render_brief(brief=brief, stream=stream, plan=plan)
    if answer is None:  # the built-in is blocked
        from gitpar.plugins.builtin.brief import render

        return render(brief)
    return str(answer)


def check_paths(stream: str | None, paths: Sequence[str], rules: Rules,
                commit: str | None = None, *, repo: Repo | None = None,
                at: Oid | None = None) -> list[Violation]:
    """Violations the plugins' path policies find (``gitpar_check_paths``); the repository's
    plugins are those of ``repo``'s base (or of the commit ``at``), never of the change judged."""
    state = load(repo, at) if repo is not None or at is not None else load()
    if not _impls(state, "gitpar_check_paths"):
        return []
    answers = state.pm.hook.gitpar_check_paths(stream=stream, paths=list(paths), rules=rules, commit=commit)
    return [v for found in answers for v in found]


def emit(kind: str, *, repo: Repo, stream: str | None = None, path: str | None = None,
         **data: Any) -> None:
    """Tell every plugin that ``kind`` happened (``gitpar_event``)."""
    from gitpar.plugins.hookspecs import EVENT_KINDS, Event

    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    state = load(repo)
    if _impls(state, "gitpar_event"):
        state.pm.hook.gitpar_event(event=Event(kind=kind, stream=stream, path=path, data=data), repo=repo)


def propose_streams(root: Path, files: Sequence[str], max_streams: int | None = None) -> list[tuple[str, Proposal]]:
    """Every plugin's proposed streams, with the plugin proposing each; a name twice is an error."""
    out: list[tuple[str, Proposal]] = []
    by_name: dict[str, str] = {}
    for plugin, proposals in _per_plugin(load(), "gitpar_propose_streams", root=root, files=list(files),
                                         max_streams=max_streams):
        for p in proposals:
            if p.name in by_name:
                raise PluginError(f"plugins {by_name[p.name]!r} and {plugin!r} both propose a stream "
                                  f"named {p.name!r}\n  fix: disable one of them with {DISABLED_ENV}")
            by_name[p.name] = plugin
            out.append((plugin, p))
    return out


def register_commands(app: typer.Typer) -> None:
    """Let plugins add commands to ``app`` (``gitpar_register_commands``)."""
    load().pm.hook.gitpar_register_commands(app=app)


def implementers(hook: str, *, builtin: bool = False, repo: Repo | None = None,
                 at: Oid | None = None) -> list[str]:
    """Names of the plugins implementing ``hook`` (gitpar's own only with ``builtin``)."""
    state = load(repo, at)
    names = [impl.plugin_name for impl in getattr(state.pm.hook, hook).get_hookimpls()]
    return [n for n in names if builtin or not _is_builtin(state, n)]


def plugin_list(repo: Repo | None = None) -> list[PluginInfo]:
    """Every plugin known, loaded or blocked, with the hooks and strategies each provides."""
    state = load(repo)
    infos = list(state.infos.values())
    lock = {n: p for n, (p, _s) in _safe(lock_strategies).items()}
    conflict = {n: p for n, (p, _s) in _safe(conflict_strategies).items()}
    for info in infos:
        plugin = state.pm.get_plugin(info.name)
        info.hooks = sorted(c.name for c in (state.pm.get_hookcallers(plugin) or [])) if plugin else []
        info.strategies = sorted([f"locks:{n}" for n, p in lock.items() if p == info.name]
                                 + [f"conflicts:{n}" for n, p in conflict.items() if p == info.name])
    return infos


def _safe(get: Callable[[], dict[str, tuple[str, Any]]]) -> dict[str, tuple[str, Any]]:
    # listing plugins must work even when two of them clash: that is how the user finds out
    try:
        return get()
    except PluginError as exc:
        if _loaded is not None and str(exc) not in _loaded.warnings:
            _loaded.warnings.append(str(exc))
        return {}
