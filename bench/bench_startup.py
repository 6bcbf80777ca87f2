"""Whole-process time of `gitpar --help`, `--version` and `progress` against the interpreter's floor.

`gitpar` is the installed console script (next to this interpreter); the anchor is the same
interpreter doing nothing (`python -c pass`). All run in turn in one loop after a warm-up
round (benchlib.alternate), median of each. Goals: `--help` and `--version` at most 3x the
floor; `progress` (one CAS commit) at most 250 ms. The progress reports must all be on the
state branch and `--version` must print gitpar's version (the same work every round).

    python bench/bench_startup.py [--runs 15] [--smoke]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (  # noqa: E402
    SameWork,
    add_smoke,
    alternate,
    bench_env,
    describe,
    emit,
    gitpar_command,
    process,
    smoke_exit,
    verdict,
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    add_smoke(ap)
    args = ap.parse_args()
    runs = 1 if args.smoke else args.runs
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-"))
    work = SameWork()
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
        counter = itertools.count()
        items: list[str] = []

        def progress() -> float | tuple[float, float]:
            item = f"x{next(counter)}"
            items.append(item)
            return process([*gitpar, "progress", "--done", item], worktree, env)()
        figures = alternate({"floor": process([sys.executable, "-c", "pass"], repo, env),
                             "help": process([*gitpar, "--help"], repo, env),
                             "version": process([*gitpar, "--version"], repo, env),
                             "progress": progress}, runs, warmup=0 if args.smoke else 1)
        version = subprocess.run([*gitpar, "--version"], cwd=repo, env=env, capture_output=True,
                                 text=True).stdout
        import gitpar as package
        work.check("--version prints the version", package.__version__ in version, True)
        state = subprocess.run(["git", "show", "gitpar/_state:progress/api.md"], cwd=repo, env=env,
                               capture_output=True, text=True).stdout
        work.check("progress items on the state branch", [i for i in items if i in state], items)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load {os.getloadavg()[0]:.1f}")
    for name, label in (("help", "gitpar --help"), ("version", "gitpar --version"),
                        ("progress", "gitpar progress (one CAS commit)")):
        print("  " + describe(figures, name, "floor", label, "python -c pass"))
    ok = verdict("gitpar --help vs python -c pass", figures.ratio("help", "floor"), 3.0)
    ok = verdict("gitpar --version vs python -c pass", figures.ratio("version", "floor"), 3.0) and ok
    ok = verdict("gitpar progress", figures.median("progress") * 1000, 250, " ms") and ok
    emit({"bench": "startup", "runs": runs, "load": round(os.getloadavg()[0], 1),
          "python_floor_ms": figures.ms("floor"), "help": figures.row("help", "floor"),
          "version": figures.row("version", "floor"), "progress": figures.row("progress", "floor"),
          "smoke": args.smoke, **work.record()})
    return smoke_exit(work, ok, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
