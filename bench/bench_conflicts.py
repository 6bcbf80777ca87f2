"""Benchmark: ``gitpar conflicts --json`` vs ``git merge-tree --write-tree`` for every pair.

A 20,000-file repository (``pkg00..99/mod0..9/f00..19.py``, 24 lines each) built with
``git fast-import``; N streams forked from main, each changing 20-50 files (one line
each), adding one file, a few deleting one; some pairs share files on distant lines
(overlap, no conflict) and some on the same line (conflict); random picks add their own
overlaps. After the streams fork, main moves by two commits touching 30 files, a few of
them streams' files. The plan and the state branch (every stream in progress) are
written by fast-import too; no worktrees are needed for a forecast.

For each N it times, alternated in one loop (A B C A B C ...) and quoted by the median
of each: gitpar's whole process (``gitpar conflicts --json``); the pruned anchor, what a
careful script does (``git diff --name-only`` for each stream against main and for main
since the stream forked, then ``git merge-tree --write-tree`` only for the pairs whose
files meet, the same pruning gitpar does); and the all-pairs anchor (``git merge-tree``
for every pair and every stream against main, one process per pair, only the first
``--all-pairs-runs`` rounds: it is slow). It checks that all three find the same set of
conflicting pairs, prints the figures and ratios, then one JSON line.

Run: ``python bench/bench_conflicts.py`` (``--streams 30 100``, ``--runs 5``,
``--all-pairs-runs 1``, ``--quick``, ``--keep DIR`` keeps the repositories). At 500
streams: ``--streams 500 --all-pairs-runs 0 --runs 3`` (the all-pairs anchor would be
125,250 git processes a round; the pruned anchor's merges still check every pair that
meets, and the goal is gitpar <= 2.5 s).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import SameWork, add_smoke, alternate, call, describe, emit, gitpar_command  # noqa: E402

from gitpar.core.progress import Progress, render_progress  # noqa: E402

PACKAGES, MODULES, FILES, LINES, SEED = 100, 10, 20, 24, 20240611
GOALS = {30: 5.0, 100: 20.0}  # minimum speed-up over the anchor
MAX_SECONDS = {100: 2.0, 500: 2.5}  # gitpar's whole process, median


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
               GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1")
    return env


def _path(p: int, m: int, f: int) -> str:
    return f"pkg{p:02d}/mod{m}/f{f:02d}.py"


def _content(path: str, edits: dict[int, str] | None = None) -> bytes:
    lines = [f"{path} line {n}\n" for n in range(1, LINES + 1)]
    for n, text in (edits or {}).items():
        lines[n - 1] = text + "\n"
    return "".join(lines).encode()


class FastImport:
    """Writes a ``git fast-import`` stream: blobs inline, one commit at a time."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0
        self.when = 1_700_000_000

    def commit(self, ref: str, message: str, changes: dict[str, bytes | None],
               parent: int | None = None, orphan_files_only: bool = False) -> int:
        self.mark += 1
        self.when += 60
        msg = message.encode()
        head = [f"commit {ref}\n", f"mark :{self.mark}\n",
                f"committer bench <bench@example.com> {self.when} +0000\n",
                f"data {len(msg)}\n"]
        self.parts.append("".join(head).encode() + msg + b"\n")
        if parent is not None:
            self.parts.append(f"from :{parent}\n".encode())
        for path, data in changes.items():
            if data is None:
                self.parts.append(f"D {path}\n".encode())
            else:
                self.parts.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        self.parts.append(b"\n")
        return self.mark

    def run(self, repo: Path) -> None:
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(self.parts),
                       check=True, env=_env())


def build(repo: Path, n_streams: int, seed: int = SEED) -> dict[str, object]:
    """The benchmark repository for ``n_streams`` streams at ``repo``; what was built."""
    rng = random.Random(seed + n_streams)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=_env())
    all_paths = [_path(p, m, f) for p in range(PACKAGES) for m in range(MODULES) for f in range(FILES)]
    fi = FastImport()
    files: dict[str, bytes | None] = {path: _content(path) for path in all_paths}
    files[".gitpar/plan.md"] = b"---\nbase: main\n---\nThe benchmark plan.\n"
    names = [f"s{i:03d}" for i in range(n_streams)]
    for name in names:
        files[f".gitpar/streams/{name}.md"] = (
            f'---\nowns: ["{name}/**"]\ndepends_on: []\n---\nBench stream {name}.\n'.encode())
    root = fi.commit("refs/heads/main", "initial: 20,000 files and the plan", files)

    # what each stream edits: path -> {line: text}
    edits: dict[str, dict[str, dict[int, str]]] = {name: {} for name in names}
    for name in names:
        for path in rng.sample(all_paths, rng.randint(20, 50)):
            edits[name][path] = {rng.randint(1, LINES): f"{name} edit"}
    designed_overlaps = designed_conflicts = 0
    for i in range(0, n_streams - 1, 5):  # neighbours share files, far apart: overlap only
        a, b = names[i], names[i + 1]
        for path in rng.sample(all_paths, 2):
            edits[a][path] = {3: f"{a} edit"}
            edits[b][path] = {20: f"{b} edit"}
        designed_overlaps += 1
    for i in range(0, n_streams - 3, 7):  # the same line of one file: a conflict
        a, b = names[i], names[i + 3]
        path = rng.choice(all_paths)
        edits[a][path] = {10: f"{a} edit"}
        edits[b][path] = {10: f"{b} edit"}
        designed_conflicts += 1
    deletes: dict[str, str] = {}
    for i in range(0, n_streams, 10):  # a deletion of a file another stream edits
        other = names[(i + 4) % n_streams]
        deletes[names[i]] = next(iter(edits[other]))
    for name in names:
        changes: dict[str, bytes | None] = {path: _content(path, e) for path, e in edits[name].items()}
        changes[f"{name}/new.py"] = f"# added by {name}\n".encode()
        if name in deletes:
            changes[deletes[name]] = None
        fi.commit(f"refs/heads/gitpar/{name}", f"{name}: work", changes, parent=root)

    # main moves on: 30 files, a few of them edited by streams
    touched = rng.sample(all_paths, 27) + [next(iter(edits[names[i]])) for i in (1, n_streams // 2, n_streams - 2)]
    tip = root
    for k, chunk in enumerate((touched[:15], touched[15:])):
        tip = fi.commit("refs/heads/main", f"main moves on ({k + 1})",
                        {path: _content(path, {rng.randint(1, LINES): f"main edit {k}"})
                         for path in chunk}, parent=tip)

    state: dict[str, bytes | None] = {"README.md": b"# gitpar state\n"}
    for name in names:
        p = Progress(stream=name, status="in_progress", completion=50,
                     started="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z")
        state[f"progress/{name}.md"] = render_progress(p).encode()
    fi.commit("refs/heads/gitpar/_state", "bench state", state)
    fi.run(repo)
    # a checkout of main for gitpar to run in (the plan is read from the worktree)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True, env=_env())
    return {"streams": n_streams, "designed_overlaps": designed_overlaps,
            "designed_conflicts": designed_conflicts}


def gitpar_conflicts(repo: Path, found: dict[str, object]) -> float:
    """One whole-process ``gitpar conflicts --json``; its output goes into ``found``."""
    t0 = time.perf_counter()
    proc = subprocess.run([*gitpar_command(), "conflicts", "--json"], cwd=repo, capture_output=True,
                          text=True, env=_env())
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"gitpar conflicts failed ({proc.returncode}): {proc.stderr}")
    found.clear()
    found.update(json.loads(proc.stdout))
    return elapsed


def gitpar_conflicting_pairs(data: dict[str, object]) -> set[tuple[str, str]]:
    pairs = set()
    for item in data["pairs"]:  # type: ignore[attr-defined]
        if item["conflicts"]:
            pairs.add((item["a"], item["b"]))
    return pairs


def _merge_tree(repo: Path, env: dict[str, str], a: str, b: str, found: set[tuple[str, str]]) -> None:
    ref_b = "main" if b == "main" else f"gitpar/{b}"
    proc = subprocess.run(["git", "merge-tree", "--write-tree", "--name-only", f"gitpar/{a}", ref_b],
                          cwd=repo, capture_output=True, env=env)
    if proc.returncode == 1:
        found.add((a, b))
    elif proc.returncode != 0:
        raise SystemExit(f"git merge-tree {a} {b} failed: {proc.stderr.decode()}")


def _changed(repo: Path, env: dict[str, str], left: str, right: str) -> set[str]:
    """The files ``right`` changed since it forked from ``left`` (``git diff left...right``)."""
    out = subprocess.run(["git", "diff", "--name-only", "--no-renames", "-z", f"{left}...{right}"],
                         cwd=repo, capture_output=True, env=env, check=True).stdout
    return {name.decode() for name in out.split(b"\0") if name}


def all_pairs_anchor(repo: Path, names: list[str], found: set[tuple[str, str]]) -> int:
    """``git merge-tree --write-tree`` for every pair and every stream against main; the pairs."""
    env = _env()
    found.clear()
    pairs = [(a, b) for a, b in itertools.combinations(names, 2)] + [(a, "main") for a in names]
    for a, b in pairs:
        _merge_tree(repo, env, a, b, found)
    return len(pairs)


def pruned_anchor(repo: Path, names: list[str], found: set[tuple[str, str]]) -> int:
    """What a careful script does: each stream's changed files (``git diff --name-only``
    against main, and main's since the stream forked), then ``git merge-tree`` only for the
    pairs whose file sets meet; the number of pairs merged."""
    env = _env()
    found.clear()
    ours = {a: _changed(repo, env, "main", f"gitpar/{a}") for a in names}
    mains = {a: _changed(repo, env, f"gitpar/{a}", "main") for a in names}
    merged = 0
    for a, b in itertools.combinations(names, 2):
        if ours[a] & ours[b]:
            _merge_tree(repo, env, a, b, found)
            merged += 1
    for a in names:
        if ours[a] & mains[a]:
            _merge_tree(repo, env, a, "main", found)
            merged += 1
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--runs", type=int, default=5, help="rounds of gitpar and the pruned anchor")
    parser.add_argument("--all-pairs-runs", type=int, default=1,
                        help="rounds of the all-pairs anchor (34 s a round at 100 streams; "
                             "0: not run, the pairs checked against the pruned anchor only, as at 500 "
                             "streams, where one round is 125,250 git processes)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 30 streams")
    parser.add_argument("--keep", type=Path, help="build the repositories here and keep them")
    add_smoke(parser)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.streams = 3, [30]
    if args.smoke:
        args.runs, args.all_pairs_runs, args.streams = 1, 1, [12]
    work = SameWork()
    top = args.keep or Path(tempfile.mkdtemp(prefix="gitpar-bench-conflicts-"))
    results = []
    ok = True
    try:
        for n in args.streams:
            repo = top / f"repo-{n}"
            if repo.exists():
                shutil.rmtree(repo)
            t0 = time.perf_counter()
            built = build(repo, n)
            t_build = time.perf_counter() - t0
            names = [f"s{i:03d}" for i in range(n)]
            data: dict[str, object] = {}
            pruned_found: set[tuple[str, str]] = set()
            all_found: set[tuple[str, str]] = set()
            counts: dict[str, int] = {}

            def pruned() -> None:
                counts["pruned"] = pruned_anchor(repo, names, pruned_found)  # noqa: B023

            def every() -> None:
                counts["all"] = all_pairs_anchor(repo, names, all_found)  # noqa: B023

            with_all = args.all_pairs_runs > 0
            contenders = {"gitpar": call(lambda: gitpar_conflicts(repo, data)),  # noqa: B023
                          "pruned": call(pruned)}
            if with_all:
                contenders["all"] = call(every)
            figures = alternate(contenders, args.runs, only={"all": min(args.all_pairs_runs, args.runs)},
                                warmup=0 if args.smoke else 1)
            ours = gitpar_conflicting_pairs(data)
            if not with_all:  # the pruned anchor's merges are git's own verdict on every pair that meets
                all_found = set(pruned_found)
                counts["all"] = n * (n - 1) // 2 + n
            same = ours == all_found == pruned_found
            if with_all:
                work.check(f"conflicting pairs at {n} streams (gitpar vs all pairs)", sorted(ours), sorted(all_found))
            work.check(f"conflicting pairs at {n} streams (gitpar vs pruned)", sorted(ours), sorted(pruned_found))
            work.expect(f"the designed conflicts found at {n} streams", len(all_found) >= built["designed_conflicts"],
                        f"{len(all_found)} < {built['designed_conflicts']}")
            vs_pruned = figures.ratio("pruned", "gitpar")
            vs_all = figures.ratio("all", "gitpar") if with_all else float("nan")
            goal = GOALS.get(n) if with_all else None
            t_gitpar = figures.median("gitpar")
            limit = MAX_SECONDS.get(n)
            good = same and (goal is None or vs_all >= goal) and (limit is None or t_gitpar <= limit)
            ok = ok and good
            merged = data.get("stats", {}).get("pairs_merged")  # type: ignore[attr-defined]
            print(f"{n} streams (built in {t_build:.1f}s; {built['designed_overlaps']} designed overlaps, "
                  f"{built['designed_conflicts']} designed conflicts; {merged} pairs merged by gitpar, "
                  f"{counts['pruned']} by the pruned anchor, of {counts['all']}):")
            print("  " + describe(figures, "pruned", "gitpar", "pruned anchor (git diff --name-only + "
                                  "git merge-tree of pairs that meet)", "gitpar conflicts --json"))
            if with_all:
                print("  " + describe(figures, "all", "gitpar", "all-pairs anchor (git merge-tree x "
                                      f"{counts['all']})", "gitpar conflicts --json"))
            else:
                print("  all-pairs anchor: not run (--all-pairs-runs 0)")
            print(f"  the anchors take {vs_pruned:.2f}x (pruned)"
                  + (f" and {vs_all:.1f}x (all pairs, goal {goal}x)" if with_all else "")
                  + f" gitpar's time; gitpar {t_gitpar:.2f} s"
                  + (f" (goal <= {limit:g} s)" if limit is not None else "")
                  + f"; conflicting pairs: gitpar {len(ours)}, pruned {len(pruned_found)}"
                  + (f", all pairs {len(all_found)}" if with_all else "")
                  + f", {'the same' if same else 'DIFFERENT'}")
            if not same:
                print(f"  only gitpar: {sorted(ours - all_found)}; only git: {sorted(all_found - ours)}; "
                      f"pruned missed: {sorted(all_found - pruned_found)}")
            results.append({"streams": n, "pairs": counts["all"], "runs": args.runs,
                            "all_pairs_runs": len(figures.samples.get("all", [])),
                            "gitpar_ms": figures.ms("gitpar"), "pruned_anchor_ms": figures.ms("pruned"),
                            "all_pairs_anchor_ms": figures.ms("all") if with_all else None,
                            "speedup_vs_pruned": round(vs_pruned, 2),
                            "speedup_vs_all_pairs": round(vs_all, 1) if with_all else None,
                            "max_seconds": limit,
                            "goal_vs_all_pairs": goal, "conflicting_pairs": len(all_found), "same_pairs": same,
                            "pairs_merged": merged, "pairs_merged_pruned": counts["pruned"], "ok": good})
    finally:
        if args.keep is None:
            shutil.rmtree(top, ignore_errors=True)
    emit({"bench": "conflicts", "files": PACKAGES * MODULES * FILES, "results": results, "ok": ok,
          "smoke": args.smoke, **work.record()})
    if args.smoke:
        return 0 if work.ok else 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
