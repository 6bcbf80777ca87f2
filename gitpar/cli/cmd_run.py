"""Commands: gitpar run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gitpar.cli import output as o
from gitpar.cli.app import HELP_OPTIONS, _repo, app

if TYPE_CHECKING:
    from gitpar.core.runner import RunEvent, RunPlan, RunResult


@app.command(context_settings={"allow_interspersed_args": False, "help_option_names": HELP_OPTIONS})
def run(
    command: Annotated[list[str], typer.Argument(
        metavar="CMD",
        help="The command, after --. Placeholders {stream}, {worktree}, {brief}, {port} are "
             "replaced in every argument; GITPAR_STREAM, GITPAR_WORKTREE, GITPAR_PORT, "
             "GITPAR_RUN, GITPAR_ATTEMPT, GITPAR_SLOT are set. No shell unless you call one.")] = [],  # noqa: B006
    jobs: Annotated[str | None, typer.Option("-j", "--jobs", metavar="N",
                                             help="Commands at once (default: CPUs).")] = None,
    streams: Annotated[list[str], typer.Option("--streams", metavar="A,B",
                                               help="Run in these streams (repeat, or a,b).")] = [],  # noqa: B006
    ready: Annotated[bool, typer.Option("--ready", help="Run in the streams whose dependencies are completed.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Run in every stream not completed (the default).")] = False,
    retries: Annotated[int, typer.Option(help="Run a failed command again up to N times, with exponential backoff.")] = 0,
    retry_delay: Annotated[str, typer.Option(metavar="DURATION", help="The first backoff; it doubles each retry.")] = "1s",
    timeout: Annotated[str | None, typer.Option(metavar="DURATION", help="End a command running longer (TERM, then KILL).")] = None,
    halt: Annotated[str, typer.Option(metavar="POLICY", help="never (dependents of a failure are skipped, the rest goes on), soon,fail=N (start no more), now,fail=N (end everything); also success=N, N%.")] = "never",
    finish: Annotated[bool, typer.Option("--finish", help="Mark a stream completed when its command succeeds (agent runs); "
                                         "its dependents start only then. Records durations for estimates.")] = False,
    record: Annotated[bool, typer.Option("--record", help="Record the commands' durations on the state branch "
                                         "for estimates (implied by --finish).")] = False,
    joblog: Annotated[Path | None, typer.Option(metavar="FILE", help="Log each command (GNU parallel's joblog format).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip the streams already in --joblog.")] = False,
    resume_failed: Annotated[bool, typer.Option("--resume-failed", help="Skip the streams that succeeded in --joblog; run the others again.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the schedule; run nothing.")] = False,
    tag: Annotated[bool, typer.Option("--tag", help="Prefix each output line with its stream.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="With --dry-run: the schedule as JSON.")] = False,
) -> None:
    """Run a command in each stream's worktree, in parallel, dependency-aware, critical path first."""
    from gitpar.core import runner
    from gitpar.core.durations import parse_duration
    from gitpar.errors import bad

    chosen = [flag for flag, on in (("--streams", bool(streams)), ("--ready", ready), ("--all", all_)) if on]
    if len(chosen) > 1:
        raise bad(None, "selection", f"{' and '.join(chosen)} exclude each other",
                  "choose one of --streams a,b, --ready or --all")
    if resume and resume_failed:
        raise bad(None, "--resume", "--resume and --resume-failed exclude each other", "choose one")
    try:
        delay = parse_duration(retry_delay)
    except ValueError as exc:
        raise bad(None, "--retry-delay", str(exc), "write it like --retry-delay 2s") from None
    options = runner.RunOptions(
        command=tuple(command),
        jobs=runner.parse_jobs(jobs),
        select="streams" if streams else "ready" if ready else "all",
        streams=tuple(streams),
        retries=retries,
        retry_delay_s=delay,
        timeout_s=runner.parse_timeout(timeout),
        finish=finish,
        record=finish or record,
        joblog=joblog,
        resume="all" if resume else "failed" if resume_failed else None,
        halt=runner.parse_halt(halt),
    )
    repo = _repo()
    plan = runner.prepare(repo, options)
    if dry_run:
        if json_:
            o.emit_json(plan.to_dict())
        else:
            _print_dry_run(plan)
        return
    view = _View(tag=tag, live=_live_wanted())
    with view:
        result = runner.execute(repo, plan, on_event=view.event, tick_s=0.25 if view.live else None)
    if result.record_error:  # shown with the command's other warnings when it ends
        repo.warn(result.record_error)
    _print_summary(result)
    if result.interrupted:
        raise typer.Exit(130)
    raise typer.Exit(0 if result.ok else 1)


def _live_wanted() -> bool:
    import os

    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _print_dry_run(plan: RunPlan) -> None:
    from gitpar.core.durations import format_duration as fd

    d = plan.to_dict()
    o.out(f"would run {len(d['runs'])} command{'s' if len(d['runs']) != 1 else ''} with "
          f"-j {plan.options.jobs}, planned length {fd(plan.planned.makespan)} (by estimates and history):")
    rows = [[r["stream"], fd(r["start_s"]), fd(r["finish_s"]), r["slot"],
             f"{fd(r['estimate_s'])} ({r['estimate_source']})", ", ".join(r["after"]) or "-",
             "start stream, " if r["starts_stream"] else "",
             _shell_words(r["command"])] for r in d["runs"]]
    o.table(["stream", "start", "finish", "slot", "estimate", "after", "command"],
            [[*r[:6], r[6] + r[7]] for r in rows])
    for item in d["resumed"]:
        o.out(f"skipped (in the joblog, exit {item['exit']}): {item['stream']}")
    waiting = [r["stream"] for r in d["runs"] if any(plan.status[a] != "completed" for a in r["after"])]
    if waiting and not plan.options.finish:
        o.out(f"without --finish, {', '.join(waiting)} will not be reached: a stream starts after its "
              "dependencies are completed, and a command's success completes a stream only with --finish")


def _shell_words(argv: list[str]) -> str:
    import shlex

    text = shlex.join(argv)
    return text if len(text) <= 80 else text[:77] + "..."


class _View:
    """Shows the run: children's lines on stdout, events on stderr; a live panel on a terminal."""

    def __init__(self, *, tag: bool, live: bool) -> None:
        self.tag = tag
        self.live = live
        self._live: Any = None

    def __enter__(self) -> _View:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(stderr=True), auto_refresh=False, transient=True,
                              redirect_stdout=True, redirect_stderr=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def event(self, ev: RunEvent) -> None:
        from gitpar.core.durations import format_duration as fd

        if ev.kind == "output":
            o.out(f"{ev.stream}\t{ev.text}" if self.tag else ev.text)
            return
        r = ev.state.results.get(ev.stream or "")
        line = None
        if ev.kind == "start":
            line = f"{ev.stream}: started"
        elif ev.kind == "retry":
            line = f"{ev.stream}: {ev.text}"
        elif ev.kind == "done" and r is not None:
            took = f" in {fd(r.duration_s)}" if r.duration_s is not None and r.duration_s >= 1 else (
                f" in {r.duration_s * 1000:.0f}ms" if r.duration_s is not None else "")
            if r.outcome == "ok":
                line = f"{ev.stream}: ok{took}"
            else:
                line = f"{ev.stream}: {r.outcome}{took}: {r.reason}" + (f" (log: {r.log})" if r.log else "")
        elif ev.kind == "skip":
            line = f"{ev.stream}: skipped: {ev.text}"
        elif ev.kind == "unreached":
            line = f"{ev.stream}: not reached: {ev.text}"
        elif ev.kind == "halt":
            line = ev.text
        if self._live is not None:
            if line is not None and ev.kind != "start":
                self._live.console.print(f"gitpar: {line}", markup=False, highlight=False)
            self._live.update(self._panel(ev), refresh=True)
        elif line is not None:
            o.err(f"gitpar: {line}")

    def _panel(self, ev: RunEvent) -> Any:
        import time

        from rich.text import Text

        from gitpar.core.durations import format_duration as fd

        state = ev.state
        c = state.counts()
        now = time.monotonic()
        running = ", ".join(f"{n} {fd(now - t)}" for n, t in sorted(state.running.items(),
                                                                    key=lambda kv: kv[1]))
        text = Text()
        text.append(f"running {c['running']}", style="bold cyan")
        text.append(f"  done {c['ok']}", style="green")
        text.append(f"  failed {c['failed']}", style="red" if c["failed"] else "")
        text.append(f"  skipped {c['skipped']}  waiting {c['waiting']}")
        text.append(f"  ETA {fd(state.eta_s())}", style="bold")
        if running:
            text.append(f"\n  {running[:200]}")
        return text


def _print_summary(result: RunResult) -> None:
    from gitpar.core import runner
    from gitpar.core.durations import format_duration as fd

    def took(seconds: float | None) -> str:
        if seconds is None:
            return "-"
        if seconds < 1:
            return f"{seconds * 1000:.0f}ms"
        return f"{seconds:.1f}s" if seconds < 60 else fd(seconds)

    jobs = list(result.jobs.values())
    if len(jobs) > 50:  # a long run: the table lists what did not succeed
        jobs = [j for j in jobs if not j.succeeded]
    rows = [[j.stream, j.outcome, "" if j.exit is None else j.exit, j.attempts or "", took(j.duration_s),
             j.reason] for j in jobs]
    headers = ["stream", "result", "exit", "tries", "took", "note"]
    if not rows:
        pass
    elif sys.stderr.isatty():
        from rich.console import Console
        from rich.table import Table

        t = Table()
        for h in headers:
            t.add_column(h)
        for row in rows:
            t.add_row(*(str(c) for c in row))
        Console(stderr=True).print(t)
    else:
        cells = [headers] + [[str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        for r in cells:
            o.err("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    counts = result.counts()
    shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    o.err(f"gitpar run: {shown}; took {took(result.wall_s)} (planned by estimates and history: "
          f"{took(result.planned_s)})"
          + (f"; halted by --halt {result.halted}" if result.halted else "")
          + ("; interrupted" if result.interrupted else ""))
    for j in result.jobs.values():
        if j.outcome == runner.NOT_REACHED:
            o.err(f"  {j.stream}: not reached: {j.reason}")
