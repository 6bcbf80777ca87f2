"""Commands: gitpar conflicts, gitpar sync, gitpar integrate."""

from __future__ import annotations

from typing import Annotated

import typer

from gitpar.cli import output as o
from gitpar.cli.app import JsonOpt, _repo, app


@app.command()
def conflicts(json_: JsonOpt = False,
              offline: Annotated[bool, typer.Option("--offline", help="Do not fetch the state and the stream "
                                                    "branches from the plan's remote first.")] = False,
              test: Annotated[str | None, typer.Option("--test", help="Also run this gate command (through sh; "
                                                       "{worktree}: the tree under test) on each active stream's "
                                                       "tree and on the merged tree of each pair that merges "
                                                       "cleanly: a pair that fails while both pass alone breaks "
                                                       "the gate together (exit 1).")] = None,
              all_pairs: Annotated[bool, typer.Option("--all-pairs", help="With --test: test every pair, "
                                                      "not only the most related ones.")] = False,
              max_pairs: Annotated[str | None, typer.Option("--max-pairs", help="With --test: how many pairs to "
                                                            "test, most related first (default 16).")] = None,
              jobs: Annotated[str, typer.Option("-j", "--jobs", help="With --test: gates run at once, each in "
                                                "its own temporary worktree (default 1).")] = "1") -> None:
    """Forecast the conflicts between active streams, and with the base, touching no worktree.

    Exit 1 when a conflict, or a rewrite (a stream that replaced lines another changed
    before it, building on that version through the lock chain), is forecast, or (--test)
    two streams break the gate together; 0 otherwise.
    """
    from gitpar.core.conflicts import forecast
    from gitpar.core.remote import refresh
    from gitpar.errors import bad

    gated = None
    if test is not None:
        from gitpar.core.pair_gate import MAX_PAIRS, check_options

        if all_pairs and max_pairs is not None:
            raise bad(None, "--all-pairs/--max-pairs", "give one of --all-pairs and --max-pairs", "drop one of them")
        cap = None if all_pairs else (MAX_PAIRS if max_pairs is None else _whole(max_pairs, "--max-pairs", "--max-pairs 30"))
        jobs_n = _whole(jobs, "-j/--jobs", "-j 4")
        check_options(test, jobs_n, cap)
    elif all_pairs or max_pairs is not None or jobs != "1":
        raise bad(None, "--all-pairs/--max-pairs/-j", "these say how to run a gate, and no --test gives one",
                  "add --test CMD, e.g. gitpar conflicts --test 'python -m pytest -x -q'")
    repo = _repo()
    note = refresh(repo, offline=offline)
    if note:
        o.err(note)
    fc = forecast(repo)
    if test is not None:
        from gitpar.core.pair_gate import gate_pairs

        gated = gate_pairs(repo, repo.load_plan(), fc, test, jobs=jobs_n, max_pairs=cap,
                           progress=None if json_ else o.err)
    if json_:
        o.emit_json({**fc.to_dict(), **({"gate": gated.to_dict()} if gated is not None else {})})
    else:
        _print_forecast(fc)
        if gated is not None:
            _print_pair_gate(gated)
    if fc.conflicting or (gated is not None and gated.together):
        raise typer.Exit(1)


def _print_pair_gate(g) -> None:  # type: ignore[no-untyped-def]
    from gitpar.core.pair_gate import describe

    found = describe(g)
    if found:
        o.out(f"The gate on the merged pairs ({g.command}):")
        for line in found:
            o.out(f"  {line}")
    for a, b, why in g.untested:
        o.err(f"not tested: {a} and {b}: {why}")
    if g.capped:
        o.err(f"not tested: {g.capped} of {g.pairs_total} pairs, the least related (--max-pairs {g.max_pairs}; "
              "--all-pairs tests every pair)")
    def n(count: int, what: str) -> str:
        return f"{count} {what}{'' if count == 1 else 's'}"

    o.err(f"gate: {n(len(g.alone), 'stream')} alone, {n(len(g.pairs), 'pair')} merged and tested, "
          f"{len(g.together)} breaking it together")


def _print_forecast(fc) -> None:  # type: ignore[no-untyped-def]
    def other(p) -> str:  # type: ignore[no-untyped-def]
        if getattr(p, "with_integration", False):
            return f"{p.b} (merged streams waiting to land)"
        return f"{p.b} (base)" if p.with_base else p.b

    if any(p.stopping for p in fc.conflicting):
        o.out("Conflicts (these merges would stop):")
        for p in fc.conflicting:
            if p.stopping:
                o.out(f"  {p.a} <> {other(p)}:")
                for c in p.stopping:
                    o.out(f"    {c.describe(p.a, p.b)}")
    if any(p.rewrites for p in fc.conflicting):
        from gitpar.core.conflicts import rewrite_advice

        o.out("Rewrites (these merge cleanly, and lines one stream changed are replaced by the other's):")
        for p in fc.conflicting:
            for c in p.rewrites:
                o.out(f"  {p.a} <> {other(p)}:")
                o.out(f"    {c.describe()}")
                o.out(f"    {rewrite_advice(c)}")
    if fc.overlapping_only:
        o.out("Overlaps without conflict (both changed these files; they merge cleanly):")
        for p in fc.overlapping_only:
            shown = ", ".join(p.overlapping[:5]) + (" ..." if len(p.overlapping) > 5 else "")
            o.out(f"  {p.a} <> {other(p)}: {shown}")
    for name, why in fc.skipped.items():
        o.err(f"skipped {name}: {why}")
    rewriting = sum(1 for p in fc.conflicting if p.rewrites)
    o.err(f"{len(fc.streams)} active streams against {fc.base}: "
          f"{sum(1 for p in fc.conflicting if p.stopping)} conflicting pairs, "
          + (f"{rewriting} rewriting, " if rewriting else "")
          + f"{len(fc.overlapping_only)} overlapping without conflict "
          f"({fc.stats.get('pairs_merged', 0)} of {fc.stats.get('pairs', 0)} pairs needed a merge)")


@app.command()
def sync(
    name: Annotated[str | None, typer.Argument(help="The stream (default: this worktree's).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every active stream.")] = False,
    rebase: Annotated[bool, typer.Option("--rebase", help="Rebase the stream's commits onto the base.")] = False,
    merge: Annotated[bool, typer.Option("--merge", help="Merge the base into the stream (the default).")] = False,
    keep_conflict: Annotated[bool, typer.Option("--keep-conflict", help="On a conflict, leave it in the worktree to resolve.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Bring streams up to date with the base; a conflict leaves the stream as it was.

    Worktrees with uncommitted changes are skipped (never stashed). Exit 1 when a stream
    conflicted or was skipped.
    """
    from gitpar.core import sync as sync_mod
    from gitpar.errors import bad

    if rebase and merge:
        raise bad(None, "--rebase/--merge", "give one of --rebase and --merge", "drop one of them")
    repo = _repo()
    names = sync_mod.select(repo, name, all_)
    results = sync_mod.sync(repo, names, mode="rebase" if rebase else "merge",
                            keep_conflict=keep_conflict)
    if json_:
        o.emit_json({"version": 1, "results": [r.to_dict() for r in results]})
    else:
        for r in results:
            line = f"{r.stream}: {r.outcome}: {r.message}"
            (o.out if r.ok else o.err)(line)
            for path, sides in r.sides.items():
                o.err(f"  {path}")
                for side, commits in sides.items():
                    label = f"gitpar/{r.stream}" if side == "stream" else "base"
                    for c in commits or ["(no commit found)"]:
                        o.err(f"    {label}: {c}")
        if not results:
            o.err("no active streams to sync")
    if any(not r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def integrate(
    into: Annotated[str | None, typer.Option("--into", help="The target branch (default: gitpar/_integration, made from the base tip).")] = None,
    test: Annotated[str | None, typer.Option("--test", help="A shell command run in each merged result ({worktree}: "
                                             "its temporary worktree, also $GITPAR_TEST_TREE); a failure stops "
                                             "the run. Default: plan.md's test: key.")] = None,
    streams: Annotated[list[str], typer.Option("--streams", help="Streams to integrate (a,b or repeat; default: every completed one).")] = [],  # noqa: B006
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Forecast every merge; move nothing, run no test.")] = False,
    continue_: Annotated[bool, typer.Option("--continue", help="Resume the stopped integration after a fix.")] = False,
    cleanup: Annotated[bool, typer.Option("--cleanup", help="Remove the worktrees and branches of the streams integrated "
                                          "into the target, in this run or before (with gitpar remove's safety; "
                                          "--dry-run says what it would do).")] = False,
    jobs: Annotated[str, typer.Option("-j", "--jobs", help="Gates run at once, each in its own temporary worktree "
                                      "of exactly the tree that would land (default 1: one at a time).")] = "1",
    retries: Annotated[str, typer.Option("--retries", help="Rerun a failing gate up to K times before it counts "
                                         "(a flaky test is no reason to eject a stream; default 0).")] = "0",
    fresh: Annotated[bool, typer.Option("--fresh", help="Start the target again from the base's tip (a leftover "
                                        "integration branch older than the base), refused if that would lose a commit.")] = False,
    land: Annotated[bool, typer.Option("--land", help="After the queue, land the result on the base: pushed to the "
                                       "remote's base by compare-and-swap (a base that moved is merged in and gated "
                                       "again), or the local base moved without a remote.")] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Keep the queue running: poll for newly completed streams "
                                         "(one fetch per poll in a remote plan) and land them as they come, a line "
                                         "per landing or ejection, until Ctrl-C (exit 130).")] = False,
    interval: Annotated[str | None, typer.Option("--interval", help="With --follow: seconds between polls "
                                                 "(default 10).")] = None,
    json_: JsonOpt = False,
) -> None:
    """The merge queue: completed streams, in dependency order then priority, into a target branch.

    Each merge is forecast in memory first and the gate (--test) runs on exactly the tree
    that lands; a stream that conflicts or breaks the gate is ejected (its dependents held)
    and the queue goes on with the rest. Exit 0 when every stream merged, 1 when any was
    ejected or the run stopped, 130 when interrupted.
    """
    from gitpar.core.integrate import integrate as run_integration
    from gitpar.core.remote import refresh

    jobs_n, retries_n = _whole(jobs, "-j/--jobs", "-j 4"), _whole(retries, "--retries", "--retries 2")
    if follow or interval is not None:
        _follow(follow, interval, into=into, test=test, streams=streams, dry_run=dry_run, resume=continue_,
                jobs=jobs_n, retries=retries_n, fresh=fresh, land=land, cleanup=cleanup, json_=json_)
        return
    repo = _repo()
    refresh(repo)  # the other clones' finished streams and pushed commits, fetched once
    run = run_integration(repo, into=into, test=test, streams=streams, dry_run=dry_run,
                          resume=continue_, cleanup=cleanup, progress=None if json_ else o.err,
                          jobs=jobs_n, retries=retries_n, fresh=fresh, land=land)
    if json_:
        o.emit_json(run.to_dict())
    else:
        _print_integration(run)
    if run.interrupted:
        raise typer.Exit(130)
    if not run.ok:
        raise typer.Exit(1)


FOLLOW_INTERVAL = 10.0  # seconds between --follow's polls


def _seconds(value: str | None, option: str) -> float:
    """A positive number of seconds, or bad input naming the option."""
    import math

    from gitpar.errors import bad

    if value is None:
        return FOLLOW_INTERVAL
    try:
        n = float(value.strip())
    except ValueError:
        raise bad(None, option, f"{value!r} is not a number of seconds", f"give one, e.g. {option} 10") from None
    if not math.isfinite(n) or n <= 0:
        raise bad(None, option, f"{value} seconds between polls is not above 0",
                  f"give a number of seconds above 0, e.g. {option} 10")
    return n


def _follow(follow: bool, interval: str | None, *, into: str | None, test: str | None, streams: list[str],
            dry_run: bool, resume: bool, jobs: int, retries: int, fresh: bool, land: bool, cleanup: bool,
            json_: bool) -> None:
    """integrate --follow: a line per landing and ejection on stdout (a JSON object per line
    with --json), the queue's progress on stderr, a summary when it stops. Exit 130 on
    Ctrl-C (SIGINT, as git and GNU parallel end), 1 when the queue could not go on."""
    import sys
    import time

    from gitpar.core.integrate.follow import follow as run_follow
    from gitpar.errors import bad

    if not follow:
        raise bad(None, "--interval", "it is the wait between --follow's polls", "add --follow, or drop --interval")
    for given, option, why in ((dry_run, "--dry-run", "a dry run moves nothing, so following would repeat it"),
                               (resume, "--continue", "--follow takes every completed stream as it comes"),
                               (bool(streams), "--streams", "--follow takes every completed stream as it comes")):
        if given:
            raise bad(None, option, f"not with --follow: {why}", f"drop {option} or --follow")
    seconds = _seconds(interval, "--interval")

    def line(step) -> None:  # type: ignore[no-untyped-def]
        at = time.strftime("%H:%M:%S")
        if json_:
            o.emit_json({"event": "ejected" if step.ejected else "landed", "at": at, **step.to_dict()})
        elif step.ejected:
            o.out(f"{at} ejected {step.stream}: {step.outcome}" + (f" (log {step.log})" if step.log else ""))
        else:
            o.out(f"{at} landed {step.stream} at {(step.commit or '')[:10]}")
        sys.stdout.flush()  # a line as it happens, also into a pipe

    o.err(f"following the queue: polling every {seconds:g} s; Ctrl-C stops it")
    done = run_follow(_repo, interval=seconds, into=into, test=test, jobs=jobs, retries=retries, fresh=fresh,
                      land=land, cleanup=cleanup, say=o.err, on_step=line)
    why = "stopped by Ctrl-C" if done.interrupted else f"stopped: {done.stopped}"
    summary = (f"follow {why} after {done.polls} polls: {len(done.landed)} landed"
               + (f" ({', '.join(done.landed)})" if done.landed else "")
               + f", {len(done.ejected)} ejected" + (f" ({', '.join(done.ejected)})" if done.ejected else "")
               + f", {done.gate_runs} gate runs; {done.target} at {(done.end or '')[:10] or 'nothing yet'}")
    if json_:
        o.emit_json({"event": "summary", **done.to_dict()})
    else:
        o.out(summary)
    raise typer.Exit(130 if done.interrupted else 1)


def _whole(value: str, option: str, example: str) -> int:
    """A whole-number option, or bad input naming it (typer's own message would not say the fix)."""
    from gitpar.errors import bad

    try:
        return int(value.strip())
    except ValueError:
        raise bad(None, option, f"{value!r} is not a whole number", f"give a number, e.g. {example}") from None


def _print_integration(run) -> None:  # type: ignore[no-untyped-def]
    for stream, what in run.cleaned.items():  # integrated by an earlier run
        o.out(f"cleanup {stream} (integrated into {run.target} earlier): {what}")
    if not run.steps:
        o.err(f"nothing to integrate: no completed stream is missing from {run.target}")
        return
    title = f"{'Dry run: ' if run.dry_run else ''}integration into {run.target}" + (
        f" (created from {run.base})" if run.created else "")
    rows = [[s.stream, s.outcome, (s.commit or "")[:10], s.cleanup or ""] for s in run.steps]
    if any(s.cleanup for s in run.steps):
        o.table(["stream", "result", "commit", "cleanup"], rows, title=title)
    else:
        o.table(["stream", "result", "commit"], [r[:3] for r in rows], title=title)
    for s in run.steps:
        if s.outcome in ("conflicted", "refused", "broke the tests", "would undo work") or (s.outcome == "not reached" and s.detail
                                                               and s.detail != "interrupted"):
            o.err(f"{s.stream}: {s.detail}")
            if s.output_tail:
                o.err(f"  the last {len(s.output_tail)} lines of the test's output:")
                for line in s.output_tail:
                    o.err(f"  | {line}")
        elif s.outcome.endswith("(review)"):  # a side taken by the plan's strategy: never silent
            o.err(f"{s.stream}: needs review: {s.detail}")
    ejected = run.ejected
    if ejected:
        o.err(f"ejected {len(ejected)} of {len(run.steps)}: " + "; ".join(
            f"{s.stream} ({s.outcome}" + (f", log {s.log}" if s.log else "") + ")" for s in ejected)
            + f"; the rest landed in {run.target}; after fixing, 'gitpar integrate' again")
    if run.test and not run.dry_run:
        o.err(f"{run.gate_runs} gate runs, -j {run.jobs}")
    if run.interrupted:
        o.err(f"gitpar: {run.stopped}; 'gitpar integrate --continue' resumes")
    elif run.stopped:
        o.err(f"stopped: {run.target} is at {(run.end or '')[:10]}; after fixing, run "
              "'gitpar integrate --continue'")
