"""Every plugin's every answer, checked: an error or a wrong answer names the plugin.

A plugin is registered with pluggy through a proxy (:func:`guarded`) whose hookimpls are
the plugin's own, each wrapped: an exception, or an answer of the wrong type, becomes a
:class:`PluginError` naming the plugin and the hook, with exit 2 (the user must act:
update the plugin, or disable it). pluggy reads each wrapped function's signature and
hookimpl options through ``__wrapped__``, so ``tryfirst``/``trylast``, ``firstresult`` and
wrappers behave as for the plugin itself, and every call still goes through ``pm.hook``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from gitpar.errors import GitparError
from gitpar.model.hooks import Proposal

DISABLED_ENV = "GITPAR_DISABLED_PLUGINS"
IMPL_MARKER = "gitpar_impl"  # the attribute pluggy's HookimplMarker("gitpar") sets

Record = Callable[[str, str, Any], None]  # (hook, plugin, answer): who answered what


class PluginError(GitparError):
    """A plugin failed: it raised, returned the wrong type, or clashes with another."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code




def plugin_failed(plugin: str, where: str, exc: BaseException) -> PluginError:
    """The error for a plugin that raised ``exc`` in ``where``."""
    return PluginError(f"plugin {plugin!r} failed in {where}: {type(exc).__name__}: {exc}\n"
                       f"  fix: report it to the plugin's authors, or disable it with "
                       f"{DISABLED_ENV}={plugin}")


class Guarded:
    """What is registered for a plugin: its hookimpls, each wrapped by :func:`_guard`."""

    def __init__(self, plugin: Any, name: str, record: Record) -> None:
        self.plugin = plugin
        self.__name__ = getattr(plugin, "__name__", type(plugin).__name__)
        for attr in dir(plugin):
            if not attr.startswith("gitpar_"):
                continue
            function = getattr(plugin, attr)
            opts = getattr(function, IMPL_MARKER, None)
            if not callable(function) or opts is None:
                continue
            if not (opts.get("wrapper") or opts.get("hookwrapper")):
                function = _guard(function, name, attr, record)
            setattr(self, attr, function)


def guarded(plugin: Any, name: str, record: Record) -> Guarded:
    """``plugin`` as it is registered: every answer checked and recorded (module docstring)."""
    return Guarded(plugin, name, record)


def _guard(function: Callable[..., Any], plugin: str, hook: str, record: Record) -> Callable[..., Any]:
    check = _RETURN_CHECKS.get(hook)

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
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
                    raise PluginError(f"plugin {plugin!r} returned {short(result)} from {hook}, "
                                      f"but {problem}\n  fix: update the plugin, or disable it with "
                                      f"{DISABLED_ENV}={plugin}")
            record(hook, plugin, result)
        return result

    return call


def short(value: Any) -> str:
    """``value`` as an error message shows it: its repr, cut at 80 characters."""
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
    from gitpar.model.violation import Violation

    return _list_of(Violation, "gitpar.model.violation.Violation")(value)


def _check_proposals(value: Any) -> str | None:
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


