"""Lock+unlock through a real remote, against the bare git round trip it is built from.

For each transport (git daemon on 127.0.0.1, smart HTTP through git http-backend behind
nginx + fcgiwrap, and file://), one loop alternates:

- gitpar: a lock+unlock pair on a shared file, in-process (two state changes, each a
  fetch of the state ref, a commit, and a push with --force-with-lease);
- the anchor: two bare round trips — ``git fetch`` of the state ref then ``git push
  --force-with-lease`` of a one-file commit on it, twice.

Both take the median of the same number of runs. Then throughput under contention:
8 contenders in 4 clones (2 processes each, each on its own shared file, so they contend
for the ref only) for a few seconds, against the serial push loop's ceiling (one writer
doing fetch+commit+push back to back). Goals: pair ≤ 2.5× two bare round trips; the
contenders sustain ≥ 60% of the serial ceiling.

    python bench/bench_remote.py [--runs 15] [--seconds 8] [--transports daemon,http,file]
    python bench/bench_remote.py --race [--rounds 30]   # 6 clones x 3 processes x 2 paths
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import add_smoke  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test servers live with the tests, not in the package

from servers import available, serve  # noqa: E402

from gitpar.testing import hermetic  # noqa: E402

STATE = "refs/heads/gitpar/_state"


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, input=input)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def gitpar(cwd: Path, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "gitpar", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"gitpar {' '.join(args)} failed: {proc.stderr}")


def setup(tmp: Path, url: str, streams: int) -> Path:
    a = tmp / "alice"
    a.mkdir()
    git(a, "init", "-q", "-b", "main")
    (a / "shared").mkdir()
    for i in range(streams):
        (a / "shared" / f"f{i}.txt").write_text("0\n")
        (a / "src" / f"s{i}").mkdir(parents=True)
        (a / "src" / f"s{i}" / "f").write_text("x\n")
    git(a, "add", "-A")
    git(a, "commit", "-qm", "init")
    git(a, "remote", "add", "origin", url)
    gitpar(a, "init", "--remote", "origin", "--no-hooks")
    for i in range(streams):
        (a / ".gitpar" / "streams" / f"s{i}.md").write_text(
            f'---\nowns: ["src/s{i}/**"]\nshares: ["shared/**"]\n---\n')
    git(a, "add", "-A")
    git(a, "commit", "-qm", "plan")
    git(a, "push", "-q", "origin", "main")
    return a


def clone(tmp: Path, url: str, name: str, streams: list[str]) -> list[Path]:
    d = tmp / name
    git(tmp, "clone", "-q", url, str(d))
    gitpar(d, "init", "--no-hooks")
    out = []
    for s in streams:
        gitpar(d, "start", s)
        for line in git(d, "worktree", "list", "--porcelain").splitlines():
            if line.startswith("worktree "):
                where = line[len("worktree "):]
            if line == f"branch refs/heads/gitpar/{s}":
                out.append(Path(where))
    return out


def anchor_change(a: Path, i: int) -> None:
    """One bare round trip: fetch the state ref, change one file of its tree, push with the lease."""
    git(a, "fetch", "-q", "--no-tags", "origin", f"+{STATE}:refs/remotes/origin/gitpar/_state")
    old = git(a, "rev-parse", "refs/remotes/origin/gitpar/_state")
    blob = git(a, "hash-object", "-w", "--stdin", input=f"{time.time()} {i}\n")
    entries = [line for line in git(a, "ls-tree", old).splitlines() if not line.endswith("\tanchor.txt")]
    tree = git(a, "mktree", input="\n".join([*entries, f"100644 blob {blob}\tanchor.txt"]) + "\n")
    new = git(a, "commit-tree", tree, "-p", old, "-m", "anchor")
    git(a, "push", "-q", f"--force-with-lease={STATE}:{old}", "origin", f"{new}:{STATE}")


def anchor_pair(a: Path) -> float:
    """Two bare round trips (what a lock+unlock pair must do at the least), timed."""
    t0 = time.perf_counter()
    anchor_change(a, 0)
    anchor_change(a, 1)
    return time.perf_counter() - t0


def gitpar_pair(wt: Path, path: str) -> float:
    from gitpar.core import locks
    from gitpar.core.repo import open_repo

    t0 = time.perf_counter()
    repo = open_repo(wt)
    locks.lock(repo, repo.current_stream() or "", [path], ttl=600)
    locks.unlock(open_repo(wt), repo.current_stream() or "", [path])
    return time.perf_counter() - t0


CONTENDER = textwrap.dedent("""
    import sys, time
    from gitpar.core import locks
    from gitpar.core.repo import open_repo
    wt, path, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    stream = open_repo(wt).current_stream()
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        locks.lock(open_repo(wt), stream, [path], ttl=600)
        locks.unlock(open_repo(wt), stream, [path])
        n += 2
    open(out, "w").write(str(n))
""")


def contention(tmp: Path, url: str, seconds: float) -> tuple[float, float]:
    """(changes/s of 8 contenders in 4 clones, changes/s of one serial writer)."""
    worktrees = []
    for c in range(4):
        worktrees += clone(tmp, url, f"c{c}", [f"s{2 * c}", f"s{2 * c + 1}"])
    # the serial ceiling: one writer, fetch + commit + push back to back, for the same time
    a = tmp / "alice"
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        anchor_change(a, n)
        n += 1
    ceiling = n / seconds
    outs = [tmp / f"n{i}" for i in range(len(worktrees))]
    procs = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(wt), f"shared/f{i}.txt", str(seconds), str(out)])
             for i, (wt, out) in enumerate(zip(worktrees, outs, strict=True))]
    for p in procs:
        p.wait()
    done = sum(int(o.read_text()) for o in outs)
    return done / seconds, ceiling


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--transports", default="daemon,http,file")
    ap.add_argument("--race", action="store_true", help="the 6 clones x 3 processes x 2 paths race")
    ap.add_argument("--rounds", type=int, default=30)
    add_smoke(ap)
    args = ap.parse_args()
    if args.smoke:
        args.runs, args.seconds, args.transports = 1, 1.0, "file"
    if args.race:
        race(args.rounds)
        return
    results = []
    for transport in args.transports.split(","):
        if not available(transport):
            print(f"{transport}: not available here, skipped")
            continue
        with tempfile.TemporaryDirectory() as d, hermetic(Path(d) / "home"):
            tmp = Path(d)
            with serve(transport, tmp / "server") as url:
                setup(tmp, url, 9)
                [wt] = clone(tmp, url, "m", ["s8"])
                a = tmp / "alice"
                gitpar_pair(wt, "shared/f8.txt")  # warm: first fetch, caches
                ours, anchor = [], []
                for _ in range(args.runs):
                    ours.append(gitpar_pair(wt, "shared/f8.txt"))
                    anchor.append(anchor_pair(a))
                    git(wt, "fetch", "-q", "origin")  # both start from a current clone
                g, b = statistics.median(ours), statistics.median(anchor)
                rate, ceiling = contention(tmp, url, args.seconds)
                row = {"transport": transport, "pair_ms": round(g * 1000, 1),
                       "two_round_trips_ms": round(b * 1000, 1), "ratio": round(g / b, 2),
                       "contended_changes_per_s": round(rate, 1), "serial_ceiling_per_s": round(ceiling, 1),
                       "share_of_ceiling": round(rate / ceiling, 2)}
                results.append(row)
                print(f"{transport:7s} lock+unlock {row['pair_ms']:7.1f} ms  vs two bare round trips "
                      f"{row['two_round_trips_ms']:7.1f} ms  ratio {row['ratio']:.2f} (goal <= 2.5) | "
                      f"8 contenders in 4 clones {rate:5.1f} changes/s = {rate / ceiling:.0%} of the serial "
                      f"ceiling {ceiling:.1f}/s (goal >= 60%)")
    print(json.dumps({"bench": "remote", "runs": args.runs, "results": results, "smoke": args.smoke,
                      "same_work": True}))


def race(rounds: int) -> None:
    """6 clones x 3 processes x 2 contested paths x ``rounds`` (tests/test_remote.py's race)."""
    os.environ["GITPAR_RACE_ROUNDS"] = str(rounds)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "test_remote.py"), "-k", "race_across_clones"], cwd=ROOT)
    elapsed = time.perf_counter() - t0
    grants = 6 * 3 * rounds
    print(f"race: 6 clones x 3 processes x 2 paths x {rounds} rounds = {grants} grants, "
          f"{'0 double grants' if proc.returncode == 0 else 'FAILED'}, {elapsed:.0f} s")
    print(json.dumps({"bench": "remote-race", "rounds": rounds, "grants": grants,
                      "ok": proc.returncode == 0, "seconds": round(elapsed, 1)}))
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
