"""What ``gitpar integrate`` reports: a ``Step`` per stream, the ``Integration`` as a whole
(its ``to_dict`` is the ``--json`` shape), and the ``Progress`` callback that says what is
happening as it goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitpar.store.merge import FileConflict

Progress = Callable[[str], None]


@dataclass
class Step:
    """One stream's row in the final table."""

    stream: str
    # merged | merged (review) | already merged | would merge | would merge (review) | conflicted |
    # refused (ownership violations) | broke the tests | not reached; "(review)": a conflict settled by the plan's conflict strategy
    outcome: str
    detail: str = ""
    commit: str | None = None
    conflicts: list[FileConflict] = field(default_factory=list)
    other_side: dict[str, list[str]] = field(default_factory=dict)  # path -> who wrote the other side
    log: str | None = None
    cleanup: str | None = None
    output_tail: list[str] = field(default_factory=list)  # the test's last lines, on failure
    together_with: str | None = None  # passes the gate alone, breaks it with this landed stream

    @property
    def ejected(self) -> bool:
        """Taken out of the queue: a conflict, a failing gate, undone work or violations."""
        return self.outcome in ("conflicted", "would undo work", "broke the tests", "refused")

    def to_dict(self) -> dict[str, Any]:
        return {"ejected": self.ejected, "together_with": self.together_with, "stream": self.stream, "outcome": self.outcome, "detail": self.detail,
                "commit": self.commit, "conflicts": [c.to_dict() for c in self.conflicts],
                "other_side": self.other_side, "log": self.log, "cleanup": self.cleanup,
                "output_tail": self.output_tail}


@dataclass
class Integration:
    target: str
    base: str
    created: bool
    start: str | None
    end: str | None
    steps: list[Step]
    test: str | None = None
    dry_run: bool = False
    stopped: str | None = None  # why the run stopped early
    interrupted: bool = False
    # the repository's warnings list itself (the one channel: store.repo's docstring), so
    # --json says what the command prints on stderr when it ends
    warnings: list[str] = field(default_factory=list)
    # --cleanup of streams integrated by earlier runs: stream -> what was done
    cleaned: dict[str, str] = field(default_factory=dict)
    jobs: int = 1  # gates at once (-j)
    gate_runs: int = 0  # gates run, retries and the queue's stopped speculation included
    gate_seconds: list[float] = field(default_factory=list)  # each gate run's duration
    landed: dict[str, str] | None = None  # --land: what was landed where

    @property
    def ejected(self) -> list[Step]:
        return [s for s in self.steps if s.ejected]

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.interrupted and not self.ejected

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "target": self.target, "base": self.base, "created": self.created,
                "start": self.start, "end": self.end, "test": self.test, "dry_run": self.dry_run,
                "ok": self.ok, "stopped": self.stopped, "interrupted": self.interrupted,
                "warnings": list(self.warnings), "steps": [s.to_dict() for s in self.steps],
                "cleaned": self.cleaned, "jobs": self.jobs,
                "ejected": [{"stream": s.stream, "why": s.detail, "log": s.log} for s in self.ejected],
                "gate_runs": self.gate_runs, "gate_seconds": [round(x, 3) for x in self.gate_seconds],
                "landed": self.landed}
