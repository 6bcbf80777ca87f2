"""Built-in lock contention strategies: ``wait`` (the default), ``priority``, ``collaborative``.

Plain classes, not dataclasses: this module is imported whenever plugins load, and each
dataclass costs a fraction of a millisecond to create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitpar.errors import bad
from gitpar.model.durations import parse_duration
from gitpar.plugins.hookspecs import Contention, Decision, LockStrategy, hookimpl

DEFAULT_TIMEOUT_S = 600.0  # collaborative: wait this long before asking a person


def _held(c: Contention) -> str:
    assert c.holder is not None
    return f"{c.path} is locked by stream {c.holder.stream} until {c.holder.expires}"


def _free_or_stale(c: Contention) -> Decision | None:
    """Take a free lock, or one whose holder's claim is stale; None while it is live."""
    if c.holder is None:
        return Decision("take_over", f"{c.path} is free")
    if c.stale:
        return Decision("take_over", f"the lock on {c.path} held by {c.holder.stream} is stale: {c.stale}")
    return None


class Wait:
    """Wait for the holder to release; take over a lock that is stale."""

    name = "wait"
    description = "wait for the holder (within --wait); take over a stale lock"

    def decide(self, contention: Contention) -> Decision:
        c = contention
        return _free_or_stale(c) or Decision("wait", _held(c))


class Priority:
    """The higher-priority stream gets a contested lock first."""

    name = "priority"
    description = "the higher-priority stream gets a contested lock first; a stale lock is taken over"

    def decide(self, contention: Contention) -> Decision:
        c = contention
        ahead = sorted(((p, s) for s, p in c.waiting.items() if s != c.stream and p > c.priority),
                       reverse=True)
        if ahead:
            p, first = ahead[0]
            return Decision("wait", f"stream {first} (priority {p}) also waits for {c.path} and goes "
                                    f"first (this stream's priority is {c.priority})")
        if c.holder is None:
            return Decision("take_over", f"{c.path} is free and no higher-priority stream waits for it")
        if c.stale:
            return Decision("take_over", f"the lock on {c.path} held by {c.holder.stream} is stale: {c.stale}")
        return Decision("wait", _held(c) + f"; this stream (priority {c.priority}) is next")


class Collaborative:
    """Wait; after a timeout, mark both streams as needing a person."""

    name = "collaborative"
    description = ("wait; after plugins.collaborative.timeout (10m) mark both streams "
                        "'needs attention' for a person")

    def decide(self, contention: Contention) -> Decision:
        c = contention
        taken = _free_or_stale(c)
        if taken is not None:
            return taken
        assert c.holder is not None  # a free lock was taken above
        timeout = timeout_of(c.options)
        if c.waited >= timeout:
            from gitpar.model.durations import format_duration

            return Decision("escalate",
                            f"{c.stream} waited {format_duration(c.waited)} for {c.path}, held by "
                            f"{c.holder.stream}; both streams need a person to agree who goes first",
                            attention=(c.stream, c.holder.stream))
        return Decision("wait", _held(c))


def timeout_of(options: Mapping[str, Any]) -> float:
    """``timeout`` from the strategy's options (a duration like 10m), in seconds."""
    raw = options.get("timeout", DEFAULT_TIMEOUT_S)
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise bad(".gitpar/plan.md", "plugins.collaborative.timeout", str(exc),
                  "write it like timeout: 10m") from None


@hookimpl(trylast=True)
def gitpar_lock_strategies() -> list[LockStrategy]:
    return [Wait(), Priority(), Collaborative()]
