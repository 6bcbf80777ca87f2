"""The merge queue: completed streams landed in order, a culprit ejected and the rest landed.

The one-at-a-time queue (``-j 1``) takes the streams in dependency order, then priority:
each is merged in memory onto the target's last good commit and the gate runs on exactly
that commit; a pass moves the target there, a conflict or a failing gate ejects the stream
(its dependents are held: "not reached: depends on X") and the queue goes on with the next.

With ``-j N`` the queue builds the *chain* of speculative merges — stream 1 on the target,
stream 2 on that, ... (a stream that conflicts with the chain is skipped in it, as the
one-at-a-time queue would eject it) — and runs up to N gates at once, each in its own
temporary worktree of one commit of the chain, so each tests exactly the tree that would
land. With no more streams left than gates, the gates test every prefix (P+s1, P+s1+s2, ...);
with more, they test prefixes spread over the chain (a batch: N=4 and 16 streams test the
first 4, 8, 12 and 16). The longest passing prefix lands (the target moves to that commit,
the tree that was tested); the first failing prefix's last stream is the culprit once the
prefix before it passed; otherwise the failure is narrowed inside (lo, hi] with the next
gates, as a k-ary search. After an ejection the chain is rebuilt from the stream after it.

For a gate whose verdict depends on which streams' changes the tree holds (a stream that
breaks it breaks every tree that contains it — the "pass/fail pattern" of the tests in
tests/test_queue.py), the streams that land, their order and the final tree are the
one-at-a-time queue's. Gates run on a thread pool, ``wait(FIRST_COMPLETED)`` (tox 4's
run/common.py shape); a gate whose answer is no longer needed is stopped.

Also here: ``--retries`` (a failing gate rerun before it counts), the base that already
fails the gate (said once, the queue stops), and which landed stream an ejected stream
breaks the gate together with (when it passes alone).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from gitpar.core.integrate.gate import Cancelled, Gate, log_tail, run_test
from gitpar.core.integrate.result import Integration, Progress, Step
from gitpar.core.integrate.stream import (
    Merge,
    merged_step,
    prepare,
    publish,
    record_merges,
    would_merge_step,
)
from gitpar.core.plan import Plan
from gitpar.core.repo import Repo
from gitpar.store import merge as m
from gitpar.store.repo import Oid, Worktree

EJECTING = ("conflicted", "would undo work", "broke the tests", "refused")
PAIR_CHECKS = 8  # at most this many landed streams tried as the other half of a pair


@dataclass
class Slot:
    """One stream's place in the chain: its merge, or the step it gets without a gate."""

    name: str
    merge: Merge | None = None
    step: Step | None = None  # already merged, conflicted, would undo work, refused, held


@dataclass
class Verdict:
    code: int
    log: str
    runs: int  # gate runs it took (1 + retries used)
    seconds: float


@dataclass
class Diagnosis:
    """An ejected stream tried alone on the run's start, then with each landed stream."""

    name: str
    landed_before: list[Merge]
    alone: Future[Verdict] | None = None
    pairs: list[tuple[str, Future[Verdict]]] = field(default_factory=list)


class Queue:
    """One run of the queue (see the module's docstring); :meth:`run` fills ``run.steps``."""

    def __init__(self, repo: Repo, plan: Plan, run: Integration, order: Sequence[str], current: Oid, *,
                 test: str | None, jobs: int, retries: int, dry_run: bool,
                 checked_out: Sequence[Worktree], refused: dict[str, str] | Callable[[], dict[str, str]],
                 say: Progress,
                 on_state: Callable[[dict[str, str]], None] | None = None,
                 on_step: Callable[[Step], None] | None = None) -> None:
        self.repo, self.plan, self.run_ = repo, plan, run
        self.target = run.target
        self.order = list(order)
        self.start = current
        self.current = current
        self.test, self.jobs, self.retries, self.dry_run = test, jobs, retries, dry_run
        self.checked_out = checked_out
        # stream -> why its branch is refused (ownership violations); a callable is asked once
        # the first gates run (it costs as much as a merge per stream), before anything lands
        self.refused: dict[str, str] = refused if isinstance(refused, dict) else {}
        self._check_refused = None if isinstance(refused, dict) else refused
        self.say = say
        self.on_state = on_state
        self.on_step = on_step  # told each landing and ejection as it happens (integrate --follow)
        self.gate = Gate(repo, reuse=True)  # worktrees kept between gates, removed at the end
        self.steps: dict[str, Step] = {}
        self.held: set[str] = set()  # ejected, refused or held: their dependents are held
        self.tested_current = False  # a gate passed on the target's commit or a descendant
        self.landed: list[Merge] = []
        self.unrecorded: list[Merge] = []  # landed, not yet recorded on the state branch
        self.diagnoses: list[Diagnosis] = []
        self.cancel = threading.Event()  # stops every gate (Ctrl-C)
        self.pool: ThreadPoolExecutor | None = None
        self.runs = 0
        self.seconds: list[float] = []
        self.lock = threading.Lock()
        self.base_verdict: Verdict | None = None
        self.base_short = ""

    # --- the chain -------------------------------------------------------------------------

    def chain_from(self, names: Sequence[str]) -> list[Slot]:
        """The speculative chain of ``names`` on the target's last good commit."""
        tip = self.current
        chain: list[Slot] = []
        out: set[str] = set(self.held)  # held in this chain, if the streams before land
        for name in names:
            if name in self.refused:
                chain.append(Slot(name, step=Step(
                    name, "refused", self.refused[name] + f"\nfix: take those changes out of "
                    f"gitpar/{name}, then 'gitpar integrate --continue'")))
                out.add(name)
                continue
            dep = next((d for d in self.plan.streams[name].depends_on if d in out), None)
            if dep is not None:
                chain.append(Slot(name, step=Step(name, "not reached", f"depends on {dep}, which is not merged")))
                out.add(name)
                continue
            got = prepare(self.repo, self.plan, self.target, name, tip)
            if isinstance(got, Step):
                chain.append(Slot(name, step=got))
                if got.outcome != "already merged":
                    out.add(name)
                continue
            chain.append(Slot(name, merge=got))
            tip = got.commit
        return chain

    # --- gates -----------------------------------------------------------------------------

    def submit(self, name: str, commit: Oid, log_name: str, stop: threading.Event) -> Future[Verdict]:
        assert self.pool is not None and self.test is not None
        return self.pool.submit(self._gate, name, commit, log_name, stop)

    def _gate(self, name: str, commit: Oid, log_name: str, stop: threading.Event) -> Verdict:
        assert self.test is not None
        runs, code, log, began = 0, 0, "", time.monotonic()
        for attempt in range(self.retries + 1):
            if stop.is_set() or self.cancel.is_set():
                raise Cancelled
            either = _Either(stop, self.cancel)
            t0 = time.monotonic()
            code, path = run_test(self.repo, name, commit, self.test, self.gate, cancel=either,
                                  log_name=log_name if attempt == 0 else f"{log_name}.retry{attempt}")
            with self.lock:
                self.runs += 1
                self.seconds.append(time.monotonic() - t0)
            runs, log = attempt + 1, str(path)
            if code in (0, 127):
                break
        return Verdict(code, log, runs, time.monotonic() - began)

    def verdict(self, name: str, commit: Oid, log_name: str) -> Verdict:
        """One gate, waited for (the base's check, the one-off gates)."""
        return self.submit(name, commit, log_name, threading.Event()).result()

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> None:
        names = list(self.order)
        if self.test is None or self.dry_run:
            self._without_gates(names)
            return
        self.pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="gitpar-gate")
        try:
            while names:
                chain = self.chain_from(names)
                names = self._settle(chain)
            self._record()
            self._diagnose_wait()
        except BaseException:
            self.cancel.set()
            raise
        finally:
            try:
                self.pool.shutdown(wait=True, cancel_futures=True)
            finally:
                self.gate.close()
                self._record()
        self._report_state({})

    def _record(self) -> None:
        """Record every stream landed so far on the state branch: ONE state commit (in a
        remote plan one fetch and push) for all the run's landings, not one per batch. Until
        then a landed stream is in the target (its merge commit says so) and status shows it
        landed (the live state); a run killed before this leaves them for the next run,
        which finds them "already merged" and records them."""
        if not self.unrecorded:
            return

        with m.held_interrupts():
            record_merges(self.repo, self.target, self.unrecorded)
            self.unrecorded = []

    def _refused_now(self, chain: Sequence[Slot] = ()) -> bool:
        """Learn which streams are refused, if not known yet: whether one of them is in
        ``chain`` (then the chain, built without knowing, must be built again)."""
        if self._check_refused is None:
            return False
        self.refused, self._check_refused = self._check_refused(), None
        return any(slot.name in self.refused for slot in chain)

    def _without_gates(self, names: list[str]) -> None:
        """No gate (no test command) or a dry run: the chain is the result."""
        self._refused_now()
        chain = self.chain_from(names)
        run: list[Merge] = []
        for slot in chain:
            if slot.step is not None:
                self._resolve(slot)
                continue
            assert slot.merge is not None
            if self.dry_run:
                self.steps[slot.name] = would_merge_step(slot.merge, self.test)
            else:
                run.append(slot.merge)
        if run:
            self._land(run, run[-1].commit, None)
            self._record()

    def _resolve(self, slot: Slot) -> None:
        """A slot settled without a gate, once every slot before it is settled."""
        assert slot.step is not None
        step = slot.step
        if step.outcome == "already merged":
            if not self.dry_run:
                from gitpar.core.integrate.stream import mark

                mark(self.repo, step.stream, self.target, self.current)
        else:
            self.held.add(step.stream)
            if step.outcome in EJECTING:
                self.say(f"ejected {step.stream}: {step.outcome}")
        self.steps[step.stream] = step
        if step.outcome in EJECTING:
            self._tell(step)

    def _land(self, merges: list[Merge], new: Oid, verdict: Verdict | None) -> None:
        publish(self.repo, self.target, self.current, new, merges, self.checked_out, self.say, record=False)
        self.unrecorded.extend(merges)
        note = ""
        if verdict is not None and len(merges) > 1:
            from gitpar.store import merge as m

            note = f"; tested with {len(merges) - 1} more at {m.short(new)}"
        for x in merges:
            step = merged_step(x, verdict.log if verdict else None, note)
            if verdict is not None and verdict.runs > 1:
                step.detail += f" (the gate passed on try {verdict.runs})"
            self.steps[x.name] = step
            self._tell(step)
        self.landed.extend(merges)
        self.current = new

    def _tell(self, step: Step) -> None:
        if self.on_step is not None:
            self.on_step(step)

    def _settle(self, chain: list[Slot]) -> list[str]:
        """Run gates over ``chain`` until it is landed, or a stream is ejected (then the names
        after it, for a new chain) or the queue stops ([])."""
        names_after = [s.name for s in chain]
        results: dict[int, Verdict] = {}  # chain index -> verdict
        running: dict[Future[Verdict], int] = {}
        stops: dict[int, threading.Event] = {}
        head = 0  # chain[:head] is settled
        fail_at: int | None = None  # the lowest chain index known to fail
        try:
            while True:
                # settle what needs no gate at the head
                while head < len(chain) and chain[head].step is not None and self._check_refused is None:
                    self._resolve(chain[head])  # (once the refused streams are known)
                    head += 1
                if head >= len(chain):
                    return []
                gated = [i for i in range(head, len(chain)) if chain[i].merge is not None]
                # decide: the longest passing prefix lands; a failure right at the head ejects
                passing = [i for i in gated if i in results and results[i].code == 0]
                best = max(passing, default=None)
                if best is not None and (fail_at is None or best < fail_at):
                    self.tested_current = True
                    merges = [chain[i].merge for i in range(head, best + 1) if chain[i].merge is not None]
                    for i in range(head, best + 1):
                        if chain[i].step is not None:
                            self._resolve(chain[i])
                    self._land([x for x in merges if x is not None], chain[best].merge.commit,  # type: ignore[union-attr]
                               results[best])
                    for f, i in list(running.items()):
                        if i <= best:
                            stops[i].set()
                            del running[f]
                    head = best + 1
                    self._report_state(self._state(chain, head, running))
                    continue
                if fail_at is not None and gated and fail_at == gated[0]:
                    verdict = results[fail_at]
                    slot = chain[fail_at]
                    assert slot.merge is not None
                    if verdict.code == 127 or not self.tested_current and self._base_fails():
                        self._stop_all(running, stops)
                        self._stop(chain, head, fail_at, verdict)
                        return []
                    self._stop_all(running, stops)
                    self._eject(slot.merge, verdict)
                    return names_after[fail_at + 1:]
                # more gates: spread over the unknown part of the chain before the first failure
                end = fail_at if fail_at is not None else len(chain)
                unknown = [i for i in gated if i < end and i not in results and i not in running.values()]
                free = self.jobs - len(running) - self._diagnosing()
                if free <= 0 and not running:
                    free = 1
                for i in _spread(unknown, free, one_at_a_time=self.jobs == 1,
                                 known_failure=fail_at is not None):
                    merge = chain[i].merge
                    assert merge is not None
                    stops[i] = threading.Event()
                    self.say(f"testing {self.target} + {', '.join(s.name for s in chain[head:i + 1] if s.merge)} "
                             f"({str(merge.commit)[:10]}): {self.test}")
                    running[self.submit(merge.name, merge.commit, merge.name, stops[i])] = i
                self._report_state(self._state(chain, head, running))
                if self._refused_now(chain[head:]):  # asked while the first gates run
                    self._stop_all(running, stops)
                    return names_after[head:]
                if not running:
                    # every prefix before the failure passed and landed: it is at the head
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for f in done:
                    if f not in running:  # dropped by a failure just read from the same wait
                        continue
                    i = running.pop(f)
                    try:
                        verdict = f.result()
                    except Cancelled:
                        continue
                    results[i] = verdict
                    self.say(f"test log: {verdict.log} (exit {verdict.code})")
                    if verdict.code != 0:
                        fail_at = i if fail_at is None else min(fail_at, i)
                        for g, j in list(running.items()):
                            if j > fail_at:  # holds the failing stream: no longer needed
                                stops[j].set()
                                del running[g]
        finally:
            for ev in stops.values():
                ev.set()

    def _stop_all(self, running: dict[Future[Verdict], int], stops: dict[int, threading.Event]) -> None:
        for i in running.values():
            stops[i].set()
        running.clear()

    def _base_fails(self) -> bool:
        """Whether the target's commit already fails the gate (asked once per run)."""
        verdict = self.verdict(f"{self.target.replace('/', '_')}-before", self.current,
                               f"{self.target.replace('/', '_')}-before")
        self.say(f"test log of {self.target} before the queue: {verdict.log} (exit {verdict.code})")
        if verdict.code == 0:
            self.tested_current = True
            return False
        self.base_verdict = verdict
        self.base_short = m.short(self.current)
        return True

    def _stop(self, chain: list[Slot], head: int, at: int, verdict: Verdict) -> None:
        """The queue stops: the gate cannot run, or the target already fails it."""
        slot = chain[at]
        assert slot.merge is not None
        name = slot.merge.name
        if verdict.code == 127:
            why = (f"the test command was not found (exit 127, log {verdict.log}); "
                   f"{self.target} stays at {m.short(self.current)}")
            tail = log_tail_of(verdict)
        else:
            base = self.base_verdict
            assert base is not None
            why = (f"{self.target} already fails the test before merging {name} (at {self.base_short}, "
                   f"log {base.log}); fix that first: no stream is ejected for it")
            tail = log_tail_of(base)
        self.steps[name] = Step(name, "not reached", why, log=verdict.log, output_tail=tail)
        self.run_.stopped = why
        for s in chain[head:]:
            self.steps.setdefault(s.name, Step(s.name, "not reached", ""))

    def _eject(self, merge: Merge, verdict: Verdict) -> None:
        name = merge.name
        tries = f" on each of {verdict.runs} tries" if verdict.runs > 1 else ""
        self.steps[name] = Step(name, "broke the tests",
                                f"merging {name} makes '{self.test}' exit {verdict.code}{tries} (log {verdict.log}); "
                                f"{self.target} stays at {m.short(self.current)}",
                                log=verdict.log, output_tail=log_tail_of(verdict))
        self.held.add(name)
        self.say(f"ejected {name}: it breaks the gate (log {verdict.log})")
        self._tell(self.steps[name])
        if self.landed:  # it may pass alone and break the gate only with one of them
            self._diagnose_start(merge, list(self.landed))

    # --- which landed stream an ejected one breaks the gate with ----------------------------

    def _diagnosing(self) -> int:
        return sum(1 for d in self.diagnoses
                   for f in ([d.alone] if d.alone else []) + [f for _, f in d.pairs] if not f.done())

    def _diagnose_start(self, merge: Merge, landed: list[Merge]) -> None:
        got = prepare(self.repo, self.plan, self.target, merge.name, self.start)
        if not isinstance(got, Merge):
            return
        d = Diagnosis(merge.name, landed)
        d.alone = self.submit(merge.name, got.commit, f"{merge.name}-alone", self.cancel)
        self.diagnoses.append(d)

    def _diagnose_wait(self) -> None:
        for d in self.diagnoses:
            try:
                alone = d.alone.result() if d.alone else None
            except Cancelled:
                continue
            if alone is None or alone.code != 0:
                continue  # it breaks the gate on its own
            for other in d.landed_before[:PAIR_CHECKS]:
                pair = prepare(self.repo, self.plan, self.target, other.name, self.start)
                if not isinstance(pair, Merge):
                    continue
                both = prepare(self.repo, self.plan, self.target, d.name, pair.commit)
                if not isinstance(both, Merge):
                    continue
                d.pairs.append((other.name, self.submit(d.name, both.commit, f"{d.name}+{other.name}",
                                                        self.cancel)))
            step = self.steps[d.name]
            for other_name, f in d.pairs:
                try:
                    if f.result().code != 0:
                        step.detail = f"{d.name} breaks the gate together with {other_name}: " + step.detail
                        step.together_with = other_name
                        break
                except Cancelled:
                    continue
            else:
                step.detail = (f"{d.name} passes the gate alone, and breaks it together with streams "
                               f"landed before it: " + step.detail)

    # --- what status shows -------------------------------------------------------------------

    def _state(self, chain: list[Slot], head: int, running: dict[Future[Verdict], int]) -> dict[str, str]:
        testing = set(running.values())
        top = max(testing, default=-1)
        out = {x.name: "landed" for x in self.unrecorded}
        for i in range(head, len(chain)):
            out[chain[i].name] = "testing" if i <= top and chain[i].merge is not None else "waiting"
        return out

    def _report_state(self, live: dict[str, str]) -> None:
        if self.on_state is not None:
            self.on_state(live)


class _Either(threading.Event):
    """Set when either of two events is: one gate's own stop, or the whole queue's."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        super().__init__()
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()


def log_tail_of(verdict: Verdict) -> list[str]:
    from pathlib import Path

    return log_tail(Path(verdict.log))


def _spread(unknown: Sequence[int], free: int, *, one_at_a_time: bool, known_failure: bool) -> list[int]:
    """Which chain positions to gate next: every one when there are enough gates; with one
    gate, the next; else ``free`` positions spread evenly, the last at the end of the range
    when no failure is known (a batch), short of it when one is (the failing end is known)."""
    if free <= 0 or not unknown:
        return []
    if one_at_a_time:
        return [unknown[0]]
    n = len(unknown)
    if n <= free:
        return list(unknown)
    parts = free + 1 if known_failure else free
    picks = sorted({unknown[max(0, -(-n * k // parts) - 1)] for k in range(1, free + 1)})
    return picks
