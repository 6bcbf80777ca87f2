"""Benchmark ``gitpar run`` against its own plan and against ``xargs -P``.

Usage: python bench/bench_runner.py [--stg DIR] [--graphs N] [--tasks N] [--repeat N] [--unit S]

1. Plan fidelity. Standard Task Graph instances (50 tasks, Kasahara lab) become plans of
   50 streams; each stream's command is ``sleep <cost x unit>`` (unit 20 ms), its estimate
   the same duration. ``gitpar run -j 4 --finish`` runs them (dependents wait for their
   dependencies to be *completed*, so without ``--finish`` most of the graph is never
   reached), the state branch put back before each graph (every stream in progress), and
   every one of the 50 tasks must have run; the time from the first command's
   start to the last one's end is compared with the planned length (the schedule
   ``prepare`` computes, ``gitpar plan``'s; the runner starts ready streams in its order).
   Goals: 3% mean, 5% worst. Also shown: the runner's own dispatch rule (ready streams by
   the plan's start, then the longest remaining path, priority, name; no worker idle while
   one is ready) replayed with the durations the commands really took, which separates
   the runner's own delays (a finish's checks, the hand-offs between its threads) from the
   ``sleep`` processes' start-up; goal: within 1%. And the same rule replayed with the
   estimates ("rule s"): where it is longer than the plan, the rule itself cannot keep the
   plan (the plan leaves a worker idle on purpose; the runner never does), before any
   delay of the runner's. The load average is printed: on a loaded machine these figures
   mostly measure the scheduler of the operating system.

2. Overhead. 500 streams, each running ``true`` in its own worktree, ``gitpar run -j 4
   --all -- true`` as a user runs it (a subprocess: Python start-up, reading a 500-stream
   plan and its history, a log per stream; run records are written only with ``--record``,
   so none are here). Anchors in the same run, alternated: ``xargs -P 4`` running the same
   500 commands, each ``cd`` into its worktree and its output appended to a log of its own
   (what gitpar does for each), and a naive sequential Python loop (``subprocess.run`` per
   stream, in its worktree). Overhead per task = (gitpar's wall time - xargs's) / tasks.
   Goal: at most 5 ms. Every stream must have run, in gitpar as in the anchors.

Worktrees are created once beforehand with ``git worktree add`` (what ``gitpar start``
does for the branch and worktree; starting 500 streams is not what is measured here).
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gitpar.core.repo import open_repo  # noqa: E402
from gitpar.core.runner import RunOptions, execute, prepare  # noqa: E402
from gitpar.core.schedule import Task, list_schedule  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from benchlib import SameWork, add_smoke, alternate, call  # noqa: E402

SAVED_STATE = "refs/bench/runner-state"

DEFAULT_STG = ROOT.parent / "shared" / "bench-data" / "stg"
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com", "NO_COLOR": "1"}


def sh(args: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=ENV, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def load_stg(path: Path) -> dict[str, tuple[int, list[str]]]:
    """Task name -> (cost, dependencies), the two zero-cost dummies left out."""
    rows = [line.split() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    n = int(rows[0][0])
    tasks: dict[str, tuple[int, list[str]]] = {}
    for row in rows[1:n + 3]:
        tid, cost, npred = int(row[0]), int(row[1]), int(row[2])
        if tid in (0, n + 1):
            continue
        tasks[f"t{tid}"] = (cost, [f"t{p}" for p in map(int, row[3:3 + npred]) if p != 0])
    return tasks


def write_plan(repo: Path, streams: dict[str, tuple[float, list[str]]]) -> None:
    """Stream files: the estimate and the brief are the stream's sleep in seconds."""
    folder = repo / ".gitpar/streams"
    for old in folder.glob("*.md"):
        if old.stem not in streams:
            old.unlink()
    for name, (seconds, deps) in streams.items():
        (folder / f"{name}.md").write_text(
            f'---\nowns: ["{name}/**"]\ndepends_on: {json.dumps(deps)}\nestimate: {seconds:g}s\n---\n'
            f"{seconds:g}\n")


def make_repo(where: Path, names: list[str]) -> tuple[Path, list[Path]]:
    """An initialised repository with a worktree on gitpar/<name> for every name."""
    repo = where / "repo"
    repo.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], repo)
    (repo / "README").write_text("bench\n")
    (repo / ".gitpar/streams").mkdir(parents=True)
    (repo / ".gitpar/plan.md").write_text("---\nbase: main\n---\n")
    write_plan(repo, {n: (0.0, []) for n in names})
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "plan"], repo)
    sh([sys.executable, "-m", "gitpar", "init", "--no-hooks"], repo)
    worktrees = []
    for name in names:
        wt = where / "wt" / name
        sh(["git", "worktree", "add", "-q", "-b", f"gitpar/{name}", str(wt), "main"], repo)
        worktrees.append(wt)
    # every stream in progress, as `gitpar start` leaves it, kept to put back before each graph
    from gitpar.core.progress import Progress, now_iso, progress_path, render_progress
    from gitpar.store.state import StateStore

    now = now_iso()
    changes: dict[str, str | None] = {
        progress_path(n): render_progress(Progress(stream=n, status="in_progress", completion=0,
                                                   started=now, updated=now)) for n in names}
    StateStore(open_repo(repo)).update(lambda snap: (changes, "bench: every stream in progress"))
    sh(["git", "update-ref", SAVED_STATE, "refs/heads/gitpar/_state"], repo)
    return repo, worktrees


def reset_state(repo: Path) -> None:
    """The state branch as make_repo left it: every stream in progress, none finished."""
    sh(["git", "update-ref", "refs/heads/gitpar/_state", SAVED_STATE], repo)


def replay_makespan(run: object, durations: dict[str, float], workers: int) -> float:
    """The makespan of the runner's dispatch rule (``core.runner.engine``'s ready queue: the
    plan's start time, the longest remaining path, priority, name) with ``durations``."""
    starts = {n: slot.start for n, slot in run.planned.slots.items()}  # type: ignore[attr-defined]
    rank = run.rank  # type: ignore[attr-defined]
    streams = run.plan.streams  # type: ignore[attr-defined]
    tasks = [Task(n, durations[n], run.deps[n], streams[n].priority) for n in run.order]  # type: ignore[attr-defined]
    return list_schedule(tasks, workers, lambda t: (starts[t.name], -rank[t.name], -t.priority, t.name)).makespan


def bench_stg(stg: Path, graphs: int, unit: float, workers: int, work: SameWork) -> dict[str, object]:
    files = sorted((stg / "50").glob("*.stg"))
    step = max(1, len(files) // graphs)
    chosen = files[::step][:graphs]
    with tempfile.TemporaryDirectory(prefix="gitpar-bench-") as tmp:
        first = load_stg(chosen[0])
        repo_path, _ = make_repo(Path(tmp), sorted(first))
        repo = open_repo(repo_path)
        excess: list[float] = []
        own: list[float] = []
        rule_excess: list[float] = []
        print(f"1. STG 50-task graphs as sleep commands, unit {unit * 1000:.0f} ms, -j {workers}")
        print(f"   {'graph':<14} {'planned s':>9} {'rule s':>7} {'actual s':>9} {'excess %':>9} {'replay s':>9} "
              f"{'excess %':>9}")
        for path in chosen:
            tasks = load_stg(path)
            write_plan(repo_path, {n: (cost * unit, deps) for n, (cost, deps) in tasks.items()})
            reset_state(repo_path)
            options = RunOptions(command=("sleep", "{brief}"), jobs=workers, record=False, finish=True)
            run = prepare(repo, options)
            result = execute(repo, run)
            ran = sorted(n for n, j in result.jobs.items() if j.succeeded)
            work.check(f"{path.name}: streams run and finished (gitpar vs the plan)", ran, sorted(tasks))
            if len(ran) != len(tasks):
                continue
            ex = 100.0 * (result.span_s / run.planned.makespan - 1.0)
            excess.append(ex)
            # the runner's own rule (ready streams by the plan's start, then the longest
            # remaining path, priority, name; a worker never idle while one is ready) replayed
            # with the durations the commands really took (a sleep process takes a few ms more
            # than its argument): what is left is the runner's own delays
            replay = replay_makespan(run, {n: result.jobs[n].duration_s or 0.0 for n in run.order}, workers)
            own.append(100.0 * (result.span_s / replay - 1.0))
            rule = replay_makespan(run, {n: run.estimates[n].seconds for n in run.order}, workers)
            rule_excess.append(100.0 * (rule / run.planned.makespan - 1.0))
            print(f"   {path.name:<14} {run.planned.makespan:>9.3f} {rule:>7.3f} {result.span_s:>9.3f} {ex:>9.2f}"
                  f" {replay:>9.3f} {own[-1]:>9.2f}")
        if not excess:
            return {"stg_graphs": 0}
        print(f"   mean excess {statistics.mean(excess):.2f}%, worst {max(excess):.2f}% (goal <= 3% / 5%); "
              f"the runner's own share (against the replay) {statistics.mean(own):.2f}% / {max(own):.2f}% "
              "(goal <= 1%)")
        print(f"   the runner's rule with the estimates, over the plan: {statistics.mean(rule_excess):.2f}% mean, "
              f"{max(rule_excess):.2f}% worst (what no speed of the runner's can win back)")
        return {"stg_rule_mean_excess_pct": round(statistics.mean(rule_excess), 2),
                "stg_rule_worst_excess_pct": round(max(rule_excess), 2),"stg_graphs": len(excess), "stg_mean_excess_pct": round(statistics.mean(excess), 2),
                "stg_worst_excess_pct": round(max(excess), 2),
                "stg_mean_excess_vs_replay_pct": round(statistics.mean(own), 2)}


XARGS_SCRIPT = 'cd "$1" && true >>"$1.log" 2>&1'


def bench_overhead(tasks: int, workers: int, repeat: int, work: SameWork, warmup: int) -> dict[str, object]:
    names = [f"s{i:04d}" for i in range(tasks)]
    with tempfile.TemporaryDirectory(prefix="gitpar-bench-") as tmp:
        t0 = time.perf_counter()
        repo_path, worktrees = make_repo(Path(tmp), names)
        print(f"\n2. {tasks} streams running `true`, -j {workers} "
              f"(set-up: {tasks} worktrees in {time.perf_counter() - t0:.0f}s, not measured)")
        listing = "".join(f"{w}\n" for w in worktrees)
        logs = Path(tmp) / "logs"
        logs.mkdir()
        gitpar_ran: set[str] = set()
        joblog = Path(tmp) / "gitpar.joblog"

        def gitpar() -> None:
            joblog.unlink(missing_ok=True)
            proc = subprocess.run([sys.executable, "-m", "gitpar", "run", "-j", str(workers), "--all",
                                   "--joblog", str(joblog), "--", "true"], cwd=repo_path, env=ENV,
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr[-2000:]
            gitpar_ran.clear()
            gitpar_ran.update(_ran(joblog))

        def xargs() -> None:
            for log in Path(tmp, "wt").glob("*.log"):
                log.unlink()
            subprocess.run(["xargs", "-P", str(workers), "-I{}", "sh", "-c", XARGS_SCRIPT, "sh", "{}"],
                           input=listing, text=True, check=True)

        def loop() -> None:
            for wt in worktrees:
                subprocess.run(["true"], cwd=wt, check=True)

        figures = alternate({"gitpar": call(gitpar), "xargs": call(xargs), "loop": call(loop)}, repeat,
                            warmup=warmup)
        gitpar_s, xargs_s, loop_s = (figures.samples[k] for k in ("gitpar", "xargs", "loop"))
        xargs_ran = sorted(p.name[:-4] for p in Path(tmp, "wt").glob("*.log"))
        work.check("streams run (gitpar run vs xargs -P, cd + log)", sorted(gitpar_ran), xargs_ran)
        g, x, lo = (statistics.median(v) for v in (gitpar_s, xargs_s, loop_s))
        per = {k: 1000 * v / tasks for k, v in (("gitpar", g), ("xargs", x), ("loop", lo))}
        overhead = 1000 * (g - x) / tasks
        records = subprocess.run(["git", "log", "-1", "--format=%s", "gitpar/_state"], cwd=repo_path,
                                 capture_output=True, text=True).stdout.strip()
        print(f"   median of {repeat}: gitpar run {g:.2f}s ({per['gitpar']:.2f} ms/task), "
              f"xargs -P {workers} (cd + log) {x:.2f}s ({per['xargs']:.2f} ms/task), "
              f"sequential Python loop {lo:.2f}s ({per['loop']:.2f} ms/task)")
        print(f"   gitpar / xargs = {g / x:.2f}x; overhead {overhead:.2f} ms/task (goal <= 5); "
              f"state branch: {records!r}")
        return {"tasks": tasks, "jobs": workers, "gitpar_s": round(g, 3), "xargs_s": round(x, 3),
                "loop_s": round(lo, 3), "gitpar_ms_per_task": round(per["gitpar"], 3),
                "xargs_ms_per_task": round(per["xargs"], 3),
                "overhead_ms_per_task": round(overhead, 3), "ratio_vs_xargs": round(g / x, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stg", type=Path, default=DEFAULT_STG, help="STG data directory")
    ap.add_argument("--graphs", type=int, default=10, help="STG graphs to run (spread over the set)")
    ap.add_argument("--unit", type=float, default=0.02, help="seconds per STG time unit")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=500, help="streams in the overhead benchmark")
    ap.add_argument("--repeat", type=int, default=3)
    add_smoke(ap)
    args = ap.parse_args(argv)
    if args.smoke:
        args.graphs, args.tasks, args.repeat, args.unit = 1, 12, 1, 0.005
    work = SameWork()
    if shutil.which("xargs") is None or shutil.which("sleep") is None:
        print("bench_runner: skipped, needs xargs and sleep")
        return 0
    result: dict[str, object] = {"bench": "runner", "load": round(os.getloadavg()[0], 2)}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if (args.stg / "50").is_dir():
        result.update(bench_stg(args.stg, args.graphs, args.unit, args.workers, work))
    else:
        print(f"1. skipped: no STG data at {args.stg}")
    result.update(bench_overhead(args.tasks, args.workers, args.repeat, work, 0 if args.smoke else 1))
    result.update(smoke=args.smoke, **work.record())
    print(json.dumps(result))
    return 0 if work.ok else 1


def _ran(joblog: Path) -> list[str]:
    """The streams whose command exited 0, from ``gitpar run --joblog``."""
    rows = [line.split("\t") for line in joblog.read_text().splitlines()[1:] if line.strip()]
    return sorted(r[1] for r in rows if r[6] == "0" and r[7] == "0")


if __name__ == "__main__":
    sys.exit(main())
