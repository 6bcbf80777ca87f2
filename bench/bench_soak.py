"""Soak: 16 processes for 60 s mixing locks, progress reports and status reads.

Each process is its own stream (all share ``shared/**``) and loops until the time is up:
half the time it tries to lock one of 3 contested paths and, holding it, appends
``enter``/``leave`` markers (with a pause between) to that path's marker file, then
unlocks; a third of the time it reports a unique item done (``--done w3-17``); otherwise
it reads the whole status. At the end: a double grant shows as interleaved markers, a lost
item as one reported (the call returned) but missing from the stream's progress file.

    python bench/bench_soak.py [--procs 16] [--seconds 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import add_smoke  # noqa: E402

PATHS = ["shared/a.txt", "shared/b.txt", "shared/c.txt"]

WORKER = """
import json, os, random, sys, time
from gitpar.core import locks, streams
from gitpar.core.progress import ProgressUpdate
from gitpar.core.repo import open_repo
from gitpar.core.status import collect
from gitpar.errors import BadInput, StateConflict
me, seconds, markers = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
paths = PATHS_LITERAL
rng = random.Random(me)
repo = open_repo()
plan = repo.load_plan()
name = f"s{me}"
counts = {"grants": 0, "contended": 0, "items": 0, "status": 0, "conflicts": 0}
items = []
deadline = time.monotonic() + seconds
k = 0
while time.monotonic() < deadline:
    r = rng.random()
    try:
        if r < 0.5:
            path = rng.choice(paths)
            try:
                locks.lock(repo, name, [path], ttl=3600, plan=plan)
            except locks.Contended:
                counts["contended"] += 1
                time.sleep(rng.uniform(0, 0.01))
                continue
            with open(os.path.join(markers, path.replace("/", "_")), "a") as f:
                f.write(f"enter {me} {k}\\n"); f.flush()
                time.sleep(rng.uniform(0.001, 0.005))
                f.write(f"leave {me} {k}\\n")
            k += 1
            counts["grants"] += 1
            locks.unlock(repo, name, [path])
        elif r < 0.83:
            item = f"w{me}-{len(items)}"
            streams.report(repo, name, ProgressUpdate(done=(item,)))
            items.append(item)
            counts["items"] += 1
        else:
            collect(repo, plan, dirty="none", forecast=False)
            counts["status"] += 1
    except StateConflict:
        counts["conflicts"] += 1
# an unlock lost to a conflict must not leave the lock behind
for path in paths:
    for _ in range(50):
        try:
            locks.unlock(repo, name, [path])
            break
        except BadInput:  # held by another stream: not ours to release
            break
        except StateConflict:
            time.sleep(0.05)
print(json.dumps({"counts": counts, "items": items}))
""".replace("PATHS_LITERAL", repr(PATHS))


def setup(repo: Path, procs: int) -> None:
    gitpar = [sys.executable, "-m", "gitpar"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "shared").mkdir()
    for p in PATHS:
        (repo / p).write_text("x\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True)
    subprocess.run([*gitpar, "init", "--no-hooks"], cwd=repo, check=True, capture_output=True)
    for w in range(procs):
        subprocess.run([*gitpar, "stream", "add", f"s{w}", "--shares", "shared/**"], cwd=repo,
                       check=True, capture_output=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True)
    for w in range(procs):
        subprocess.run([*gitpar, "start", f"s{w}"], cwd=repo, check=True, capture_output=True)


def soak(procs: int, seconds: float, work: Path | None = None) -> dict[str, object]:
    """Run the soak in ``work`` (a new temporary folder by default); the figures."""
    env_ids = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    os.environ.update({k: v for k, v in env_ids.items() if k not in os.environ})
    own = work is None
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-soak-")) if work is None else work
    try:
        repo = tmp / "r"
        setup(repo, procs)
        markers = tmp / "markers"
        markers.mkdir()
        started = time.perf_counter()
        ps = [subprocess.Popen([sys.executable, "-c", WORKER, str(w), str(seconds), str(markers)],
                               cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for w in range(procs)]
        results = []
        for p in ps:
            out, err = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"a worker failed: {err[-1500:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.perf_counter() - started
        double = []
        grants = 0
        for f in sorted(markers.iterdir()):
            lines = f.read_text().splitlines()
            for enter, leave in zip(lines[::2], lines[1::2], strict=False):  # odd: reported below
                if not (enter.startswith("enter") and leave == "leave" + enter[len("enter"):]):
                    double.append(f"{f.name}: {enter!r} then {leave!r}")
            if len(lines) % 2:
                double.append(f"{f.name}: unmatched {lines[-1]!r}")
            grants += len(lines) // 2
        from gitpar.core.progress import parse_progress

        lost = []
        for w, res in enumerate(results):
            text = subprocess.run(["git", "show", f"gitpar/_state:progress/s{w}.md"], cwd=repo,
                                  capture_output=True, text=True, check=True).stdout
            done = set(parse_progress(f"s{w}", text).completed)
            lost += [i for i in res["items"] if i not in done]
        left = subprocess.run(["git", "ls-tree", "-r", "--name-only", "gitpar/_state", "locks/"], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.split()
        commits = int(subprocess.run(["git", "rev-list", "--count", "gitpar/_state"], cwd=repo,
                                     capture_output=True, text=True, check=True).stdout)
    finally:
        if own:
            shutil.rmtree(tmp, ignore_errors=True)
    totals = {k: sum(r["counts"][k] for r in results) for k in results[0]["counts"]}
    ops = totals["grants"] * 2 + totals["contended"] + totals["items"] + totals["status"]
    return {"bench": "soak", "procs": procs, "seconds": round(elapsed, 1), **totals,
            "marker_grants": grants, "double_grants": len(double), "lost_items": len(lost),
            "locks_left": [p for p in left if p.endswith(".lock")], "state_commits": commits,
            "ops_per_s": round(ops / elapsed, 1), "double_grant_examples": double[:5],
            "lost_examples": lost[:5]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--json", action="store_true")
    add_smoke(ap)
    args = ap.parse_args()
    if args.smoke:
        args.procs, args.seconds = 3, 3.0
    f = soak(args.procs, args.seconds)
    if args.json:
        print(json.dumps(f, indent=2))
    else:
        print(f"{f['procs']} processes for {f['seconds']} s: {f['grants']} lock grants "
              f"({f['contended']} contended tries), {f['items']} progress items, {f['status']} status "
              f"reads, {f['conflicts']} CAS give-ups")
        print(f"double grants: {f['double_grants']}, lost items: {f['lost_items']}, "
              f"locks left: {len(f['locks_left'])}; {f['ops_per_s']} ops/s "
              f"({f['state_commits']} state commits)")
    bad = bool(f["double_grants"] or f["lost_items"] or f["locks_left"])
    if not args.json:
        print(json.dumps({"bench": "soak", **f, "smoke": args.smoke, "same_work": not bad}, default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
