"""Built-in integration conflict strategies: ``stop`` (the default) and ``review``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitpar.errors import bad
from gitpar.plugins.hookspecs import ConflictCase, ConflictStrategy, Resolution, hookimpl


class Stop:
    """Stop at the first conflict and report it; the target is left unchanged."""

    name = "stop"
    description = "stop at a conflict and report it; the target branch is left unchanged"

    def resolve(self, case: ConflictCase) -> Resolution:
        return Resolution("stop", f"{case.stream} conflicts with {case.target} on "
                                  f"{', '.join(case.paths)}; resolve it on gitpar/{case.stream}")


class Review:
    """Take the later stream's side of a conflicting hunk where configured, flagged for review."""

    name = "review"
    description = ("take the later stream's side of conflicting hunks in the paths "
                        "plugins.review.take lists, and flag them for review; stop elsewhere")

    def resolve(self, case: ConflictCase) -> Resolution:
        patterns = take_patterns(case.options)
        if not patterns:
            return Resolution("stop", "the review strategy takes a side only where plugins.review.take "
                                      "in .gitpar/plan.md lists the paths (e.g. take: [\"docs/**\"]); "
                                      f"{case.stream} conflicts with {case.target} on {', '.join(case.paths)}")
        matches = case.match
        if matches is None:
            return Resolution("stop", "the review strategy was asked without gitpar's pattern match; "
                                      f"{case.stream} conflicts with {case.target} on {', '.join(case.paths)}")
        left = [p for p in case.paths if not any(matches(pat, p) for pat in patterns)]
        if left:
            return Resolution("stop", f"{', '.join(left)} conflict between {case.stream} and "
                                      f"{case.target} and are not listed in plugins.review.take")
        others = sorted({w for p in case.paths for w in case.other_side.get(p, ())})
        note = (f"gitpar took {case.stream}'s side of the conflicting hunks in "
                f"{', '.join(case.paths)}" + (f" over {', '.join(others)}" if others else "")
                + "; a person must review these hunks")
        return Resolution("take_stream", f"paths listed in plugins.review.take: {', '.join(patterns)}",
                          paths=tuple(case.paths), review=note)


def take_patterns(options: Mapping[str, Any]) -> list[str]:
    """``take`` from the review options: patterns, or ``true`` for every path."""
    raw = options.get("take")
    if raw is None or raw is False:
        return []
    if raw is True:
        return ["**"]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, Sequence) or not all(isinstance(p, str) for p in raw):
        raise bad(".gitpar/plan.md", "plugins.review.take", f"must be a list of patterns, got {raw!r}",
                  'write it like take: ["docs/**", "CHANGELOG.md"] (or true for every path)')
    return list(raw)


@hookimpl(trylast=True)
def gitpar_conflict_strategies() -> list[ConflictStrategy]:
    return [Stop(), Review()]
