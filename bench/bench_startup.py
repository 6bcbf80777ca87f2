"""Whole-process time of `gitpar --help` and `gitpar progress` against the interpreter's floor.

`gitpar` is the installed console script (next to this interpreter); the anchor is the same
interpreter doing nothing (`python -c pass`), measured in the same run. Goal: both gitpar
commands at most 250 ms.

    python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import bench_env, gitpar_command  # noqa: E402


def median_ms(cmd: list[str], cwd: Path, runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed: {proc.stderr.decode()[-400:]}")
    return statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-"))
    try:
        repo = tmp / "r"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "src").mkdir()
        (repo / "src/a.py").write_text("a = 1\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True, env=env)
        for cmd in (["init", "--no-hooks"], ["stream", "add", "api", "--owns", "src/**"]):
            subprocess.run([*gitpar, *cmd], cwd=repo, check=True, env=env, capture_output=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True, env=env)
        out = subprocess.run([*gitpar, "start", "api"], cwd=repo, check=True, env=env,
                             capture_output=True, text=True).stdout.strip()
        worktree = Path(out.splitlines()[-1])
        floor = median_ms([sys.executable, "-c", "pass"], repo, args.runs, env)
        help_ms = median_ms([*gitpar, "--help"], repo, args.runs, env)
        progress_ms = median_ms([*gitpar, "progress", "--completion", "10", "--done", "x"], worktree,
                                args.runs, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"python -c pass:   {floor:6.0f} ms (the interpreter's floor)")
    print(f"gitpar --help:    {help_ms:6.0f} ms ({help_ms / floor:.1f}x the floor)")
    print(f"gitpar progress:  {progress_ms:6.0f} ms ({progress_ms / floor:.1f}x the floor; one CAS commit)")
    print("goal: both at most 250 ms")
    print(json.dumps({"bench": "startup", "python_floor_ms": round(floor, 1), "help_ms": round(help_ms, 1),
                      "progress_ms": round(progress_ms, 1)}))
    return 0 if help_ms <= 250 and progress_ms <= 250 else 1


if __name__ == "__main__":
    sys.exit(main())
