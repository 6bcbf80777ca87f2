"""Crash injection: kill -9 gitpar at random moments of its state-changing commands.

Each trial copies a prepared repository (streams api, ui, done started; api with committed,
uncommitted and untracked work and the lock on src/config.py; done finished; a new commit
on main), runs one of ``lock``, ``unlock``, ``progress``, ``start``, ``finish``, ``remove``,
``sync``, ``integrate`` as a real process, and kills its whole process group with SIGKILL
after a delay drawn uniformly over that command's measured duration (so start-up, the work
and the state commit are all hit). Then it checks:

* the state branch parses: every lock, progress, history and waiting file reads cleanly;
* each lock is held or not, never half: the lock file is absent or sound;
* no work is lost: api's committed, uncommitted and untracked files, ui's and done's
  commits, main's own commit are all still there;
* the next command works: ``gitpar status`` and the same command again succeed.

    python bench/bench_crash.py [--trials 400] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import add_smoke  # noqa: E402

COMMANDS: dict[str, tuple[list[str], str]] = {  # name -> (arguments, where it runs)
    "lock": (["lock", "src/config.py"], "api"),
    "unlock": (["unlock", "src/config.py"], "api"),
    "progress": (["progress", "--done", "crash item", "--completion", "30"], "api"),
    "start": (["start", "docs"], "main"),
    "finish": (["finish"], "ui"),
    "remove": (["remove", "ui", "--force"], "main"),  # ui is clean; its branch is kept
    "sync": (["sync", "ui"], "main"),
    "integrate": (["integrate", "--into", "main", "--streams", "done"], "main"),
}
# Outcomes of running a command again that are not failures: the first run got through.
# remove again after a removal that got through: "has no worktree to remove" (exit 2, as for a
# stream never started); any other exit 2 is a failure
AGAIN_OK = {"remove": (0, 1, 2)}
AGAIN_SAYS = {("remove", 2): "has no worktree to remove"}
STREAMS = ("api", "ui", "done")
WORK = {  # what must never be lost
    "committed": ("api", "src/api/committed.py", "committed = 1\n"),
    "uncommitted": ("api", "src/api/a.py", "a = 1\nuncommitted = 2\n"),
    "untracked": ("api", "src/api/untracked.py", "untracked = 3\n"),
}


def hermetic_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITPAR_DISABLED_PLUGINS")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
                "NO_COLOR": "1"})
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "tester"
        env[f"GIT_{who}_EMAIL"] = "tester@example.com"
    return env


def sh(cwd: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} in {cwd}: {proc.stdout}{proc.stderr}")
    return proc


def gitpar(cwd: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh(cwd, env, sys.executable, "-m", "gitpar", *args, check=check)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def build_template(top: Path, env: dict[str, str]) -> Path:
    """``top/repo`` and its worktrees ``top/wt/<stream>``, in the state described above."""
    repo = top / "repo"
    repo.mkdir(parents=True)
    sh(repo, env, "git", "init", "-q", "-b", "main")
    for rel, text in {"src/api/a.py": "a = 1\n", "src/ui/b.py": "b = 1\n", "src/config.py": "c = 1\n",
                      "docs/x.md": "doc\n", "lib/l.py": "l = 1\n", "README.md": "readme\n"}.items():
        write(repo / rel, text)
    sh(repo, env, "git", "add", "-A")
    sh(repo, env, "git", "commit", "-qm", "init")
    gitpar(repo, env, "init", "--no-hooks")
    plan = repo / ".gitpar" / "plan.md"
    plan.write_text(plan.read_text().replace("worktrees: ", "worktrees: ../wt/{stream}\n# was: ", 1))
    for name, owns in (("api", "src/api/**"), ("ui", "src/ui/**"), ("docs", "docs/**"), ("done", "lib/**")):
        args = ["stream", "add", name, "--owns", owns]
        if name in ("api", "ui"):
            args += ["--shares", "src/config.py"]
        gitpar(repo, env, *args)
    sh(repo, env, "git", "add", "-A", ".gitpar")
    sh(repo, env, "git", "commit", "-qm", "plan")
    for name in STREAMS:
        gitpar(repo, env, "start", name)
    wt = top / "wt"
    api, ui, done = wt / "api", wt / "ui", wt / "done"
    write(api / "src/api/committed.py", "committed = 1\n")
    sh(api, env, "git", "add", "-A")
    sh(api, env, "git", "commit", "-qm", "api: committed work")
    write(api / "src/api/a.py", WORK["uncommitted"][2])
    write(api / "src/api/untracked.py", WORK["untracked"][2])
    gitpar(api, env, "lock", "src/config.py", "--reason", "crash test")
    write(ui / "src/ui/c.py", "c = 1\n")
    sh(ui, env, "git", "add", "-A")
    sh(ui, env, "git", "commit", "-qm", "ui: work")
    write(done / "lib/m.py", "m = 1\n")
    sh(done, env, "git", "add", "-A")
    sh(done, env, "git", "commit", "-qm", "done: work")
    gitpar(done, env, "finish")
    write(repo / "README.md", "readme, newer\n")
    sh(repo, env, "git", "commit", "-qam", "main: newer readme")
    return top


def copy_template(template: Path, dest: Path) -> tuple[Path, dict[str, Path]]:
    """A copy of the template with every worktree re-linked to the copy (absolute links)."""
    shutil.copytree(template, dest, symlinks=True)
    repo = dest / "repo"
    trees = {}
    for name in STREAMS:
        wt = dest / "wt" / name
        admin = repo / ".git" / "worktrees" / name
        (wt / ".git").write_text(f"gitdir: {admin}\n")
        (admin / "gitdir").write_text(f"{wt / '.git'}\n")
        if (admin / "commondir").exists():
            (admin / "commondir").write_text(f"{repo / '.git'}\n")
        trees[name] = wt
    return repo, trees


def cwd_of(where: str, repo: Path, trees: dict[str, Path]) -> Path:
    return repo if where == "main" else trees[where]


def kill_at(cmd: list[str], cwd: Path, env: dict[str, str], delay: float) -> tuple[bool, float]:
    """Run gitpar ``cmd`` and SIGKILL its process group after ``delay`` s: (killed, ran for)."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "gitpar", *cmd], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=delay)
        return False, time.monotonic() - start
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        return True, time.monotonic() - start


def check_state(repo: Path) -> list[str]:
    """Problems with the state branch: unreadable files, half-written locks."""
    import pygit2

    from gitpar.core import markdown
    from gitpar.core.locks import parse_lock
    from gitpar.core.progress import parse_progress
    from gitpar.errors import BadInput

    problems: list[str] = []
    git = pygit2.Repository(str(repo))
    tree = git.revparse_single("refs/heads/gitpar/_state").peel(pygit2.Tree)

    def walk(t: pygit2.Tree, prefix: str) -> None:
        for entry in t:
            path = prefix + entry.name
            obj = git[entry.id]
            if isinstance(obj, pygit2.Tree):
                walk(obj, path + "/")
                continue
            text = obj.peel(pygit2.Blob).data.decode("utf-8", errors="replace")
            try:
                if path.startswith("locks/") and path.endswith(".lock"):
                    lk = parse_lock(path, text)
                    if lk.problem:
                        problems.append(f"half a lock: {lk.problem}")
                elif path.startswith("progress/"):
                    parse_progress(path[len("progress/"):-3], text)
                elif path.endswith(".md") or path.endswith(".waiting"):
                    if path != "README.md":
                        markdown.parse(text, path)
            except BadInput as exc:
                problems.append(f"unreadable {path}: {exc}")

    walk(tree, "")
    return problems


def check_work(repo: Path, trees: dict[str, Path]) -> list[str]:
    """Work that is missing: files in worktrees, commits on branches."""
    import pygit2

    git = pygit2.Repository(str(repo))

    def on(ref: str, rel: str) -> bytes | None:
        try:
            tree = git.revparse_single(ref).peel(pygit2.Tree)
            data: bytes = git[tree[rel].id].peel(pygit2.Blob).data
            return data
        except (KeyError, ValueError):
            return None

    problems = []
    for what, (stream, rel, text) in WORK.items():
        if what == "committed":
            ok = on(f"refs/heads/gitpar/{stream}", rel) is not None
        else:
            path = trees[stream] / rel
            ok = path.is_file() and path.read_text() == text
        if not ok:
            problems.append(f"lost the {what} file {rel} of {stream}")
    for ref, rel in (("gitpar/ui", "src/ui/c.py"), ("gitpar/done", "lib/m.py")):
        if on(f"refs/heads/{ref}", rel) is None:
            problems.append(f"lost {rel} on {ref}")
    if b"newer" not in (on("refs/heads/main", "README.md") or b""):
        problems.append("lost main's own commit")
    return problems


@dataclass
class Trial:
    command: str
    delay: float
    killed: bool
    problems: list[str] = field(default_factory=list)


def measure(template: Path, work: Path, env: dict[str, str]) -> dict[str, float]:
    """How long each command takes when left alone (a clean run on a fresh copy)."""
    out = {}
    for name, (args, where) in COMMANDS.items():
        dest = work / f"measure-{name}"
        repo, trees = copy_template(template, dest)
        start = time.monotonic()
        proc = gitpar(cwd_of(where, repo, trees), env, *args, check=False)
        out[name] = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"gitpar {' '.join(args)} fails even without a crash: {proc.stderr}")
        shutil.rmtree(dest)
    return out


def trial(template: Path, work: Path, env: dict[str, str], name: str, delay: float, n: int) -> Trial:
    args, where = COMMANDS[name]
    dest = work / f"trial-{n}"
    repo, trees = copy_template(template, dest)
    killed, _ran = kill_at(args, cwd_of(where, repo, trees), env, delay)
    t = Trial(name, delay, killed)
    t.problems += check_state(repo)
    t.problems += check_work(repo, trees)
    from gitpar.testing import run as run_in_process

    st = run_in_process(repo, "status", "--json")
    if st.code != 0:
        t.problems.append(f"status after the crash: exit {st.code}: {st.err.strip()}")
    again = gitpar(cwd_of(where, repo, trees), env, *args, check=False)  # a real next process
    says = AGAIN_SAYS.get((name, again.returncode))
    if again.returncode not in AGAIN_OK.get(name, (0,)) or (says is not None and says not in again.stderr):
        t.problems.append(f"gitpar {' '.join(args)} again: exit {again.returncode}: {again.stderr.strip()}")
    t.problems += check_state(repo)
    shutil.rmtree(dest, ignore_errors=True)
    return t


# Windows killed on purpose, not only by chance: name -> (command, where, the git subcommand at
# which a git wrapper on PATH kills gitpar, the stream whose worktree must end up clean).
WINDOWS: dict[str, tuple[list[str], str, str, str]] = {
    # the branch has moved, its worktree not yet: the next sync (or doctor --fix) finishes it
    "sync@read-tree": (["sync", "ui"], "main", "read-tree", "ui"),
}
KILLER = ('#!/bin/sh\nfor a in "$@"; do [ "$a" = "$GITPAR_KILL_AT" ] && {{ kill -9 $PPID; exit 1; }}; done\n'
          'exec {git} "$@"\n')


def window_trial(template: Path, work: Path, env: dict[str, str], name: str, n: int) -> Trial:
    """Kill the command at one git subcommand (``WINDOWS``), then run it again: the state and
    the work must be whole, and the worktree must hold no staged leftover of the half-done move."""
    args, where, at, stream = WINDOWS[name]
    dest = work / f"window-{n}"
    repo, trees = copy_template(template, dest)
    fake = dest / "fakegit"
    fake.mkdir()
    (fake / "git").write_text(KILLER.format(git=shutil.which("git")))
    (fake / "git").chmod(0o755)
    killing = {**env, "PATH": f"{fake}{os.pathsep}{env.get('PATH', os.environ['PATH'])}", "GITPAR_KILL_AT": at}
    proc = gitpar(cwd_of(where, repo, trees), killing, *args, check=False)
    t = Trial(name, 0.0, proc.returncode == -signal.SIGKILL)
    if not t.killed:
        t.problems.append(f"gitpar {' '.join(args)} never reached git {at} (exit {proc.returncode})")
    t.problems += check_state(repo)
    t.problems += check_work(repo, trees)
    again = gitpar(cwd_of(where, repo, trees), env, *args, check=False)
    if again.returncode != 0:
        t.problems.append(f"gitpar {' '.join(args)} again: exit {again.returncode}: {again.stderr.strip()}")
    left = sh(trees[stream], env, "git", "status", "--porcelain", "--untracked-files=no", check=False).stdout
    if left.strip():
        t.problems.append(f"{stream}'s worktree still holds a half-done move after the next run: {left.strip()}")
    t.problems += check_work(repo, trees)
    shutil.rmtree(dest, ignore_errors=True)
    return t


def run_trials(trials: int, seed: int = 1, work: Path | None = None) -> dict[str, object]:
    """Run ``trials`` kill -9 trials (spread evenly over the commands); the figures."""
    rng = random.Random(seed)
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="gitpar-crash-")) if work is None else work
    from gitpar.testing import hermetic

    try:
        env = hermetic_env(work / "home")
        with hermetic(work / "home"):
            return _run(rng, trials, work, env)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _run(rng: random.Random, trials: int, work: Path, env: dict[str, str]) -> dict[str, object]:
    template = build_template(work / "template", env)
    durations = measure(template, work, env)
    names = list(COMMANDS)
    results: list[Trial] = []
    started = time.monotonic()
    for n in range(trials):
        name = names[n % len(names)]
        # uniformly over the whole command (a little past its end: some runs are slower)
        delay = rng.uniform(0.0, durations[name] * 1.1)
        results.append(trial(template, work, env, name, delay, n))
    windows = [window_trial(template, work, env, name, n) for n, name in enumerate(WINDOWS)]
    elapsed = time.monotonic() - started
    failures = [t for t in results + windows if t.problems]
    return {
        "trials": len(results),
        "killed": sum(t.killed for t in results),
        "failures": len(failures),
        "seconds": round(elapsed, 1),
        "durations_s": {k: round(v, 3) for k, v in durations.items()},
        "per_command": {name: {"trials": sum(t.command == name for t in results),
                               "killed": sum(t.killed for t in results if t.command == name),
                               "failures": sum(bool(t.problems) for t in results if t.command == name)}
                        for name in names},
        "windows": {t.command: {"killed": t.killed, "failures": len(t.problems)} for t in windows},
        "failed": [{"command": t.command, "delay": round(t.delay, 3), "problems": t.problems}
                   for t in failures[:20]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    add_smoke(parser)
    ns = parser.parse_args()
    if ns.smoke:  # one trial of each command
        ns.trials = 8
    figures = run_trials(ns.trials, ns.seed)
    if ns.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{figures['trials']} trials ({figures['killed']} killed mid-command) in "
              f"{figures['seconds']} s: {figures['failures']} failures")
        for name, row in figures["per_command"].items():  # type: ignore[attr-defined]
            print(f"  {name:10} {row['trials']:4} trials, {row['killed']:4} killed, {row['failures']} failures")
        for name, row in figures["windows"].items():  # type: ignore[attr-defined]
            print(f"  {name:10} killed there on purpose: {row['killed']}, {row['failures']} failures")
        for f in figures["failed"]:  # type: ignore[attr-defined]
            print(f"  FAILED {f['command']} at {f['delay']} s: {'; '.join(f['problems'])}")
    if not ns.json:
        print(json.dumps({"bench": "crash", **figures, "smoke": ns.smoke, "same_work": not figures["failures"]},
                         default=str))
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
