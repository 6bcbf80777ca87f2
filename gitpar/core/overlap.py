"""Ownership overlaps: files two streams both own while they may run at the same time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.ownership import OwnershipIndex, Rule
from gitpar.core.plan import ancestors
from gitpar.core.plan_patterns import owns_that_meet
from gitpar.errors import BadInput, bad
from gitpar.model.plan import Plan


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


def overlap_error(overlaps: list[Overlap]) -> BadInput:
    first = overlaps[0]
    shown = ", ".join(first.files[:5]) + (f" and {len(first.files) - 5} more" if len(first.files) > 5 else "")
    more = f" (and {len(overlaps) - 1} more overlapping pairs)" if len(overlaps) > 1 else ""
    return bad(f".gitpar/streams/{first.b}.md", "owns",
               f"streams {first.a} and {first.b} may run at the same time and both own {shown}{more}",
               f"add a dependency (depends_on: [{first.a}] in {first.b}.md, or the reverse), or move "
               f"the shared path from 'owns' to 'shares' of both streams")
