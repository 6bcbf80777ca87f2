"""Merge completed streams into a target branch, in dependency order, with a test gate.

Every merge is made in memory first (the forecast): a conflict stops the run before
anything moves, naming the stream, the files and the already-merged stream that wrote
the other side. A clean merge is written as a merge commit without any checkout; with a
test command, the command runs in a temporary detached worktree of that commit, removed
afterwards. Only then does the target move, by compare-and-swap from the commit the
merge was made on; a worktree that has the target checked out (``--into main``) must be
clean and gets its files updated with it. So the target is always at its last good
merge, and no worktree is ever left half-merged. The run is remembered (in
``.git/gitpar/integrate.json``) until it completes, for ``--continue``.
"""

from __future__ import annotations

import heapq
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.errors import Refused, bad

if TYPE_CHECKING:
    from gitpar.core.plan import Plan
    from gitpar.core.repo import Repo
    from gitpar.store.merge import FileConflict
    from gitpar.store.repo import Index, Oid, Worktree

DEFAULT_TARGET = "gitpar/_integration"
RUN_FILE = "integrate.json"
# shell words that are not programs on PATH: a test command may start with them
_SHELL_WORDS = {
    "!", "[", "[[", ".", ":", "cd", "command", "eval", "exec", "exit", "export", "false", "for",
    "if", "set", "source", "test", "true", "type", "until", "while", "case", "{", "(", "time",
    "ulimit", "umask", "unset", "env", "echo", "printf", "read", "wait", "trap", "shift",
}

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

    def to_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "outcome": self.outcome, "detail": self.detail,
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
    warnings: list[str] = field(default_factory=list)
    # --cleanup of streams integrated by earlier runs: stream -> what was done
    cleaned: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "target": self.target, "base": self.base, "created": self.created,
                "start": self.start, "end": self.end, "test": self.test, "dry_run": self.dry_run,
                "ok": self.ok, "stopped": self.stopped, "interrupted": self.interrupted,
                "warnings": self.warnings, "steps": [s.to_dict() for s in self.steps],
                "cleaned": self.cleaned}


# -- choosing what to merge ------------------------------------------------------------------


def dependency_order(plan: Plan, names: Sequence[str]) -> list[str]:
    """``names`` with dependencies first; among the ready ones, higher priority, then name."""
    chosen = set(names)
    deps = {n: [d for d in plan.streams[n].depends_on if d in chosen] for n in chosen}
    waiting = {n: len(d) for n, d in deps.items()}
    dependents: dict[str, list[str]] = {n: [] for n in chosen}
    for n, ds in deps.items():
        for d in ds:
            dependents[d].append(n)
    ready = [(-plan.streams[n].priority, n) for n in chosen if waiting[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        for m in dependents[n]:
            waiting[m] -= 1
            if waiting[m] == 0:
                heapq.heappush(ready, (-plan.streams[m].priority, m))
    return order


def check_target(target: str) -> str:
    from gitpar.store.repo import STATE_BRANCH, valid_branch_name

    if not target or target.startswith("-") or not valid_branch_name(target):
        raise bad(None, "--into", f"{target!r} is not a valid branch name",
                  "give a branch name, e.g. --into main or --into release")
    if target == STATE_BRANCH:
        raise bad(None, "--into", f"{STATE_BRANCH} is gitpar's state branch", "integrate into another branch")
    if target.startswith("gitpar/") and not target.startswith("gitpar/_"):
        raise bad(None, "--into", f"{target} is a stream's branch",
                  f"integrate into another branch (the default is {DEFAULT_TARGET})")
    return target


def check_test_command(command: str) -> str:
    """BadInput when the test command's program is clearly not there (before merging anything)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise bad(None, "--test", f"cannot parse {command!r}: {exc}", "quote the command as for sh -c") from None
    if not words:
        raise bad(None, "--test", "the test command is empty", "give a command, e.g. --test 'pytest -q'")
    first = next((w for w in words if "=" not in w or w.startswith("=")), None)
    if first is None or first in _SHELL_WORDS or "/" in first or first.startswith("$"):
        return command  # shell syntax, or a path checked when it runs (inside the merged tree)
    if shutil.which(first) is None:
        raise bad(None, "--test", f"{first!r} is not a command found on PATH",
                  "check the spelling, install it, or give its path")
    return command


def _run_path(repo: Repo) -> Path:
    return repo.gitpar_dir / RUN_FILE


def saved_run(repo: Repo) -> dict[str, Any] | None:
    try:
        data = json.loads(_run_path(repo).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _save_run(repo: Repo, data: dict[str, Any]) -> None:
    path = _run_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _forget_run(repo: Repo) -> None:
    try:
        _run_path(repo).unlink()
    except FileNotFoundError:
        pass


# -- the run -----------------------------------------------------------------------------------


def integrate(repo: Repo, *, into: str | None = None, test: str | None = None,
              streams: Sequence[str] | None = None, dry_run: bool = False, resume: bool = False,
              cleanup: bool = False, progress: Progress | None = None) -> Integration:
    """Merge completed streams into the target; see the module's docstring for the rules."""
    from gitpar.core.streams import all_progress
    from gitpar.store import merge as m
    from gitpar.store.repo import swap_ref
    from gitpar.store.state import StateStore
    from gitpar.store.worktrees import dirty_files

    say = progress or (lambda _msg: None)
    plan = repo.load_plan()
    base = plan.settings.base
    if resume:
        saved = saved_run(repo)
        if saved is None:
            raise Refused("there is no stopped integration to continue; run 'gitpar integrate' to start one")
        if into is not None and into != saved["target"]:
            raise bad(None, "--into", f"the stopped integration is into {saved['target']}, not {into}",
                      "drop --into with --continue, or start a new run without --continue")
        if streams:
            raise bad(None, "--streams", "--continue resumes the saved list of streams",
                      "drop --streams, or start a new run without --continue")
        into = saved["target"]
        names = [str(n) for n in saved["streams"]]
        test = test if test is not None else saved.get("test")
    else:
        names = []
        for item in streams or ():
            names.extend(n.strip() for n in item.split(",") if n.strip())
    target = check_target(into or plan.settings.extra.get("integration_branch") or DEFAULT_TARGET)
    if test is None:
        test = plan.settings.test  # plan.md's test: key, the default gate
    if test is not None:
        check_test_command(test)
    for n in names:
        plan.stream(n)
    names = list(dict.fromkeys(names))

    snap = StateStore(repo).snapshot()
    prog = all_progress(snap)
    base_tip = repo.tip(base)
    target_tip = repo.tip(f"refs/heads/{target}")
    start = target_tip or base_tip
    if start is None:
        raise Refused(f"neither {target} nor the base branch {base!r} exists; commit to {base} first")
    if not names:  # every completed stream not in the target yet
        for n in plan.streams:
            p = prog.get(n)
            tip = repo.stream_tip(n)
            if p is not None and p.status == "completed" and tip is not None \
                    and not m.is_ancestor(repo, tip, start):
                names.append(n)
    # refusals come before anything changes, each naming what is wrong
    not_done = [f"{n} ({prog[n].status if n in prog else 'pending'})" for n in names
                if n not in prog or prog[n].status != "completed"]
    if not_done:
        raise Refused(f"not completed: {', '.join(not_done)}; only completed streams are integrated "
                      "('gitpar finish' in the stream's worktree), or leave them out of --streams")
    gone = [n for n in names if repo.stream_tip(n) is None]
    if gone:
        raise Refused(f"the branch of {', '.join('gitpar/' + n for n in gone)} does not exist, so there "
                      "is nothing to merge; restore the branch or leave the stream out of --streams")
    for n in names:
        for dep in plan.streams[n].depends_on:
            dep_tip = repo.stream_tip(dep)
            if dep in names or (dep_tip is not None and m.is_ancestor(repo, dep_tip, start)):
                continue
            if dep_tip is None and _integrated_into(prog.get(dep), target):
                continue  # integrated, then its branch cleaned up
            raise Refused(f"{n} depends on {dep}, which is neither being integrated nor already in "
                          f"{target}; add {dep} to --streams")
    checked_out = m.worktrees_on(repo, target)
    for wt in checked_out:
        busy = m.operation_in_progress(wt)
        dirty = dirty_files(wt.path)
        if busy or dirty:
            what = busy or "local changes: " + ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            raise Refused(f"{target} is checked out in {wt.path} with {what}; commit or stash them "
                          "there first, or integrate into another branch with --into")
    order = dependency_order(plan, names)
    refused = _violations(repo, base, order)
    run = Integration(target=target, base=base, created=target_tip is None,
                      start=str(target_tip) if target_tip else None, end=None, steps=[],
                      test=test, dry_run=dry_run)
    if not order:
        if resume:
            _forget_run(repo)
        run.created = False
        if cleanup:
            _cleanup(repo, run, dry_run=dry_run)
        return run
    if not dry_run:
        _save_run(repo, {"target": target, "streams": order, "test": test})
        if target_tip is None:
            assert base_tip is not None
            if not swap_ref(repo, f"refs/heads/{target}", base_tip, None,
                            f"gitpar integrate: {target} from {base}"):
                raise Refused(f"{target} appeared while gitpar was creating it; run the command again")
            say(f"created {target} from {base} ({m.short(base_tip)})")
            target_tip = base_tip
    current = target_tip or base_tip
    assert current is not None
    tested_current = False
    gate = _Gate(run.warnings)
    held_back: set[str] = set()  # refused for violations, or after a stream that was
    try:
        for i, name in enumerate(order):
            held = _held_back(plan, name, refused, held_back)
            if held is not None:
                held_back.add(name)
                run.steps.append(held)
                continue
            step, new = _one(repo, plan, target, name, current, test=test, dry_run=dry_run,
                             checked_out=checked_out, tested_current=tested_current, say=say,
                             gate=gate)
            run.steps.append(step)
            if step.outcome in ("merged", "merged (review)", "would merge", "would merge (review)",
                                "already merged"):
                tested_current = tested_current or (test is not None and not dry_run)
                if new is not None:
                    current = new
                continue
            run.stopped = step.detail
            run.steps.extend(Step(n, "not reached") for n in order[i + 1:])
            break
    except KeyboardInterrupt:
        # a Ctrl-C held during a merge's publication is raised right after it: look again
        run.interrupted = True
        current = repo.tip(f"refs/heads/{target}") or current
        done = {s.stream for s in run.steps}
        for n in order:
            if n in done:
                continue
            tip = repo.stream_tip(n)
            if tip is not None and m.is_ancestor(repo, tip, current):
                run.steps.append(Step(n, "merged", "just before the interrupt", str(current)))
            else:
                run.steps.append(Step(n, "not reached", "interrupted"))
        run.stopped = f"interrupted; {target} stays at {m.short(current)}, its last good merge"
    if refused and run.stopped is None:
        run.stopped = (f"not merged: {', '.join(sorted(refused))} (ownership violations); "
                       "fix the branches, then 'gitpar integrate --continue'")
    run.end = str(current)
    if not dry_run:
        from gitpar.plugins import events

        events.emit("integration.result", repo=repo, target=target, ok=run.ok,
                     steps={s.stream: s.outcome for s in run.steps})
    if run.ok and not dry_run:
        _forget_run(repo)
    if cleanup:
        _cleanup(repo, run, dry_run=dry_run)
    return run


def _violations(repo: Repo, base: str, names: Sequence[str]) -> dict[str, str]:
    """Stream -> why it is refused: its branch breaks the ownership rules (``gitpar finish``'s
    check, the one pre-push and CI run)."""
    from gitpar.core.streams import branch_violations, describe_violations

    out = {}
    for name in names:
        found = branch_violations(repo, name, base)
        if found:
            out[name] = describe_violations(name, found, limit=5)
    return out


def _held_back(plan: Plan, name: str, refused: dict[str, str], held_back: set[str]) -> Step | None:
    """The step of a stream that is not merged because of violations (its own or a dependency's)."""
    if name in refused:
        return Step(name, "refused", refused[name] + f"\nfix: take those changes out of gitpar/{name}, "
                    "then 'gitpar integrate --continue'")
    for dep in plan.streams[name].depends_on:
        if dep in held_back:
            return Step(name, "not reached", f"depends on {dep}, which is not merged")
    return None


def _one(repo: Repo, plan: Plan, target: str, name: str, current: Oid, *, test: str | None,
         dry_run: bool, checked_out: Sequence[Worktree], tested_current: bool,
         say: Progress, gate: _Gate | None = None) -> tuple[Step, Oid | None]:
    """Forecast, merge, test and publish one stream; the step and the new target tip."""
    from gitpar.store import merge as m

    tip = repo.stream_tip(name)
    if tip is None:
        return Step(name, "conflicted", f"the branch gitpar/{name} disappeared"), None
    if m.is_ancestor(repo, tip, current):
        if not dry_run:
            _mark(repo, name, target, current)
        return Step(name, "already merged", f"{target} already contains gitpar/{name}"), None
    mb = m.merge_base(repo, current, tip)
    index, conflicts = m.conflicts_of_commits(repo, mb, current, tip)
    if conflicts:  # shared files edited in turns under a lock, and merge: union files
        from gitpar.core.chain import settle

        conflicts = settle(repo, plan, index, current, tip)
    review: _Review | None = None
    if conflicts:
        other = {c.path: _who_wrote(repo, current, tip, c.path) for c in conflicts}
        files = "; ".join(
            f"{c.describe(target, name)}, {name}'s side from "
            f"{', '.join(i.short() for i in m.commits_touching(repo, tip, current, c.path, limit=2)) or 'a merge'}"
            f", the other side from {', '.join(other[c.path]) or 'the base'}"
            for c in conflicts)
        detail = (f"{name} conflicts with {target}: {files}. {target} stays at {m.short(current)}; "
                  f"gitpar/{name} is unchanged. Resolve it on gitpar/{name} (e.g. merge {target} into "
                  "it), then run 'gitpar integrate --continue'")
        stopped = Step(name, "conflicted", detail, conflicts=conflicts, other_side=other)
        if not _conflict_strategy_chosen(plan):
            return stopped, None
        taken = _take_stream_side(repo, plan, target, name, mb, current, tip, conflicts, other)
        if isinstance(taken, str):
            stopped.detail += f" ({taken})"
            return stopped, None
        index, review = taken
    message = (f"Merge stream '{name}' into {target}\n\n"
               f"{plan.streams[name].description or 'Merged by gitpar integrate.'}\n\n"
               + (f"{review.note}\n\n" if review else "")
               + f"Gitpar-Stream: {name}\n"
               + "".join(f"Gitpar-Review: {line}\n" for line in (review.trailers if review else ())))
    new = m.write_merge(repo, index, [current, tip], message)
    undone = _undone_on_target(repo, plan, name, current, new)
    if undone:
        listed = "; ".join(f"{p} (the work of {who})" for p, who in undone)
        return Step(name, "would undo work",
                    f"merging {name} would undo changes already on {target}: {listed}. gitpar/{name} "
                    f"keeps old content of files it does not own (a 'git merge -s ours' or a hand-made "
                    f"merge); {target} stays at {m.short(current)}. Redo that merge on gitpar/{name} "
                    f"keeping {target}'s changes (or revert it), then run 'gitpar integrate --continue'"), None
    flag = " (review)" if review else ""
    if dry_run:
        return Step(name, "would merge" + flag,
                    (review.note if review else "merges cleanly")
                    + (" (tests not run in a dry run)" if test else ""), str(new),
                    conflicts=review.conflicts if review else [],
                    other_side=review.other_side if review else {}), new
    log = None
    if test is not None:
        say(f"testing {target} + {name} ({m.short(new)}): {test}")
        code, log = run_test(repo, name, new, test, gate=gate)
        say(f"test log: {log} (exit {code})")
        tail = log_tail(log) if code != 0 else []
        if code == 127:
            return Step(name, "not reached", f"the test command was not found (exit 127, log {log}); "
                        f"{target} stays at {m.short(current)}", log=str(log), output_tail=tail), None
        if code != 0:
            if not tested_current:
                base_code, base_log = run_test(repo, f"{name}-before", current, test, gate=gate)
                say(f"test log of {target} before merging {name}: {base_log} (exit {base_code})")
                if base_code != 0:
                    return Step(name, "not reached", f"{target} already fails the test before merging "
                                f"{name} (at {m.short(current)}, log {base_log}); fix that first",
                                log=str(log), output_tail=log_tail(base_log)), None
            return Step(name, "broke the tests", f"merging {name} makes '{test}' exit {code} "
                        f"(log {log}); {target} stays at {m.short(current)}", log=str(log),
                        output_tail=tail), None
    with m.held_interrupts():
        m.move_branch(repo, target, current, new, f"gitpar integrate: merge {name}", checked_out)
        _mark(repo, name, target, new, review=review)
    say(f"merged {name} into {target} ({m.short(new)})" + (f"; {review.note}" if review else ""))
    return Step(name, "merged" + flag, f"at {m.short(new)}" + (f"; {review.note}" if review else ""),
                str(new), conflicts=review.conflicts if review else [],
                other_side=review.other_side if review else {}, log=str(log) if log else None), new


def _undone_on_target(repo: Repo, plan: Plan, name: str, current: Oid, merged: Oid) -> list[tuple[str, str]]:
    """The paths where the merged tree differs from the target's though ``name`` may not change
    them (another stream's files, the plan), with whose work each is: checked on the trees,
    not assumed from how the merge was made. A normal merge never changes such a path."""
    from gitpar.core.rules import PLAN_PREFIX, Rules
    from gitpar.store.commits import paths_between

    rules = Rules.from_plan(plan)
    changed = sorted(paths_between(repo, current, merged))
    out = []
    for path, found in rules.index.match_many(changed).items():
        mine = any(r.stream == name for r in found)
        owners = sorted({r.stream for r in found if r.kind == "owns"})
        if path.startswith(PLAN_PREFIX):
            out.append((path, "the plan"))
        elif owners and not mine:
            out.append((path, "stream " + ", ".join(owners)))
    return sorted(out)


@dataclass
class _Review:
    """A conflict settled by taking the stream's side, for a person to review."""

    note: str  # the strategy's review note
    trailers: list[str]  # one Gitpar-Review trailer per file: the path and the other side
    conflicts: list[FileConflict]
    other_side: dict[str, list[str]]


def _conflict_strategy_chosen(plan: Plan) -> bool:
    # no plugins: section is the common case: the default (stop) needs no plugin
    if plan.settings.extra.get("plugins") is None:
        return False
    from gitpar.plugins import manager

    return manager.strategy_chosen(plan, "conflicts")


# conflicts made of hunks: the only ones whose stream side can be taken hunk by hunk
_HUNK_CONFLICTS = ("content", "add/add")


def _take_stream_side(repo: Repo, plan: Plan, target: str, name: str, mb: Oid | None,
                      current: Oid, tip: Oid, conflicts: Sequence[FileConflict],
                      other: dict[str, list[str]]) -> tuple[Index, _Review] | str:
    """Ask the plan's conflict strategy; the merge taking the stream's side, or why it stops.

    Only when the strategy answers ``take_stream`` for every conflicted path, and every
    conflict is one of hunks in a text file: the merge is redone in memory taking the
    stream's side of each conflicting hunk (the rest of each file merges as usual). A
    binary, delete, rename or mode conflict still stops: there is no hunk to take.
    """
    from gitpar.plugins import manager
    from gitpar.plugins.hookspecs import ConflictCase
    from gitpar.store import merge as m

    chosen = manager.plugin_settings(plan).get("conflicts")
    paths = tuple(c.path for c in conflicts)
    resolution = manager.resolve_conflict(plan, ConflictCase(stream=name, target=target, paths=paths,
                                                             other_side=other))
    if resolution.action != "take_stream":
        return f"conflict strategy {chosen}: {resolution.reason}"
    left = [p for p in paths if p not in resolution.paths]
    if left:
        return f"conflict strategy {chosen} takes no side in {', '.join(left)}"
    whole = [c for c in conflicts if c.kind not in _HUNK_CONFLICTS]
    if whole:
        return (f"conflict strategy {chosen}: {', '.join(c.describe(target, name) for c in whole)} "
                "has no hunks to take a side of, so it still stops")
    index = m.merge_taking_theirs(repo, mb, current, tip)
    if index is None:
        return f"conflict strategy {chosen}: taking {name}'s side still leaves conflicts"
    trailers = [f"{c.describe(target, name)} took {name}'s side over "
                f"{', '.join(other.get(c.path) or ()) or 'the base branch'}" for c in conflicts]
    return index, _Review(note=resolution.review, trailers=trailers, conflicts=list(conflicts),
                          other_side=dict(other))


def _who_wrote(repo: Repo, current: Oid, tip: Oid, path: str) -> list[str]:
    """Who changed ``path`` on the target's side since the stream forked: streams or the base."""
    from gitpar.store import merge as m

    who: list[str] = []
    for info in m.merges_touching(repo, current, tip, path):
        stream = info.trailers.get("Gitpar-Stream")
        label = f"stream {stream} ({info.sha[:10]})" if stream else info.short()
        if label not in who:
            who.append(label)
    return who


def _mark(repo: Repo, name: str, target: str, commit: Oid, review: _Review | None = None) -> None:
    """Record on the state branch that ``name`` is integrated into ``target`` (one CAS commit).

    A merge that took the stream's side of a conflict also gets a coordination item in the
    stream's progress, so ``gitpar status`` lists it as needing attention until reviewed.
    """
    from dataclasses import replace

    from gitpar.core.progress import (
        Progress,
        ProgressUpdate,
        apply_update,
        now_iso,
        progress_path,
        render_progress,
    )
    from gitpar.core.streams import read_progress
    from gitpar.store.state import StateStore

    value = f"{target}@{commit}"
    need = (f"review merge {str(commit)[:10]} into {target}: {review.note}",) if review else ()

    def change(snap: Any) -> tuple[dict[str, str | None], str] | None:
        current = read_progress(repo, name, snap) or Progress(stream=name)
        if current.extra.get("integrated") == value and all(n in current.coordination for n in need):
            return None
        new = replace(current, updated=now_iso(), extra={**current.extra, "integrated": value})
        if need:
            new = apply_update(new, ProgressUpdate(need=need), now_iso())
        return ({progress_path(name): render_progress(new)},
                f"integrate {name}: merged into {target} at {str(commit)[:10]}"
                + (f" (review: {review.note})" if review else ""))

    StateStore(repo).update(change)


class _Gate:
    """What the test gate learns once per run: whether its code comes from outside the tree."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self.looked = False

    def look(self, command: str, path: Path, env: dict[str, str]) -> None:
        if self.looked:
            return
        self.looked = True
        for where in foreign_code(command, path, env):
            self.warnings.append(f"the test command may run code from outside the tree under test: "
                                 f"{where}; point it at $GITPAR_TEST_TREE (see docs/integrate.md)")


def fill_test_command(command: str, path: Path) -> str:
    """``command`` with ``{worktree}`` replaced by the gate's worktree (shell-quoted)."""
    return command.replace("{worktree}", shlex.quote(str(path)))


def log_tail(log: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of a test log (without gitpar's own first and last lines)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    body = text[1:]
    if body and body[-1].startswith("[exit "):
        body = body[:-1]
    return body[-lines:]


# asks the gate's Python which installed distributions are editable, and where they point
_EDITABLE_PROBE = r"""
import json
from importlib import metadata
for dist in metadata.distributions():
    try:
        raw = dist.read_text("direct_url.json")
        info = json.loads(raw) if raw else {}
    except Exception:
        continue
    if (info.get("dir_info") or {}).get("editable") and str(info.get("url", "")).startswith("file://"):
        print(dist.metadata["Name"], info["url"][len("file://"):], sep="\t")
"""


def foreign_code(command: str, path: Path, env: dict[str, str]) -> list[str]:
    """Editable Python installs, seen by the ``python`` the gate runs, that point at a
    checkout other than the tree under test — the tests would import that code instead of
    the merged one. Only for a command that looks like Python's; [] when it cannot tell."""
    words = command.replace("/", " ").split()
    if not any(w.startswith(("python", "pytest", "tox", "nox", "uv")) for w in words):
        return []
    python = shutil.which("python3", path=env.get("PATH")) or shutil.which("python", path=env.get("PATH"))
    if python is None:
        return []
    try:
        proc = subprocess.run([python, "-c", _EDITABLE_PROBE], cwd=path, env=env, capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    tree = path.resolve()
    found = []
    for line in proc.stdout.splitlines():
        name, _, where = line.partition("\t")
        if not where:
            continue
        target = Path(where).resolve()
        if target != tree and tree not in target.parents:
            found.append(f"{name} is installed editable from {target} (python: {python})")
    return found


def run_test(repo: Repo, name: str, commit: Oid, command: str,
             gate: _Gate | None = None) -> tuple[int, Path]:
    """Run ``command`` (through sh) in a temporary detached worktree of ``commit``.

    ``{worktree}`` in the command is that worktree; ``GITPAR_TEST_TREE`` (and
    ``GITPAR_WORKTREE``) name it in the environment. The output goes to a log file. The
    worktree is removed afterwards, also on Ctrl-C, which stops the command's whole process
    group first.
    """
    from gitpar.store import merge as m

    log = repo.gitpar_dir / "logs" / "integrate" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    path = m.add_temp_worktree(repo, commit)
    try:
        from gitpar.core import spawn

        env = spawn.command_env(name.removesuffix("-before"), path,
                                extra={"GITPAR_TEST_TREE": str(path), "GITPAR_COMMIT": str(commit)})
        command = fill_test_command(command, path)
        if gate is not None:
            gate.look(command, path, env)
        with log.open("w", encoding="utf-8") as out:
            out.write(f"$ {command}   # in {path} at {commit}\n")
            code = spawn.run_logged(command, path, env, out)
            out.write(f"[exit {code}]\n")
        return code, log
    finally:
        m.remove_temp_worktree(repo, path)


def _integrated_into(progress: Any, target: str) -> bool:
    """Whether the state branch records the stream as merged into ``target``."""
    value = progress.extra.get("integrated") if progress is not None else None
    return isinstance(value, str) and value.startswith(f"{target}@")


def _cleanup(repo: Repo, run: Integration, *, dry_run: bool = False) -> None:
    """Remove the worktrees and branches of integrated streams — merged in this run, or
    recorded on the state branch as integrated into the target by an earlier one — with
    ``gitpar remove``'s safety: never uncommitted or untracked work, never a commit that no
    other branch has."""
    from gitpar.core import streams as st
    from gitpar.store import worktrees as wt
    from gitpar.store.state import StateStore

    merged_now = {s.stream: s for s in run.steps
                  if s.outcome in ("merged", "merged (review)", "already merged")}
    prog = st.all_progress(StateStore(repo).snapshot())
    earlier = [n for n, p in sorted(prog.items()) if n not in merged_now and _integrated_into(p, run.target)]
    worktrees = repo.stream_worktrees()
    for name in [*merged_now, *earlier]:
        branch = f"gitpar/{name}"
        if repo.tip(f"refs/heads/{branch}") is None and name not in worktrees:
            continue  # cleaned up already
        done: list[str] = []
        kept = False
        if name in worktrees:
            try:
                removal = st.remove(repo, name, dry_run=dry_run)
                if removal.refused:
                    done.append(f"would keep {removal.worktree}: {'; '.join(removal.problems)}")
                    kept = True
                else:
                    done.append(f"{'would remove' if dry_run else 'removed'} {removal.worktree}")
            except Refused as exc:
                done.append(f"kept: {exc}")
                kept = True
        if not kept:
            if dry_run:
                unique = wt.commits_on_no_other_branch(repo, branch)
                done.append(f"would keep branch {branch}: {len(unique)} commits on no other branch"
                            if unique else f"would delete branch {branch}")
            else:
                why = wt.delete_merged_branch(repo, branch)
                done.append(f"kept branch {branch}: {why}" if why else f"deleted branch {branch}")
        text = "; ".join(done)
        if name in merged_now:
            merged_now[name].cleanup = text
        else:
            run.cleaned[name] = text
