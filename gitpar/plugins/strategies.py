"""Strategies: the lock and conflict strategies plugins offer, and the one the plan chooses
(``plugins: {locks: NAME, conflicts: NAME}`` in plan.md, with the strategy's options under
its own name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitpar.errors import GitparError, bad
from gitpar.model.hooks import (
    CONTENTION_ACTIONS,
    RESOLUTION_ACTIONS,
    ConflictCase,
    ConflictStrategy,
    Contention,
    Decision,
    LockStrategy,
    Resolution,
)
from gitpar.model.plan import Plan
from gitpar.plugins.guard import DISABLED_ENV, PluginError, plugin_failed, short
from gitpar.plugins.loading import PLAN_FILE, Loaded, collect, is_builtin, load, plugin_settings


def lock_strategies() -> dict[str, tuple[str, LockStrategy]]:
    """Every lock strategy by name, with the plugin offering it."""
    return _strategies(load(), "gitpar_lock_strategies")


def conflict_strategies() -> dict[str, tuple[str, ConflictStrategy]]:
    """Every integration conflict strategy by name, with the plugin offering it."""
    return _strategies(load(), "gitpar_conflict_strategies")


def _strategies(state: Loaded, hook: str) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for plugin, strategies in collect(state, hook):
        for strategy in strategies:
            if strategy.name in out:
                other = out[strategy.name][0]
                pair = sorted((other, plugin), key=lambda n: (is_builtin(state, n), n))
                raise PluginError(f"plugins {pair[0]!r} and {pair[1]!r} both offer a strategy named "
                                  f"{strategy.name!r} ({hook})\n  fix: uninstall one of them, or disable "
                                  f"it with {DISABLED_ENV}={pair[0]}")
            out[strategy.name] = (plugin, strategy)
    return out


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


    plugin, strategy = _chosen(plan, "locks", "wait", lock_strategies())
    contention = replace(contention, options=_options(plan, strategy.name))
    decision = _call_strategy(plugin, strategy, "decide", contention)
    if not isinstance(decision, Decision) or decision.action not in CONTENTION_ACTIONS:
        raise PluginError(f"plugin {plugin!r}: strategy {strategy.name!r} returned {short(decision)}, "
                          f"but decide() must return a Decision with action {', '.join(CONTENTION_ACTIONS)}")
    return decision


def resolve_conflict(plan: Plan, case: ConflictCase) -> Resolution:
    """What the plan's conflict strategy does about ``case`` (``plugins: {conflicts: NAME}``)."""
    from dataclasses import replace


    plugin, strategy = _chosen(plan, "conflicts", "stop", conflict_strategies())
    case = replace(case, options=_options(plan, strategy.name))
    resolution = _call_strategy(plugin, strategy, "resolve", case)
    if not isinstance(resolution, Resolution) or resolution.action not in RESOLUTION_ACTIONS:
        raise PluginError(f"plugin {plugin!r}: strategy {strategy.name!r} returned {short(resolution)}, "
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
