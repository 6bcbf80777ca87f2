"""Whole-process time of `gitpar guard`, which runs before and after every tool call an agent makes.

Two anchors, each alternated with gitpar in one loop (benchlib.alternate: a warm-up round,
then A B A B ..., medians):

- before the edit (`gitpar guard PATH`, and the Claude Code PreToolUse hook for an Edit and
  for a Bash command): against the interpreter doing nothing, `python -c pass`. Goal: each
  at most 3x.
- after the tool call (`gitpar guard --changed`, and the Claude Code PostToolUse hook): on a
  worktree of 10,000 files with 5 changed (2 modified, 1 deleted, 2 created; 3 of them
  another stream's), against `git status --porcelain` on the same worktree, the floor of any
  check that asks git what changed. Goal: at most 2x. Timed as the hooks run it: the
  command gitpar-agents installs, this interpreter without site initialisation (`-S`, the
  import paths recorded, as the commit hook shim does); the console script, whose site
  initialisation alone costs most of `git status`, is printed beside it.

`gitpar` is the console script next to this interpreter.

    python bench/bench_guard.py [--runs 21] [--files 10000]
    python bench/bench_guard.py --smoke     # 1,000 files, 3 rounds: it runs and answers right
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import alternate, bench_env, describe, emit, gitpar_command, process, run, verdict  # noqa: E402


def stdin_process(cmd: list[str], cwd: Path, env: dict[str, str], stdin: bytes) -> object:
    """A contender timed as benchlib.process times one (Popen, then wait4: wall and CPU
    time), with ``stdin`` fed to the command, as a harness calls its hook."""
    import os
    import time

    def timed() -> tuple[float, float]:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({os.waitstatus_to_exitcode(status)})")
        return elapsed, usage.ru_utime + usage.ru_stime
    return timed


def build(repo: Path, files: int, env: dict[str, str], gitpar: list[str]) -> Path:
    """A repository of ``files`` files in three streams' folders, the plan committed, stream
    api started; its worktree."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for i in range(files):
        folder = ("src/api", "src/ui", "docs")[i % 3]
        path = repo / folder / f"d{i // 300:03d}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"line {i}\n")
    for cmd in (["init"], ["stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py"],
                ["stream", "add", "ui", "--owns", "src/ui/**"], ["stream", "add", "docs", "--owns", "docs/**"]):
        run([*gitpar, *cmd], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "plan and files"], repo, env)
    out = run([*gitpar, "start", "api"], repo, env).strip()
    return Path(out.splitlines()[-1])


def change_five(wt: Path) -> list[str]:
    """2 modified, 1 deleted, 2 created: 3 of them (ui's, docs') refused."""
    api = sorted((wt / "src/api").rglob("*.txt"))
    ui = sorted((wt / "src/ui").rglob("*.txt"))
    docs = sorted((wt / "docs").rglob("*.txt"))
    api[0].write_text("mine\n")
    ui[0].write_text("not mine\n")
    docs[0].unlink()
    (wt / "src/api/new.txt").write_text("new\n")
    (wt / "src/ui/new.txt").write_text("new\n")
    return sorted(str(p.relative_to(wt)) for p in (ui[0], docs[0], wt / "src/ui/new.txt"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--smoke", action="store_true", help="1,000 files, 3 rounds: that it runs and answers right")
    args = ap.parse_args()
    if args.smoke:
        args.runs, args.files = 3, 1_000
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-guard-"))
    try:
        wt = build(tmp / "r", args.files, env, gitpar)
        refused = change_five(wt)
        # the answer first: --changed names exactly the three refused files
        got = subprocess.run([*gitpar, "guard", "--changed", "--json"], cwd=wt, env=env, capture_output=True, text=True)
        named = sorted(p["repo_path"] for p in json.loads(got.stdout)["paths"])
        if got.returncode != 1 or named != refused:
            raise SystemExit(f"gitpar guard --changed answered {got.returncode} {named}, expected 1 {refused}")
        edit = json.dumps({"hook_event_name": "PreToolUse", "cwd": str(wt), "tool_name": "Edit",
                           "tool_input": {"file_path": str(wt / "src/ui/b.py")}}).encode()
        bash = json.dumps({"hook_event_name": "PreToolUse", "cwd": str(wt), "tool_name": "Bash",
                           "tool_input": {"command": "sed -i s/a/b/ src/ui/x.py && echo ok >> src/api/log.txt"}}).encode()
        after = json.dumps({"hook_event_name": "PostToolUse", "cwd": str(wt), "tool_name": "Bash",
                            "tool_input": {"command": "make"}, "tool_response": {}}).encode()
        floor = [sys.executable, "-c", "pass"]
        before = alternate({
            "python -c pass": process(floor, wt, env),
            "guard PATH": process([*gitpar, "guard", "src/api/a.py"], wt, env),
            "PreToolUse Edit": stdin_process([*gitpar, "guard", "--format", "claude"], wt, env, edit),
            "PreToolUse Bash": stdin_process([*gitpar, "guard", "--format", "claude"], wt, env, bash),
        }, args.runs)  # type: ignore[arg-type]
        status = ["git", "status", "--porcelain"]
        # the command gitpar-agents installs as the harness hooks: this interpreter without
        # site (-S), gitpar's import paths recorded (gitpar_agents.write_guard_shim)
        from gitpar.store.hooks import import_paths

        code = f"import sys; sys.path[:0] = {json.dumps(import_paths())}; from gitpar.launch import main; sys.exit(main())"
        shim = [sys.executable, "-S", "-c", code]
        afterwards = alternate({
            "git status --porcelain": process(status, wt, env),
            "guard --changed": process([*shim, "guard", "--changed"], wt, env, ok=(1,)),
            "PostToolUse": stdin_process([*shim, "guard", "--stream", "api", "--changed", "--format", "claude"], wt, env,
                                         after),
            "gitpar guard --changed (console script)": process([*gitpar, "guard", "--changed"], wt, env, ok=(1,)),
        }, args.runs)  # type: ignore[arg-type]
        good = True
        for name in ("guard PATH", "PreToolUse Edit", "PreToolUse Bash"):
            print(describe(before, name, "python -c pass", f"gitpar {name}", "python -c pass"))
            good &= verdict(f"{name} / python -c pass", before.ratio(name, "python -c pass"), 3)
        for name in ("guard --changed", "PostToolUse"):
            print(describe(afterwards, name, "git status --porcelain", f"gitpar {name} ({args.files} files, 5 changed)",
                           "git status --porcelain"))
            good &= verdict(f"{name} / git status --porcelain", afterwards.ratio(name, "git status --porcelain"), 2)
        script = "gitpar guard --changed (console script)"
        print("info  " + describe(afterwards, script, "git status --porcelain", script, "git status --porcelain")
              + ": the console script's site initialisation (.pth files) is the difference")
        emit({"bench": "guard", "smoke": args.smoke, "runs": args.runs, "files": args.files, "changed": 5,
              "before": {n: before.row(n, "python -c pass") for n in ("guard PATH", "PreToolUse Edit", "PreToolUse Bash")},
              "after": {n: afterwards.row(n, "git status --porcelain") for n in ("guard --changed", "PostToolUse", script)},
              "goals_met": good})
        return 0 if good or args.smoke else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
