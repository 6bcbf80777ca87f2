"""The hooks gitpar asks plugins, and the values that travel through them.

Every hook is named ``gitpar_*``. A plugin implements the ones it needs with
``@hookimpl`` and takes only the arguments it wants (pluggy passes them by name), so a
hook can grow an argument without breaking anybody. ``firstresult`` hooks stop at the
first plugin that answers (anything but ``None``); the others collect every answer.

gitpar's own defaults are plugins too (``gitpar.plugins.builtin``): they answer last, so
an installed plugin that answers first overrides them. The reference for plugin authors
is ``docs/plugins.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy  # noqa: TID253 — the plugins layer is imported only by commands that call hooks

from gitpar.model.history import Estimate, RunRecord

# the values live in gitpar.model.hooks; re-exported here, where plugins have found them so far
from gitpar.model.hooks import CONTENTION_ACTIONS as CONTENTION_ACTIONS
from gitpar.model.hooks import EVENT_KINDS as EVENT_KINDS
from gitpar.model.hooks import RESOLUTION_ACTIONS as RESOLUTION_ACTIONS
from gitpar.model.hooks import ConflictCase as ConflictCase
from gitpar.model.hooks import ConflictStrategy as ConflictStrategy
from gitpar.model.hooks import Contention as Contention
from gitpar.model.hooks import ContentionAction as ContentionAction
from gitpar.model.hooks import Decision as Decision
from gitpar.model.hooks import Event as Event
from gitpar.model.hooks import LockStrategy as LockStrategy
from gitpar.model.hooks import OwnershipRules as OwnershipRules
from gitpar.model.hooks import Proposal as Proposal
from gitpar.model.hooks import Repository as Repository
from gitpar.model.hooks import Resolution as Resolution
from gitpar.model.hooks import ResolutionAction as ResolutionAction
from gitpar.model.plan import Plan, Stream

if TYPE_CHECKING:
    import typer

    from gitpar.model.violation import Violation

hookspec = pluggy.HookspecMarker("gitpar")
hookimpl = pluggy.HookimplMarker("gitpar")


# -- the hooks ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def gitpar_estimate(stream: Stream, plan: Plan, history: Sequence[RunRecord],
                    command: str | None) -> float | Estimate | None:
    """Estimate how long ``stream`` will take, in seconds.

    :param stream: the stream's definition (its ``estimate`` field, if any, is in seconds).
    :param plan: the whole plan.
    :param history: the stream's past runs of ``gitpar run``, oldest first.
    :param command: the command being estimated (``gitpar run``), or ``None`` for the
        stream's whole work.
    :return: seconds (``>= 0``) or an ``Estimate(seconds, source)``, or ``None`` to let
        the next plugin answer.

    ``firstresult``: the first answer wins. The built-in answers with the lower median of
    the recent successful runs, else the ``estimate`` field, else ``None`` (gitpar then
    uses the median of the known estimates).
    """


@hookspec
def gitpar_lock_strategies() -> list[LockStrategy] | None:
    """Offer strategies for lock contention; the plan picks one by name.

    :return: objects with ``name``, ``description`` and ``decide(contention) ->
        Decision`` (see :class:`LockStrategy`).

    Every plugin's strategies are collected; two plugins offering the same name is an
    error. The plan chooses with ``plugins: {locks: NAME}`` in ``.gitpar/plan.md``, and
    the strategy's options are ``plugins: {NAME: {...}}``. Built-in: ``wait`` (the
    default: wait for the holder, take over a stale lock), ``priority``,
    ``collaborative``.
    """


@hookspec
def gitpar_conflict_strategies() -> list[ConflictStrategy] | None:
    """Offer strategies for conflicts found while integrating streams.

    :return: objects with ``name``, ``description`` and ``resolve(case) -> Resolution``
        (see :class:`ConflictStrategy`).

    Collected like :func:`gitpar_lock_strategies`; chosen with
    ``plugins: {conflicts: NAME}``. Built-in: ``stop`` (the default) and ``review``.
    """


@hookspec
def gitpar_prepare_worktree(name: str, worktree: Path, stream: Stream, port: int,
                            brief: Mapping[str, Any], plan: Plan, repo: Repository) -> list[str] | None:
    """Prepare a stream's new (or reused) worktree, after gitpar created it.

    :param name: the stream's name.
    :param worktree: the worktree's root folder.
    :param stream: the stream's definition.
    :param port: the stream's ``GITPAR_PORT``.
    :param brief: what ``gitpar brief NAME --json`` prints (scope, rules, commands).
    :param plan: the whole plan.
    :param repo: the repository.
    :return: lines telling the user what was done (``wrote AGENTS.md``), or ``None``.

    Every plugin runs, in turn. Runs before the plan's ``setup`` commands. A file
    written here must not show in ``git status`` (ignore it through the repository's
    ``info/exclude``) or ``gitpar finish`` refuses the dirty worktree.
    """


@hookspec(firstresult=True)
def gitpar_render_brief(brief: Mapping[str, Any], stream: Stream, plan: Plan) -> str | None:
    """Render a stream's brief as markdown, for a person or an agent.

    :param brief: what ``gitpar brief NAME --json`` prints.
    :param stream: the stream's definition.
    :param plan: the whole plan.
    :return: markdown text, or ``None`` to let the next plugin answer.

    ``firstresult``: one rendering is used. The built-in is what ``gitpar brief``
    prints.
    """


@hookspec
def gitpar_check_paths(stream: str | None, paths: Sequence[str], rules: OwnershipRules,
                       commit: str | None) -> list[Violation] | None:
    """Add path policies to ``gitpar check`` (and the commit hooks).

    :param stream: the stream making the change, or ``None`` for the main worktree.
    :param paths: the changed paths, repository-relative.
    :param rules: the ownership rules from the plan on the base branch.
    :param commit: the commit judged, or ``None`` for a staged change.
    :return: the violations among ``paths`` (``gitpar.model.violation.Violation``), or ``None``.

    Every plugin's violations are added to gitpar's own; any violation fails the check.
    Keep it fast: it runs on every commit.
    """


@hookspec
def gitpar_event(event: Event, repo: Repository) -> None:
    """React to something that happened (after it happened; the return value is ignored).

    :param event: ``event.kind`` is one of ``stream.started``, ``stream.finished``,
        ``stream.blocked``, ``stream.failed``, ``lock.taken``, ``lock.released``,
        ``lock.broken``, ``integration.result``.
    :param repo: the repository.

    Every plugin hears every event. A plugin that raises makes the command fail with its
    name, though the change it reacts to is already made.
    """


@hookspec
def gitpar_propose_streams(root: Path, files: Sequence[str], max_streams: int | None) -> list[Proposal] | None:
    """Propose streams for a codebase (``gitpar suggest``).

    :param root: the main worktree's folder.
    :param files: the tracked files, repository-relative.
    :param max_streams: how many streams the user wants at most (``--max-streams``), or
        ``None`` for the plugin's default.
    :return: proposals (``name``, ``owns``, ``depends_on`` ...), or ``None`` when the
        plugin does not understand this codebase.

    Every plugin's proposals are shown together; a name proposed twice is an error.
    """


@hookspec
def gitpar_register_commands(app: typer.Typer) -> None:
    """Add commands to the ``gitpar`` command line.

    :param app: the typer application; use ``@app.command()`` or ``app.add_typer(...)``.

    Plugin commands are loaded only when the command typed is not one of gitpar's own
    (so ``gitpar --help`` and the built-in commands stay fast); a plugin command named
    like a built-in one is ignored with a warning.
    """
