"""Running the prepared commands: a single-threaded event loop over the children's output
pipes and pidfds (a pidfd becomes readable when its process exits, so nothing polls), at
most ``jobs`` children at once, each started by ``core.spawn`` in its own process group so
that a timeout, ``--halt now`` or Ctrl-C ends the command and whatever it started.
"""

from __future__ import annotations

import collections
import datetime as dt
import heapq
import os
import queue
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gitpar.core import spawn
from gitpar.core.history import RunRecord, record_runs
from gitpar.core.progress import now_iso
from gitpar.core.repo import Repo
from gitpar.core.runner.finisher import Finisher
from gitpar.core.runner.joblog import Joblog
from gitpar.core.runner.live import RunEvent, RunState
from gitpar.core.runner.results import NOT_COMPLETED, NOT_REACHED, RunResult
from gitpar.core.runner.select import RunPlan
from gitpar.core.streams import start
from gitpar.errors import GitparError
from gitpar.store.state import StateStore

MAX_BACKOFF_S = 60.0
HISTORY_FLUSH_S = 60.0  # a long run writes its records at least this often
EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE = 127, 126
SPAWNERS = 4  # threads starting children
SWITCH_INTERVAL_S = 0.0005


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
        self.ready: list[tuple[float, float, int, str]] = []
        self.holding: dict[str, str] = {}  # resource -> the running stream that needs it
        self.backoff: list[tuple[float, str]] = []
        self.waiting_on: dict[str, set[str]] = {}
        self.dependents: dict[str, list[str]] = {n: [] for n in run.order}
        self.records: dict[str, list[RunRecord]] = {}
        self.recorded = 0
        self.record_error: str | None = None
        self.last_flush = time.monotonic()
        self.failures = 0
        self.successes = 0
        self.halting: str | None = None  # soon | now
        self.halt_reason: str | None = None
        self.free_slots = list(range(1, self.opts.jobs + 1))
        self.stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.joblog: Joblog | None = None
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.use_pidfd = hasattr(os, "pidfd_open")
        self.worktrees = dict(run.worktrees)
        self.ports = dict(run.ports)
        self.pool = ThreadPoolExecutor(max_workers=min(self.opts.jobs, SPAWNERS),
                                       thread_name_prefix="gitpar-spawn")
        self.spawned: queue.SimpleQueue[_Spawn] = queue.SimpleQueue()
        self.spawning = 0
        # children are registered (and their start reported) in the order they were launched,
        # whichever spawner thread finishes first: the order the plan's schedule gave
        self.launched: collections.deque[str] = collections.deque()
        self.arrived: dict[str, _Spawn] = {}
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.sel.register(self.wake_r, selectors.EVENT_READ)
        # --finish, off the loop: a stream's dependents start once its finish's checks pass
        # (on the checker's thread); the state commit follows on the writer's
        self.finisher = Finisher(repo.here or repo.main_root or repo.common_dir, self._wake)
        self.started_ever: set[str] = set()  # streams whose command was launched in this run
        self.notes: dict[str, str] = {}  # stream -> what its result says whatever its outcome

    def _wake(self) -> None:
        os.write(self.wake_w, b"\0")

    # -- events
    def emit(self, kind: str, stream: str | None, text: str = "") -> None:
        if self.on_event is not None:
            self.on_event(RunEvent(kind, stream, text, self.state))

    # -- set-up
    def setup(self) -> None:
        if self.opts.joblog is not None:
            self.joblog = Joblog(self.opts.joblog, append=bool(self.opts.resume))
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
        # the plan's schedule decides (when it starts the stream), then the longest remaining
        # path, priority and the name: the order 'gitpar plan' shows
        slot = self.run.planned.slots.get(name)
        prio = self.run.plan.streams[name].priority
        heapq.heappush(self.ready, (slot.start if slot else float("inf"), -self.run.rank[name], -prio, name))

    def take_resources(self, name: str) -> bool:
        """Whether ``name`` may start now as far as its ``resources:`` go; if so, they are its
        until it ends (:meth:`free_resources`): two streams needing one never run at once."""
        needs = self.run.plan.streams[name].resources
        if any(r in self.holding for r in needs):
            return False
        for r in needs:
            self.holding[r] = name
        return True

    def free_resources(self, name: str) -> None:
        for r in [r for r, holder in self.holding.items() if holder == name]:
            del self.holding[r]

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
                held_back = []  # ready, but a resource it needs is held by a running stream
                while self.ready and len(self.live) + self.spawning < self.opts.jobs:
                    item = heapq.heappop(self.ready)
                    if self.state.results[item[-1]].outcome != "waiting":
                        continue  # skipped while it was ready (a dependency's finish failed)
                    if not self.take_resources(item[-1]):
                        held_back.append(item)
                        continue
                    self.launch(item[-1])
                for item in held_back:
                    heapq.heappush(self.ready, item)
            if not self.live and not self.spawning and not self.finisher.pending and (
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
                self.take_finished()
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
        result = self.state.results[name]
        result.attempts += 1
        self.started_ever.add(name)
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
        self.launched.append(name)
        future = self.pool.submit(_spawn, _Spawn(name, argv, worktree, env, log, slot))
        future.add_done_callback(self._spawned)

    def _spawned(self, future: Future[_Spawn]) -> None:
        # on a spawner thread: hand the child to the loop, and wake it up
        self.spawned.put(future.result())
        self._wake()

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
                break
            self.arrived[job.name] = job
        while self.launched and self.launched[0] in self.arrived:
            self.spawning -= 1
            self.register(self.arrived.pop(self.launched.popleft()), selectors.EVENT_READ)

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
        self.free_resources(live.name)
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
        if self.opts.finish:  # its dependents are released when the finish's checks pass
            self.finisher.submit(name, self.worktrees.get(name))
            return
        self.release(name)

    def release(self, name: str) -> None:
        """``name`` succeeded (and with --finish its finish's checks passed): start what
        waited for it."""
        result = self.state.results[name]
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

    def take_finished(self) -> None:
        for item in self.finisher.take():
            if item.kind == "checked":
                self.release(item.stream)
            elif item.kind == "refused" and item.error is not None:
                result = self.state.results[item.stream]
                self.fail(item.stream, result.exit, f"succeeded, but could not be marked completed: {item.error}")
            elif item.kind == "unrecorded" and item.error is not None:
                self.record_failed(item.stream, item.error)

    def record_failed(self, name: str, exc: GitparError) -> None:
        """``name``'s command succeeded and its finish's checks passed, so its dependents
        were released, but the state commit recording it completed failed: the stream is
        failed (not completed), its dependents not yet started are skipped, as a failed
        stream's are; those already started run on (they build on its work, committed on
        its branch), and their results say so."""
        result = self.state.results[name]
        result.outcome = "failed"
        result.reason = self.noted(name, f"succeeded, but could not be marked completed: {exc}")
        self.successes -= 1
        self.failures += 1
        self.emit("done", name)
        for dep in self.dependents[name]:
            if dep in self.started_ever:
                self.notes[dep] = f"started before {name}'s finish failed to be recorded"
                dep_result = self.state.results[dep]
                dep_result.reason = self.noted(dep, dep_result.reason)
            else:
                self.skip(dep, f"dependency {name} failed: its finish could not be recorded")
        self.check_halt("fail", self.failures)

    def noted(self, name: str, reason: str) -> str:
        note = self.notes.get(name)
        return reason if not note or note in reason else f"{reason} ({note})" if reason else note

    def fail(self, name: str, code: int | None, reason: str, *, timeout: bool = False) -> None:
        self.free_resources(name)  # whichever way it ended
        result = self.state.results[name]
        result.outcome = "timeout" if timeout else "failed"
        result.exit = code if code is not None else result.exit
        result.reason = self.noted(name, reason)
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
        if not self.opts.record or live.halted:
            return
        outcome = "timeout" if live.timed_out else "ok" if code == 0 else "failed"
        started = now_iso(dt.datetime.fromtimestamp(live.start_wall, dt.timezone.utc))
        record = RunRecord(started=started, duration_s=time.monotonic() - live.start_mono,
                           exit=code, command=self.opts.command_key, outcome=outcome,
                           finish=self.opts.finish and code == 0 and not live.timed_out)
        self.records.setdefault(live.name, []).append(record)

    def flush_history(self) -> None:
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
        if self.joblog is not None:
            self.joblog.write(name, start_wall, runtime, received, exitval, sig, argv)

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
        self.drain_finishes()
        for result in self.state.results.values():
            if result.outcome == "cancelled" and result.reason.startswith("ended by"):
                result.outcome, result.reason = "interrupted", "ended by Ctrl-C"
            elif result.outcome == "waiting":
                result.outcome, result.reason = "cancelled", "not started: interrupted"

    def drain_finishes(self) -> None:
        """Wait for the finishes handed over (checked and recorded), and take their outcomes."""
        self.finisher.close()
        self.take_finished()

    def close(self) -> None:
        self.finisher.close()
        self.pool.shutdown(wait=True)
        while not self.spawned.empty():  # started, never registered: an error on the way
            job = self.spawned.get_nowait()
            self.arrived[job.name] = job
        for job in self.arrived.values():
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
    # the loop, the spawners and the finish's threads share one interpreter: switch between
    # them more often than the default 5 ms, which would otherwise sit between a command's
    # end and its dependents' start (restored after the run)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
    try:
        engine.setup()
        try:
            engine.loop()
        except KeyboardInterrupt:
            interrupted = True
            engine.interrupt()
        engine.drain_finishes()
        engine.flush_history()
    finally:
        engine.close()
        sys.setswitchinterval(switch)
    span = (engine.last_end - engine.first_start) if engine.first_start and engine.last_end else 0.0
    results = {n: engine.state.results[n] for n in list(run.resumed) + run.order}
    return RunResult(jobs=results, planned_s=run.planned.makespan, wall_s=time.monotonic() - began,
                     span_s=span, interrupted=interrupted, halted=engine.halt_reason,
                     recorded=engine.recorded, record_error=engine.record_error)


def _state_exists(repo: Repo) -> bool:
    return StateStore(repo).exists()


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _secs(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.1f}m"
