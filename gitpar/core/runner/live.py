"""The live run, as a progress view sees it: the events it reports and its state (running,
done, failed, the ETA from the list schedule of what is left).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gitpar.core import schedule as sch
from gitpar.core.runner.results import NOT_REACHED, JobResult
from gitpar.core.runner.select import RunPlan


@dataclass(frozen=True)
class RunEvent:
    """Something the run reports as it goes; ``state`` is the live run (read, don't keep)."""

    kind: str  # start | output | retry | done | skip | unreached | halt | tick
    stream: str | None
    text: str
    state: RunState


class RunState:
    """The live state of a run, for a progress view: running, done, failed, ETA."""

    def __init__(self, run: RunPlan) -> None:
        self.run = run
        self.results = {n: JobResult(n) for n in run.order}
        for name, exitval in run.resumed.items():
            self.results[name] = JobResult(name, outcome="resumed", exit=exitval,
                                           reason="in the joblog of an earlier run")
        self.running: dict[str, float] = {}  # stream -> monotonic start
        self.started_at = time.monotonic()

    def counts(self) -> dict[str, int]:
        out = {"running": len(self.running), "ok": 0, "failed": 0, "skipped": 0, "waiting": 0}
        for r in self.results.values():
            if r.outcome in ("ok", "resumed"):
                out["ok"] += 1
            elif r.outcome in ("failed", "timeout", "interrupted"):
                out["failed"] += 1
            elif r.outcome in ("skipped", "cancelled", NOT_REACHED):
                out["skipped"] += 1
            elif r.stream not in self.running:
                out["waiting"] += 1
        return out

    def eta_s(self) -> float:
        """Seconds until the run should be done: the list schedule of what is left, the
        running commands first with what remains of their estimates."""
        now = time.monotonic()
        left = [n for n, r in self.results.items() if r.outcome in ("waiting",)]
        if not left:
            return 0.0
        names = set(left)
        est = self.run.estimates
        tasks = []
        for n in left:
            dur = est[n].seconds
            if n in self.running:
                dur = max(0.0, dur - (now - self.running[n]))
            tasks.append(sch.Task(n, dur, tuple(d for d in self.run.deps[n] if d in names)))
        rank = self.run.rank
        sched = sch.list_schedule(tasks, self.run.options.jobs,
                                  lambda t: (t.name not in self.running, -rank[t.name]))
        return sched.makespan
