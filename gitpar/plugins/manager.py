"""What the core asks the plugins: one function per hook, each calling ``pm.hook.*``.

The plugins are loaded by ``plugins.loading`` (once per process, on the first question),
each behind its guard (``plugins.guard``: an error or a wrong answer names the plugin);
the strategies the plan chooses are ``plugins.strategies``. The names the core and the
tests use are all importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.model.history import Estimate, RunRecord
from gitpar.model.hooks import EVENT_KINDS, Event, OwnershipRules, Proposal, Repository
from gitpar.model.plan import Plan, Stream
from gitpar.plugins.builtin import HOOKS as BUILTIN_HOOKS
from gitpar.plugins.guard import DISABLED_ENV, PluginError, plugin_failed
from gitpar.plugins.loading import (
    PLAN_FILE,
    EntryPoint,
    PluginInfo,
    _check_pending,
    blocked_names,
    builtin_only,
    collect,
    find_entry_points,
    hand_over,
    impls,
    is_builtin,
    load,
    only_builtins,
    plugin_object,
    plugin_settings,
    pm,
    register,
    repository_plugin_files,
    reset,
    sole_builtin,
    take_warnings,
    unregister,
    waiting_warnings,
    warn,
)
from gitpar.plugins.strategies import (
    DEFAULT_STRATEGIES,
    conflict_strategies,
    decide_contention,
    lock_strategies,
    lock_strategy,
    resolve_conflict,
    strategy_chosen,
)
from gitpar.store.repo import Oid

if TYPE_CHECKING:
    import typer

    from gitpar.model.violation import Violation

    Repo = Repository  # gitpar.core.repo.Repo (the plugins never import the core)
    Rules = OwnershipRules  # gitpar.core.rules.Rules

__all__ = ["DEFAULT_STRATEGIES", "DISABLED_ENV", "PLAN_FILE", "EntryPoint", "PluginError", "PluginInfo",
           "_check_pending", "blocked_names", "check_paths", "conflict_strategies", "decide_contention",
           "emit", "estimate", "estimates", "find_entry_points", "hand_over", "implementers", "load", "lock_strategies",
           "lock_strategy", "plugin_failed", "plugin_list", "plugin_object", "plugin_settings", "pm",
           "prepare_worktree", "propose_streams", "register", "register_commands", "render_brief",
           "repository_plugin_files", "reset", "resolve_conflict", "strategy_chosen", "take_warnings",
           "unregister", "waiting_warnings", "warn"]


def estimate(stream: Stream, plan: Plan, history: Sequence[RunRecord],
             command: str | None = None) -> Estimate | None:
    """The stream's estimate from the plugins (``gitpar_estimate``), or None when none knows."""
    state = load()
    kwargs = {"stream": stream, "plan": plan, "history": history, "command": command}
    solo, answer = sole_builtin(state, "gitpar_estimate", **kwargs)
    if solo:
        return answer  # type: ignore[no-any-return]  # the built-in answers an Estimate or None
    answer = state.pm.hook.gitpar_estimate(**kwargs)
    if answer is None or isinstance(answer, Estimate):
        return answer
    return Estimate(float(answer), f"plugin {state.answered_by.get('gitpar_estimate', '?')}")


def estimates(plan: Plan, history: Mapping[str, Sequence[RunRecord]],
              command: str | None = None) -> dict[str, Estimate | None]:
    """Every stream's estimate from the plugins, as :func:`estimate` gives it one by one;
    with only gitpar's own plugin answering, without pluggy's dispatch per stream (and with
    no other plugin loadable, without loading any)."""
    if only_builtins():
        from gitpar.plugins.builtin.estimate import gitpar_estimate

        return {name: gitpar_estimate(stream=stream, history=history.get(name, ()), command=command)
                for name, stream in plan.streams.items()}
    state = load()
    own = builtin_only(state, "gitpar_estimate")
    if own is not None:
        # gitpar's own function, without the guard that checks a foreign plugin's answers
        # (five thousand streams: most of the cost), recorded once as the guard would
        function = getattr(own.function, "__wrapped__", own.function)
        names = own.argnames
        found = {name: function(**{a: {"stream": stream, "plan": plan, "history": history.get(name, ()),
                                       "command": command}[a] for a in names})
                 for name, stream in plan.streams.items()}
        if any(e is not None for e in found.values()):
            state.record("gitpar_estimate", own.plugin_name, None)
        return found
    return {name: estimate(stream, plan, history.get(name, ()), command)
            for name, stream in plan.streams.items()}


def prepare_worktree(repo: Repo, plan: Plan, name: str, worktree: Path, port: int,
                     brief: Mapping[str, Any]) -> list[str]:
    """Let every plugin prepare a stream's new worktree; the lines they report. ``brief`` is
    what ``gitpar brief NAME --json`` prints (the core's ``streams.brief``)."""
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
    if "gitpar_check_paths" not in BUILTIN_HOOKS and only_builtins(repo, at):
        return []  # no plugin could have a path policy: none is loaded to ask
    state = load(repo, at) if repo is not None or at is not None else load()
    if not impls(state, "gitpar_check_paths"):
        return []
    answers = state.pm.hook.gitpar_check_paths(stream=stream, paths=list(paths), rules=rules, commit=commit)
    return [v for found in answers for v in found]


def emit(kind: str, *, repo: Repo, stream: str | None = None, path: str | None = None,
         **data: Any) -> None:
    """Tell every plugin that ``kind`` happened (``gitpar_event``).

    None of gitpar's own plugins listens, so when the one plugin gate (:func:`only_builtins`)
    says no other plugin could be loaded, nothing is loaded and nothing is asked."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if "gitpar_event" not in BUILTIN_HOOKS and only_builtins(repo):
        return
    state = load(repo)
    if impls(state, "gitpar_event"):
        state.pm.hook.gitpar_event(event=Event(kind=kind, stream=stream, path=path, data=data), repo=repo)


def propose_streams(root: Path, files: Sequence[str], max_streams: int | None = None) -> list[tuple[str, Proposal]]:
    """Every plugin's proposed streams, with the plugin proposing each; a name twice is an error."""
    out: list[tuple[str, Proposal]] = []
    by_name: dict[str, str] = {}
    for plugin, proposals in collect(load(), "gitpar_propose_streams", root=root, files=list(files),
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
    return [n for n in names if builtin or not is_builtin(state, n)]


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
        warn(str(exc))
        return {}
