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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pluggy  # noqa: TID253 — the plugins layer is imported only by commands that call hooks

if TYPE_CHECKING:
    import typer

    from gitpar.core.history import Estimate, RunRecord
    from gitpar.core.locks import Lock
    from gitpar.core.plan import Plan, Stream
    from gitpar.core.repo import Repo
    from gitpar.core.rules import Rules, Violation

hookspec = pluggy.HookspecMarker("gitpar")
hookimpl = pluggy.HookimplMarker("gitpar")


# -- values ---------------------------------------------------------------------------------

ContentionAction = Literal["wait", "take_over", "escalate", "refuse"]
CONTENTION_ACTIONS: tuple[str, ...] = ("wait", "take_over", "escalate", "refuse")


@dataclass(frozen=True)
class Contention:
    """A stream wants a path whose lock another stream holds (or others wait for)."""

    path: str
    stream: str  # the stream asking for the lock
    priority: int  # its priority in the plan
    holder: Lock | None  # the lock held now; None when the path is free but others wait for it
    holder_priority: int = 0
    waited: float = 0.0  # seconds the asking stream has waited so far
    stale: str | None = None  # why the holder's lock is stale (expired, stream completed ...), or None
    waiting: Mapping[str, int] = field(default_factory=dict)  # other waiting streams -> their priority
    options: Mapping[str, Any] = field(default_factory=dict)  # the strategy's options in plan.md
    resource: bool = False  # ``path`` names a resource (gitpar lock --resource), not a file


@dataclass(frozen=True)
class Decision:
    """What to do about a contention.

    ``wait``: poll again (the caller's ``--wait`` budget still applies); ``take_over``: replace
    the holder's lock (recorded on the state branch); ``escalate``: stop waiting and mark the
    streams in ``attention`` as needing a person; ``refuse``: give up now.
    """

    action: ContentionAction
    reason: str
    attention: tuple[str, ...] = ()


class LockStrategy(Protocol):
    """A named way to settle lock contention, chosen by ``plugins: {locks: NAME}`` in plan.md."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def decide(self, contention: Contention) -> Decision: ...


ResolutionAction = Literal["stop", "take_stream"]
RESOLUTION_ACTIONS: tuple[str, ...] = ("stop", "take_stream")


@dataclass(frozen=True)
class ConflictCase:
    """Merging ``stream`` into ``target`` conflicts on ``paths`` (found in memory, nothing changed)."""

    stream: str  # the stream being merged: the later side
    target: str  # the branch it is merged into
    paths: tuple[str, ...]
    other_side: Mapping[str, Sequence[str]] = field(default_factory=dict)  # path -> who wrote the target's side
    options: Mapping[str, Any] = field(default_factory=dict)  # the strategy's options in plan.md


@dataclass(frozen=True)
class Resolution:
    """What integration does with a conflict.

    ``stop``: leave the target unchanged and report (the default). ``take_stream``: take the
    later stream's side of each conflicting hunk in ``paths`` — never silently: ``review``
    is recorded in the merge commit and reported, for a person to check.
    """

    action: ResolutionAction
    reason: str
    paths: tuple[str, ...] = ()
    review: str = ""


class ConflictStrategy(Protocol):
    """A named way to settle integration conflicts, chosen by ``plugins: {conflicts: NAME}``."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def resolve(self, case: ConflictCase) -> Resolution: ...


EVENT_KINDS: tuple[str, ...] = (
    "stream.started", "stream.finished", "stream.blocked", "stream.failed",
    "lock.taken", "lock.released", "lock.broken", "integration.result",
)


@dataclass(frozen=True)
class Event:
    """Something that happened; ``kind`` is one of ``EVENT_KINDS``."""

    kind: str
    stream: str | None = None
    path: str | None = None  # lock events: the locked path
    data: Mapping[str, Any] = field(default_factory=dict)  # kind-specific details (see docs/plugins.md)


@dataclass(frozen=True)
class Proposal:
    """A stream a plugin proposes for a codebase (``gitpar suggest``)."""

    name: str
    owns: tuple[str, ...]
    depends_on: tuple[str, ...] = ()
    description: str = ""
    why: str = ""  # one line saying how it was found

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "owns": list(self.owns), "depends_on": list(self.depends_on),
                "description": self.description, "why": self.why}


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
                            brief: Mapping[str, Any], plan: Plan, repo: Repo) -> list[str] | None:
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
def gitpar_check_paths(stream: str | None, paths: Sequence[str], rules: Rules,
                       commit: str | None) -> list[Violation] | None:
    """Add path policies to ``gitpar check`` (and the commit hooks).

    :param stream: the stream making the change, or ``None`` for the main worktree.
    :param paths: the changed paths, repository-relative.
    :param rules: the ownership rules from the plan on the base branch.
    :param commit: the commit judged, or ``None`` for a staged change.
    :return: the violations among ``paths`` (``gitpar.core.rules.Violation``), or ``None``.

    Every plugin's violations are added to gitpar's own; any violation fails the check.
    Keep it fast: it runs on every commit.
    """


@hookspec
def gitpar_event(event: Event, repo: Repo) -> None:
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
