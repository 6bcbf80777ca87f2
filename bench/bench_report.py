"""`gitpar report --html` on 500 streams, 250 started, 200 progress commits, against git reading the same data.

Builds the repository as bench_status.py does, adds progress updates (each one a commit
on the state branch, which the report's timeline walks), then, alternated in one loop
after a warm-up round (benchlib.alternate), median of each, whole processes:
  report    `gitpar report --html PAGE`
  plumbing  what the report reads, by git alone: the plan (.gitpar/ on main) and the state
            files through one `git cat-file --batch`, and the state branch's history with
            the files each commit changed (`git log --name-only gitpar/_state`)
The page must name every stream of the plan (the same work the plumbing read).

    python bench/bench_report.py [--streams 500] [--started 250] [--updates 200] [--runs 5] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_status import PLUMBING, build  # noqa: E402
from benchlib import (  # noqa: E402
    SameWork,
    add_smoke,
    alternate,
    bench_env,
    describe,
    emit,
    gitpar_command,
    process,
)

HISTORY = "git log --name-only --format=%H%x00%ct%x00%s gitpar/_state >/dev/null"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--started", type=int, default=250)
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    add_smoke(ap)
    args = ap.parse_args()
    if args.smoke:
        args.streams, args.started, args.updates, args.runs = 8, 4, 6, 1
    env = bench_env()
    os.environ.update({k: v for k, v in env.items() if k.startswith("GIT_")})
    from gitpar.core import streams
    from gitpar.core.progress import ProgressUpdate
    from gitpar.core.repo import open_repo

    work = SameWork()
    with tempfile.TemporaryDirectory() as tmp:
        repo_dir = build(Path(tmp), args.streams, args.started)
        repo = open_repo(repo_dir)
        for k in range(args.updates):
            streams.report(repo, f"s{k % args.started}", ProgressUpdate(completion=(k * 3) % 100))
        page = Path(tmp) / "report.html"
        figures = alternate({
            "report": process([*gitpar_command(), "report", "--html", str(page)], repo_dir, env),
            "plumbing": process(["sh", "-c", f"{PLUMBING} && {HISTORY}"], repo_dir, env),
        }, args.runs, warmup=0 if args.smoke else 1)
        size = page.stat().st_size
        text = page.read_text()
        work.check("streams named on the page (report vs the plan)",
                   [f"s{i}" for i in range(args.streams) if f"s{i}" in text],
                   [f"s{i}" for i in range(args.streams)])
    print(f"{args.streams} streams, {args.started} started, {args.updates} progress commits "
          f"(load {os.getloadavg()[0]:.1f}):")
    print("  " + describe(figures, "report", "plumbing", f"gitpar report --html ({size / 1e6:.1f} MB page)",
                          "git plumbing reading the plan, the state and its history"))
    emit({"bench": "report", "streams": args.streams, "started": args.started, "updates": args.updates,
          "runs": args.runs, "load": round(os.getloadavg()[0], 1), **figures.row("report", "plumbing"),
          "page_bytes": size, "smoke": args.smoke, **work.record()})
    return 0 if work.ok else 1


if __name__ == "__main__":
    sys.exit(main())
