"""Benchmark: the merge queue, ``gitpar integrate -j 4`` against ``-j 1`` and mergetrain 3.7.1.

N completed independent streams (``q<i>/f.txt`` each), a sleep gate of T seconds (like
waiting on a CI runner) or a CPU-bound gate (``--cpu``: Python arithmetic calibrated to take
T on one idle core), 0, 1 or 2 streams that break it (they write ``BAD``). Each case builds
one repository, and each round runs the anchors alternated (the order rotates every round),
each on its own copy (``cp -a`` of the repository and its worktrees folder, the worktrees
repaired): ``gitpar integrate -j 4``, ``gitpar integrate -j 1`` (today's one-at-a-time
gate) and mergetrain 3.7.1 (batch + bisect; ``pip install mergetrain==3.7.1`` into this
environment), driven on the same branches: a bare ``origin`` with the copy's ``main``, each
``gitpar/<stream>`` enqueued from its worktree (``mergetrain enqueue --branch --worktree``),
then ``mergetrain validate`` (assemble, gate, bisect; no push) timed, its gate runs counted
in its logs. When mergetrain cannot run, the output and the JSON line say exactly why.

It prints the wall time in units of T and the number of gate runs of each, the ratios, and
one JSON line; with every anchor, the streams each landed and the landed tree are compared
(``same_work``). Goals (issue 24) at N = 16, ``-j 4``, sleep gate: all pass <= 1.3 T; one
culprit <= 3.5 T; two <= 6 T; never slower than mergetrain in the same run. The CPU-bound
figures are what they are on this machine's cores (said in the output): gates that compete
for two cores cannot all run at full speed; there T is one CPU gate run measured alone, on
the case's repository, just before its anchors run.

``--smoke``: tiny (N = 4, T = 0.05 s, one round, one culprit), checks that the anchors did
the same work, and reports no timings.

Run: ``python bench/bench_integrate.py`` (``--streams 8 16``, ``--gate-seconds 2``,
``--culprits 0 1 2``, ``--cpu``, ``--rounds 1``, ``--no-mergetrain``, ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
    """A copy of the repository and its stream worktrees, each worktree linked to the copy
    (its ``.git`` file and the copy's ``gitdir`` and ``commondir`` records rewritten: ``git
    worktree repair`` leaves a link to the original alone while the original exists)."""
    shutil.copytree(root / "repo", into / "repo", symlinks=True)
    shutil.copytree(root / "repo.gitpar", into / "repo.gitpar", symlinks=True)
    admin = into / "repo" / ".git" / "worktrees"
    for wt in sorted((into / "repo.gitpar").iterdir()):
        link = wt / ".git"
        if not link.is_file():
            continue
        name = Path(link.read_text().split(":", 1)[1].strip()).name
        link.write_text(f"gitdir: {admin / name}\n")
        (admin / name / "gitdir").write_text(f"{link}\n")
        (admin / name / "commondir").write_text("../..\n")
    return into / "repo"


def gate_command(seconds: float, cpu: bool) -> str:
    check = "! grep -rqs BAD q*"
    if cpu:
        # the bench's own interpreter: the one the loops were calibrated on
        return f"{shlex.quote(sys.executable)} -c 'sum(range({cpu_loops(seconds)}))'; {check}"
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


MERGETRAIN_VERSION = "3.7.1"


def mergetrain_status() -> str | None:
    """Why mergetrain cannot run here (None: it can)."""
    exe = shutil.which("mergetrain", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        return (f"mergetrain is not installed in this environment ({sys.executable}); "
                f"pip install mergetrain=={MERGETRAIN_VERSION} to compare with it")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
    version = (proc.stdout + proc.stderr).strip().split()[-1] if proc.returncode == 0 else "?"
    if version != MERGETRAIN_VERSION:
        return f"mergetrain {version} is installed, not {MERGETRAIN_VERSION}: its figures would not be the issue's anchor"
    return None


def mergetrain_exe() -> str:
    exe = shutil.which("mergetrain", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    assert exe is not None
    return exe


def run_mergetrain(repo: Path, gate: str, n: int) -> dict[str, object]:
    """mergetrain 3.7.1 on ``repo`` (a copy): a bare origin of its main, the config outside
    the tree (the trees stay gitpar's), each stream's branch enqueued from its worktree, then
    ``mergetrain validate`` timed: what it validated (would deploy), its tree, its gate runs."""
    exe = mergetrain_exe()
    origin = repo.parent / "origin.git"
    sh(["git", "init", "-q", "--bare", str(origin)], repo.parent)
    sh(["git", "remote", "add", "origin", str(origin)], repo)
    sh(["git", "push", "-q", "origin", "main"], repo)
    config = repo.parent / "mergetrain.yaml"
    state = repo.parent / "mt-state"
    config.write_text("version: 2\nproject:\n  name: bench\nstate:\n"
                      f"  db: {state}/queue.sqlite\n  logs: {state}/logs\n  worktree_root: {state}/worktrees\n"
                      "git:\n  remote: origin\n  integration_branch: main\n  push_refs: [main]\n"
                      f"gates:\n  - name: gate\n    run: {json.dumps(gate)}\n")
    base = [exe, "--repo", str(repo), "--config", str(config)]
    for i in range(n):
        wt = repo.parent / "repo.gitpar" / f"s{i}"
        proc = sh([*base, "enqueue", "--task", f"s{i}", "--branch", f"gitpar/s{i}", "--worktree", str(wt), "--json"],
                  repo, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"mergetrain enqueue of gitpar/s{i} failed: {proc.stdout[-1500:]} {proc.stderr[-500:]}")
    t0 = time.monotonic()
    proc = sh([*base, "validate", "--json"], repo, check=False)
    wall = time.monotonic() - t0
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"mergetrain validate printed no JSON (exit {proc.returncode}): {proc.stderr[-1500:]}") from None
    jobs = data.get("jobs") or []
    ok = sorted((j for j in jobs if j.get("status") == "validated"), key=lambda j: j.get("queue_order", 0))
    trees = {j.get("validation_tree_sha") for j in ok}
    runs = sum(log.read_text(errors="replace").count("$ /bin/sh -c ")
               for log in (state / "logs").glob("*.log"))
    return {"wall_s": wall, "gate_runs": runs, "landed": [str(j["branch"]).removeprefix("gitpar/") for j in ok],
            "tree": trees.pop() if len(trees) == 1 else None}


def cpu_loops(seconds: float) -> int:
    """Loops of ``sum(range(k))`` that take ``seconds`` on one idle core (measured here)."""
    k = 2_000_000
    t0 = time.perf_counter()
    sum(range(k))
    per = (time.perf_counter() - t0) / k
    return max(1, int(seconds / per))


def _median(values: list[float]) -> float:
    import statistics

    return float(statistics.median(values))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--gate-seconds", type=float, default=2.0)
    ap.add_argument("--culprits", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=1, help="rounds per case, the anchors' order rotating")
    ap.add_argument("--cpu", action="store_true", help="a CPU-bound gate instead of sleep")
    ap.add_argument("--no-mergetrain", action="store_true", help="leave mergetrain out")
    ap.add_argument("--smoke", action="store_true", help="tiny, one round, no timings: the anchors did the same work")
    args = ap.parse_args()
    if args.smoke:
        args.streams, args.gate_seconds, args.culprits, args.rounds = [4], 0.05, [1], 1
    why_not = "left out (--no-mergetrain)" if args.no_mergetrain else mergetrain_status()
    print(f"mergetrain {MERGETRAIN_VERSION}: {why_not}" if why_not else f"mergetrain {MERGETRAIN_VERSION}: run")
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"machine: {cores} cores, load {load:.2f} at the start" if load is not None else f"machine: {cores} cores")
    gate = gate_command(args.gate_seconds, args.cpu)
    anchors = [f"-j {args.jobs}", "-j 1"] + ([] if why_not else ["mergetrain"])
    results = []
    same_work = True
    t = args.gate_seconds
    for n in args.streams:
        for k in args.culprits:
            culprits = {n // 2 + 2 * j for j in range(k) if n // 2 + 2 * j < n}
            got: dict[str, list[dict[str, object]]] = {a: [] for a in anchors}
            with tempfile.TemporaryDirectory(prefix="gitpar-bench-integrate-") as tmp:
                root = Path(tmp) / "base"
                build(root, n, culprits)
                if args.cpu and not args.smoke:  # T: one gate run as it takes here, now
                    t0 = time.monotonic()
                    sh(["/bin/sh", "-c", gate], root / "repo", check=False)
                    t = time.monotonic() - t0
                for r in range(args.rounds):
                    for a in anchors[r % len(anchors):] + anchors[:r % len(anchors)]:
                        where = Path(tmp) / f"{a.replace(' ', '')}-{r}"
                        repo = copy(root, where)
                        if a == "mergetrain":
                            got[a].append(run_mergetrain(repo, gate, n))
                        else:
                            got[a].append(run_queue(repo, int(a.split()[1]), gate))
                        shutil.rmtree(where, ignore_errors=True)
            par = got[anchors[0]][0]
            want = [f"s{i}" for i in range(n) if i not in culprits]
            row: dict[str, object] = {"streams": n, "culprits": k, "gate_s": round(t, 2), "cpu": args.cpu, "jobs": args.jobs,
                                      "rounds": args.rounds}
            for a in anchors:
                for x in got[a]:
                    same = sorted(x["landed"]) == sorted(want) and x["tree"] == par["tree"]  # type: ignore[type-var]
                    if not same:
                        same_work = False
                        print(f"N={n} culprits={k}: {a} landed {x['landed']} (tree {x['tree']}), "
                              f"-j {args.jobs} landed {par['landed']} (tree {par['tree']}); want {want}")
            row["same_work"] = same_work
            key = {anchors[0]: "par", "-j 1": "one", "mergetrain": "mergetrain"}
            for a in anchors:
                walls = [float(x["wall_s"]) for x in got[a]]  # type: ignore[arg-type]
                row[f"{key[a]}_runs"] = got[a][0]["gate_runs"]
                if not args.smoke:
                    row[f"{key[a]}_s"] = round(_median(walls), 2)
                    row[f"{key[a]}_T"] = round(_median(walls) / t, 2)
            if args.smoke:
                print(f"smoke N={n} culprits={k}: " + ", ".join(
                    f"{a} landed {len(got[a][0]['landed'])} streams in {got[a][0]['gate_runs']} gate runs" for a in anchors)
                    + ("; the same streams and tree" if same_work else "; DIFFERENT work"))
            else:
                row["ratio_one"] = round(float(row["par_s"]) / float(row["one_s"]), 2)  # type: ignore[arg-type]
                parts = [f"{a} {row[key[a] + '_T']} T ({row[key[a] + '_s']} s, {row[key[a] + '_runs']} gates)"
                         for a in anchors]
                line = (f"N={n} culprits={k} gate={'cpu' if args.cpu else 'sleep'} "
                        f"T={t:.2f} s{' (one CPU gate run measured alone)' if args.cpu else ''}: " + ", ".join(parts))
                line += f"; -j {args.jobs}/-j 1 {row['ratio_one']}"
                if "mergetrain" in anchors:
                    row["ratio_mergetrain"] = round(float(row["par_s"]) / float(row["mergetrain_s"]), 2)  # type: ignore[arg-type]
                    line += f", -j {args.jobs}/mergetrain {row['ratio_mergetrain']}"
                goal = {0: 1.3, 1: 3.5, 2: 6.0}.get(k)
                if n == 16 and args.jobs == 4 and not args.cpu and goal is not None:
                    row["goal_T"] = goal
                    row["goal_met"] = float(row["par_T"]) <= goal and float(row.get("ratio_mergetrain", 0.0)) <= 1.0  # type: ignore[arg-type]
                    line += f"; goal <= {goal} T and not slower than mergetrain: {'met' if row['goal_met'] else 'NOT met'}"
                print(line, flush=True)
            results.append(row)
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(json.dumps({"bench": "integrate", "mergetrain": why_not or "run", "mergetrain_version": MERGETRAIN_VERSION,
                      "cores": cores, "load_start": load, "load_end": end_load, "cpu_gate": args.cpu,
                      "same_work": same_work, "results": results}))
    return 0 if same_work else 1


if __name__ == "__main__":
    sys.exit(main())
