"""One held lock, as its file on the state branch says (``gitpar.core.locks`` reads and writes them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gitpar.model.times import parse_time


@dataclass(frozen=True)
class Lock:
    """One held lock, as its file on the state branch says."""

    path: str
    stream: str
    agent: str
    acquired: str
    expires: str
    reason: str = ""
    host: str = ""
    pid: int = 0
    worktree: str = ""
    # the process holding it, when one was named (locks/holders.py): its pid and start time
    holder_pid: int = 0
    holder_started: str = ""
    # a resource hold's fencing number (locks/resources.py): higher with every new holder
    fence: int = 0
    # Why the file cannot be trusted (unreadable, fields missing, no expiry time): such a
    # lock counts as held, never as expired or stale (fail closed), until broken with
    # 'gitpar unlock --force'. Empty for a sound lock.
    problem: str = ""
    # Something odd but harmless (its 'path:' disagrees with its file name), reported.
    warning: str = ""

    def expires_at(self) -> float:
        if self.problem:
            return math.inf
        t = parse_time(self.expires)
        return t.timestamp() if t else math.inf

    def acquired_at(self) -> float:
        t = parse_time(self.acquired)
        return t.timestamp() if t else 0.0

    def expired(self, now: float) -> bool:
        """Whether the lock has run out at ``now`` (epoch seconds; ``core.clock.now()`` for a read)."""
        return now >= self.expires_at()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path, "stream": self.stream, "agent": self.agent,
            "acquired": self.acquired, "expires": self.expires, "reason": self.reason,
            "host": self.host, "pid": self.pid, "worktree": self.worktree}
        if self.holder_pid:
            out["holder_pid"], out["holder_started"] = self.holder_pid, self.holder_started
        if self.fence:
            out["fence"] = self.fence
        if self.problem:
            out["problem"] = self.problem
        if self.warning:
            out["warning"] = self.warning
        return out
