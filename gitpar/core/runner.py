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
streams the one with the longest remaining path (bottom level, from estimates and
history) goes first, ``priority`` then the name breaking ties — so the run follows the
list schedule ``prepare`` computed, and finishes near its planned length.

Failure policy after GNU parallel's ``--halt``: by default a failed stream's dependents
are skipped and everything independent goes on; ``soon`` stops starting commands,
``now`` also ends the running ones.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import queue
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gitpar.core import spawn
from gitpar.errors import GitparError, Refused, bad

if TYPE_CHECKING:
    from gitpar.core.history import Estimate, RunRecord
    from gitpar.core.plan import Plan
    from gitpar.core.repo import Repo
    from gitpar.core.schedule import Schedule

PLACEHOLDERS = ("stream", "worktree", "brief", "port")
NOT_REACHED = "not reached"  # the outcome of a stream whose dependencies were not completed
NOT_COMPLETED = "not completed; --finish completes streams whose command succeeds"
# {name} is a placeholder; ${name} is the shell's; {{name}} is a literal {name}
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_]\w*)\}\}|(?<!\$)\{([A-Za-z_]\w*)\}")
MAX_BACKOFF_S = 60.0
HISTORY_FLUSH_S = 60.0  # a long run writes its records at least this often
JOBLOG_HEADER = "Seq\tStream\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE = 127, 126
SPAWNERS = 4  # threads starting children


# -- options ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Halt:
    """When to stop the run: ``never``, or ``soon``/``now`` after some failures or successes."""

    when: str = "never"  # never | soon | now
    on: str = "fail"  # fail | success
    count: int = 1
    percent: float | None = None

    def reached(self, hits: int, total: int) -> bool:
        if self.when == "never" or hits == 0:
            return False
        if self.percent is not None:
            return total > 0 and 100.0 * hits / total >= self.percent
        return hits >= self.count

    def describe(self) -> str:
        if self.when == "never":
            return "never"
        amount = f"{self.percent:g}%" if self.percent is not None else str(self.count)
        return f"{self.when},{self.on}={amount}"


def parse_halt(text: str) -> Halt:
    """``never``, ``now``, ``soon``, or ``now|soon,fail|success=N[%]`` as in GNU parallel."""
    fix = "write --halt never, --halt soon,fail=1, --halt now,fail=1 or --halt now,success=50%"
    value = text.strip().lower()
    if value == "never":
        return Halt()
    when, _, rest = value.partition(",")
    if when not in ("soon", "now"):
        raise bad(None, "--halt", f"{text!r} is not a halt policy", fix)
    if not rest:
        return Halt(when)
    m = re.fullmatch(r"(fail|success)=(\d+(?:\.\d+)?)(%?)", rest)
    if not m:
        raise bad(None, "--halt", f"{text!r} is not a halt policy", fix)
    amount = float(m.group(2))
    if m.group(3):
        if not 0 < amount <= 100:
            raise bad(None, "--halt", f"{text!r}: a percentage must be above 0 and at most 100", fix)
        return Halt(when, m.group(1), 1, amount)
    if amount < 1 or amount != int(amount):
        raise bad(None, "--halt", f"{text!r}: the count must be a whole number of at least 1", fix)
    return Halt(when, m.group(1), int(amount))


def parse_jobs(text: str | None) -> int:
    """``-j``: how many commands at once (default: the number of CPUs)."""
    if text is None:
        return os.cpu_count() or 1
    value = text.strip()
    if not value.isdigit() or int(value) < 1:
        raise bad(None, "-j", f"{text!r} is not a number of parallel jobs",
                  "give a whole number of at least 1, e.g. -j 4")
    return int(value)


def parse_timeout(text: str | None) -> float | None:
    """``--timeout``: a duration (``90s``, ``10m``, a number of seconds) or None."""
    from gitpar.core.durations import parse_duration

    if text is None:
        return None
    value: object = text
    try:
        value = float(text)
    except ValueError:
        pass
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise bad(None, "--timeout", str(exc), "write it like --timeout 90s, 10m or 2h (or leave it out)") from None
    if seconds <= 0:
        raise bad(None, "--timeout", f"{text!r} is not a positive duration",
                  "write it like --timeout 90s, 10m or 2h (or leave it out)")
    return seconds


def check_placeholders(command: Sequence[str]) -> None:
    """BadInput for an empty command or a ``{placeholder}`` gitpar does not know."""
    if not command or not command[0]:
        raise bad(None, "command", "no command given",
                  "put the command after --, e.g. gitpar run --all -- make test")
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for arg in command:
        for m in _PLACEHOLDER.finditer(arg):
            name = m.group(2)
            if name is not None and name not in PLACEHOLDERS:
                raise bad(None, "command", f"unknown placeholder {{{name}}} in {arg!r}",
                          f"use one of {known}; write {{{{{name}}}}} for a literal {{{name}}}")


def substitute(arg: str, values: Mapping[str, str]) -> str:
    """``arg`` with its placeholders replaced (checked beforehand by :func:`check_placeholders`)."""
    def one(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return "{" + m.group(1) + "}"
        return values[m.group(2)]

    return _PLACEHOLDER.sub(one, arg)


def check_command_exists(command: Sequence[str]) -> None:
    """BadInput when the program is a bare name found nowhere on PATH.

    A path (``./build.sh``) may exist only inside the worktrees, so it is checked per
    stream when it starts (a missing one fails that stream with exit 127).
    """
    program = command[0]
    if _PLACEHOLDER.search(program) or "/" in program:
        return
    if shutil.which(program) is None:
        raise bad(None, "command", f"{program!r} is not a command found on PATH",
                  "check the spelling, install it, or give its path")


@dataclass(frozen=True)
class RunOptions:
    """What ``gitpar run`` was asked to do."""

    command: tuple[str, ...]
    jobs: int
    select: str = "all"  # all | ready | streams
    streams: tuple[str, ...] = ()  # with select="streams"
    retries: int = 0
    retry_delay_s: float = 1.0  # the first backoff; doubles on every retry, at most a minute
    timeout_s: float | None = None
    kill_grace_s: float = 2.0  # between SIGTERM and SIGKILL
    finish: bool = False
    joblog: Path | None = None
    resume: str | None = None  # None | all | failed
    halt: Halt = field(default_factory=Halt)
    # write run records (durations for estimates) to the state branch: only when asked
    # (--record), or with --finish, where a success is the stream's work being done
    record: bool = False

    @property
    def command_key(self) -> str:
        """The command as typed: what run records are compared by."""
        return shlex.join(self.command)


# -- preparing a run ----------------------------------------------------------------------


@dataclass
class RunPlan:
    """Everything decided before anything runs."""

    options: RunOptions
    plan: Plan
    order: list[str]  # the streams that will run, dependencies first
    deps: dict[str, tuple[str, ...]]  # dependencies within this run
    estimates: dict[str, Estimate]
    rank: dict[str, float]  # remaining path length (bottom level)
    planned: Schedule  # the list schedule the run follows
    worktrees: dict[str, Path]  # existing ones
    ports: dict[str, int]
    needs_start: list[str]
    new_worktrees: dict[str, Path]  # where the streams still to start will get theirs
    resumed: dict[str, int]  # stream -> exit value in the joblog (not run again)
    status: dict[str, str]
    state_branch: bool
    log_root: Path

    def to_dict(self) -> dict[str, Any]:
        """The dry-run's JSON shape."""
        from gitpar.core.analysis import _num

        rows = []
        for name in sorted(self.order, key=lambda n: (self.planned.slots[n].start, -self.rank[n], n)):
            slot = self.planned.slots[name]
            rows.append({
                "stream": name, "start_s": _num(slot.start), "finish_s": _num(slot.finish),
                "slot": slot.worker + 1, "estimate_s": _num(self.estimates[name].seconds),
                "estimate_source": self.estimates[name].source,
                "remaining_path_s": _num(self.rank[name]), "after": list(self.deps[name]),
                "starts_stream": name in self.needs_start,
                "worktree": str(self.worktrees[name]) if name in self.worktrees else None,
                "command": self.argv(name, self.worktrees.get(name) or self.new_worktrees.get(name),
                                     self.ports.get(name)),
            })
        return {"version": 1, "jobs": self.options.jobs, "makespan_s": _num(self.planned.makespan),
                "command": list(self.options.command), "runs": rows,
                "resumed": [{"stream": n, "exit": e} for n, e in self.resumed.items()]}

    def argv(self, name: str, worktree: Path | None, port: int | None) -> list[str]:
        """The command for ``name`` with its placeholders filled in."""
        values = {"stream": name, "brief": self.plan.streams[name].brief,
                  "worktree": str(worktree) if worktree else f"<worktree of {name}>",
                  "port": str(port) if port is not None else "<port>"}
        return [substitute(a, values) for a in self.options.command]


def prepare(repo: Repo, options: RunOptions) -> RunPlan:
    """Check the options, the plan and the state, and decide what runs in which order.

    Raises BadInput (exit 2) or Refused (exit 1) before anything runs.
    """
    from gitpar.core import schedule as sch
    from gitpar.core.history import estimates, read_history
    from gitpar.core.streams import all_progress, worktree_path
    from gitpar.store.state import StateStore

    if options.jobs < 1:
        raise bad(None, "-j", f"{options.jobs} is not a number of parallel jobs",
                  "give a whole number of at least 1, e.g. -j 4")
    if options.retries < 0:
        raise bad(None, "--retries", f"{options.retries} is negative", "give 0 or more")
    check_placeholders(options.command)
    if options.resume and options.joblog is None:
        raise bad(None, "--resume", "resuming needs the joblog of the earlier run",
                  "add --joblog FILE (the same file as the run to resume)")
    plan = repo.load_plan()  # validated: unknown dependencies and cycles are BadInput here
    store = StateStore(repo)
    exists = store.exists()
    snap = store.snapshot()
    progress = all_progress(snap) if exists else {}
    history = read_history(snap) if exists else {}
    status = {n: (progress[n].status if n in progress else "pending") for n in plan.streams}
    selected = _select(plan, options, status)
    if not selected:
        raise Refused("no stream to run: " + ("every stream is completed" if options.select == "all"
                      else "no stream is ready (pending or in progress with its dependencies "
                           "completed)"))
    chosen = set(selected)
    for name in selected:
        for dep in plan.streams[name].depends_on:
            if dep not in chosen and status[dep] != "completed":
                raise Refused(f"stream {name!r} depends on {dep!r} ({status[dep]}), which is neither "
                              f"completed nor in this run; add it (--streams {dep},{name}) or run --all")
    resumed: dict[str, int] = {}
    if options.resume and options.joblog is not None:
        for name, exitval in read_joblog(options.joblog).items():
            if name in chosen and (options.resume == "all" or exitval == 0):
                resumed[name] = exitval
    order = [n for n in _topological(plan, selected) if n not in resumed]
    worktrees = repo.stream_worktrees()
    needs_start = [n for n in order if n not in worktrees]
    for name in needs_start:
        if status[name] == "completed":
            raise Refused(f"stream {name!r} is completed and has no worktree to run in; "
                          "leave it out of --streams")
    if needs_start:
        if not exists:
            raise Refused("streams " + ", ".join(needs_start) + " have no worktree yet and "
                          "starting them needs the state branch; run 'gitpar init' first")
        base_plan = repo.load_plan_at_base(plan.settings.base)
        missing = [n for n in needs_start if base_plan is None or n not in base_plan.streams]
        if missing:
            raise Refused(f"streams {', '.join(missing)} are not committed on the base branch "
                          f"{plan.settings.base!r}; commit .gitpar/ first (a stream starts from "
                          "the plan on its base branch)")
    check_command_exists(options.command)
    est = estimates(plan, history, options.command_key)
    runs = set(order)
    deps = {n: tuple(d for d in plan.streams[n].depends_on if d in runs or d in resumed)
            for n in order}
    tasks = [sch.Task(n, est[n].seconds, tuple(d for d in deps[n] if d in runs),
                      plan.streams[n].priority) for n in order]
    rank = sch.bottom_levels(tasks)
    planned = sch.list_schedule(tasks, options.jobs, lambda t: -rank[t.name])
    ports: dict[str, int] = {}
    for name in order:
        port = progress[name].extra.get("port") if name in progress else None
        if isinstance(port, int) and name in worktrees:
            ports[name] = port
    return RunPlan(options=options, plan=plan, order=order, deps=deps, estimates=est, rank=rank,
                   planned=planned, worktrees={n: worktrees[n] for n in order if n in worktrees},
                   ports=ports, needs_start=needs_start,
                   new_worktrees={n: worktree_path(repo, plan, n) for n in needs_start},
                   resumed=resumed, status=status,
                   state_branch=exists, log_root=repo.gitpar_dir / "logs")


def _select(plan: Plan, options: RunOptions, status: Mapping[str, str]) -> list[str]:
    if options.select == "streams":
        names: list[str] = []
        for item in options.streams:
            for name in (n.strip() for n in item.split(",")):
                if name:
                    plan.stream(name)  # BadInput naming the known streams
                    names.append(name)
        if not names:
            raise bad(None, "--streams", "no stream named", "list streams like --streams api,ui")
        return list(dict.fromkeys(names))
    if options.select == "ready":
        return [n for n, s in plan.streams.items() if status[n] != "completed"
                and all(status[d] == "completed" for d in s.depends_on)]
    if options.select != "all":
        raise bad(None, "selection", f"{options.select!r} is not a selection", "use all, ready or streams")
    return [n for n in plan.streams if status[n] != "completed"]


def _topological(plan: Plan, names: Sequence[str]) -> list[str]:
    from gitpar.core.plan import topological_order

    chosen = set(names)
    return [n for n in topological_order(plan.streams) if n in chosen]


# -- the joblog (GNU parallel's format; the Host column holds the stream) --------------------


def read_joblog(path: Path) -> dict[str, int]:
    """The last exit value of each stream in a joblog (signal deaths count as failures)."""
    out: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise bad(str(path), None, f"cannot read the joblog: {exc.strerror}", "check the path") from None
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < 9 or cols[0] == "Seq":
            continue
        try:
            exitval, sig = int(cols[6]), int(cols[7])
        except ValueError:
            continue
        out[cols[1]] = exitval if sig == 0 else 128 + sig
    return out


# -- running -------------------------------------------------------------------------------


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
        from gitpar.core import schedule as sch

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


@dataclass
class _Spawn:
    """A command handed to a spawner thread, and what became of it."""

    name: str
    argv: list[str]
    worktree: Path
    env: dict[str, str]
    log: IO[bytes]
    slot: int
    proc: subprocess.Popen[bytes] | None = None
    error: OSError | None = None
    start_wall: float = 0.0
    start_mono: float = 0.0


def _spawn(job: _Spawn) -> _Spawn:
    """Start ``job``'s process (on a spawner thread: fork and exec of several children
    proceed in parallel, instead of one after the other on the loop's thread)."""
    job.start_wall, job.start_mono = time.time(), time.monotonic()
    try:
        job.proc = spawn.popen(job.argv, job.worktree, job.env, subprocess.PIPE)
    except OSError as exc:
        job.error = exc
    return job


@dataclass
class _Live:
    """A running child."""

    name: str
    proc: subprocess.Popen[bytes]
    fd: int
    pidfd: int | None
    log: IO[bytes]
    start_mono: float
    start_wall: float
    argv: list[str]
    slot: int
    deadline: float | None
    partial: bytes = b""
    eof: bool = False
    kill_at: float | None = None
    timed_out: bool = False
    halted: bool = False


class _Engine:
    def __init__(self, repo: Repo, run: RunPlan, on_event: Callable[[RunEvent], None] | None,
                 tick_s: float | None) -> None:
        self.repo = repo
        self.run = run
        self.opts = run.options
        self.on_event = on_event
        self.tick_s = tick_s
        self.state = RunState(run)
        self.sel = selectors.DefaultSelector()
        self.live: dict[str, _Live] = {}
        self.by_fd: dict[int, tuple[_Live, str]] = {}
        self.ready: list[tuple[float, int, str]] = []
        self.backoff: list[tuple[float, str]] = []
        self.waiting_on: dict[str, set[str]] = {}
        self.dependents: dict[str, list[str]] = {n: [] for n in run.order}
        self.records: dict[str, list[RunRecord]] = {}
        self.recorded = 0
        self.record_error: str | None = None
        self.last_flush = time.monotonic()
        self.seq = 0
        self.failures = 0
        self.successes = 0
        self.halting: str | None = None  # soon | now
        self.halt_reason: str | None = None
        self.free_slots = list(range(1, self.opts.jobs + 1))
        self.stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.joblog: IO[str] | None = None
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.use_pidfd = hasattr(os, "pidfd_open")
        self.worktrees = dict(run.worktrees)
        self.ports = dict(run.ports)
        self.pool = ThreadPoolExecutor(max_workers=min(self.opts.jobs, SPAWNERS),
                                       thread_name_prefix="gitpar-spawn")
        self.spawned: queue.SimpleQueue[_Spawn] = queue.SimpleQueue()
        self.spawning = 0
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.sel.register(self.wake_r, selectors.EVENT_READ)

    # -- events
    def emit(self, kind: str, stream: str | None, text: str = "") -> None:
        if self.on_event is not None:
            self.on_event(RunEvent(kind, stream, text, self.state))

    # -- set-up
    def setup(self) -> None:
        if self.opts.joblog is not None:
            path = self.opts.joblog
            append = bool(self.opts.resume) and path.exists()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.joblog = path.open("a" if append else "w", encoding="utf-8")
            except OSError as exc:
                raise bad(str(path), None, f"cannot write the joblog: {exc.strerror}",
                          "give a writable path to --joblog") from None
            if not append:
                self.joblog.write(JOBLOG_HEADER)
                self.joblog.flush()
        results = self.state.results
        for name in self.run.order:
            waits = set(self.run.deps[name])
            for dep in self.run.deps[name]:
                if dep in self.run.resumed:
                    waits.discard(dep)
                    if not results[dep].succeeded:
                        self.skip(name, f"dependency {dep} failed in an earlier run (joblog)")
                    elif self.run.status[dep] != "completed":
                        self.not_reached(name, f"waits for {dep} ({NOT_COMPLETED})")
                else:
                    self.dependents[dep].append(name)
            if results[name].outcome == "waiting":
                self.waiting_on[name] = waits
                if not waits:
                    self.push_ready(name)

    def push_ready(self, name: str) -> None:
        prio = self.run.plan.streams[name].priority
        heapq.heappush(self.ready, (-self.run.rank[name], -prio, name))

    # -- the loop
    def loop(self) -> None:
        next_tick = time.monotonic() + (self.tick_s or 0)
        while True:
            now = time.monotonic()
            while self.backoff and self.backoff[0][0] <= now:
                _, name = heapq.heappop(self.backoff)
                if self.state.results[name].outcome == "waiting":
                    self.push_ready(name)
            if self.halting is None:
                while self.ready and len(self.live) + self.spawning < self.opts.jobs:
                    _, _, name = heapq.heappop(self.ready)
                    self.launch(name)
            if not self.live and not self.spawning and (
                    self.halting is not None or (not self.ready and not self.backoff)):
                break
            timeout = self.next_timeout(now, next_tick)
            self.handle(self.sel.select(timeout))
            if not self.use_pidfd:
                for live in list(self.live.values()):
                    if live.proc.poll() is not None:
                        self.reap(live)
            now = time.monotonic()
            self.enforce_deadlines(now)
            if self.records and now - self.last_flush > HISTORY_FLUSH_S:
                self.flush_history()
            if self.tick_s and now >= next_tick:
                next_tick = now + self.tick_s
                self.emit("tick", None)

    def handle(self, ready: list[tuple[selectors.SelectorKey, int]]) -> None:
        for key, _ in ready:
            if key.fd == self.wake_r:
                self.take_spawned()
                continue
            entry = self.by_fd.get(key.fd)
            if entry is None:
                continue
            live, kind = entry
            if kind == "out":
                self.read_output(live)
            else:
                self.reap(live)

    def next_timeout(self, now: float, next_tick: float) -> float | None:
        moments = [m for live in self.live.values() for m in (live.deadline, live.kill_at) if m]
        if self.backoff:
            moments.append(self.backoff[0][0])
        if self.tick_s:
            moments.append(next_tick)
        if self.records:
            moments.append(self.last_flush + HISTORY_FLUSH_S)
        if not self.use_pidfd and self.live:
            moments.append(now + 0.005)
        if not moments:
            return None
        return max(0.0, min(moments) - now)

    # -- starting a command
    def launch(self, name: str) -> None:
        from gitpar.core.streams import start

        result = self.state.results[name]
        result.attempts += 1
        worktree = self.worktrees.get(name)
        if worktree is None:
            try:
                started = start(self.repo, name, force=True)
            except GitparError as exc:
                self.fail(name, None, f"could not start the stream: {exc}")
                return
            if started.setup_failed:
                self.fail(name, None, f"setup failed: {started.setup_failed} (log: {started.setup_log})")
                return
            worktree = self.worktrees[name] = started.worktree
            self.ports[name] = started.port
        result.worktree = worktree
        port = self.ports.get(name)
        if port is None:
            port = self.ports[name] = self.run.plan.settings.port_base + sorted(
                self.run.plan.streams).index(name)
        argv = self.run.argv(name, worktree, port)
        slot = self.free_slots.pop(0)
        env = spawn.command_env(name, worktree, port=port, extra={
            "GITPAR_RUN": self.stamp, "GITPAR_ATTEMPT": str(result.attempts), "GITPAR_SLOT": str(slot)})
        log_path = self.run.log_root / name / f"run-{self.stamp}.log"
        result.log = log_path
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = log_path.open("ab", buffering=0)
        except OSError as exc:
            self.free_slots.append(slot)
            self.fail(name, None, f"cannot write its log {log_path}: {exc.strerror}")
            return
        log.write(f"$ {shlex.join(argv)}   # attempt {result.attempts}, in {worktree}\n".encode())
        self.spawning += 1
        future = self.pool.submit(_spawn, _Spawn(name, argv, worktree, env, log, slot))
        future.add_done_callback(self._spawned)

    def _spawned(self, future: Future[_Spawn]) -> None:
        # on a spawner thread: hand the child to the loop, and wake it up
        self.spawned.put(future.result())
        os.write(self.wake_w, b"\0")

    def take_spawned(self) -> None:
        """Register the children the spawner threads started (or fail those that could not)."""
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                job = self.spawned.get_nowait()
            except queue.Empty:
                return
            self.spawning -= 1
            self.register(job, selectors.EVENT_READ)

    def register(self, job: _Spawn, readable: int) -> None:
        name = job.name
        result = self.state.results[name]
        result.started = job.start_wall
        if job.proc is None:
            exc = job.error
            code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
            what = ("command not found" if code == EXIT_NOT_FOUND
                    else f"cannot run the command ({getattr(exc, 'strerror', exc)})")
            message = f"{what}: {job.argv[0]} (in {job.worktree})"
            job.log.write(f"gitpar: {message}\n".encode())
            job.log.close()
            self.free_slots.append(job.slot)
            self.free_slots.sort()
            result.duration_s = time.monotonic() - job.start_mono
            self.write_joblog(name, job.start_wall, result.duration_s, 0, code, 0, job.argv)
            self.fail(name, code, message)
            return
        proc = job.proc
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        pidfd = None
        if self.use_pidfd:
            try:
                pidfd = os.pidfd_open(proc.pid)
            except OSError:  # an old kernel: fall back to polling
                self.use_pidfd = False
        deadline = job.start_mono + self.opts.timeout_s if self.opts.timeout_s else None
        live = _Live(name, proc, fd, pidfd, job.log, job.start_mono, job.start_wall, job.argv,
                     job.slot, deadline)
        self.live[name] = live
        self.state.running[name] = job.start_mono
        self.by_fd[fd] = (live, "out")
        self.sel.register(fd, readable)
        if pidfd is not None:
            self.by_fd[pidfd] = (live, "exit")
            self.sel.register(pidfd, readable)
        if self.first_start is None or job.start_mono < self.first_start:
            self.first_start = job.start_mono
        self.emit("start", name, shlex.join(job.argv))

    # -- a running command
    def read_output(self, live: _Live) -> None:
        while True:
            try:
                chunk = os.read(live.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.close_output(live)
                return
            live.log.write(chunk)
            self.state.results[live.name].output_bytes += len(chunk)
            if self.on_event is not None:
                data = live.partial + chunk
                *lines, live.partial = data.split(b"\n")
                for line in lines:
                    self.emit("output", live.name, line.decode("utf-8", errors="replace"))

    def close_output(self, live: _Live) -> None:
        if live.eof:
            return
        live.eof = True
        self.sel.unregister(live.fd)
        del self.by_fd[live.fd]
        assert live.proc.stdout is not None
        live.proc.stdout.close()
        if live.partial and self.on_event is not None:
            self.emit("output", live.name, live.partial.decode("utf-8", errors="replace"))
        live.partial = b""

    def reap(self, live: _Live) -> None:
        code = live.proc.poll()
        if code is None:
            return
        end = time.monotonic()
        if not live.eof:
            self.read_output(live)  # what it wrote before exiting is in the pipe
            self.close_output(live)  # a background child may hold the pipe: stop reading it
        if live.pidfd is not None:
            self.sel.unregister(live.pidfd)
            del self.by_fd[live.pidfd]
            os.close(live.pidfd)
        live.log.write(f"[exit {code}]\n".encode())
        live.log.close()
        del self.live[live.name]
        del self.state.running[live.name]
        self.free_slots.append(live.slot)
        self.free_slots.sort()
        self.last_end = end
        result = self.state.results[live.name]
        result.exit, result.duration_s = code, end - live.start_mono
        self.write_joblog(live.name, live.start_wall, result.duration_s,
                          result.output_bytes, max(code, 0), max(-code, 0), live.argv)
        self.remember(live, code)
        if live.halted:
            result.outcome, result.reason = "cancelled", f"ended by --halt {self.halt_reason}"
            return
        if code == 0 and not live.timed_out:
            self.succeed(live.name)
            return
        why = (f"timed out after {_secs(self.opts.timeout_s or 0)}" if live.timed_out
               else f"exited {code}" if code > 0 else f"killed by {_signame(-code)}")
        if result.attempts <= self.opts.retries and self.halting is None:
            delay = min(MAX_BACKOFF_S, self.opts.retry_delay_s * 2 ** (result.attempts - 1))
            heapq.heappush(self.backoff, (time.monotonic() + delay, live.name))
            self.emit("retry", live.name, f"{why}; retry {result.attempts} of {self.opts.retries} "
                      f"in {_secs(delay)}")
            return
        self.fail(live.name, code, why, timeout=live.timed_out)

    def enforce_deadlines(self, now: float) -> None:
        for live in list(self.live.values()):
            if live.deadline is not None and now >= live.deadline and not live.timed_out:
                live.timed_out = True
                self.terminate(live, now)
            if live.kill_at is not None and now >= live.kill_at:
                live.kill_at = None
                spawn.signal_group(live.proc.pid, signal.SIGKILL)

    def terminate(self, live: _Live, now: float) -> None:
        spawn.signal_group(live.proc.pid, signal.SIGTERM)
        live.kill_at = now + self.opts.kill_grace_s

    # -- outcomes
    def succeed(self, name: str) -> None:
        result = self.state.results[name]
        if self.opts.finish:
            from gitpar.core.streams import finish

            try:
                finish(self.repo, name)
            except GitparError as exc:
                self.fail(name, result.exit, f"succeeded, but could not be marked completed: {exc}")
                return
        result.outcome = "ok"
        self.successes += 1
        self.emit("done", name)
        completed = self.opts.finish or self.run.status[name] == "completed"
        for dep in self.dependents[name]:
            if not completed:
                self.not_reached(dep, f"waits for {name} ({NOT_COMPLETED})")
                continue
            waits = self.waiting_on.get(dep)
            if waits is not None and name in waits:
                waits.discard(name)
                if not waits and self.state.results[dep].outcome == "waiting":
                    self.push_ready(dep)
        self.check_halt("success", self.successes)

    def fail(self, name: str, code: int | None, reason: str, *, timeout: bool = False) -> None:
        result = self.state.results[name]
        result.outcome = "timeout" if timeout else "failed"
        result.exit = code if code is not None else result.exit
        result.reason = reason
        self.failures += 1
        self.emit("done", name)
        for dep in self.dependents[name]:
            self.skip(dep, f"dependency {name} failed")
        self.check_halt("fail", self.failures)

    def skip(self, name: str, reason: str) -> None:
        result = self.state.results[name]
        if result.outcome != "waiting":
            return
        result.outcome, result.reason = "skipped", reason
        self.emit("skip", name, reason)
        for dep in self.dependents[name]:
            self.skip(dep, f"dependency {name} was skipped")

    def not_reached(self, name: str, reason: str) -> None:
        """``name`` will not start in this run: a dependency of it is not completed."""
        result = self.state.results[name]
        if result.outcome != "waiting":
            return
        result.outcome, result.reason = NOT_REACHED, reason
        self.emit("unreached", name, reason)
        for dep in self.dependents[name]:
            self.not_reached(dep, f"waits for {name} ({NOT_REACHED})")

    def check_halt(self, on: str, hits: int) -> None:
        halt = self.opts.halt
        if self.halting is not None or halt.on != on or not halt.reached(hits, len(self.run.order)):
            return
        self.halting = halt.when
        self.halt_reason = halt.describe()
        now = time.monotonic()
        if halt.when == "now":
            for live in self.live.values():
                live.halted = True
                self.terminate(live, now)
        for name, result in self.state.results.items():
            if result.outcome == "waiting" and name not in self.live:
                result.outcome, result.reason = "cancelled", f"not started: --halt {self.halt_reason}"
        self.emit("halt", None, f"--halt {self.halt_reason}: "
                  + ("ending the running commands" if halt.when == "now"
                     else "waiting for the running commands, starting no more"))

    # -- records
    def remember(self, live: _Live, code: int) -> None:
        from gitpar.core.history import RunRecord
        from gitpar.core.progress import now_iso

        if not self.opts.record or live.halted:
            return
        outcome = "timeout" if live.timed_out else "ok" if code == 0 else "failed"
        started = now_iso(dt.datetime.fromtimestamp(live.start_wall, dt.timezone.utc))
        record = RunRecord(started=started, duration_s=time.monotonic() - live.start_mono,
                           exit=code, command=self.opts.command_key, outcome=outcome,
                           finish=self.opts.finish and code == 0 and not live.timed_out)
        self.records.setdefault(live.name, []).append(record)

    def flush_history(self) -> None:
        from gitpar.core.history import record_runs

        self.last_flush = time.monotonic()
        if not self.records:
            return
        records, self.records = self.records, {}
        if not self.run.state_branch and not _state_exists(self.repo):
            self.record_error = "no state branch (gitpar init): run records not kept"
            return
        count = sum(len(v) for v in records.values())
        try:
            record_runs(self.repo, records, f"run {self.stamp}: {count} run records "
                        f"({', '.join(sorted(records)[:5])}{' ...' if len(records) > 5 else ''})")
        except GitparError as exc:
            self.record_error = str(exc)
            return
        self.recorded += count

    def write_joblog(self, name: str, start_wall: float, runtime: float, received: int,
                     exitval: int, sig: int, argv: Sequence[str]) -> None:
        if self.joblog is None:
            return
        self.seq += 1
        command = shlex.join(argv).replace("\t", " ").replace("\n", " ")
        self.joblog.write(f"{self.seq}\t{name}\t{start_wall:.3f}\t{runtime:.3f}\t0\t{received}\t"
                          f"{exitval}\t{sig}\t{command}\n")
        self.joblog.flush()

    # -- stopping
    def interrupt(self) -> None:
        """Ctrl-C: end every running command (TERM, then KILL after the grace period)."""
        self.pool.shutdown(wait=True)  # the children being started are ended too
        self.take_spawned()
        now = time.monotonic()
        for live in self.live.values():
            live.halted = True
            self.terminate(live, now)
        deadline = now + self.opts.kill_grace_s + 1.0
        while self.live and time.monotonic() < deadline:
            self.handle(self.sel.select(0.05))
            for live in list(self.live.values()):
                if live.proc.poll() is not None:
                    self.reap(live)
            self.enforce_deadlines(time.monotonic())
        for result in self.state.results.values():
            if result.outcome == "cancelled" and result.reason.startswith("ended by"):
                result.outcome, result.reason = "interrupted", "ended by Ctrl-C"
            elif result.outcome == "waiting":
                result.outcome, result.reason = "cancelled", "not started: interrupted"

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        while not self.spawned.empty():  # started, never registered: an error on the way
            job = self.spawned.get_nowait()
            if job.proc is not None:
                spawn.signal_group(job.proc.pid, signal.SIGKILL)
                job.proc.wait()
                if job.proc.stdout is not None:
                    job.proc.stdout.close()
            job.log.close()
        for live in list(self.live.values()):
            spawn.signal_group(live.proc.pid, signal.SIGKILL)
            try:
                live.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            live.log.close()
            if live.pidfd is not None:
                os.close(live.pidfd)
            if live.proc.stdout is not None:
                live.proc.stdout.close()
        self.live.clear()
        self.sel.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        if self.joblog is not None:
            self.joblog.close()


def execute(repo: Repo, run: RunPlan, *, on_event: Callable[[RunEvent], None] | None = None,
            tick_s: float | None = None) -> RunResult:
    """Run the prepared commands; returns when all are done, the run halted, or on Ctrl-C
    (the running commands are ended and what finished is recorded)."""
    engine = _Engine(repo, run, on_event, tick_s)
    began = time.monotonic()
    interrupted = False
    try:
        engine.setup()
        try:
            engine.loop()
        except KeyboardInterrupt:
            interrupted = True
            engine.interrupt()
        engine.flush_history()
    finally:
        engine.close()
    span = (engine.last_end - engine.first_start) if engine.first_start and engine.last_end else 0.0
    results = {n: engine.state.results[n] for n in list(run.resumed) + run.order}
    return RunResult(jobs=results, planned_s=run.planned.makespan, wall_s=time.monotonic() - began,
                     span_s=span, interrupted=interrupted, halted=engine.halt_reason,
                     recorded=engine.recorded, record_error=engine.record_error)


def _state_exists(repo: Repo) -> bool:
    from gitpar.store.state import StateStore

    return StateStore(repo).exists()


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _secs(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.1f}m"
