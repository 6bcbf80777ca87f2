"""8 processes race to lock and unlock 4 contested paths, 200 rounds each.

Each process is its own stream; while holding a path it writes `enter`/`leave` markers to
a file of that path, so two holders at once would interleave them. Checks zero double
grants, and reports throughput (lock + unlock pairs per second). Anchor, in the same run:
the same race on a local OS file lock (filelock) — no audit log, one machine only — to
show what gitpar's compare-and-swap commits on gitpar/_state cost.

    python bench/bench_locks.py [--procs 8] [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PATHS = ["shared/a.txt", "shared/b.txt", "shared/c.txt", "shared/d.txt"]

GITPAR_RACER = """
import os, sys, time
from gitpar.cli.output import err
from gitpar.core import locks
from gitpar.core.repo import open_repo
me, rounds, markers = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
paths = PATHS_LITERAL
repo = open_repo()
for i in range(rounds):
    path = paths[(i + me) % len(paths)]
    while True:
        try:
            locks.lock(repo, f"s{me}", [path], ttl=3600)
            break
        except locks.Contended:
            time.sleep(0.001)
    with open(os.path.join(markers, path.replace("/", "_")), "a") as f:
        f.write(f"enter {me} {i}\\n"); f.flush(); f.write(f"leave {me} {i}\\n")
    locks.unlock(repo, f"s{me}", [path])
""".replace("PATHS_LITERAL", repr(PATHS))

FILELOCK_RACER = """
import os, sys
from filelock import FileLock
me, rounds, markers = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
paths = PATHS_LITERAL
for i in range(rounds):
    path = paths[(i + me) % len(paths)]
    with FileLock(os.path.join(markers, path.replace("/", "_") + ".lock")):
        with open(os.path.join(markers, path.replace("/", "_")), "a") as f:
            f.write(f"enter {me} {i}\\n"); f.flush(); f.write(f"leave {me} {i}\\n")
""".replace("PATHS_LITERAL", repr(PATHS))


def race(code: str, cwd: Path, procs: int, rounds: int, markers: Path) -> float:
    markers.mkdir()
    t = time.perf_counter()
    ps = [subprocess.Popen([sys.executable, "-c", code, str(w), str(rounds), str(markers)], cwd=cwd,
                           stderr=subprocess.PIPE, text=True) for w in range(procs)]
    for p in ps:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a racer failed: {err[-800:]}")
    elapsed = time.perf_counter() - t
    grants = 0
    for f in markers.iterdir():
        if f.name.endswith(".lock"):
            continue
        lines = f.read_text().splitlines()
        for enter, leave in zip(lines[::2], lines[1::2], strict=True):
            if not (enter.startswith("enter") and leave == "leave" + enter[len("enter"):]):
                raise SystemExit(f"DOUBLE GRANT on {f.name}: {enter!r} then {leave!r}")
            grants += 1
    if grants != procs * rounds:
        raise SystemExit(f"{grants} grants recorded, expected {procs * rounds}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    env_ids = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    os.environ.update({k: v for k, v in env_ids.items() if k not in os.environ})
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-locks-"))
    try:
        repo = tmp / "r"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "shared").mkdir()
        for p in PATHS:
            (repo / p).write_text("x\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True)
        gitpar = [sys.executable, "-m", "gitpar"]
        subprocess.run([*gitpar, "init", "--no-hooks"], cwd=repo, check=True, capture_output=True)
        for w in range(args.procs):
            subprocess.run([*gitpar, "stream", "add", f"s{w}", "--shares", "shared/**"], cwd=repo,
                           check=True, capture_output=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True)
        for w in range(args.procs):
            subprocess.run([*gitpar, "start", f"s{w}"], cwd=repo, check=True, capture_output=True)
        before = int(subprocess.run(["git", "rev-list", "--count", "gitpar/_state"], cwd=repo,
                                    capture_output=True, text=True).stdout)
        g = race(GITPAR_RACER, repo, args.procs, args.rounds, tmp / "gitpar-markers")
        commits = int(subprocess.run(["git", "rev-list", "--count", "gitpar/_state"], cwd=repo,
                                     capture_output=True, text=True).stdout) - before
        f = race(FILELOCK_RACER, repo, args.procs, args.rounds, tmp / "filelock-markers")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pairs = args.procs * args.rounds
    print(f"{args.procs} processes x {args.rounds} rounds on {len(PATHS)} paths: zero double grants")
    print(f"gitpar:   {pairs / g:7.1f} lock+unlock pairs/s ({g:.1f}s; {commits} state commits, the audit log)")
    print(f"filelock: {pairs / f:7.1f} pairs/s ({f:.1f}s; local only, no record)")
    print(f"ratio filelock/gitpar: {g / f:.1f}x")
    print(json.dumps({"bench": "locks", "procs": args.procs, "rounds": args.rounds, "double_grants": 0,
                      "gitpar_pairs_per_s": round(pairs / g, 1), "filelock_pairs_per_s": round(pairs / f, 1),
                      "state_commits": commits}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
