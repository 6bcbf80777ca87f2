"""Whole-process time of `gitpar --help`, `--version` and the write commands against their floors.

`gitpar` is the installed console script (next to this interpreter). Two anchors: the same
interpreter doing nothing (`python -c pass`) for `--help` and `--version`, and for the write
commands (`progress`, `lock`, `unlock`, one compare-and-swap commit on the state branch each)
the least a process can do for one: start the interpreter, import pygit2, read the state
branch's tip, write the stream's progress file anew into a commit on it and move a ref to
it by libgit2's reference transaction (FLOOR below; it moves a ref of its own,
refs/bench/floor, so the state stays gitpar's). All run in turn in one loop after a warm-up
round (benchlib.alternate), median of each. Goals: `--help` and `--version` at most 3x
`python -c pass`; `progress`, `lock` and `unlock` at most 1.3x the floor. The same work
every round: every progress item on the state branch, every lock taken and released, every
floor commit on its ref, `--version` printing gitpar's version.

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

# python + import pygit2 + one CAS commit: argv[1] the repository, argv[2] the item written
FLOOR = """import sys

import pygit2

repo = pygit2.Repository(sys.argv[1])
state = repo[repo.references["refs/heads/gitpar/_state"].target]
ref = "refs/bench/floor"
old = repo.references[ref].target if ref in repo.references else None
progress = state.tree["progress"]
text = repo[progress["api.md"].id].data + ("- " + sys.argv[2] + "\\n").encode()
sub = repo.TreeBuilder(repo[progress.id])
sub.insert("api.md", repo.create_blob(text), pygit2.GIT_FILEMODE_BLOB)
top = repo.TreeBuilder(state.tree)
top.insert("progress", sub.write(), pygit2.GIT_FILEMODE_TREE)
sig = pygit2.Signature("bench", "b@example.com")
new = repo.create_commit(None, sig, sig, "progress: api", top.write(), [old] if old else [state.id])
repo.set_ident(sig.name, sig.email)
with repo.transaction() as txn:
    txn.lock_ref(ref)
    now = repo.references[ref].target if ref in repo.references else None
    if now != old:
        sys.exit("the floor's ref moved")
    txn.set_target(ref, new, message="progress: api")
"""


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
        for cmd in (["init", "--no-hooks"],
                    ["stream", "add", "api", "--owns", "src/**", "--shares", "shared.txt"]):
            subprocess.run([*gitpar, *cmd], cwd=repo, check=True, env=env, capture_output=True)
        (repo / "shared.txt").write_text("shared\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True, env=env)
        out = subprocess.run([*gitpar, "start", "api"], cwd=repo, check=True, env=env,
                             capture_output=True, text=True).stdout.strip()
        worktree = Path(out.splitlines()[-1])
        floor_script = tmp / "floor.py"
        floor_script.write_text(FLOOR)
        counter = itertools.count()
        items: list[str] = []
        floors: list[str] = []
        locked: list[bool] = []

        def progress() -> float | tuple[float, float]:
            item = f"x{next(counter)}"
            items.append(item)
            return process([*gitpar, "progress", "--done", item], worktree, env)()

        def floor() -> float | tuple[float, float]:
            item = f"f{next(counter)}"
            floors.append(item)
            return process([sys.executable, str(floor_script), str(repo), item], repo, env)()

        def lock() -> float | tuple[float, float]:
            got = process([*gitpar, "lock", "shared.txt"], worktree, env)()
            locked.append(_holds(repo, env))
            return got

        def unlock() -> float | tuple[float, float]:
            got = process([*gitpar, "unlock", "shared.txt"], worktree, env)()
            locked.append(not _holds(repo, env))
            return got
        figures = alternate({"floor": process([sys.executable, "-c", "pass"], repo, env),
                             "help": process([*gitpar, "--help"], repo, env),
                             "version": process([*gitpar, "--version"], repo, env),
                             "write_floor": floor, "progress": progress, "lock": lock, "unlock": unlock},
                            runs, warmup=0 if args.smoke else 1)
        version = subprocess.run([*gitpar, "--version"], cwd=repo, env=env, capture_output=True,
                                 text=True).stdout
        import gitpar as package
        work.check("--version prints the version", package.__version__ in version, True)
        state = subprocess.run(["git", "show", "gitpar/_state:progress/api.md"], cwd=repo, env=env,
                               capture_output=True, text=True).stdout
        work.check("progress items on the state branch", [i for i in items if i in state], items)
        floor_log = subprocess.run(["git", "rev-list", "refs/bench/floor", "--not", "gitpar/_state"], cwd=repo,
                                   env=env, capture_output=True, text=True).stdout.split()
        work.check("a commit per floor run, as per progress run", len(floor_log), len(items))
        work.check("every lock taken and released", all(locked) and len(locked) == 2 * len(items), True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load {os.getloadavg()[0]:.1f}")
    for name, label in (("help", "gitpar --help"), ("version", "gitpar --version")):
        print("  " + describe(figures, name, "floor", label, "python -c pass"))
    for name in ("progress", "lock", "unlock"):
        print("  " + describe(figures, name, "write_floor", f"gitpar {name}",
                              "python + import pygit2 + one CAS commit"))
    ok = verdict("gitpar --help vs python -c pass", figures.ratio("help", "floor"), 3.0)
    ok = verdict("gitpar --version vs python -c pass", figures.ratio("version", "floor"), 3.0) and ok
    for name in ("progress", "lock", "unlock"):
        ok = verdict(f"gitpar {name} vs its floor", figures.ratio(name, "write_floor"), 1.3) and ok
    emit({"bench": "startup", "runs": runs, "load": round(os.getloadavg()[0], 1),
          "python_floor_ms": figures.ms("floor"), "write_floor_ms": figures.ms("write_floor"),
          "help": figures.row("help", "floor"), "version": figures.row("version", "floor"),
          **{name: figures.row(name, "write_floor") for name in ("progress", "lock", "unlock")},
          "smoke": args.smoke, **work.record()})
    return smoke_exit(work, ok, args.smoke)


def _holds(repo: Path, env: dict[str, str]) -> bool:
    """Whether the state branch holds api's lock on shared.txt."""
    proc = subprocess.run(["git", "cat-file", "-e", "gitpar/_state:locks/shared.txt.lock"], cwd=repo, env=env,
                          capture_output=True)
    return proc.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
