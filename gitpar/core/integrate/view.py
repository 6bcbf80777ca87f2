"""The queue as ``gitpar status`` (and ``--json``) shows it: the completed streams waiting
to land, those a running queue is testing, the ejected ones of the last run and why, and
an ETA from the gate's recorded durations (``.git/gitpar/queue.json``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gitpar.core.durations import format_duration
from gitpar.core.integrate.select import queue_state
from gitpar.core.plan import Plan
from gitpar.core.progress import Progress
from gitpar.core.repo import Repo


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _moved_since(repo: Repo, ejected: Mapping[str, Any]) -> bool:
    """Whether an ejected stream's branch moved since (a fix: it waits to land again)."""
    tip = ejected.get("tip")
    if not isinstance(tip, str) or not tip:
        return False
    now = repo.stream_tip(str(ejected.get("stream")))
    return now is not None and str(now) != tip


def queue_view(repo: Repo, plan: Plan, progress: Mapping[str, Progress]) -> dict[str, Any] | None:
    """The queue's view, or None when nothing waits and nothing was ejected."""
    state = queue_state(repo) or {}
    live = state.get("live") if isinstance(state.get("live"), dict) and _alive(state.get("pid")) else {}
    landed = {n for n, what in (live or {}).items() if what == "landed"}  # recorded when the run ends
    waiting = [n for n in plan.streams
               if (p := progress.get(n)) is not None and p.status == "completed" and not p.extra.get("integrated")
               and n not in landed]
    testing = sorted(n for n, what in (live or {}).items() if what == "testing")
    ejected = [e for e in state.get("ejected") or [] if isinstance(e, dict) and e.get("stream") in waiting
               and not _moved_since(repo, e)]
    if not waiting and not testing and not ejected:
        return None
    seconds = [float(x) for x in state.get("gate_seconds") or [] if isinstance(x, (int, float))]
    jobs = state.get("jobs") if isinstance(state.get("jobs"), int) and state.get("jobs") > 0 else 1
    left = [n for n in waiting if n not in {e["stream"] for e in ejected}]
    eta, gate, basis = eta_of(len(left), seconds, jobs)
    return {"waiting": [n for n in left if n not in testing], "testing": testing, "ejected": ejected,
            "gate_seconds": round(gate, 2) if gate is not None else None, "gate_samples": len(seconds),
            "jobs": jobs, "eta_seconds": eta, "eta_basis": basis}


def eta_of(left: int, seconds: list[float], jobs: int) -> tuple[float | None, float | None, str]:
    """The queue's ETA: ``left`` streams x the median of the recorded gate durations / ``jobs``
    (every stream passing; an ejection costs more gates), the median, and how it was computed."""
    import statistics

    if not seconds:
        return None, None, "no gate duration recorded yet: no ETA until a gate has run"
    gate = statistics.median(seconds)
    if not left:
        return None, gate, "nothing left to land"
    eta = round(left * gate / jobs, 1)
    return eta, gate, (f"{left} streams x {gate:.1f} s (the median of the last {len(seconds)} gate runs) "
                       f"/ -j {jobs}, if every one passes")


def describe(view: Mapping[str, Any]) -> list[str]:
    """The queue's lines for the terminal."""
    lines = [f"queue: {len(view['waiting'])} waiting"
             + (f" ({', '.join(view['waiting'])})" if view["waiting"] else "")
             + (f", testing {', '.join(view['testing'])}" if view["testing"] else "")
             + (f"; ETA {format_duration(view['eta_seconds'])} ({view['eta_basis']})"
                if view.get("eta_seconds") is not None else
                "; no ETA yet (no gate run recorded)" if view["waiting"] and not view.get("gate_samples") else "")]
    for e in view["ejected"]:
        lines.append(f"  ejected {e['stream']} ({e.get('outcome', '')}): {e.get('why', '')}"
                     + (f" (log {e['log']})" if e.get("log") else ""))
    return lines
