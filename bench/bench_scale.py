"""Costs against the number of streams (N) and the length of the state history.

The N-table, at N = 10, 1,000 and 5,000 streams (two of them started), each row
alternating gitpar and its anchor in one loop, median of each:

- read commands, whole process (``status --json``, ``plan --json``, ``who``,
  ``check --staged``) against ``python -c "import pygit2"`` — the least a process that
  reads a repository pays;
- ``gitpar progress`` (whole process), against the same anchor;
- a commit through the hook right after another stream's progress report (the hook's
  cache must survive it), against the same commit with no hooks;
- a lock+unlock pair in-process, one writer, against the floor: two bare pygit2
  changes (blob + tree + commit + reference-transaction compare-and-swap each);
- 8 local contenders (lock+unlock of their own files) against one writer: throughput.

The history table: ``gitpar check --range`` of a stream's branch at 1,000 / 10,000 /
100,000 state commits (the history generated with the store's API), first run (the lock
index built) and the next ones (extended), median.

    python bench/bench_scale.py [--sizes 10,1000,5000] [--history 1000,10000,100000] [--runs 5]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gitpar.testing import hermetic  # noqa: E402

PY = sys.executable


def sh(cmd: list[str], cwd: Path, check: bool = True) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}: {proc.stderr[-500:]}")
    return elapsed


def gitpar(*args: str) -> list[str]:
    return [PY, "-m", "gitpar", *args]


def worktree(repo: Path, stream: str) -> Path:
    out = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=repo, capture_output=True,
                         text=True).stdout
    where = ""
    for line in out.splitlines():
        if line.startswith("worktree "):
            where = line[len("worktree "):]
        if line == f"branch refs/heads/gitpar/{stream}":
            return Path(where)
    raise SystemExit(f"no worktree for {stream}")


def setup(root: Path, n: int) -> Path:
    r = root / f"n{n}"
    r.mkdir()
    sh(["git", "init", "-q", "-b", "main"], r)
    for i in range(n):
        d = r / "src" / f"s{i:04d}"
        d.mkdir(parents=True)
        (d / "f.txt").write_text("x\n")
    (r / "shared").mkdir()
    for i in range(8):
        (r / "shared" / f"f{i}.txt").write_text("0\n")
    sh(["git", "add", "-A"], r)
    sh(["git", "commit", "-qm", "init"], r)
    sh(gitpar("init"), r)
    streams = r / ".gitpar" / "streams"
    for i in range(n):
        (streams / f"s{i:04d}.md").write_text(
            f'---\nowns: ["src/s{i:04d}/**"]\nshares: ["shared/**"]\nestimate: 1h\n---\nwork on s{i:04d}\n')
    sh(["git", "add", "-A"], r)
    sh(["git", "commit", "-qm", "plan"], r)
    for s in ("s0000", "s0001"):
        sh(gitpar("start", s), r)
    return r


def alternate(runs: int, ours: list[str], anchor: list[str], cwd: Path) -> tuple[float, float]:
    a, b = [], []
    for _ in range(runs):
        a.append(sh(ours, cwd))
        b.append(sh(anchor, cwd))
    return statistics.median(a), statistics.median(b)


PAIR = textwrap.dedent("""
    import sys, time, statistics
    from gitpar.core import locks
    from gitpar.core.repo import open_repo
    wt, runs = sys.argv[1], int(sys.argv[2])
    import pygit2
    repo = open_repo(wt); stream = repo.current_stream()
    def pair():
        t0 = time.perf_counter()
        locks.lock(open_repo(wt), stream, ["shared/f0.txt"], ttl=600)
        locks.unlock(open_repo(wt), stream, ["shared/f0.txt"])
        return time.perf_counter() - t0
    def floor():
        # two bare changes: blob + tree + commit + compare-and-swap of a scratch ref
        g = pygit2.Repository(repo.common_dir)
        t0 = time.perf_counter()
        for i in range(2):
            ref = g.references.get("refs/bench/floor")
            old = ref.target if ref is not None else None
            base = g[old].tree if old is not None else g[g.references["refs/heads/gitpar/_state"].target].tree
            b = g.TreeBuilder(base)
            b.insert("floor.txt", g.create_blob(f"{time.time()} {i}".encode()), pygit2.GIT_FILEMODE_BLOB)
            sig = pygit2.Signature("b", "b@e")
            new = g.create_commit(None, sig, sig, "floor", b.write(), [old] if old else [])
            with g.transaction() as txn:
                txn.lock_ref("refs/bench/floor")
                txn.set_target("refs/bench/floor", new, message="floor")
        return time.perf_counter() - t0
    pair(); floor()
    ours, base = [], []
    for _ in range(runs):
        ours.append(pair()); base.append(floor())
    print(statistics.median(ours), statistics.median(base))
""")

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


def throughput(wt: Path, tmp: Path, procs: int, seconds: float) -> float:
    outs = [tmp / f"tp{procs}-{i}" for i in range(procs)]
    ps = [subprocess.Popen([PY, "-c", CONTENDER, str(wt), f"shared/f{i}.txt", str(seconds), str(o)])
          for i, o in enumerate(outs)]
    for p in ps:
        p.wait()
    return sum(int(o.read_text()) for o in outs) / seconds


def n_table(root: Path, sizes: list[int], runs: int) -> list[dict[str, object]]:
    rows = []
    anchor = [PY, "-c", "import pygit2"]
    for n in sizes:
        r = setup(root, n)
        w0, w1 = worktree(r, "s0000"), worktree(r, "s0001")
        row: dict[str, object] = {"streams": n}
        for name, cmd, cwd in (("status --json", gitpar("status", "--json", "--offline"), r),
                               ("plan --json", gitpar("plan", "--json"), r),
                               ("who", gitpar("who", "src/s0001/f.txt"), r),
                               ("check --staged", gitpar("check", "--staged"), w0),
                               ("progress", gitpar("progress", "--completion", "5"), w1)):
            sh(cmd, cwd)  # warm: caches built once, as they are after the first command
            g, a = alternate(runs, cmd, anchor, cwd)
            row[name] = {"ms": round(g * 1000, 1), "anchor_ms": round(a * 1000, 1), "ratio": round(g / a, 2)}
        hook, bare = [], []
        for i in range(runs):
            sh(gitpar("progress", "--done", f"item {i}"), w1)  # another stream's report first
            (w0 / "src/s0000/f.txt").write_text(f"{i}\n")
            sh(["git", "add", "-A"], w0)
            hook.append(sh(["git", "commit", "-qm", f"c{i}"], w0))
            (w0 / "src/s0000/f.txt").write_text(f"{i} bare\n")
            sh(["git", "add", "-A"], w0)
            bare.append(sh(["git", "-c", f"core.hooksPath={root / 'nohooks'}", "commit", "-qm", f"b{i}"], w0))
        g, a = statistics.median(hook), statistics.median(bare)
        row["commit through the hook after another's progress"] = {
            "ms": round(g * 1000, 1), "anchor_ms": round(a * 1000, 1), "ratio": round(g / a, 2)}
        out = subprocess.run([PY, "-c", PAIR, str(w0), str(max(runs * 4, 20))], capture_output=True, text=True,
                             check=True).stdout.split()
        g, a = float(out[0]), float(out[1])
        row["lock+unlock in-process"] = {"ms": round(g * 1000, 2), "anchor_ms": round(a * 1000, 2),
                                         "ratio": round(g / a, 2)}
        if n == sizes[-1] or n >= 1000:
            one = throughput(w0, root, 1, 4)
            eight = throughput(w0, root, 8, 4)
            row["8 local contenders"] = {"changes_per_s": round(eight, 1), "one_writer_per_s": round(one, 1),
                                         "share": round(eight / one, 2)}
        rows.append(row)
        print(json.dumps(row))
    return rows


def make_history(r: Path, commits: int) -> None:
    """``commits`` state commits of locks taken and released, made with the store's API."""
    from gitpar.core.locks import lock_file, new_lock, render_lock
    from gitpar.core.repo import open_repo
    from gitpar.store.state import Snapshot, StateStore

    repo = open_repo(r)
    store = StateStore(repo)
    snap = store.snapshot()
    tip = snap.commit
    path = "shared/f7.txt"
    t0 = time.time() - commits  # one commit a second, in the past
    for i in range(commits):
        if i % 2 == 0:
            lk = new_lock(path, "s0001", "bench", 0.5, "history", "")
            changes: dict[str, str | None] = {lock_file(path): render_lock(lk)}
        else:
            changes = {lock_file(path): None}
        os.environ["GIT_COMMITTER_DATE"] = f"{int(t0 + i)} +0000"
        tip = store._commit(Snapshot(store.git, tip), changes, f"history {i}")
    os.environ.pop("GIT_COMMITTER_DATE", None)
    assert store._swap(snap.commit, tip, "history")


def history_table(root: Path, sizes: list[int], runs: int) -> list[dict[str, object]]:
    rows = []
    for commits in sizes:
        (root / f"h{commits}").mkdir()
        r = setup(root / f"h{commits}", 10)
        make_history(r, commits)
        w0 = worktree(r, "s0000")
        (w0 / "src/s0000/f.txt").write_text("changed\n")
        sh(["git", "commit", "-qam", "work"], w0)
        cmd = gitpar("check", "--range", "main..gitpar/s0000")
        first = sh(cmd, r)
        times = [sh(cmd, r) for _ in range(runs)]
        row = {"state_commits": commits, "first_ms": round(first * 1000, 1),
               "next_ms": round(statistics.median(times) * 1000, 1)}
        rows.append(row)
        print(json.dumps(row))
    base = rows[0]["next_ms"]
    for row in rows:
        row["ratio_to_first_size"] = round(float(row["next_ms"]) / float(base), 2)  # type: ignore[arg-type]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,1000,5000")
    ap.add_argument("--history", default="1000,10000,100000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, hermetic(Path(d) / "home"):
        root = Path(d)
        (root / "nohooks").mkdir()
        sizes = [int(x) for x in args.sizes.split(",") if x]
        hist = [int(x) for x in args.history.split(",") if x]
        rows = n_table(root, sizes, args.runs) if sizes else []
        history = history_table(root, hist, args.runs) if hist else []
    print("\nstreams  " + "  ".join(f"{k}" for k in (rows[0] if rows else {}) if k != "streams"))
    for row in rows:
        cells = []
        for k, v in row.items():
            if k == "streams":
                continue
            if isinstance(v, dict) and "ratio" in v:
                cells.append(f"{v['ms']} ms ({v['ratio']}x)")
            elif isinstance(v, dict):
                cells.append(f"{v['changes_per_s']}/s vs {v['one_writer_per_s']}/s ({v['share']:.0%})")
        print(f"{row['streams']:>7}  " + "  |  ".join(cells))
    for row in history:
        print(f"check --range at {row['state_commits']:>7} state commits: first {row['first_ms']} ms, "
              f"then {row['next_ms']} ms ({row['ratio_to_first_size']}x the smallest)")
    print(json.dumps({"bench": "scale", "runs": args.runs, "streams": rows, "history": history}))


if __name__ == "__main__":
    main()
