"""Whether a lock's holder is still there: the process that said it holds the lock.

A lock taken with ``GITPAR_HOLDER_PID`` set (the MCP server sets it to its own pid; a harness
or an orchestrator may set it to the agent's) records that process: its pid and its start
time (``/proc/<pid>/stat``, field 22, in clock ticks since boot), on this host. When that
process has ended, or its pid now belongs to a process that started at another time (a pid
reused), the holder is gone: the lock is stale at once, shown as "holder gone" by ``locks``,
and ``lock`` (with or without ``--wait``) takes it over without waiting for the TTL — recorded
in the state commit, as every take-over is. A lock taken without it (a ``gitpar lock`` typed in
a shell, whose own process ends at once) claims no process, and only its TTL, its stream's
status and its worktree say when it is stale.
"""

from __future__ import annotations

import os
import socket

from gitpar.model.lock import Lock

HOLDER_ENV = "GITPAR_HOLDER_PID"


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, as text); None when there is no
    such process (or no ``/proc`` to ask: then liveness is never claimed, see :func:`holder_gone`)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) ": state is field 3
    return fields[19] if len(fields) > 19 else None


def holder_process() -> tuple[int, str]:
    """The process a lock taken now is held by: ``GITPAR_HOLDER_PID`` and its start time, or
    ``(0, "")`` when it is not set (or names no running process: nothing is claimed)."""
    raw = os.environ.get(HOLDER_ENV, "").strip()
    if not raw.isdigit() or int(raw) <= 0 or not os.path.isdir("/proc"):
        return 0, ""
    started = process_start(int(raw))
    return (int(raw), started) if started is not None else (0, "")


def heartbeat_gone(lock: Lock, heartbeat: float | None, now: float) -> str | None:
    """Why ``lock``'s holder is gone by the plan's ``lock_heartbeat:`` (its holder renews it,
    ``gitpar lock PATH`` again, at least that often; a renewal stamps ``acquired``), or None."""
    if heartbeat is None or lock.problem:
        return None
    since = now - lock.acquired_at()
    if lock.acquired_at() and since > heartbeat:
        return (f"holder gone: not renewed for {int(since)}s, longer than the plan's lock_heartbeat "
                f"({int(heartbeat)}s)")
    return None


def holder_gone(lock: Lock) -> str | None:
    """Why ``lock``'s holder is gone, or None (alive, on another host, or no process claimed)."""
    return process_gone(lock.host, lock.holder_pid, lock.holder_started)


def process_gone(host: str, pid: int, started: str) -> str | None:
    """Why the holder process ``pid`` (started at ``started``) on ``host`` is gone, or None:
    alive, on another host, or no process claimed. The one rule for locks, resources and
    claimed streams."""
    if not pid or host != socket.gethostname() or not os.path.isdir("/proc"):
        return None
    now_started = process_start(pid)
    if now_started is None:
        return f"holder gone: its process {pid} on {host} has ended"
    if started and now_started != started:
        return f"holder gone: its process {pid} on {host} ended and the pid is another process's now"
    return None


def process_alive(host: str, pid: int, started: str) -> bool:
    """Whether the holder process is known to run now: claimed, on this host, and there."""
    if not pid or host != socket.gethostname() or not os.path.isdir("/proc"):
        return False
    return process_gone(host, pid, started) is None
