"""Benchmark: OwnershipIndex vs a naive per-stream pathspec loop.

500 streams (50 packages x 10 modules), each owning ``pkg{i}/mod{j}/**`` and
``docs/pkg{i}-mod{j}/*.md``; 10,000 seeded random paths, some unowned. Four contenders
in turn in one loop (after a warm-up round), median of ``--runs`` each:
  gitpar cold  build the index, then ``match_many`` on it (what a fresh process does)
  gitpar warm  ``match_many`` again on an index that has matched before
  naive cold   compile each stream's ``PathSpec``, then for each path, for each stream,
               ``match_file`` (what a script does each time it runs)
  naive warm   the loop alone, on specs compiled before
  prefix       the anchor a skeptic picks (what a careful CODEOWNERS script does): a dict
               of owned folders (``pkg3/mod4/`` -> streams, for ``/**`` rules) and of
               folder + suffix (``docs/pkg3-mod4`` + ``.md``, for ``/*.md`` rules), each
               path looked up by its parent folders; built each round
The naive pathspec loop is a strawman (nobody runs 5M ``match_file`` calls), kept as a
second row; the prefix dict is the row to quote.
Checks both give the same owners, prints the figures and ratios, then one JSON line.

Run: ``python bench/bench_ownership.py [--runs 3] [--quick]``
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import SameWork, add_smoke, alternate, describe, emit, smoke_exit  # noqa: E402

from gitpar.core.ownership import OwnershipIndex, Rule  # noqa: E402

PACKAGES, MODULES, N_PATHS, SEED = 50, 10, 10_000, 20240601


def prefix_owners(rules: list[Rule], paths: list[str]) -> dict[str, list[str]]:
    """The prefix-dict anchor: owners of each path from two dicts of owned folders."""
    deep: dict[str, list[str]] = {}
    flat: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        if rule.pattern.endswith("/**"):
            deep.setdefault(rule.pattern[:-2], []).append(rule.stream)
        else:  # folder/*.ext
            folder, _, leaf = rule.pattern.rpartition("/")
            flat.setdefault((folder, leaf[1:]), []).append(rule.stream)
    out: dict[str, list[str]] = {}
    for path in paths:
        owners: list[str] = []
        folder, _, leaf = path.rpartition("/")
        dot = leaf.rfind(".")
        if dot >= 0:
            owners.extend(flat.get((folder, leaf[dot:]), ()))
        end = path.find("/")
        while end >= 0:
            owners.extend(deep.get(path[:end + 1], ()))
            end = path.find("/", end + 1)
        out[path] = list(dict.fromkeys(owners))
    return out


def build_case(n_paths: int = N_PATHS) -> tuple[list[Rule], list[str]]:
    rng = random.Random(SEED)
    rules: list[Rule] = []
    for i in range(PACKAGES):
        for j in range(MODULES):
            stream = f"pkg{i}-mod{j}"
            rules.append(Rule(stream, "owns", f"pkg{i}/mod{j}/**"))
            rules.append(Rule(stream, "owns", f"docs/pkg{i}-mod{j}/*.md"))
    paths: set[str] = set()
    while len(paths) < n_paths:
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


def main() -> int:
    import pathspec

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 round")
    add_smoke(ap)
    args = ap.parse_args()
    runs = 1 if args.quick or args.smoke else args.runs
    rules, paths = build_case(500 if args.smoke else N_PATHS)
    streams: dict[str, list[str]] = {}
    for rule in rules:
        streams.setdefault(rule.stream, []).append(rule.pattern)

    def compile_specs() -> list[tuple[str, Any]]:
        with warnings.catch_warnings():  # pathspec 1.x deprecates the 'gitwildmatch' name
            warnings.simplefilter("ignore", DeprecationWarning)
            return [(name, pathspec.PathSpec.from_lines("gitwildmatch", pats)) for name, pats in streams.items()]

    def naive_loop(specs: list[tuple[str, Any]]) -> dict[str, list[str]]:
        return {path: [name for name, spec in specs if spec.match_file(path)] for path in paths}

    got: dict[str, list[Rule]] = {}
    naive: dict[str, list[str]] = {}
    warm_index = OwnershipIndex(rules)
    warm_index.match_many(paths)
    compiled = compile_specs()
    phases: dict[str, float] = {}

    def timed(work: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            gc.collect()
            t0 = time.perf_counter()
            work()
            return time.perf_counter() - t0
        return run

    def gitpar_cold() -> None:
        t0 = time.perf_counter()
        index = OwnershipIndex(rules)
        phases["build"] = time.perf_counter() - t0
        got.update(index.match_many(paths))

    def naive_cold() -> None:
        naive.update(naive_loop(compile_specs()))

    prefix: dict[str, list[str]] = {}
    figures = alternate({"gitpar cold": timed(gitpar_cold), "gitpar warm": timed(lambda: warm_index.match_many(paths)),
                         "prefix": timed(lambda: prefix.update(prefix_owners(rules, paths))),
                         "naive cold": timed(naive_cold), "naive warm": timed(lambda: naive_loop(compiled))}, runs,
                        warmup=0 if args.smoke else 1)
    mismatches = [p for p in paths if list(dict.fromkeys(r.stream for r in got[p])) != naive[p]]
    work = SameWork()
    work.check("owners of every path (gitpar vs the pathspec loop)",
               {p: list(dict.fromkeys(r.stream for r in got[p])) for p in paths}, naive)
    work.check("owners of every path (gitpar vs the prefix dict)",
               {p: sorted({r.stream for r in got[p]}) for p in paths}, {p: sorted(v) for p, v in prefix.items()})
    owned = sum(1 for p in paths if naive[p])
    print(f"paths: {len(paths)} ({owned} owned, {len(paths) - owned} unowned), "
          f"streams: {len(streams)}, rules: {len(rules)}; alternated, median of {runs}")
    print("  " + describe(figures, "gitpar cold", "prefix", "index build + match_many",
                          "prefix dict of owned folders (the anchor to quote)"))
    print("  " + describe(figures, "naive cold", "gitpar cold", "strawman: naive pathspec loop, specs compiled",
                          "index build + match_many"))
    print("  " + describe(figures, "naive warm", "gitpar warm", "naive pathspec loop, specs kept",
                          "match_many on a used index"))
    print(f"  gitpar is {figures.ratio('naive cold', 'gitpar cold'):.0f}x faster cold, "
          f"{figures.ratio('naive warm', 'gitpar warm'):.0f}x warm (index build of the last round "
          f"{phases['build'] * 1000:.1f} ms)")
    print(f"same owners as the naive loop: {'yes' if not mismatches else 'NO'}")
    for path in mismatches[:10]:
        print(f"  MISMATCH {path}: index {[r.stream for r in got[path]]} naive {naive[path]}")
    emit({"bench": "ownership", "paths": len(paths), "streams": len(streams), "runs": runs,
          "gitpar_cold_ms": figures.ms("gitpar cold", 3), "gitpar_warm_ms": figures.ms("gitpar warm", 3),
          "naive_cold_ms": figures.ms("naive cold"), "naive_warm_ms": figures.ms("naive warm"),
          "speedup_cold": round(figures.ratio("naive cold", "gitpar cold"), 1),
          "speedup_warm": round(figures.ratio("naive warm", "gitpar warm"), 1),
          "prefix_ms": figures.ms("prefix", 3),
          "cold_vs_prefix": round(figures.ratio("gitpar cold", "prefix"), 2),
          "same_owners": not mismatches, "smoke": args.smoke, **work.record()})
    return smoke_exit(work, not mismatches, args.smoke)


if __name__ == "__main__":
    sys.exit(main())
