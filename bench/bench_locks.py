"""Lock+unlock pairs against their floor, and 8 processes racing for 4 locks.

The rows, at N = 10 and 1,000 streams (the repository of bench_scale.py, kept under the
temp dir), in turn in one loop after a warm-up round, median of each:
  cli          `gitpar lock shared/f0.txt` then `gitpar unlock shared/f0.txt`, two whole
               processes: what an agent's shell pays, with everything the CLI writes
  in-process   `core.locks.lock` then `core.locks.unlock` (a fresh `open_repo` each)
  floor        two bare pygit2 changes of the same size in this process: blob + trees +
               commit + reference-transaction compare-and-swap, adding then deleting a
               file the size of the lock file at the lock's path
  floor procs  the floor as two processes (`python -c` importing pygit2, one change each):
               the CLI's anchor
Then the race: each of 8 processes is its own stream; while holding a path it writes
`enter`/`leave` markers to a file of that path, so two holders at once would interleave
them. Checks zero double grants and reports throughput (lock + unlock pairs a second)
against the same race on a local OS file lock (filelock): no audit log, one machine only.

    python bench/bench_locks.py [--sizes 10,1000] [--runs 15] [--procs 8] [--rounds 200] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    add_smoke,
    alternate,
    bench_env,
    both,
    call,
    describe,
    emit,
    fixture,
    floor_pair,
    gitpar_command,
    process,
    reset_state,
    streams_repo,
    verdict,
    worktree_of,
)

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


FLOOR_CHANGE = """
import sys, time
import pygit2
git_dir, ref, path, text = sys.argv[1:5]
git = pygit2.Repository(git_dir)
sig = pygit2.Signature("bench", "b@example.com")
def put(tree, names, blob):
    builder = git.TreeBuilder(tree) if tree is not None else git.TreeBuilder()
    if len(names) == 1:
        if blob is None:
            if tree is not None and names[0] in tree:
                builder.remove(names[0])
        else:
            builder.insert(names[0], blob, pygit2.enums.FileMode.BLOB)
    else:
        sub = tree[names[0]] if tree is not None and names[0] in tree else None
        builder.insert(names[0], put(sub, names[1:], blob), pygit2.enums.FileMode.TREE)
    return builder.write()
old = git.references[ref].target
blob = git.create_blob(f"{text}{time.time()}".encode()) if text else None
new = git.create_commit(None, sig, sig, "floor", put(git[old].peel(pygit2.Tree), path.split("/"), blob), [old])
with git.transaction() as txn:
    txn.lock_ref(ref)
    assert git.references[ref].target == old
    txn.set_target(ref, new, message="floor")
"""

SHARED = "shared/f0.txt"


def pair_rows(n: int, runs: int, warmup: int = 1) -> dict[str, object]:
    """The CLI, in-process and floor pairs at ``n`` streams, alternated."""
    from gitpar.core import locks
    from gitpar.core.repo import open_repo

    env = bench_env()

    def build(folder: Path) -> None:
        streams_repo(folder / "repo", n, env)
    repo = fixture(f"scale-n{n}", build) / "repo"
    reset_state(repo)
    wt = worktree_of(repo, "s0000")
    gitpar = gitpar_command()
    text = locks.render_lock(locks.new_lock(SHARED, "s0000", "bench", 3600, "", str(wt)))
    lock_file = locks.lock_file(SHARED)
    floor = floor_pair(repo / ".git", lock_file, text)
    floor_ref = "refs/bench/floor"

    def in_process() -> None:
        locks.lock(open_repo(wt), "s0000", [SHARED], ttl=3600)
        locks.unlock(open_repo(wt), "s0000", [SHARED])
    lock_cli = process([*gitpar, "lock", SHARED], wt, env)
    unlock_cli = process([*gitpar, "unlock", SHARED], wt, env)
    add = process([sys.executable, "-c", FLOOR_CHANGE, str(repo / ".git"), floor_ref, lock_file, text], wt, env)
    delete = process([sys.executable, "-c", FLOOR_CHANGE, str(repo / ".git"), floor_ref, lock_file, ""], wt, env)
    figures = alternate({"cli": both(lock_cli, unlock_cli), "in-process": call(in_process),
                         "floor": call(floor), "floor procs": both(add, delete)}, runs, warmup=warmup)
    print(f"{n} streams:")
    print("  " + describe(figures, "cli", "floor procs", "gitpar lock + gitpar unlock (two processes)",
                          "the floor as two processes"))
    print("  " + describe(figures, "in-process", "floor", "lock+unlock in-process", "the pygit2 floor"))
    print(f"  the CLI pair is {figures.ratio('cli', 'floor'):.0f}x the in-process floor")
    return {"streams": n, "cli": figures.row("cli", "floor procs"),
            "cli_vs_floor": round(figures.ratio("cli", "floor"), 1),
            "in_process": figures.row("in-process", "floor")}


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
    ap.add_argument("--sizes", default="10,1000", help="numbers of streams for the pair rows")
    ap.add_argument("--runs", type=int, default=15, help="counted rounds of the pair rows")
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="5 rounds, a race of 50 rounds")
    add_smoke(ap)
    args = ap.parse_args()
    if args.quick:
        args.runs, args.rounds = 5, 50
    if args.smoke:  # the race checks the work: every grant recorded, none doubled
        args.sizes, args.runs, args.procs, args.rounds = "10", 1, 2, 3
    os.environ.update({k: v for k, v in bench_env().items() if k.startswith("GIT_")})
    rows = [pair_rows(int(n), args.runs, 0 if args.smoke else 1) for n in args.sizes.split(",") if n]
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
    print(f"race: {args.procs} processes x {args.rounds} rounds on {len(PATHS)} paths: zero double grants")
    print(f"  gitpar:   {pairs / g:7.1f} lock+unlock pairs/s ({g:.1f}s; {commits} state commits, the audit log)")
    print(f"  filelock: {pairs / f:7.1f} pairs/s ({f:.1f}s; local only, no record)")
    print(f"  ratio filelock/gitpar: {g / f:.1f}x")
    ok = True
    for row in rows:
        if row["streams"] in (1000, 5000):
            ratio = row["in_process"]["ratio"]  # type: ignore[index]
            ok = verdict(f"lock+unlock in-process vs the floor at {row['streams']:,} streams", ratio, 3.0) and ok
    emit({"bench": "locks", "runs": args.runs, "pairs": rows, "race": {
        "procs": args.procs, "rounds": args.rounds, "double_grants": 0,
        "gitpar_pairs_per_s": round(pairs / g, 1), "filelock_pairs_per_s": round(pairs / f, 1),
        "state_commits": commits}, "smoke": args.smoke, "same_work": True})
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
