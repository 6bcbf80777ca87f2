"""`gitpar status --json` on 1,000 streams, 500 of them started, against `git for-each-ref`.

Builds the repository once (stream files committed on main; 500 branches, worktrees and
progress files made the way `gitpar start` makes them), then times whole processes:
gitpar's status and its anchor, `git for-each-ref refs/heads/gitpar/` on the same
repository, in the same run. Prints both, the ratio, and one JSON line.

    python bench/bench_status.py [--streams 1000] [--started 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path, streams: int, started: int) -> Path:
    import pygit2

    from gitpar.core.plan import Stream, render_settings, render_stream
    from gitpar.core.progress import Progress, now_iso, progress_path, render_progress
    from gitpar.core.repo import open_repo
    from gitpar.store.state import StateStore

    repo_dir = root / "big"
    repo_dir.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo_dir)], check=True)
    # keep every stream's files in one small folder each: the cost measured is gitpar's,
    # not that of checking out thousands of files into 500 worktrees
    (repo_dir / ".gitpar/streams").mkdir(parents=True)
    (repo_dir / ".gitpar/plan.md").write_text(render_settings("main"))
    for i in range(streams):
        deps = (f"s{i - 1}",) if i % 10 and i > 0 else ()
        s = Stream(name=f"s{i}", owns=(f"pkg{i}/**",), depends_on=deps, estimate=3600.0,
                   brief=f"Stream {i}.")
        (repo_dir / f".gitpar/streams/s{i}.md").write_text(render_stream(s))
        (repo_dir / f"pkg{i}").mkdir()
        (repo_dir / f"pkg{i}/mod.py").write_text(f"X = {i}\n")
    subprocess.run(["git", "add", "-A"], cwd=repo_dir, check=True)
    subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo_dir, check=True)
    repo = open_repo(repo_dir)
    base = repo.git.references["refs/heads/main"].peel(pygit2.Commit)
    changes: dict[str, str | None] = {}
    for i in range(started):
        name = f"s{i}"
        branch = repo.git.branches.local.create(f"gitpar/{name}", base)
        path = root / "big.gitpar" / name
        path.parent.mkdir(exist_ok=True)
        repo.git.add_worktree(name, str(path), branch)
        if i % 2:  # half of them with a commit of their own, made as `git commit -a` would
            (path / f"pkg{i}/mod.py").write_text(f"X = {i + 1}\n")
            wt = pygit2.Repository(str(path))
            wt.index.add(f"pkg{i}/mod.py")
            wt.index.write()
            sig = pygit2.Signature("bench", "b@example.com")
            wt.create_commit("HEAD", sig, sig, "work", wt.index.write_tree(), [wt.head.target])
        now = now_iso()
        p = Progress(stream=name, status="in_progress", completion=(i * 7) % 100, started=now,
                     updated=now, completed=("one", "two"), current="working",
                     extra={"port": 20000 + i, "base_commit": str(base.id)})
        changes[progress_path(name)] = render_progress(p)
    StateStore(repo).update(lambda snap: (changes, "bench: start 500 streams"))
    return repo_dir


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    times = []
    out = ""
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed: {proc.stderr[-500:]}")
        out = proc.stdout
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--started", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="build (or reuse) the repository in this folder and keep it")
    args = ap.parse_args()
    env_ok = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
              "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    os.environ.update({k: v for k, v in env_ok.items() if k not in os.environ})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        repo_dir = root / "big"
        if not repo_dir.exists():
            root.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            build(root, args.streams, args.started)
            print(f"built {args.streams} streams, {args.started} started, "
                  f"in {time.perf_counter() - t:.1f}s")
        gitpar_bin = [sys.executable, "-m", "gitpar"]
        exe = Path(sys.executable).with_name("gitpar")
        if exe.exists():
            gitpar_bin = [str(exe)]
        status_s, out = timed([*gitpar_bin, "status", "--json"], repo_dir, args.runs)
        data = json.loads(out)
        assert data["summary"]["total"] == args.streams, data["summary"]
        assert data["summary"]["active"] == args.started, data["summary"]
        anchor_s, refs = timed(["git", "for-each-ref", "refs/heads/gitpar/"], repo_dir, args.runs)
        assert len(refs.splitlines()) == args.started + 1
    ratio = status_s / anchor_s
    print(f"gitpar status --json: {status_s * 1000:.0f} ms (whole process, median of {args.runs})")
    print(f"git for-each-ref refs/heads/gitpar/: {anchor_s * 1000:.1f} ms")
    print(f"ratio: {ratio:.1f}x; goal: status at most 1000 ms")
    print(json.dumps({"bench": "status", "streams": args.streams, "started": args.started,
                      "status_ms": round(status_s * 1000, 1),
                      "for_each_ref_ms": round(anchor_s * 1000, 2), "ratio": round(ratio, 1)}))
    return 0 if status_s <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
