"""The plan as values: its settings, its streams, the whole plan.

Reading and validating a plan is ``gitpar.core.plan``; these are what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitpar.errors import bad

PLAN_DIR = ".gitpar"
PLAN_FILE = ".gitpar/plan.md"
STREAMS_DIR = ".gitpar/streams"
DEFAULT_INTEGRATION_BRANCH = "gitpar/_integration"


@dataclass(frozen=True)
class Settings:
    """The plan's settings, with defaults filled in and durations in seconds."""

    base: str = "main"
    worktrees: str = "../{repo}.gitpar/{stream}"
    lock_ttl: float = 7200.0
    lock_chain: bool = True  # gitpar lock brings in the previous holder's version (--chain/--no-chain)
    stale_after: float = 14400.0
    unowned: str = "lock"
    other_branches: str = "strict"  # branches that are no stream's (core.identity)
    setup: tuple[str, ...] = ()
    copy: tuple[str, ...] = ()
    port_base: int = 20000
    remote: str | None = None
    # a lock not renewed within this many seconds has a holder gone (None: no heartbeats asked)
    lock_heartbeat: float | None = None
    test: str | None = None  # the default of ``gitpar integrate --test``
    goal: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def integration_branch(self) -> str:
        """The branch ``gitpar integrate`` merges into (``integration_branch:``, else
        ``gitpar/_integration``)."""
        return str(self.extra.get("integration_branch") or DEFAULT_INTEGRATION_BRANCH)


@dataclass(frozen=True)
class Stream:
    """One stream's definition, as read from ``.gitpar/streams/<name>.md``."""

    name: str
    description: str = ""
    owns: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()
    union: tuple[str, ...] = ()  # the shares entries with ``merge: union``
    depends_on: tuple[str, ...] = ()
    agent: str = ""
    priority: int = 0
    estimate: float | None = None
    brief: str = ""
    resources: tuple[str, ...] = ()  # exclusive resources its worker needs: never two such streams at once

    @property
    def file(self) -> str:
        return stream_file(self.name)


@dataclass
class Plan:
    """A validated plan: settings, streams by name (sorted), and warnings for the user."""

    settings: Settings
    streams: dict[str, Stream]
    warnings: list[str] = field(default_factory=list)
    # every owns/shares pattern's literal directory (``ownership.literal_dir``), worked out
    # once when the plan is read and cached with it: what lets the rules and the overlap
    # check skip the patterns that cannot meet a path, at any number of streams
    pattern_dirs: dict[str, str] | None = field(default=None, compare=False, repr=False)
    # the owns patterns that may meet another stream's (``core.plan.owns_that_meet``), worked
    # out once too: the overlap check of a plan with none needs neither the tree nor an index
    owns_that_meet: tuple[tuple[str, str], ...] | None = field(default=None, compare=False, repr=False)
    # every (stream, owns | shares, pattern) in stream order and each one's literal directory:
    # the ownership rules' patterns (``Rules.from_plan``), built once per plan, not per check
    rule_patterns: tuple[list[tuple[str, str, str]], list[str]] | None = field(
        default=None, compare=False, repr=False)

    def stream(self, name: str) -> Stream:
        """The stream called ``name``; BadInput naming the known ones otherwise."""
        try:
            return self.streams[name]
        except KeyError:
            known = ", ".join(sorted(self.streams)) or "none yet"
            raise bad(None, "stream", f"no stream named {name!r} (known: {known})",
                      f"check the name, or add it with 'gitpar stream add {name}'") from None

    def dependents(self, name: str) -> list[str]:
        return sorted(s.name for s in self.streams.values() if name in s.depends_on)


def stream_file(name: str) -> str:
    return f"{STREAMS_DIR}/{name}.md"
