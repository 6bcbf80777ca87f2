"""Hook overhead: `git commit` of 1 and of 2,000 files in a 20,000-file repository, 200 streams.

Three set-ups of the same commit, measured in the same run (median of --runs):
  none        no hooks at all
  gitpar      gitpar's hooks (pre-commit check + commit-msg trailer)
  pre-commit  a pre-commit-framework hook that does nothing (`language: system`, `entry: true`)
  empty       pre-commit and commit-msg hooks that are `exit 0` shell scripts: what git itself
              spends on running any hook (it re-reads the index after pre-commit)
Prints what gitpar and the framework each add over no hook, the ratio, and a JSON line.
Goal: gitpar adds at most 60 ms, and at most a quarter of what the framework adds.

    python bench/bench_hooks.py [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STREAMS = 200
FILES = 20_000
BIG = 2_000  # files owned by the stream that commits, all changed in the big commit


def sh(args: list[str], cwd: Path, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def build(root: Path, env: dict[str, str], gitpar: list[str]) -> tuple[Path, Path]:
    repo = root / "big"
    repo.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    (repo / ".gitpar/streams").mkdir(parents=True)
    (repo / ".gitpar/plan.md").write_text("---\nbase: main\n---\nbench\n")
    per = (FILES - BIG) // (STREAMS - 1)
    for s in range(STREAMS):
        d = repo / f"s{s}"
        d.mkdir()
        count = BIG if s == 0 else per
        for i in range(count):
            (d / f"f{i}.txt").write_text(f"{s} {i}\n")
        (repo / f".gitpar/streams/s{s}.md").write_text(f'---\nowns: ["s{s}/**", "docs/s{s}/*.md"]\n---\n')
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: nothing\n    name: nothing\n    entry: 'true'\n"
        "    language: system\n    pass_filenames: false\n    always_run: true\n")
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "init"], repo, env)
    sh([*gitpar, "init"], repo, env)
    sh([*gitpar, "start", "s0"], repo, env)
    worktree = root / "big.gitpar" / "s0"
    # the framework's hook, in a folder of its own (chosen per commit with core.hooksPath)
    fw = root / "framework-hooks"
    fw.mkdir()
    scratch = root / "scratch"
    scratch.mkdir()
    sh(["git", "init", "-q"], scratch, env)
    sh(["pre-commit", "install", "-t", "pre-commit"], scratch, env)
    shutil.copy(scratch / ".git/hooks/pre-commit", fw / "pre-commit")
    shutil.rmtree(scratch)
    return repo, worktree


def commit_times(worktree: Path, env: dict[str, str], nfiles: int, runs: int, hooks: str,
                 fw: Path) -> float:
    times = []
    args = ["git"]
    if hooks == "none":
        args += ["-c", f"core.hooksPath={worktree / 'no-hooks'}"]
    elif hooks == "pre-commit":
        args += ["-c", f"core.hooksPath={fw}"]
    elif hooks == "empty":
        args += ["-c", f"core.hooksPath={fw.parent / 'empty-hooks'}"]
    for r in range(runs + 1):
        for i in range(nfiles):
            with open(worktree / f"s0/f{i}.txt", "a") as f:
                f.write(f"{hooks} {r}\n")
        sh(["git", "add", "s0"], worktree, env)
        t = time.perf_counter()
        proc = subprocess.run([*args, "commit", "-qm", f"{hooks} {nfiles} {r}"], cwd=worktree, env=env,
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"commit with {hooks} failed: {proc.stderr}")
        if r:  # the first commit warms caches (the hook's rules, pre-commit's environment)
            times.append(elapsed)
    return statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    if shutil.which("pre-commit") is None:
        print("pre-commit is not installed: pip install pre-commit")
        return 2
    exe = Path(sys.executable).with_name("gitpar")
    gitpar = [str(exe)] if exe.exists() else [sys.executable, "-m", "gitpar"]
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com", NO_COLOR="1")
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-hooks-"))
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    results = {}
    try:
        t = time.perf_counter()
        repo, worktree = build(tmp, env, gitpar)
        print(f"built {FILES} files, {STREAMS} streams in {time.perf_counter() - t:.1f}s")
        (worktree / "no-hooks").mkdir()
        empty = tmp / "empty-hooks"
        empty.mkdir()
        for hook in ("pre-commit", "commit-msg"):
            (empty / hook).write_text("#!/bin/sh\nexit 0\n")
            (empty / hook).chmod(0o755)
        sh(["git", "update-index", "--assume-unchanged", ".pre-commit-config.yaml"], worktree, env)
        for nfiles in (1, BIG):
            row = {h: commit_times(worktree, env, nfiles, args.runs, h, tmp / "framework-hooks")
                   for h in ("none", "empty", "gitpar", "pre-commit")}
            results[nfiles] = row
            g, f = row["gitpar"] - row["none"], row["pre-commit"] - row["none"]
            e = row["empty"] - row["none"]
            print(f"commit of {nfiles:>4} files: no hook {row['none']:.0f} ms, gitpar +{g:.0f} ms, "
                  f"pre-commit framework (a hook doing nothing) +{f:.0f} ms; gitpar/framework {g / f:.2f}; "
                  f"empty shell hooks +{e:.0f} ms (git's own cost of having hooks)")
    finally:
        if not os.environ.get("GITPAR_BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    out = {"bench": "hooks", "files": FILES, "streams": STREAMS}
    ok = True
    for n, row in results.items():
        g, f = row["gitpar"] - row["none"], row["pre-commit"] - row["none"]
        out.update({f"commit{n}_none_ms": round(row["none"], 1), f"commit{n}_gitpar_added_ms": round(g, 1),
                    f"commit{n}_precommit_added_ms": round(f, 1), f"commit{n}_ratio": round(g / f, 3),
                    f"commit{n}_empty_hooks_added_ms": round(row["empty"] - row["none"], 1)})
        ok = ok and g <= 60 and g <= f / 4
    print("goal: gitpar adds at most 60 ms and at most a quarter of the framework's cost")
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
