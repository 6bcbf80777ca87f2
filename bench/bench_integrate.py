"""Benchmark: the merge queue, ``gitpar integrate -j 4`` against ``-j 1`` (and mergetrain).

N completed independent streams (``q<i>/f.txt`` each), a sleep gate of T seconds (like
waiting on a CI runner) or a CPU-bound gate, 0, 1 or 2 streams that break it (they write
``BAD``). Each case builds one repository, copies it (``cp -a`` of the repository and its
worktrees folder, the worktrees repaired), and runs the anchors alternated on the copies:
``-j 4`` and ``-j 1``. It prints the wall time and the number of gate runs of each, the
ratio, and one JSON line. mergetrain 3.7.1 (batch + bisect) is the third anchor where it
can run here: it is looked up in this environment (``pip install mergetrain==3.7.1``); the
output says why when it is not run.

Goals (issue 24) at N = 16, ``-j 4``, sleep gate: all pass <= 1.3 T; one culprit <= 3.5 T;
two <= 6 T. ``--smoke``: tiny (N = 4, T = 0.05 s, one round), checks that both anchors did
the same work (same streams landed, same tree), and reports no timings.

Run: ``python bench/bench_integrate.py`` (``--streams 8 16``, ``--gate-seconds 2``,
``--culprits 0 1 2``, ``--cpu``, ``--smoke``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sh(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc


def gitpar(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh([sys.executable, "-m", "gitpar", *args], cwd, check)


def build(root: Path, n: int, culprits: set[int]) -> Path:
    repo = root / "repo"
    repo.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], repo)
    (repo / "README").write_text("bench\n")
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "init"], repo)
    gitpar("init", "--no-hooks", cwd=repo)
    for i in range(n):
        gitpar("stream", "add", f"s{i}", "--owns", f"q{i}/**", cwd=repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "plan"], repo)
    for i in range(n):
        gitpar("start", f"s{i}", cwd=repo)
        wt = root / "repo.gitpar" / f"s{i}"
        (wt / f"q{i}").mkdir(parents=True, exist_ok=True)
        (wt / f"q{i}" / "f.txt").write_text("BAD\n" if i in culprits else "ok\n")
        sh(["git", "add", "-A"], wt)
        sh(["git", "commit", "-qm", f"s{i}"], wt)
        gitpar("finish", cwd=wt)
    return repo


def copy(root: Path, into: Path) -> Path:
    shutil.copytree(root / "repo", into / "repo", symlinks=True)
    shutil.copytree(root / "repo.gitpar", into / "repo.gitpar", symlinks=True)
    sh(["git", "worktree", "repair", *[str(p) for p in sorted((into / "repo.gitpar").iterdir())]], into / "repo")
    return into / "repo"


def gate_command(seconds: float, cpu: bool) -> str:
    check = "! grep -rqs BAD q*"
    if cpu:
        loops = max(1, int(seconds * 2_000_000))
        return f"python3 -c 'sum(range({loops}))'; {check}"
    return f"sleep {seconds}; {check}"


def run_queue(repo: Path, jobs: int, gate: str) -> dict[str, object]:
    t0 = time.monotonic()
    proc = gitpar("integrate", "--json", "-j", str(jobs), "--test", gate, cwd=repo, check=False)
    wall = time.monotonic() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"integrate -j {jobs} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    landed = [s["stream"] for s in data["steps"] if s["outcome"] == "merged"]
    tree = sh(["git", "rev-parse", "gitpar/_integration^{tree}"], repo).stdout.strip()
    return {"wall_s": wall, "gate_runs": data["gate_runs"], "landed": landed, "tree": tree}


def mergetrain_status() -> str | None:
    """Why mergetrain is not run here (None: it could be)."""
    if importlib.util.find_spec("mergetrain") is None and shutil.which("mergetrain") is None:
        return ("mergetrain is not installed in this environment (pip install mergetrain==3.7.1 into the "
                "bench's venv); its figures are not part of this run")
    return ("mergetrain is installed but this bench does not drive it yet (its CLI needs a hosted "
            "forge's merge requests); its figures are not part of this run")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--gate-seconds", type=float, default=2.0)
    ap.add_argument("--culprits", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--cpu", action="store_true", help="a CPU-bound gate instead of sleep")
    ap.add_argument("--smoke", action="store_true", help="tiny, one round, no timings: both did the same work")
    args = ap.parse_args()
    if args.smoke:
        args.streams, args.gate_seconds, args.culprits = [4], 0.05, [1]
    why_not = mergetrain_status()
    print(f"mergetrain: {why_not}" if why_not else "mergetrain: run")
    results = []
    for n in args.streams:
        for k in args.culprits:
            culprits = {n // 2 + 2 * j for j in range(k) if n // 2 + 2 * j < n}
            with tempfile.TemporaryDirectory(prefix="gitpar-bench-integrate-") as tmp:
                root = Path(tmp) / "base"
                build(root, n, culprits)
                gate = gate_command(args.gate_seconds, args.cpu)
                par = run_queue(copy(root, Path(tmp) / "par"), args.jobs, gate)
                one = run_queue(copy(root, Path(tmp) / "one"), 1, gate)
            same = par["landed"] == one["landed"] and par["tree"] == one["tree"]
            if not same:
                print(f"N={n} culprits={k}: -j {args.jobs} and -j 1 differ: {par['landed']} vs {one['landed']}")
                return 1
            row = {"streams": n, "culprits": k, "gate_s": args.gate_seconds, "cpu": args.cpu, "jobs": args.jobs,
                   "par_runs": par["gate_runs"], "one_runs": one["gate_runs"], "same": same}
            if args.smoke:
                print(f"smoke N={n} culprits={k}: -j {args.jobs} and -j 1 landed the same "
                      f"{len(par['landed'])} streams and tree ({par['gate_runs']} and {one['gate_runs']} gate runs)")
            else:
                t = args.gate_seconds
                row.update(par_s=round(float(par["wall_s"]), 2), one_s=round(float(one["wall_s"]), 2),  # type: ignore[arg-type]
                           par_T=round(float(par["wall_s"]) / t, 2), ratio=round(float(par["wall_s"]) / float(one["wall_s"]), 2))  # type: ignore[arg-type]
                print(f"N={n} culprits={k} gate={'cpu' if args.cpu else 'sleep'} {t} s: -j {args.jobs} "
                      f"{row['par_s']} s ({row['par_T']} T, {par['gate_runs']} gates), -j 1 {row['one_s']} s "
                      f"({one['gate_runs']} gates), ratio {row['ratio']}")
            results.append(row)
    print(json.dumps({"bench": "integrate", "mergetrain": why_not or "run", "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
