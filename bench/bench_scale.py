"""Costs against the number of streams (N) and the length of the state history.

The N-table, at N = 10, 1,000 and 5,000 streams (two of them started). Each row runs
gitpar and its anchor in turn in one loop (after a warm-up round) and quotes the median
of each:

- ``gitpar progress`` (whole process, a new completion each round), against
  ``python -c "import pygit2"`` — the least a process that reads a repository pays;
- a lock+unlock pair in-process, one writer, against the floor: two bare pygit2 changes
  of the same size (blob + trees + commit + reference-transaction compare-and-swap);
- a commit through the hook right after another stream's progress report (the path a
  user meets: nothing deletes the cache, the report is all that happened), against the
  same change committed with ``git commit --no-verify``;
- the read commands ``status --json``, ``plan --json``, ``who``, ``check --staged``
  (whole process, one loop with the anchor ``python -c "import pygit2"``);
- 8 local contenders (lock+unlock of their own files) against one writer: throughput.

The goals that compare 1,000 streams with 10 (progress, the hook commit) are judged on one
more loop that runs both repositories' contenders in turn, so that the machine's drift
between rows does not enter the ratio.

The history table: ``gitpar check --range`` of a stream's branch (a shared file changed
under its lock, an owned file) at 1,000 / 10,000 / 100,000 state commits, the history
generated with the store's API. Every size in one loop: the first run (gitpar's caches
deleted, the lock index built) and the next (the index kept), with the ratio to the
smallest history.

Then PASS/FAIL for each of issue 13's goals and one JSON line with every figure. The
repositories are kept under the temp dir, keyed by their parameters, so a rerun (after
gitpar gets faster) does not make 100,000 commits again; ``--fresh`` remakes them.

    python bench/bench_scale.py [--sizes 10,1000,5000] [--history 1000,10000,100000]
                                [--runs 7] [--quick] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import (  # noqa: E402
    Contender,
    add_smoke,
    alternate,
    bench_env,
    call,
    describe,
    drop_caches,
    emit,
    fixture,
    floor_pair,
    gitpar_command,
    process,
    reset_state,
    run,
    streams_repo,
    verdict,
    worktree_of,
)

from gitpar.testing import hermetic  # noqa: E402

PY = sys.executable
IMPORT_PYGIT2 = [PY, "-c", "import pygit2"]
READS = {"status --json": ("status", "--json", "--offline"), "plan --json": ("plan", "--json"),
         "who": ("who", "src/s0001/f.txt"), "check --staged": ("check", "--staged")}
LIMITS_5000 = {"status --json": 0.5, "plan --json": 0.6, "who": 0.3, "check --staged": 0.3}
COLD_PLAN = "plan --json after a report"

CONTENDER = textwrap.dedent("""
    import sys, time
    from gitpar.core import locks
    from gitpar.core.repo import open_repo
    wt, path, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    stream = open_repo(wt).current_stream()
    locks.lock(open_repo(wt), stream, [path], ttl=600); locks.unlock(open_repo(wt), stream, [path])
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        locks.lock(open_repo(wt), stream, [path], ttl=600)
        locks.unlock(open_repo(wt), stream, [path])
        n += 2
    open(out, "w").write(str(n))
""")


def gitpar(*args: str) -> list[str]:
    return [*gitpar_command(), *args]


def throughput(wt: Path, tmp: Path, procs: int, seconds: float) -> float:
    """State changes a second that ``procs`` processes make together, each on its own file."""
    outs = [tmp / f"tp{procs}-{i}" for i in range(procs)]
    ps = [subprocess.Popen([PY, "-c", CONTENDER, str(wt), f"shared/f{i}.txt", str(seconds), str(o)])
          for i, o in enumerate(outs)]
    for p in ps:
        p.wait()
    return sum(int(o.read_text()) for o in outs) / seconds


def in_process_pair(wt: Path, path: str) -> tuple[Callable[[], None], str, str]:
    """A callable doing one lock+unlock pair through the core API, the lock's file on the
    state branch and its text (what the floor writes)."""
    from gitpar.core import locks
    from gitpar.core.repo import open_repo

    stream = open_repo(wt).current_stream()
    assert stream is not None

    def pair() -> None:
        locks.lock(open_repo(wt), stream, [path], ttl=600)
        locks.unlock(open_repo(wt), stream, [path])
    text = locks.render_lock(locks.new_lock(path, stream, "bench", 600, "", str(wt)))
    return pair, locks.lock_file(path), text


def scale_repo(n: int, fresh: bool) -> Path:
    """The kept repository with ``n`` streams (s0000 and s0001 started)."""
    env = bench_env()

    def build(folder: Path) -> None:
        streams_repo(folder / "repo", n, env)
    repo = fixture(f"scale-n{n}", build, fresh=fresh) / "repo"
    reset_state(repo)
    return repo


def user_path(r: Path) -> dict[str, Contender]:
    """What a user meets in ``r``: ``progress`` (s0001 reports a new completion), ``hook`` (a
    commit by s0000 through the hook right after s0001's report) and ``no-verify`` (the same
    change committed without hooks)."""
    env = bench_env()
    w0, w1 = worktree_of(r, "s0000"), worktree_of(r, "s0001")
    rounds = iter(range(10 ** 9))

    def report() -> None:
        run(gitpar("progress", "--completion", str(next(rounds) % 100)), w1, env)

    def edit(tag: str) -> None:
        (w0 / "src/s0000/f.txt").write_text(f"{tag} {time.time()}\n")
        run(["git", "add", "-A"], w0, env)

    def report_then_edit() -> None:
        report()
        edit("hook")
    return {"progress": call(report),
            "hook": process(["git", "commit", "-qm", "through the hook"], w0, env, before=report_then_edit),
            "no-verify": process(["git", "commit", "--no-verify", "-qm", "bare"], w0, env,
                                 before=lambda: edit("bare"))}


def cold_plan(r: Path) -> Contender:
    """``plan --json`` right after a stream reports progress: its remaining work changes, so
    the schedule is searched for again (gitpar keeps no analyses)."""
    env = bench_env()
    w1, completions = worktree_of(r, "s0001"), iter(range(10 ** 9))

    def report() -> None:
        run(gitpar("progress", "--completion", str(next(completions) % 100)), w1, env)
    return process(gitpar("plan", "--json"), r, env, before=report)


def n_row(n: int, runs: int, contend_s: float, fresh: bool, scratch: Path) -> dict[str, Any]:
    """The figures of one N."""
    env = bench_env()
    r = scale_repo(n, fresh)
    w0 = worktree_of(r, "s0000")
    row: dict[str, Any] = {"streams": n}
    print(f"\n{n} streams:")
    user = user_path(r)

    figs = alternate({"progress": user["progress"], "import pygit2": process(IMPORT_PYGIT2, r, env)}, runs)
    row["progress"] = figs.row("progress", "import pygit2")
    print("  " + describe(figs, "progress", "import pygit2", "gitpar progress", 'python -c "import pygit2"'))

    pair, lock_path, text = in_process_pair(w0, "shared/f0.txt")
    floor = floor_pair(r / ".git", lock_path, text)
    figs = alternate({"pair": call(pair), "floor": call(floor)}, max(runs * 3, 15))
    row["lock+unlock in-process"] = figs.row("pair", "floor")
    print("  " + describe(figs, "pair", "floor", "lock+unlock in-process", "the pygit2 floor"))

    figs = alternate({"hook": user["hook"], "no-verify": user["no-verify"]}, runs)
    row["commit through the hook after another's progress"] = figs.row("hook", "no-verify")
    print("  " + describe(figs, "hook", "no-verify", "commit through the hook after another stream's report",
                          "git commit --no-verify"))

    contenders = {name: process(gitpar(*args), w0 if name == "check --staged" else r, env)
                  for name, args in READS.items()}
    contenders[COLD_PLAN] = cold_plan(r)
    figs = alternate({**contenders, "import pygit2": process(IMPORT_PYGIT2, r, env)}, runs)
    for name in (*READS, COLD_PLAN):
        row[name] = figs.row(name, "import pygit2")
        print("  " + describe(figs, name, "import pygit2", name, "import pygit2"))

    if n >= 1000:
        rates: dict[str, list[float]] = {"one": [], "eight": []}
        for _ in range(3):  # alternated windows, the median of each
            rates["one"].append(throughput(w0, scratch, 1, contend_s))
            rates["eight"].append(throughput(w0, scratch, 8, contend_s))
        one, eight = statistics.median(rates["one"]), statistics.median(rates["eight"])
        row["8 local contenders"] = {"changes_per_s": round(eight, 1), "one_writer_per_s": round(one, 1),
                                     "share": round(eight / one, 2)}
        print(f"  8 local contenders: {eight:.0f} changes/s, one writer {one:.0f}/s ({eight / one:.0%}; "
              f"median of 3 alternated {contend_s:g} s windows)")
    return row


def across_n(small: int, large: int, runs: int) -> dict[str, Any]:
    """``progress``, the commit through the hook after another's report and ``plan --json``
    after a report at ``small`` and ``large`` streams, all six in one loop: the goals' ratios
    with the machine's drift shared. The plan's ratio is the other way round (``small`` to
    ``large``): a small plan must be answered no slower than a large one."""
    small_repo, large_repo = scale_repo(small, False), scale_repo(large, False)
    a, b = user_path(small_repo), user_path(large_repo)
    figs = alternate({f"progress {small}": a["progress"], f"progress {large}": b["progress"],
                      f"hook {small}": a["hook"], f"hook {large}": b["hook"],
                      f"plan {small}": cold_plan(small_repo), f"plan {large}": cold_plan(large_repo)}, runs)
    print(f"\n{small} vs {large} streams in one loop:")
    out: dict[str, Any] = {}
    for what in ("progress", "hook"):
        print("  " + describe(figs, f"{what} {large}", f"{what} {small}", f"{what} at {large:,}", f"at {small:,}"))
        out[what] = figs.row(f"{what} {large}", f"{what} {small}")
    print("  " + describe(figs, f"plan {small}", f"plan {large}", f"plan --json after a report at {small:,}",
                          f"at {large:,}"))
    out["plan"] = figs.row(f"plan {small}", f"plan {large}")
    return out


def make_history(r: Path, commits: int) -> None:
    """``commits`` state commits of a lock on shared/f7.txt taken and released by s0001,
    made with the store's API, dated as they are made: state commits dated backwards, or
    whose lock's ``acquired`` is not their date, are suspect to the lock history
    (docs/lockproof.md), which is not the history this row measures."""
    from gitpar.core.locks import lock_file, new_lock, render_lock
    from gitpar.core.repo import open_repo
    from gitpar.store.state import Snapshot, StateStore

    repo = open_repo(r)
    store = StateStore(repo)
    snap = store.snapshot()
    tip = snap.commit
    path = "shared/f7.txt"
    for i in range(commits):
        if i % 2 == 0:
            changes: dict[str, str | None] = {lock_file(path): render_lock(
                new_lock(path, "s0001", "bench", 0.5, "history", ""))}
        else:
            changes = {lock_file(path): None}
        tip = store._commit(Snapshot(store.git, tip), changes, f"history {i}")
    assert tip is not None and store._swap(snap.commit, tip, "history")


def build_history(folder: Path, commits: int) -> None:
    env = bench_env()
    r = streams_repo(folder / "repo", 10, env)
    make_history(r, commits)
    w0 = worktree_of(r, "s0000")
    run(gitpar("lock", "shared/f0.txt"), w0, env)
    (w0 / "shared/f0.txt").write_text("changed under the lock\n")
    (w0 / "src/s0000/f.txt").write_text("changed\n")
    run(["git", "commit", "-qam", "work"], w0, env)
    run(gitpar("unlock", "shared/f0.txt"), w0, env)


def history_table(sizes: list[int], runs: int, fresh: bool) -> list[dict[str, Any]]:
    """``check --range`` at each history size, all sizes in one loop (the ratios to the
    smallest share the machine's drift): first run (caches deleted) and next (cache kept)."""
    env = bench_env()
    contenders: dict[str, Contender] = {}
    for commits in sizes:
        r = fixture(f"history-{commits}-dated", lambda f: build_history(f, commits), fresh=fresh) / "repo"  # noqa: B023
        cmd = gitpar("check", "--range", "main..gitpar/s0000")
        contenders[f"first {commits}"] = process(cmd, r, env, before=drop_caches(r))
        contenders[f"next {commits}"] = process(cmd, r, env)
    contenders["import pygit2"] = process(IMPORT_PYGIT2, ROOT, env)
    figs = alternate(contenders, runs)
    rows: list[dict[str, Any]] = []
    small = sizes[0]
    for commits in sizes:
        row = {"state_commits": commits, "first_ms": figs.ms(f"first {commits}"),
               "next_ms": figs.ms(f"next {commits}"), "import_pygit2_ms": figs.ms("import pygit2"),
               "first_ratio_to_smallest": round(figs.ratio(f"first {commits}", f"first {small}"), 2),
               "next_ratio_to_smallest": round(figs.ratio(f"next {commits}", f"next {small}"), 2)}
        rows.append(row)
        print(f"check --range at {commits} state commits: first run (no cache) {row['first_ms']} ms, "
              f"next {row['next_ms']} ms (median of {runs}, every size in one loop; import pygit2 "
              f"{row['import_pygit2_ms']} ms)")
    return rows


def goals(rows: list[dict[str, Any]], across: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, bool]:
    """PASS/FAIL for each of the issue's goals that these figures measure."""
    by_n = {row["streams"]: row for row in rows}
    out: dict[str, bool] = {}
    print()
    names = {"progress": "gitpar progress", "hook": "commit through the hook after another's report"}
    for what, figures in across.items():
        if what == "plan":  # a small plan answered no slower than a large one
            out["plan: 10 vs 1,000 streams"] = verdict("plan --json after a report, 10 streams vs 1,000 (one loop)",
                                                       figures["ratio"], 1.0)
            continue
        out[f"{what}: 1,000 vs 10 streams"] = verdict(f"{names[what]}, 1,000 streams vs 10 (one loop)",
                                                       figures["ratio"], 1.25)
    for n in (1000, 5000):
        if n in by_n:
            out[f"lock pair vs floor at {n}"] = verdict(f"lock+unlock in-process vs the floor at {n:,} streams",
                                                        by_n[n]["lock+unlock in-process"]["ratio"], 3.0)
    contended = [row for row in rows if "8 local contenders" in row]
    for row in contended:
        out[f"8 contenders at {row['streams']}"] = verdict(
            f"8 local contenders vs one writer at {row['streams']:,} streams",
            row["8 local contenders"]["share"] * 100, 70, "%", at_most=False)
    if 5000 in by_n:
        for name, limit in LIMITS_5000.items():
            figures = by_n[5000][name]
            out[f"{name} at 5000"] = verdict(f"{name} at 5,000 streams", figures["ms"] / 1000, limit, " s")
            if "cpu_ms" in figures:  # what a quiet machine's wall time comes near
                print(f"info  {name} at 5,000 streams: CPU time {figures['cpu_ms'] / 1000:.2f} s")
    if 5000 in by_n and COLD_PLAN in by_n[5000]:
        print(f"info  plan --json at 5,000 streams right after a progress report"
              f": {by_n[5000][COLD_PLAN]['ms'] / 1000:.2f} s")
    sizes = {row["state_commits"]: row for row in history}
    if 1000 in sizes and 100_000 in sizes:
        out["check --range 100k vs 1k"] = verdict("check --range, 100,000 state commits vs 1,000 (cache kept)",
                                                  sizes[100_000]["next_ratio_to_smallest"], 1.2)
        print(f"info  check --range, first run (no cache), 100,000 vs 1,000: "
              f"{sizes[100_000]['first_ratio_to_smallest']:.2f}x")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,1000,5000", help="numbers of streams, comma-separated")
    ap.add_argument("--history", default="1000,10000,100000", help="state commits, comma-separated")
    ap.add_argument("--runs", type=int, default=7, help="counted rounds per row")
    ap.add_argument("--quick", action="store_true", help="3 rounds, 1 s windows of contention")
    ap.add_argument("--fresh", action="store_true", help="make the kept repositories again")
    add_smoke(ap)
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    if args.smoke:
        runs, args.sizes, args.history, args.quick = 1, "10", "40", True
    contend_s = 1.0 if args.quick else 2.0
    sizes = [int(x) for x in args.sizes.split(",") if x]
    hist = [int(x) for x in args.history.split(",") if x]
    with tempfile.TemporaryDirectory() as d, hermetic(Path(d) / "home"):
        rows = [n_row(n, runs, contend_s, args.fresh, Path(d)) for n in sizes]
        across = across_n(10, 1000, runs) if 10 in sizes and 1000 in sizes else {}
        print()
        history = history_table(hist, runs, args.fresh) if hist else []
    print("\nstreams  " + "  |  ".join(k for k in (rows[0] if rows else {}) if k != "streams"))
    for row in rows:
        cells = []
        for k, v in row.items():
            if k == "streams":
                continue
            if "ratio" in v:
                cells.append(f"{v['ms']:.0f} ms ({v['ratio']}x)")
            else:
                cells.append(f"{v['changes_per_s']:.0f}/s vs {v['one_writer_per_s']:.0f}/s ({v['share']:.0%})")
        print(f"{row['streams']:>7}  " + "  |  ".join(cells))
    for row in history:
        print(f"check --range at {row['state_commits']:>7} state commits: first {row['first_ms']} ms "
              f"({row['first_ratio_to_smallest']}x), next {row['next_ms']} ms ({row['next_ratio_to_smallest']}x "
              "the smallest)")
    verdicts = goals(rows, across, history)
    emit({"bench": "scale", "runs": runs, "load": os.getloadavg()[0], "streams": rows,
          "10_vs_1000_streams": across, "history": history, "goals": verdicts, "smoke": args.smoke,
          "same_work": True})
    return 0 if all(verdicts.values()) or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
