"""Whole-process time of `gitpar guard` (it runs before every edit an agent makes) against
the interpreter doing nothing (`python -c pass`), alternating in the same run.

Three calls are timed: a text verdict on one owned path, a denial of another stream's
path, and the Claude Code hook contract (JSON on stdin, a denial out). Goal: each at most
3x `python -c pass`. `gitpar` is the console script next to this interpreter.

    python bench/bench_guard.py [--runs 21]
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


def once(cmd: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b"") -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, env=env)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-guard-"))
    try:
        repo = tmp / "r"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=repo, check=True, env=env)
        setup = [["init"], ["stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py"],
                 ["stream", "add", "ui", "--owns", "src/ui/**"]]
        for cmd in setup:
            subprocess.run([*gitpar, *cmd], cwd=repo, check=True, env=env, capture_output=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True, env=env)
        out = subprocess.run([*gitpar, "start", "api"], cwd=repo, check=True, env=env,
                             capture_output=True, text=True).stdout.strip()
        wt = Path(out.splitlines()[-1])
        hook_in = json.dumps({"hook_event_name": "PreToolUse", "cwd": str(wt), "tool_name": "Edit",
                              "tool_input": {"file_path": str(wt / "src/ui/b.py")}}).encode()
        calls = {"owned path (text)": ([*gitpar, "guard", "src/api/a.py"], b""),
                 "foreign path (text)": ([*gitpar, "guard", "src/ui/b.py"], b""),
                 "Claude Code hook, deny": ([*gitpar, "guard", "--format", "claude"], hook_in)}
        for cmd, stdin in calls.values():  # warm the rules cache and the file system
            once(cmd, wt, env, stdin)
        floor = [sys.executable, "-c", "pass"]
        results = {}
        for what, (cmd, stdin) in calls.items():
            a, b = [], []
            for _ in range(args.runs):
                a.append(once(cmd, wt, env, stdin))
                b.append(once(floor, wt, env))
            results[what] = (statistics.median(a) * 1000, statistics.median(b) * 1000)
        for what, (g, p) in results.items():
            print(f"gitpar guard, {what}: {g:.1f} ms; python -c pass {p:.1f} ms; ratio {g / p:.2f}x (goal <= 3x)")
        print(json.dumps({"bench": "guard", "runs": args.runs,
                          "calls": {w: {"guard_ms": round(g, 1), "python_pass_ms": round(p, 1),
                                        "ratio": round(g / p, 2)} for w, (g, p) in results.items()}}))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
