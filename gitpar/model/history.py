"""A finished run of ``gitpar run`` and an estimate, and the duration learned from runs.

Reading and writing the records on the state branch is ``gitpar.core.history``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LEARN_FROM = 10  # the most recent successful runs an estimate looks at


@dataclass(frozen=True)
class RunRecord:
    """One finished command of ``gitpar run`` in one stream."""

    started: str  # ISO-8601 UTC
    duration_s: float
    exit: int  # the exit code; -N when killed by signal N
    command: str  # the command as typed, placeholders not substituted
    outcome: str = "ok"  # ok | failed | timeout
    finish: bool = False  # the run completed the stream (--finish): a measure of its whole work

    def to_dict(self) -> dict[str, Any]:
        return {"started": self.started, "duration_s": self.duration_s, "exit": self.exit,
                "outcome": self.outcome, "finish": self.finish, "command": self.command}


@dataclass(frozen=True)
class Estimate:
    """A stream's expected duration and where it came from."""

    seconds: float
    source: str  # history | estimate | median | default


def learned_duration(runs: Sequence[RunRecord], command: str | None = None) -> float | None:
    """What the next run should take, from the successful runs of ``command``.

    ``command=None`` looks at the runs that completed the stream (``--finish``): its whole
    work. The estimate is the lower median of the last ten: one slow outlier (a cold
    cache, a stalled machine) moves it by at most one rank, and with only two runs the
    faster one counts.
    """
    durations = [r.duration_s for r in runs
                 if r.exit == 0 and (r.finish if command is None else r.command == command)]
    recent = durations[-LEARN_FROM:]
    if not recent:
        return None
    return float(statistics.median_low(recent))
