"""The values that travel through the plugin hooks (``gitpar.plugins.hookspecs`` declares
the hooks): what a plugin is given and what it answers.

Plugins import these from here (or from ``gitpar.plugins``), never from the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from gitpar.model.lock import Lock


class Repository(Protocol):
    """What a hook is given as ``repo`` (gitpar's repository object): the parts a plugin may use."""

    common_dir: Path  # the repository's git folder shared by its worktrees

    @property
    def main_root(self) -> Path | None: ...  # the main worktree's folder (None: a bare repository)

    def warn(self, text: str) -> None: ...  # a warning shown when the command ends


class OwnershipRules(Protocol):
    """What ``gitpar_check_paths`` is given as ``rules``: the plan's ownership rules."""

    patterns: list[tuple[str, str, str]]  # (stream, "owns" | "shares", pattern)
    unowned: str  # deny | lock | allow
    active: frozenset[str]  # the streams at work now

    @property
    def streams(self) -> set[str]: ...


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
    # gitpar's ownership-pattern match, ``match(pattern, path)``: handed in by the core so a
    # strategy reads plan patterns as gitpar does (None: the case was made without it)
    match: Callable[[str, str], bool] | None = field(default=None, compare=False, repr=False)


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
