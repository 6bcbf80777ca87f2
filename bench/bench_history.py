"""Costs against the length of the state history: ``check --range`` and ``report --html``
at 1,000 and 100,000 state commits (issue 28: "costs bounded by new work, not by history").

Each repository (10 streams, s0000 and s0001 started) gets its history with one
``git fast-import``: state commits that take and release s0001's lock on shared/f7.txt,
every tenth one also s0001's progress report, dated in order within the minute after the
state branch's tip (a lock's ``acquired`` is its commit's date: no commit is suspect, the
bench checks that). Then s0000 does new work through gitpar: locks shared/f0.txt, changes it
and its own file, commits, unlocks.

Alternated in one loop after a warm-up round (benchlib.alternate), medians, whole
processes, every size in the same loop so the ratios share the machine's drift:
  first check    ``check --range main..gitpar/s0000`` with gitpar's caches deleted
  next check     the same with the caches kept (the lock-history index extended)
  first report   ``report --html PAGE`` with the caches deleted
  next report    the same, caches kept
Goal: each at the largest history <= 1.5x its cost at the smallest. The check must pass
(the change was made under the lock) and the page must name every stream: the same work at
every size.

    python bench/bench_history.py [--history 1000,100000] [--runs 5] [--fresh] [--smoke]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import (  # noqa: E402
    SameWork,
    add_smoke,
    alternate,
    bench_env,
    drop_caches,
    emit,
    fixture,
    gitpar_command,
    process,
    run,
    streams_repo,
    verdict,
    worktree_of,
)

LIMIT = 1.5
STATE = "refs/heads/gitpar/_state"
LOCKED = "shared/f7.txt"


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fast_history(repo: Path, commits: int, env: dict[str, str]) -> None:
    """``commits`` state commits on top of the state branch, through one ``git fast-import``."""
    from gitpar.core.locks import Lock, lock_file, render_lock

    tip = subprocess.run(["git", "rev-parse", STATE], cwd=repo, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    progress = subprocess.run(["git", "show", f"{STATE}:progress/s0001.md"], cwd=repo, env=env,
                              capture_output=True, text=True, check=True).stdout
    assert "completion: 0" in progress, progress
    # after the tip (a state commit dated before its parent is suspect), and not in the future
    start = int(subprocess.run(["git", "log", "-1", "--format=%ct", STATE], cwd=repo, env=env, capture_output=True,
                               text=True, check=True).stdout) + 1
    out: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    for i in range(commits):
        when = start + i * 60 // commits
        out.append(f"commit {STATE}\ncommitter bench <bench@example.com> {when} +0000\n".encode())
        data(f"history {i}")
        if i == 0:
            out.append(f"from {tip}\n".encode())
        if i % 2 == 0:
            lock = Lock(path=LOCKED, stream="s0001", agent="bench", acquired=_iso(when), expires=_iso(when + 3600),
                        reason="history", host="bench", pid=1)
            out.append(f"M 100644 inline {lock_file(LOCKED)}\n".encode())
            data(render_lock(lock))
        else:
            out.append(f"D {lock_file(LOCKED)}\n".encode())
        if i % 10 == 5:
            out.append(b"M 100644 inline progress/s0001.md\n")
            data(progress.replace("completion: 0", f"completion: {i * 7 % 100}"))
        out.append(b"\n")
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=repo, env=env, input=b"".join(out), check=True)


def build(folder: Path, commits: int) -> None:
    env = bench_env()
    r = streams_repo(folder / "repo", 10, env)
    fast_history(r, commits, env)
    w0 = worktree_of(r, "s0000")
    gitpar = gitpar_command()
    run([*gitpar, "lock", "shared/f0.txt"], w0, env)
    (w0 / "shared/f0.txt").write_text("changed under the lock\n")
    (w0 / "src/s0000/f.txt").write_text("changed\n")
    run(["git", "commit", "-qam", "work"], w0, env)
    run([*gitpar, "unlock", "shared/f0.txt"], w0, env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", default="1000,100000", help="state commits, comma-separated (the first is the anchor)")
    ap.add_argument("--runs", type=int, default=5, help="counted rounds")
    ap.add_argument("--fresh", action="store_true", help="make the kept repositories again")
    add_smoke(ap)
    args = ap.parse_args()
    if args.smoke:
        args.history, args.runs = "20,200", 1
    sizes = [int(x) for x in args.history.split(",") if x]
    env = bench_env()
    work = SameWork()
    contenders = {}
    repos = {}
    for commits in sizes:
        r = repos[commits] = fixture(f"history-in-order-{commits}", lambda f: build(f, commits), fresh=args.fresh) / "repo"  # noqa: B023
        check = [*gitpar_command(), "check", "--range", "main..gitpar/s0000"]
        page = r.parent / "report.html"
        report = [*gitpar_command(), "report", "--html", str(page)]
        contenders[f"first check {commits}"] = process(check, r, env, before=drop_caches(r))
        contenders[f"next check {commits}"] = process(check, r, env)
        contenders[f"first report {commits}"] = process(report, r, env, before=drop_caches(r))
        contenders[f"next report {commits}"] = process(report, r, env)
        res = subprocess.run(check, cwd=r, env=env, capture_output=True, text=True)
        work.expect(f"check --range passes at {commits} state commits (the change was made under the lock)",
                    res.returncode == 0, res.stdout[-300:] + res.stderr[-300:])
        res = subprocess.run([*gitpar_command(), "doctor"], cwd=r, env=env, capture_output=True, text=True)
        work.expect(f"no suspect state commit at {commits} state commits", "suspect" not in res.stdout + res.stderr,
                    res.stdout[-300:])
        res = subprocess.run(report, cwd=r, env=env, capture_output=True, text=True)
        text = page.read_text() if page.exists() else ""
        work.check(f"streams named on the page at {commits} state commits",
                   [f"s{i:04d}" for i in range(10) if f"s{i:04d}" in text], [f"s{i:04d}" for i in range(10)])
    figs = alternate(contenders, args.runs, warmup=0 if args.smoke else 1)
    load = round(os.getloadavg()[0], 1)
    small, large = sizes[0], sizes[-1]
    rows, ok = [], True
    print(f"state history {small:,} vs {large:,} commits (median of {args.runs}, alternated, load {load}):")
    for what in ("first check", "next check", "first report", "next report"):
        row = {"what": what, **{f"ms_{n}": figs.ms(f"{what} {n}") for n in sizes},
               "ratio": round(figs.ratio(f"{what} {large}", f"{what} {small}"), 2)}
        rows.append(row)
        print(f"  {what}: " + ", ".join(f"{figs.ms(f'{what} {n}')} ms at {n:,}" for n in sizes)
              + f" -> {row['ratio']}x")
        if not args.smoke:
            ok &= verdict(f"{what} at {large:,} vs {small:,} state commits", row["ratio"], LIMIT, "x")
    emit({"bench": "history", "sizes": sizes, "runs": args.runs, "load": load, "rows": rows,
          "smoke": args.smoke, **work.record()})
    return 0 if work.ok and (ok or args.smoke) else 1


if __name__ == "__main__":
    sys.exit(main())
