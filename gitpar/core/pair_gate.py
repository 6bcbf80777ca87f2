"""``gitpar conflicts --test CMD``: semantic conflicts found while the streams are at work.

Two streams can merge without a textual conflict and still break the tests together (one
renames a function, the other calls the old name in another file). For each pair of
active streams whose trees merge cleanly (a textual conflict is already in the forecast),
the gate command runs on the pair's merged tree, and on each stream's own tree once, each
in a temporary worktree (the merge queue's gate, ``core.integrate.gate.run_test``, on the
merge the queue would write, ``core.integrate.stream.prepare``). A pair that fails while
both streams pass alone breaks the gate together.

Pairs are taken most related first: no plugin hook says which files are linked (imports,
tests), so a pair where one stream's changed file names a module the other changed comes
first, then the pairs whose changed files share the most folders, then plan order. At most ``max_pairs`` pairs are tested unless every pair is asked for; what was not
tested is said, with why.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.conflicts import Forecast
from gitpar.core.integrate.gate import Gate, run_test
from gitpar.core.integrate.stream import Merge, prepare
from gitpar.core.plan import Plan
from gitpar.core.repo import Repo
from gitpar.errors import bad
from gitpar.store.commits import TreeDiffer
from gitpar.store.merge import file_at, merge_base
from gitpar.store.repo import Oid

MAX_PAIRS = 16  # the default cap: a gate of minutes times the square of the streams is no forecast
LOG_DIR = "conflicts"  # under .gitpar/logs/


@dataclass
class GateRun:
    """One run of the gate: on one stream's tree, or on a pair's merged tree."""

    streams: tuple[str, ...]
    commit: str
    code: int
    log: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    def to_dict(self) -> dict[str, Any]:
        return {"streams": list(self.streams), "commit": self.commit, "exit": self.code, "log": self.log}


@dataclass
class PairGate:
    """What ``--test`` found: the runs, the pairs that break the gate together, and the
    pairs not tested (``(a, b, why)``)."""

    command: str
    pairs_total: int = 0
    alone: dict[str, GateRun] = field(default_factory=dict)
    pairs: list[GateRun] = field(default_factory=list)
    untested: list[tuple[str, str, str]] = field(default_factory=list)
    capped: int = 0  # pairs left out by the cap
    max_pairs: int | None = MAX_PAIRS

    @property
    def together(self) -> list[GateRun]:
        """Pairs that fail the gate while each of their streams passes it alone."""
        return [r for r in self.pairs if not r.ok and all(self.alone[s].ok for s in r.streams)]

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "pairs_total": self.pairs_total,
                "max_pairs": self.max_pairs, "not_tested_by_cap": self.capped,
                "alone": {n: r.to_dict() for n, r in self.alone.items()},
                "pairs": [r.to_dict() for r in self.pairs],
                "together": [list(r.streams) for r in self.together],
                "untested": [{"a": a, "b": b, "why": why} for a, b, why in self.untested]}


def check_options(command: str, jobs: int, max_pairs: int | None) -> None:
    """Bad input before anything runs: an empty command, -j or --max-pairs below 1."""
    if not command.strip():
        raise bad(None, "--test", "the gate command is empty",
                  "give the command that tests a tree, e.g. --test 'python -m pytest -x -q'")
    if jobs < 1:
        raise bad(None, "-j/--jobs", f"{jobs} gates at once cannot run anything",
                  "give a whole number of 1 or more, e.g. -j 4")
    if max_pairs is not None and max_pairs < 1:
        raise bad(None, "--max-pairs", f"{max_pairs} pairs would test nothing",
                  "give 1 or more, or --all-pairs to test every pair")


def gate_pairs(repo: Repo, plan: Plan, fc: Forecast, command: str, *, jobs: int = 1,
               max_pairs: int | None = MAX_PAIRS,
               progress: Callable[[str], None] | None = None) -> PairGate:
    """Run ``command`` on each stream of ``fc`` alone and on the merged tree of each pair
    that merges cleanly (most related first, ``max_pairs`` of them; None: all), ``jobs``
    gates at once. Nothing moves: the merges are objects only, the worktrees temporary."""
    check_options(command, jobs, max_pairs)
    tips: dict[str, Oid] = {}
    for name in fc.streams:
        tip = repo.stream_tip(name)
        if tip is not None:
            tips[name] = tip
    result = PairGate(command, max_pairs=max_pairs)
    stopped = {frozenset((p.a, p.b)) for p in fc.pairs if p.stopping and not p.with_base}
    names = list(tips)
    order, idle = _related_first(repo, fc, tips)
    result.pairs_total = len(names) * (len(names) - 1) // 2
    chosen: list[tuple[str, str]] = []
    for a, b in order:
        if a in idle or b in idle:
            who = " and ".join(n for n in (a, b) if n in idle)
            result.untested.append((a, b, f"{who} changed nothing yet: the pair's tree is the other's own"))
        elif frozenset((a, b)) in stopped:
            result.untested.append((a, b, "they conflict already (see above): no merged tree to test"))
        elif max_pairs is not None and len(chosen) >= max_pairs:
            result.capped += 1
        else:
            chosen.append((a, b))
    gate = Gate(repo)
    say = progress or (lambda _line: None)

    def run(streams: tuple[str, ...], commit: Oid) -> GateRun:
        label = "+".join(streams)
        code, log = run_test(repo, label, commit, command, gate, cancel=stop, log_dir=LOG_DIR,
                             log_name=("alone-" if len(streams) == 1 else "pair-") + label)
        say(f"{' and '.join(streams)}{' alone' if len(streams) == 1 else ' together'}: "
            f"{'passes' if code == 0 else f'fails (exit {code})'}")
        return GateRun(streams, str(commit), code, str(log))

    needed = list(dict.fromkeys(n for pair in chosen for n in pair))
    stop = threading.Event()  # Ctrl-C: the gates running in threads stop too
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        for name, done in zip(needed, pool.map(lambda n: run((n,), tips[n]), needed), strict=True):
            result.alone[name] = done
        merges: list[tuple[tuple[str, str], Oid]] = []
        for a, b in chosen:
            failing = [n for n in (a, b) if not result.alone[n].ok]
            if failing:
                result.untested.append((a, b, f"{' and '.join(failing)} fail{'s' if len(failing) == 1 else ''} "
                                              "the gate alone, so the pair says nothing more"))
                continue
            merged = prepare(repo, plan, f"gitpar/{a}", b, tips[a])
            if not isinstance(merged, Merge):
                why = (f"gitpar/{a} already holds {b}'s work: its own tree was tested"
                       if merged.outcome == "already merged" else f"{merged.outcome}: {merged.detail}")
                result.untested.append((a, b, why))
                continue
            merges.append(((a, b), merged.commit))
        result.pairs = list(pool.map(lambda pm: run(pm[0], pm[1]), merges))
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True)
    return result


def _related_first(repo: Repo, fc: Forecast, tips: dict[str, Oid]) -> tuple[list[tuple[str, str]], set[str]]:
    """Every pair of ``tips``' streams, the most related first, and the streams that changed
    nothing since they forked. The order, then plan order for ties: linked
    pairs first (a changed file of one names a module the other changed: ``util`` for
    ``lib/util.py``, how an import or a test names it), then by the folders their changed
    files share. No plugin hook knows the links; this guess reads the changed files only."""
    base_tip = repo.tip(fc.base)
    differ = TreeDiffer(repo.git)
    folders: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    words: dict[str, set[str]] = {}
    idle: set[str] = set()
    for name, tip in tips.items():
        fork = merge_base(repo, tip, base_tip) if base_tip is not None else None
        found: set[str] = set()
        stems[name], words[name] = set(), set()
        changed = differ.changes(fork, tip)
        if not changed:
            idle.add(name)
        for path in changed:
            cut = path.rfind("/")
            stem = path[cut + 1:].partition(".")[0]
            if len(stem) >= 3 and stem != "__init__":
                stems[name].add(stem)
            while cut > 0:
                found.add(path[:cut])
                cut = path.rfind("/", 0, cut)
            text = file_at(repo, tip, path)
            if text is not None and len(text[1]) <= _READ_AT_MOST and b"\0" not in text[1][:8000]:
                words[name].update(_WORD.findall(text[1].decode("utf-8", "replace")))
        folders[name] = found
    pairs = list(itertools.combinations(tips, 2))
    rank = {p: i for i, p in enumerate(pairs)}

    def linked(a: str, b: str) -> bool:
        return bool(stems[a] & words[b] or stems[b] & words[a])

    return sorted(pairs, key=lambda p: (not linked(*p), -len(folders[p[0]] & folders[p[1]]), rank[p])), idle


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_READ_AT_MOST = 256 * 1024  # a changed file larger than this is not read for links


def describe(result: PairGate) -> Sequence[str]:
    """The lines that say what ``--test`` found (the CLI prints them)."""
    lines = []
    for r in result.together:
        a, b = r.streams
        lines.append(f"{a} and {b} break the gate together: each passes alone, their merged tree "
                     f"fails (exit {r.code}); log: {r.log}")
    for name, r in result.alone.items():
        if not r.ok:
            lines.append(f"{name} fails the gate alone (exit {r.code}); log: {r.log}")
    return lines
