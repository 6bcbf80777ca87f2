"""The plan's patterns worked out once per plan: each pattern's literal directory, the
ownership rules' patterns, the owns patterns that may meet another stream's, and the
``merge: union`` paths. ``load_plan`` keeps them on the plan it returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitpar.core.ownership import Rule, matches
from gitpar.model.plan import Plan


def patterns_and_dirs(plan: Plan) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The plan's :attr:`~gitpar.model.plan.Plan.rule_patterns`, worked out (and kept on it)
    if the plan was made without them."""
    if plan.rule_patterns is None:
        patterns = [(s.name, kind, p) for s in plan.streams.values()
                    for kind, p in (*(("owns", p) for p in s.owns), *(("shares", p) for p in s.shares))]
        plan.rule_patterns = (patterns, [pattern_dir(plan, p) for _, _, p in patterns])
    return plan.rule_patterns


def pattern_dir(plan: Plan, pattern: str) -> str:
    """``ownership.literal_dir(pattern)``, from the plan's ``pattern_dirs`` when it is there."""
    found = plan.pattern_dirs.get(pattern) if plan.pattern_dirs is not None else None
    if found is None:
        from gitpar.core.ownership import literal_dir

        found = literal_dir(pattern)
    return found


def union_paths(plan: Plan) -> Callable[[str], bool] | None:
    """Whether a path is merged with git's union merge (a ``shares`` entry with
    ``merge: union`` in any stream matches it); None when no stream says so."""
    patterns = sorted({p for s in plan.streams.values() for p in s.union})
    if not patterns:
        return None

    return lambda path: any(matches(p, path) for p in patterns)


def owns_that_meet(plan: Plan) -> tuple[tuple[str, str], ...]:
    """The (stream, pattern) of every ``owns`` pattern that may own a file another stream's
    ``owns`` pattern owns too: what ``overlap.find_overlaps`` must look at (most plans: none).
    ``core.plan.load_plan`` works it out once and keeps it with the plan (``Plan.owns_that_meet``)."""
    rules = _could_meet([Rule(s.name, "owns", p) for s in plan.streams.values() for p in s.owns],
                        lambda p: pattern_dir(plan, p))
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
