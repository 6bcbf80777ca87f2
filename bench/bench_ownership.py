"""Benchmark: OwnershipIndex vs a naive per-stream pathspec loop.

500 streams (50 packages x 10 modules), each owning ``pkg{i}/mod{j}/**`` and
``docs/pkg{i}-mod{j}/*.md``; 10,000 seeded random paths, some unowned. Times the index
build and ``match_many`` (best of several runs), and the naive loop once (for each path,
for each stream, ``PathSpec.match_file`` on prebuilt specs). Checks both give the same
owners, prints the figures, then one JSON line.

Run: ``python bench/bench_ownership.py``
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from gitpar.core.ownership import OwnershipIndex, Rule  # noqa: E402

PACKAGES, MODULES, N_PATHS, SEED, RUNS = 50, 10, 10_000, 20240601, 7


def build_case() -> tuple[list[Rule], list[str]]:
    rng = random.Random(SEED)
    rules: list[Rule] = []
    for i in range(PACKAGES):
        for j in range(MODULES):
            stream = f"pkg{i}-mod{j}"
            rules.append(Rule(stream, "owns", f"pkg{i}/mod{j}/**"))
            rules.append(Rule(stream, "owns", f"docs/pkg{i}-mod{j}/*.md"))
    paths: set[str] = set()
    while len(paths) < N_PATHS:
        i, j, k = rng.randrange(PACKAGES), rng.randrange(MODULES), rng.randrange(40)
        roll = rng.random()
        if roll < 0.55:  # owned: directly in the module
            path = f"pkg{i}/mod{j}/file{k}.py"
        elif roll < 0.75:  # owned: nested deeper in the module
            path = f"pkg{i}/mod{j}/sub{rng.randrange(4)}/deep{rng.randrange(3)}/f{k}.py"
        elif roll < 0.85:  # owned doc, or an unowned non-.md / nested file next to it
            ext = rng.choice([".md", ".md", ".md", ".txt"])
            path = f"docs/pkg{i}-mod{j}/page{k}{ext}"
        else:  # unowned: package files outside modules, other trees, root files
            path = rng.choice([
                f"pkg{i}/shared{k}.py",
                f"pkg{i}/mod{j}x/file{k}.py",
                f"vendor/lib{k}/src/x{j}.c",
                f"docs/other/page{k}.md",
                f"docs/pkg{i}-mod{j}/img/pic{k}.md",
                f"README{k}.md",
            ])
        paths.add(path)
    ordered = sorted(paths)
    rng.shuffle(ordered)
    return rules, ordered


def time_index(rules: list[Rule], paths: list[str]) -> tuple[float, float, float, dict[str, list[Rule]]]:
    """Best-of-RUNS build, first match_many on that fresh index, and a repeat call.

    The index lazily keeps per-trie-node results, so the first call on a fresh index
    (what a git hook does) is the honest figure; the repeat shows the warm cost.
    """
    build = first = again = float("inf")
    got: dict[str, list[Rule]] = {}
    for _ in range(RUNS):
        gc.collect()
        t0 = time.perf_counter()
        index = OwnershipIndex(rules)
        t1 = time.perf_counter()
        got = index.match_many(paths)
        t2 = time.perf_counter()
        index.match_many(paths)
        t3 = time.perf_counter()
        build, first, again = min(build, t1 - t0), min(first, t2 - t1), min(again, t3 - t2)
    return build * 1000, first * 1000, again * 1000, got


def main() -> int:
    import pathspec

    rules, paths = build_case()
    streams: dict[str, list[str]] = {}
    for rule in rules:
        streams.setdefault(rule.stream, []).append(rule.pattern)

    build_ms, match_ms, warm_ms, got = time_index(rules, paths)

    with warnings.catch_warnings():  # pathspec 1.x deprecates the 'gitwildmatch' name
        warnings.simplefilter("ignore", DeprecationWarning)
        specs = [(name, pathspec.PathSpec.from_lines("gitwildmatch", pats))
                 for name, pats in streams.items()]
    gc.collect()
    start = time.perf_counter()
    naive: dict[str, list[str]] = {}
    for path in paths:
        naive[path] = [name for name, spec in specs if spec.match_file(path)]
    naive_ms = (time.perf_counter() - start) * 1000

    mismatches = [p for p in paths
                  if list(dict.fromkeys(r.stream for r in got[p])) != naive[p]]
    owned = sum(1 for p in paths if naive[p])
    total_ms = build_ms + match_ms
    print(f"paths: {len(paths)} ({owned} owned, {len(paths) - owned} unowned), "
          f"streams: {len(streams)}, rules: {len(rules)}")
    print(f"index build:      {build_ms:8.2f} ms  (best of {RUNS})")
    print(f"match_many:       {match_ms:8.2f} ms  (best of {RUNS}, first call on a fresh index)")
    print(f"match_many again: {warm_ms:8.2f} ms  (same index, warm)")
    print(f"build + match:    {total_ms:8.2f} ms")
    print(f"naive pathspec:   {naive_ms:8.2f} ms  (once)")
    print(f"speedup: {naive_ms / match_ms:.0f}x match only, "
          f"{naive_ms / total_ms:.0f}x including the build")
    print(f"same owners as the naive loop: {'yes' if not mismatches else 'NO'}")
    for path in mismatches[:10]:
        print(f"  MISMATCH {path}: index {[r.stream for r in got[path]]} naive {naive[path]}")
    print(json.dumps({
        "bench": "ownership",
        "paths": len(paths),
        "streams": len(streams),
        "index_build_ms": round(build_ms, 3),
        "match_ms": round(match_ms, 3),
        "match_warm_ms": round(warm_ms, 3),
        "naive_ms": round(naive_ms, 1),
        "speedup": round(naive_ms / total_ms, 1),
        "speedup_match_only": round(naive_ms / match_ms, 1),
        "same_owners": not mismatches,
    }))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
