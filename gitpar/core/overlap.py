"""Ownership overlaps: files two streams both own while they may run at the same time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.plan import Plan, ancestors
from gitpar.errors import BadInput, bad


@dataclass
class Overlap:
    a: str
    b: str
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"streams": [self.a, self.b], "files": self.files}


def find_overlaps(plan: Plan, paths: Iterable[str] | Callable[[], Iterable[str]]) -> list[Overlap]:
    """Pairs of streams, neither depending on the other (directly or not), that both own
    some of ``paths`` (e.g. the files of the base tree), with those files. ``paths`` may be
    a function giving them: it is called only when two streams' patterns could meet at all,
    so a plan whose streams each own their own directory never lists the tree."""
    from gitpar.core.ownership import OwnershipIndex, Rule

    meet = plan.owns_that_meet if plan.owns_that_meet is not None else owns_that_meet(plan)
    if not meet:
        return []
    rules = [Rule(stream, "owns", pattern) for stream, pattern in meet]
    if callable(paths):
        paths = paths()
    index = OwnershipIndex(rules)
    before: dict[str, set[str]] = {}

    def ancestors_of(name: str) -> set[str]:
        if name not in before:
            before[name] = ancestors(plan.streams, name)
        return before[name]

    found: dict[tuple[str, str], Overlap] = {}
    for path, owning in index.match_many(paths).items():
        owners = sorted({r.stream for r in owning})
        for i, a in enumerate(owners):
            for b in owners[i + 1:]:
                if a in ancestors_of(b) or b in ancestors_of(a):
                    continue  # ordered by a dependency: they never run at the same time
                found.setdefault((a, b), Overlap(a, b)).files.append(path)
    return [found[k] for k in sorted(found)]


def owns_that_meet(plan: Plan) -> tuple[tuple[str, str], ...]:
    """The (stream, pattern) of every ``owns`` pattern that may own a file another stream's
    ``owns`` pattern owns too: what :func:`find_overlaps` must look at (most plans: none).
    ``load_plan`` works it out once and keeps it with the plan (``Plan.owns_that_meet``)."""
    from gitpar.core.ownership import Rule

    rules = _could_meet([Rule(s.name, "owns", p) for s in plan.streams.values() for p in s.owns],
                        plan.literal_dir)
    return tuple((r.stream, r.pattern) for r in rules)


def _could_meet(rules: list[Any], literal_dir: Callable[[str], str]) -> list[Any]:
    """The rules whose pattern may own a file that another stream's pattern owns too.

    A pattern owns only paths inside its literal directory (``literal_dir``), so two
    patterns can meet only when one's directory is the other's or lies inside it: a plan
    whose streams each own their own directory (``src/<name>/**``) needs no index at all.
    """
    dirs = [literal_dir(r.pattern) for r in rules]
    at: dict[str, set[str]] = {}  # directory -> streams with a pattern there
    below: dict[str, set[str]] = {}  # directory -> streams with a pattern strictly inside
    for rule, d in zip(rules, dirs, strict=True):
        at.setdefault(d, set()).add(rule.stream)
        while d:
            d = d.rpartition("/")[0]
            below.setdefault(d, set()).add(rule.stream)

    def others(streams: set[str] | None, me: str) -> bool:
        if not streams:
            return False
        return len(streams) > 1 or me not in streams

    kept = []
    for rule, d in zip(rules, dirs, strict=True):
        meets = others(at.get(d), rule.stream) or others(below.get(d), rule.stream)
        while not meets and d:
            d = d.rpartition("/")[0]
            meets = others(at.get(d), rule.stream)
        if meets:
            kept.append(rule)
    return kept


def overlap_error(overlaps: list[Overlap]) -> BadInput:
    first = overlaps[0]
    shown = ", ".join(first.files[:5]) + (f" and {len(first.files) - 5} more" if len(first.files) > 5 else "")
    more = f" (and {len(overlaps) - 1} more overlapping pairs)" if len(overlaps) > 1 else ""
    return bad(f".gitpar/streams/{first.b}.md", "owns",
               f"streams {first.a} and {first.b} may run at the same time and both own {shown}{more}",
               f"add a dependency (depends_on: [{first.a}] in {first.b}.md, or the reverse), or move "
               f"the shared path from 'owns' to 'shares' of both streams")
