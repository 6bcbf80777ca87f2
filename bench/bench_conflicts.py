"""Benchmark: ``gitpar conflicts --json`` vs ``git merge-tree --write-tree`` for every pair.

A 20,000-file repository (``pkg00..99/mod0..9/f00..19.py``, 24 lines each) built with
``git fast-import``; N streams forked from main, each changing 20-50 files (one line
each), adding one file, a few deleting one; some pairs share files on distant lines
(overlap, no conflict) and some on the same line (conflict); random picks add their own
overlaps. After the streams fork, main moves by two commits touching 30 files, a few of
them streams' files. The plan and the state branch (every stream in progress) are
written by fast-import too; no worktrees are needed for a forecast.

For each N it times gitpar's whole process (``python -m gitpar conflicts --json``, best of
three) and, in the same run, ``git merge-tree --write-tree`` for every pair of streams and
every stream against main (the anchor, one process per pair as a script would do it). It
checks that both find the same set of conflicting pairs, prints the figures, then one
JSON line.

Run: ``python bench/bench_conflicts.py`` (``--streams 30 100``, ``--keep DIR`` keeps the
repositories).
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

from gitpar.core.progress import Progress, render_progress  # noqa: E402

PACKAGES, MODULES, FILES, LINES, SEED = 100, 10, 20, 24, 20240611
GOALS = {30: 5.0, 100: 20.0}  # minimum speed-up over the anchor
MAX_SECONDS_100 = 2.0


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


def time_gitpar(repo: Path, runs: int = 3) -> tuple[float, dict[str, object]]:
    """Best whole-process time of ``python -m gitpar conflicts --json`` and its output."""
    best = float("inf")
    data: dict[str, object] = {}
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "gitpar", "conflicts", "--json"], cwd=repo,
                              capture_output=True, text=True, env=_env())
        elapsed = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            raise SystemExit(f"gitpar conflicts failed ({proc.returncode}): {proc.stderr}")
        best = min(best, elapsed)
        data = json.loads(proc.stdout)
    return best, data


def gitpar_conflicting_pairs(data: dict[str, object]) -> set[tuple[str, str]]:
    pairs = set()
    for item in data["pairs"]:  # type: ignore[attr-defined]
        if item["conflicts"]:
            pairs.add((item["a"], item["b"]))
    return pairs


def time_anchor(repo: Path, names: list[str]) -> tuple[float, int, set[tuple[str, str]]]:
    """``git merge-tree --write-tree`` for every pair and every stream against main."""
    env = _env()
    pairs = [(a, b) for a, b in itertools.combinations(names, 2)] + [(a, "main") for a in names]
    found: set[tuple[str, str]] = set()
    t0 = time.perf_counter()
    for a, b in pairs:
        ref_b = "main" if b == "main" else f"gitpar/{b}"
        proc = subprocess.run(["git", "merge-tree", "--write-tree", "--name-only", f"gitpar/{a}", ref_b],
                              cwd=repo, capture_output=True, env=env)
        if proc.returncode == 1:
            found.add((a, b))
        elif proc.returncode != 0:
            raise SystemExit(f"git merge-tree {a} {b} failed: {proc.stderr.decode()}")
    return time.perf_counter() - t0, len(pairs), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--keep", type=Path, help="build the repositories here and keep them")
    args = parser.parse_args()
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
            t_gitpar, data = time_gitpar(repo)
            t_anchor, n_pairs, git_pairs = time_anchor(repo, names)
            ours = gitpar_conflicting_pairs(data)
            same = ours == git_pairs
            ratio = t_anchor / t_gitpar
            goal = GOALS.get(n)
            good = same and (goal is None or ratio >= goal) and (n != 100 or t_gitpar <= MAX_SECONDS_100)
            ok = ok and good
            merged = data.get("stats", {}).get("pairs_merged")  # type: ignore[union-attr]
            print(f"{n} streams (built in {t_build:.1f}s; {built['designed_overlaps']} designed overlaps, "
                  f"{built['designed_conflicts']} designed conflicts):")
            print(f"  gitpar conflicts --json, whole process: {t_gitpar * 1000:.0f} ms "
                  f"({merged} pairs merged in memory of {n_pairs})")
            print(f"  git merge-tree --write-tree x {n_pairs} pairs: {t_anchor * 1000:.0f} ms "
                  f"({t_anchor / n_pairs * 1000:.2f} ms a pair)")
            print(f"  speed-up {ratio:.1f}x (goal {goal}x); conflicting pairs: gitpar {len(ours)}, "
                  f"git {len(git_pairs)}, {'the same' if same else 'DIFFERENT'}")
            if not same:
                print(f"  only gitpar: {sorted(ours - git_pairs)}; only git: {sorted(git_pairs - ours)}")
            results.append({"streams": n, "pairs": n_pairs, "gitpar_s": round(t_gitpar, 4),
                            "anchor_s": round(t_anchor, 4), "speedup": round(ratio, 1),
                            "goal": goal, "conflicting_pairs": len(git_pairs), "same_pairs": same,
                            "pairs_merged": merged, "ok": good})
    finally:
        if args.keep is None:
            shutil.rmtree(top, ignore_errors=True)
    print(json.dumps({"bench": "conflicts", "files": PACKAGES * MODULES * FILES, "results": results,
                      "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
