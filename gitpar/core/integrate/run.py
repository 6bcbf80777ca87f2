"""The integration run, :func:`integrate`: the refusals that come before anything changes,
the streams merged one by one (``stream.merge_stream``) until one stops the run, a Ctrl-C
during a merge, and ``--cleanup`` of the integrated streams' worktrees and branches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gitpar.core.integrate.queue import Queue
from gitpar.core.integrate.result import Integration, Progress, Step
from gitpar.core.integrate.select import (
    check_target,
    check_test_command,
    dependency_order,
    forget_run,
    save_queue_state,
    save_run,
    saved_run,
)
from gitpar.core.repo import Repo
from gitpar.core.stream_progress import all_progress
from gitpar.errors import Refused, bad
from gitpar.store import merge as m
from gitpar.store.repo import Oid, swap_ref
from gitpar.store.state import StateStore
from gitpar.store.worktrees import commits_on_no_other_branch


def integrate(repo: Repo, *, into: str | None = None, test: str | None = None,
              streams: Sequence[str] | None = None, dry_run: bool = False, resume: bool = False,
              cleanup: bool = False, progress: Progress | None = None, jobs: int = 1,
              retries: int = 0, fresh: bool = False, land: bool = False,
              on_step: Callable[[Step], None] | None = None) -> Integration:
    """Merge completed streams into the target; see the module's docstring for the rules.
    ``on_step`` is told each stream's landing or ejection as it happens."""
    from gitpar.core.integrate.land import busy_with

    say = progress or (lambda _msg: None)
    check_jobs(jobs, retries)
    plan = repo.load_plan()
    base = plan.settings.base
    if resume:
        saved = saved_run(repo)
        if saved is None:
            raise bad(None, "--continue", "there is no stopped integration to continue",
                      "run 'gitpar integrate' (without --continue) to start one")
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
    target = check_target(into or plan.settings.integration_branch)
    if test is None:
        test = plan.settings.test  # plan.md's test: key, the default gate
    if test is not None:
        check_test_command(test)
    for n in names:
        plan.stream(n)
    names = list(dict.fromkeys(names))

    if fresh and resume:
        raise bad(None, "--fresh", "--fresh starts again from the base, --continue resumes",
                  "give one of them")
    if land and not dry_run:
        from gitpar.core.integrate.land import check_land

        check_land(repo, plan, target)
    snap = StateStore(repo).snapshot()
    prog = all_progress(snap)
    base_tip = repo.tip(base)
    target_tip = repo.tip(f"refs/heads/{target}")
    if fresh and target_tip is not None and base_tip is not None and target_tip != base_tip:
        target_tip = _start_afresh(repo, target, base, target_tip, base_tip, dry_run, say)
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
        what = busy_with(wt)
        if what:
            raise Refused(f"{target} is checked out in {wt.path} with {what}; commit or stash them "
                          "there first, or integrate into another branch with --into")
    order = dependency_order(plan, names)
    def refused() -> dict[str, str]:  # asked by the queue while its first gates run
        return _violations(repo, base, order)

    run = Integration(target=target, base=base, created=target_tip is None,
                      start=str(target_tip) if target_tip else None, end=None, steps=[],
                      test=test, dry_run=dry_run, warnings=repo.warnings, jobs=jobs)
    if not order:
        if resume:
            forget_run(repo)
        run.created = False
        if cleanup:
            _cleanup(repo, run, dry_run=dry_run)
        return _done(repo, run)
    if not dry_run:
        save_run(repo, {"target": target, "streams": order, "test": test})
        if target_tip is None:
            assert base_tip is not None
            if not swap_ref(repo, f"refs/heads/{target}", base_tip, None,
                            f"gitpar integrate: {target} from {base}"):
                raise Refused(f"{target} appeared while gitpar was creating it; run the command again")
            say(f"created {target} from {base} ({m.short(base_tip)})")
            target_tip = base_tip
    current = target_tip or base_tip
    assert current is not None
    queue = Queue(repo, plan, run, order, current, test=test, jobs=jobs, retries=retries,
                  dry_run=dry_run, checked_out=checked_out, refused=refused, say=say,
                  on_state=None if dry_run else lambda live: save_queue_state(repo, run, live),
                  on_step=on_step)
    try:
        queue.run()
    except KeyboardInterrupt:
        # a Ctrl-C held during a merge's publication is raised right after it: look again
        run.interrupted = True
        current = repo.tip(f"refs/heads/{target}") or queue.current
        queue.current = current
        for n in order:
            if n in queue.steps:
                continue
            tip = repo.stream_tip(n)
            if tip is not None and m.is_ancestor(repo, tip, current):
                queue.steps[n] = Step(n, "merged", "just before the interrupt", str(current))
            else:
                queue.steps[n] = Step(n, "not reached", "interrupted")
        run.stopped = f"interrupted; {target} stays at {m.short(current)}, its last good merge"
    current = queue.current
    run.steps = [queue.steps.get(n) or Step(n, "not reached") for n in order]
    run.gate_runs, run.gate_seconds = queue.runs, list(queue.seconds)
    if not dry_run:
        save_queue_state(repo, run, {})
    run.end = str(current)
    if land and not dry_run and not run.interrupted and run.stopped is None:
        from gitpar.core.integrate.land import land as land_run

        run.landed = land_run(repo, plan, run, say)
    if not dry_run:
        from gitpar.plugins import manager

        manager.emit("integration.result", repo=repo, target=target, ok=run.ok,
                     steps={s.stream: s.outcome for s in run.steps})
    if run.ok and not dry_run:
        forget_run(repo)
    if cleanup:
        _cleanup(repo, run, dry_run=dry_run)
    return _done(repo, run)


def _start_afresh(repo: Repo, target: str, base: str, target_tip: Oid, base_tip: Oid,
                  dry_run: bool, say: Progress) -> Oid:
    """--fresh: the target back at the base's tip (a leftover integration branch older than
    the base refuses streams as "would undo work"). Refused when the target holds a commit
    that no other branch has besides the queue's own merges: nothing is lost."""
    if target == base:
        raise bad(None, "--fresh", f"the target is the base {base} itself", "drop --fresh")
    own = [c for c in commits_on_no_other_branch(repo, target)
           if not c.split(" ", 1)[-1].startswith(("Merge stream '", f"Merge {base} into {target}"))]
    if own:
        raise Refused(f"{target} has commits no other branch has: {', '.join(own[:5])}; starting afresh "
                      f"would lose them. Put them on a branch first (git branch keep {target}), then --fresh")
    if m.worktrees_on(repo, target):
        raise Refused(f"{target} is checked out; --fresh does not move a checked-out branch")
    if dry_run:
        say(f"would start {target} afresh from {base} ({m.short(base_tip)})")
        return base_tip
    if not swap_ref(repo, f"refs/heads/{target}", base_tip, target_tip,
                    f"gitpar integrate --fresh: {target} from {base}"):
        raise Refused(f"{target} moved while gitpar was resetting it; run the command again")
    say(f"started {target} afresh from {base} ({m.short(base_tip)}); it was at {m.short(target_tip)}")
    return base_tip


def check_jobs(jobs: int, retries: int) -> None:
    """-j and --retries are bad input below 1 and 0 (before anything changes)."""
    if jobs < 1:
        raise bad(None, "-j/--jobs", f"{jobs} gates at once cannot run anything",
                  "give a whole number of 1 or more, e.g. -j 4")
    if retries < 0:
        raise bad(None, "--retries", f"{retries} is below 0",
                  "give how many times a failing gate is rerun: 0 (the default) or more")


def _done(repo: Repo, run: Integration) -> Integration:
    """``run``, the plugin loader's waiting warnings moved onto the repository's list (which
    is ``run.warnings``), so its JSON holds every warning the command shows."""
    from gitpar.plugins import manager

    manager.hand_over(repo)
    return run


def _violations(repo: Repo, base: str, names: Sequence[str]) -> dict[str, str]:
    """Stream -> why it is refused: its branch breaks the ownership rules (``gitpar finish``'s
    check, the one pre-push and CI run)."""
    from gitpar.core.stream_finish import describe_violations, violations_on_branch

    out = {}
    for name in names:
        found = violations_on_branch(repo, name, base)
        if found:
            out[name] = describe_violations(name, found, limit=5)
    return out


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
