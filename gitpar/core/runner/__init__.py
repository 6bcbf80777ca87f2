"""``gitpar run``: one command in many streams' worktrees, in parallel, dependency-aware.

:func:`prepare` checks everything and decides what would run, in which order, without
running anything (``--dry-run`` prints it). :func:`execute` runs it: a single-threaded
event loop over the children's output pipes and pidfds (a pidfd becomes readable when its
process exits, so nothing polls), at most ``jobs`` children at once, each in its own
process group so that a timeout, ``--halt now`` or Ctrl-C ends the command and whatever
it started.

Order: a stream's command starts once its dependencies are completed on the state branch: a
dependency in this run is completed when its command succeeds and ``--finish`` marks it so
(or it was completed already); a command's success alone is not the stream's completion, so
without ``--finish`` its dependents are "not reached" (a dependency not in the run must
already be completed). Among the ready
streams the one the plan's schedule starts first goes first (``core.schedule.schedule``,
the schedule ``gitpar plan`` shows, from estimates and history), the longest remaining
path (bottom level), ``priority`` then the name breaking ties — so the run follows the
plan's schedule and finishes near its planned length.

Failure policy after GNU parallel's ``--halt``: by default a failed stream's dependents
are skipped and everything independent goes on; ``soon`` stops starting commands,
``now`` also ends the running ones.

With ``--finish`` a dependency counts as completed once its command succeeded and its
finish's checks passed (``finisher``: checked on a thread of its own; the state commit
recording it follows on a writer thread, batched; a record that fails afterwards fails the
stream and skips its dependents not yet started). See docs/run.md.

The package, by job: ``options`` (parsing and checking what was asked), ``select`` (which
streams, in which order: :func:`prepare`), ``engine`` (running them: :func:`execute`),
``finisher`` (``--finish`` off the loop),
``joblog`` (GNU parallel's joblog, written and read back), ``results`` and ``live`` (what
the run reports, at the end and as it goes). The commands are started by ``core.spawn``.
"""

from __future__ import annotations

from gitpar.core.runner.engine import execute
from gitpar.core.runner.joblog import read_joblog
from gitpar.core.runner.live import RunEvent, RunState
from gitpar.core.runner.options import Halt, RunOptions, parse_halt, parse_jobs, parse_timeout
from gitpar.core.runner.results import NOT_COMPLETED, NOT_REACHED, JobResult, RunResult
from gitpar.core.runner.select import RunPlan, prepare

__all__ = ["NOT_COMPLETED", "NOT_REACHED", "Halt", "JobResult", "RunEvent", "RunOptions", "RunPlan",
           "RunResult", "RunState", "execute", "parse_halt", "parse_jobs", "parse_timeout", "prepare",
           "read_joblog"]
