"""Built-in order of ready streams: critical path first, then priority, then name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gitpar.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from gitpar.core.plan import Plan


def tails(plan: Plan, estimates: Mapping[str, float]) -> dict[str, float]:
    """Each stream's estimate plus the longest chain of estimates of the streams after it."""
    from gitpar.core.plan import topological_order

    dependents: dict[str, list[str]] = {n: [] for n in plan.streams}
    for s in plan.streams.values():
        for dep in s.depends_on:
            dependents.setdefault(dep, []).append(s.name)
    out: dict[str, float] = {}
    for name in reversed(topological_order(plan.streams)):
        after = max((out[d] for d in dependents.get(name, ())), default=0.0)
        out[name] = float(estimates.get(name, 0.0)) + after
    return out


@hookimpl(trylast=True)
def gitpar_order_ready(ready: Sequence[str], plan: Plan, estimates: Mapping[str, float]) -> list[str]:
    tail = tails(plan, estimates)

    def key(name: str) -> tuple[float, int, str]:
        stream = plan.streams.get(name)
        return (-tail.get(name, 0.0), -(stream.priority if stream else 0), name)

    return sorted(ready, key=key)
