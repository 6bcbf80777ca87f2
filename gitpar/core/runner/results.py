"""What became of a run: one result per stream, and the run's whole outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_REACHED = "not reached"  # the outcome of a stream whose dependencies were not completed
NOT_COMPLETED = "not completed; --finish completes streams whose command succeeds"


@dataclass
class JobResult:
    """What became of one stream's command."""

    stream: str
    # ok | failed | timeout | skipped | not reached | cancelled | interrupted | resumed
    outcome: str = "waiting"
    exit: int | None = None  # the exit code; -N when ended by signal N
    attempts: int = 0
    started: float | None = None  # wall-clock start of the last attempt (epoch seconds)
    duration_s: float | None = None  # of the last attempt
    log: Path | None = None
    worktree: Path | None = None
    reason: str = ""
    output_bytes: int = 0

    @property
    def succeeded(self) -> bool:
        return self.outcome == "ok" or (self.outcome == "resumed" and self.exit == 0)

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "outcome": self.outcome, "exit": self.exit,
                "attempts": self.attempts, "duration_s": self.duration_s,
                "log": str(self.log) if self.log else None, "reason": self.reason}


@dataclass
class RunResult:
    """The whole run: one JobResult per stream, in dependency order."""

    jobs: dict[str, JobResult]
    planned_s: float
    wall_s: float
    span_s: float  # from the first command's start to the last one's end
    interrupted: bool = False
    halted: str | None = None
    recorded: int = 0  # run records written to the state branch
    record_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(
            j.succeeded or j.outcome == NOT_REACHED or (j.outcome == "cancelled" and self.halted is not None
                            and "success" in self.halted) for j in self.jobs.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j in self.jobs.values():
            out[j.outcome] = out.get(j.outcome, 0) + 1
        return out
