"""Ownership overlaps: files two streams both own while they may run at the same time."""

from __future__ import annotations

from collections.abc import Iterable
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


def find_overlaps(plan: Plan, paths: Iterable[str]) -> list[Overlap]:
    """Pairs of streams, neither depending on the other (directly or not), that both own
    some of ``paths`` (e.g. the files of the base tree), with those files."""
    from gitpar.core.ownership import OwnershipIndex, Rule

    index = OwnershipIndex(Rule(s.name, "owns", p) for s in plan.streams.values() for p in s.owns)
    before = {name: ancestors(plan.streams, name) for name in plan.streams}
    found: dict[tuple[str, str], Overlap] = {}
    for path, rules in index.match_many(paths).items():
        owners = sorted({r.stream for r in rules})
        for i, a in enumerate(owners):
            for b in owners[i + 1:]:
                if a in before[b] or b in before[a]:
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
