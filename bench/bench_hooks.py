"""Hook overhead: `git commit` of 1 and of 2,000 files in a 20,000-file repository, 200 streams.

Five ways of committing the same change, in turn in one loop (after a warm-up round),
median of --runs each; every round edits and stages the files first, untimed:
  no-verify    `git commit --no-verify`: the anchor, no hook runs
  gitpar warm  gitpar's hooks (pre-commit check + commit-msg trailer), the rules cache kept
  gitpar cold  the same with the hook's rules cache (<git dir>/gitpar/cache/hook-rules.marshal)
               deleted before each commit: what the first commit after a plan or lock change pays
  pre-commit   a pre-commit-framework hook that does nothing (`language: system`, `entry: true`)
  empty        pre-commit and commit-msg hooks that are `exit 0` shell scripts: what git itself
               spends on running any hook (it re-reads the index after pre-commit)
  shell check  the anchor a skeptic picks: a shell pre-commit hook doing the same path check
               (`git diff --cached --name-only`, each path matched against the committing
               stream's owned globs with `case`), and an empty commit-msg hook
The framework's do-nothing hook is a slow-starting anchor: compare with the shell check.
Prints what each adds over --no-verify, the ratios, PASS/FAIL and a JSON line.
Goal (warm): gitpar adds at most 60 ms, and at most a quarter of what the framework adds.

    python bench/bench_hooks.py [--runs 11] [--quick]
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

from benchlib import Contender, SameWork, add_smoke, smoke_exit, alternate, bench_env, drop_hook_cache, emit, gitpar_command, process, run, verdict  # noqa: E402, I001

STREAMS = 200
FILES = 20_000
BIG = 2_000  # files owned by the stream that commits, all changed in the big commit
#: The shell anchor: the same path check as gitpar's pre-commit hook, for the stream s0 (owns
#: ``s0/**`` and ``docs/s0/*.md``), a staged path outside them refused.
SHELL_CHECK = r'''#!/bin/sh
git diff --cached --name-only --no-renames | while IFS= read -r p; do
  case "$p" in
    s0/*|docs/s0/*.md) ;;
    *) echo "not owned by s0: $p" >&2; exit 1 ;;
  esac
done
'''


def sh(args: list[str], cwd: Path, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


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


def setups(worktree: Path, env: dict[str, str], nfiles: int, fw: Path) -> dict[str, Contender]:
    """The same change committed each way; each round edits ``nfiles`` files and stages them
    first (untimed), the cold one also deletes the hook's rules cache."""
    rounds = iter(range(10 ** 9))

    def edit(tag: str) -> None:
        r = next(rounds)
        for i in range(nfiles):
            with open(worktree / f"s0/f{i}.txt", "a") as f:
                f.write(f"{tag} {r}\n")
        run(["git", "add", "s0"], worktree, env)

    cold_cache = drop_hook_cache(worktree)

    def cold() -> None:
        edit("cold")
        cold_cache()

    def commit(*config: str, tag: str, flags: tuple[str, ...] = ()) -> list[str]:
        return ["git", *config, "commit", *flags, "-qm", f"{tag} {nfiles}"]
    return {
        "no-verify": process(commit(tag="no-verify", flags=("--no-verify",)), worktree, env,
                             before=lambda: edit("no-verify")),
        "gitpar warm": process(commit(tag="warm"), worktree, env, before=lambda: edit("warm")),
        "gitpar cold": process(commit(tag="cold"), worktree, env, before=cold),
        "pre-commit": process(commit("-c", f"core.hooksPath={fw}", tag="pre-commit"), worktree, env,
                              before=lambda: edit("pre-commit")),
        "empty": process(commit("-c", f"core.hooksPath={fw.parent / 'empty-hooks'}", tag="empty"), worktree,
                         env, before=lambda: edit("empty")),
        "shell check": process(commit("-c", f"core.hooksPath={fw.parent / 'shell-hooks'}", tag="shell"),
                               worktree, env, before=lambda: edit("shell")),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    add_smoke(ap)
    args = ap.parse_args()
    if args.quick:
        args.runs = 3
    global STREAMS, FILES, BIG
    if args.smoke:
        args.runs, STREAMS, FILES, BIG = 1, 5, 100, 20
    if shutil.which("pre-commit") is None:
        print("pre-commit is not installed: pip install pre-commit")
        return 2
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-hooks-"))
    env["PRE_COMMIT_HOME"] = str(tmp / "pre-commit-home")
    results: dict[int, dict[str, float]] = {}
    work = SameWork()
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
        shell = tmp / "shell-hooks"
        shell.mkdir()
        (shell / "pre-commit").write_text(SHELL_CHECK)
        (shell / "commit-msg").write_text("#!/bin/sh\nexit 0\n")
        for hook in ("pre-commit", "commit-msg"):
            (shell / hook).chmod(0o755)
        sh(["git", "update-index", "--assume-unchanged", ".pre-commit-config.yaml"], worktree, env)
        for nfiles in (1, BIG):
            before = int(run(["git", "rev-list", "--count", "HEAD"], worktree, env))
            figures = alternate(setups(worktree, env, nfiles, tmp / "framework-hooks"), args.runs,
                                warmup=0 if args.smoke else 1)
            made = int(run(["git", "rev-list", "--count", "HEAD"], worktree, env)) - before
            work.check(f"commits made of {nfiles} files (one per contender per round)", made,
                       len(figures.samples) * (args.runs + (0 if args.smoke else 1)))
            base = figures.median("no-verify")
            row = {name: (figures.median(name) - base) * 1000 for name in figures.samples}
            row["no-verify"] = base * 1000
            results[nfiles] = row
            fw = row["pre-commit"]
            print(f"commit of {nfiles:>4} files (median of {args.runs}, alternated): "
                  f"git commit --no-verify {base * 1000:.0f} ms; over it: gitpar warm "
                  f"+{row['gitpar warm']:.0f} ms, gitpar cold (cache deleted) +{row['gitpar cold']:.0f} ms, "
                  f"pre-commit framework (a hook doing nothing) +{fw:.0f} ms, empty shell hooks "
                  f"+{row['empty']:.0f} ms (git's own cost of having hooks), a shell hook doing the same path "
                  f"check +{row['shell check']:.0f} ms")
            print(f"  gitpar/framework: warm {row['gitpar warm'] / fw:.2f}, cold {row['gitpar cold'] / fw:.2f}; "
                  f"whole commit through gitpar's hooks / --no-verify: warm "
                  f"{figures.ratio('gitpar warm', 'no-verify'):.2f}x, cold "
                  f"{figures.ratio('gitpar cold', 'no-verify'):.2f}x")
    finally:
        if not os.environ.get("GITPAR_BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    out: dict[str, object] = {"bench": "hooks", "files": FILES, "streams": STREAMS, "runs": args.runs}
    ok = True
    for n, row in results.items():
        fw = row["pre-commit"]
        out.update({f"commit{n}_no_verify_ms": round(row["no-verify"], 1),
                    f"commit{n}_gitpar_warm_added_ms": round(row["gitpar warm"], 1),
                    f"commit{n}_gitpar_cold_added_ms": round(row["gitpar cold"], 1),
                    f"commit{n}_precommit_added_ms": round(fw, 1),
                    f"commit{n}_warm_ratio_to_framework": round(row["gitpar warm"] / fw, 3),
                    f"commit{n}_cold_ratio_to_framework": round(row["gitpar cold"] / fw, 3),
                    f"commit{n}_empty_hooks_added_ms": round(row["empty"], 1),
                    f"commit{n}_shell_check_added_ms": round(row["shell check"], 1)})
        ok = verdict(f"gitpar's hooks, warm, commit of {n} files: added ms", row["gitpar warm"], 60, " ms") and ok
        ok = verdict(f"gitpar's hooks, warm, commit of {n} files: share of the framework's cost",
                     row["gitpar warm"] / fw, 0.25) and ok
    emit({**out, "smoke": args.smoke, **work.record()})
    return smoke_exit(work, ok, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
