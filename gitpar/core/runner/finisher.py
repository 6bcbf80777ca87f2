"""``--finish`` off the run's loop: a checker thread and a writer thread.

A finish is two parts: its checks (the worktree clean, the branch within the ownership
rules, a ``remote:`` plan's push: :func:`gitpar.core.stream_finish.finish_checks`) and its record
(the state commit: completed, locks released). When a command succeeds the engine hands the
stream to the checker; once its checks pass, the loop releases the stream's dependents (its
work is committed on its branch by then, which is what a dependent builds on) and the
record goes to the writer, which commits every finish waiting when it is free in one
commit (:func:`gitpar.core.stream_finish.record_finishes`). So no state commit sits between a
command's end and its dependents' start, a run of many short commands does not queue one
commit per command, and the loop goes on reaping and starting other commands meanwhile.

Each thread opens its own repository (a pygit2 repository is not shared between threads)
and wakes the loop (``wake``) when something is done; :meth:`Finisher.take` hands the loop
what became of each stream: ``checked`` (dependents may start), ``refused`` (a check failed:
the stream is failed, nothing was written) or ``unrecorded`` (the state commit failed after
its dependents were released).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitpar.core.identity import claim_statuses
from gitpar.core.repo import Repo, open_repo
from gitpar.core.stream_finish import FinishChecked, finish_checks, record_finishes
from gitpar.core.stream_progress import all_progress
from gitpar.errors import GitparError
from gitpar.store.state import StateStore

CHECKS_FIRST_S = 1.0  # the longest a record waits for the checks to pause


@dataclass(frozen=True)
class Finished:
    """What became of one stream's finish, as the loop takes it."""

    stream: str
    kind: str  # checked | refused | unrecorded | recorded
    error: GitparError | None = None


class Finisher:
    """The run's finishes (see the module's docstring)."""

    def __init__(self, where: Path, wake: Callable[[], None]) -> None:
        self.where = where  # where each thread opens its own repository
        self.wake = wake
        self.to_check: queue.SimpleQueue[tuple[str, Path | None] | None] = queue.SimpleQueue()
        self.to_record: queue.SimpleQueue[FinishChecked | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        self.pending: set[str] = set()  # handed over, not yet recorded (the loop's thread only)
        self.commits = 0  # state commits made (or tried) for the finishes
        # set while the checker has nothing to check: the writer commits then, so that its
        # work does not compete for the interpreter with a check a dependent waits for
        self.checker_idle = threading.Event()
        self.checker_idle.set()
        self.threads: list[threading.Thread] = []
        self.statuses: dict[str, dict[str, str]] = {}  # state commit -> claim statuses (checker's)

    def submit(self, stream: str, worktree: Path | None) -> None:
        """Check ``stream``'s finish (its command succeeded), then record it."""
        if not self.threads:
            for target, name in ((self._check, "gitpar-finish-check"), (self._record, "gitpar-finish-record")):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self.threads.append(thread)
        self.pending.add(stream)
        self.checker_idle.clear()
        self.to_check.put((stream, worktree))

    def take(self) -> list[Finished]:
        """What happened since the last call, in order."""
        out: list[Finished] = []
        while True:
            try:
                item = self.done.get_nowait()
            except queue.Empty:
                return out
            if item.kind != "checked":
                self.pending.discard(item.stream)
            out.append(item)

    def close(self) -> None:
        """Check and record what was handed over, then end the threads (waits for them)."""
        if self.threads:
            self.to_check.put(None)  # the checker passes the end on to the writer
            for thread in self.threads:
                thread.join()
            self.threads = []

    def _post(self, item: Finished) -> None:
        self.done.put(item)
        self.wake()

    def _repo(self) -> Repo:
        return open_repo(self.where)

    def _statuses(self, repo: Repo) -> dict[str, str]:
        """The streams' claim statuses on the state branch now, as the ownership check reads
        them, kept by the state commit they were read from: the checks between two records
        (a burst of commands ending) read them once, not once per stream."""
        snap = StateStore(repo).snapshot()
        if snap.commit is None:
            return {}
        key = str(snap.commit)
        if key not in self.statuses:
            self.statuses = {key: claim_statuses(all_progress(snap))}  # the latest only
        return self.statuses[key]

    def _check(self) -> None:
        repo = None
        try:
            while True:
                try:
                    item = self.to_check.get_nowait()
                except queue.Empty:
                    self.checker_idle.set()
                    item = self.to_check.get()
                if item is None:
                    return
                stream, worktree = item
                try:
                    repo = repo or self._repo()
                    checked = finish_checks(repo, stream, worktree=worktree, status=self._statuses(repo))
                except GitparError as exc:
                    self._post(Finished(stream, "refused", exc))
                    continue
                except Exception as exc:  # noqa: BLE001 - a bug must not leave the run waiting
                    self._post(Finished(stream, "refused", GitparError(f"checking the finish failed: {exc!r}")))
                    continue
                self.to_record.put(checked)
                self._post(Finished(stream, "checked"))
        finally:
            self.checker_idle.set()
            self.to_record.put(None)

    def _record(self) -> None:
        repo = None
        stop = False
        while not stop:
            item = self.to_record.get()
            self.checker_idle.wait(CHECKS_FIRST_S)
            batch = [] if item is None else [item]
            stop = item is None
            while not stop:
                try:
                    more = self.to_record.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                else:
                    batch.append(more)
            if not batch:
                continue
            self.commits += 1
            outcomes: dict[str, object]
            try:
                repo = repo or self._repo()
                outcomes = dict(record_finishes(repo, batch))
            except GitparError as exc:
                outcomes = {c.stream: exc for c in batch}
            except Exception as exc:  # noqa: BLE001 - a bug must not leave the run waiting
                outcomes = {c.stream: GitparError(f"recording the finish failed: {exc!r}") for c in batch}
            for c in batch:
                outcome = outcomes[c.stream]
                if isinstance(outcome, GitparError):
                    self.done.put(Finished(c.stream, "unrecorded", outcome))
                else:
                    self.done.put(Finished(c.stream, "recorded"))
            self.wake()
