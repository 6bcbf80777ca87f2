"""The queue as ``gitpar status`` (and ``--json``) shows it: the completed streams waiting
to land, those a running queue is testing, the ejected ones of the last run and why, and
an ETA from the gate's recorded durations (``.git/gitpar/queue.json``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitpar.core.plan import Plan
    from gitpar.core.progress import Progress
    from gitpar.core.repo import Repo


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def queue_view(repo: Repo, plan: Plan, progress: Mapping[str, Progress]) -> dict[str, Any] | None:
    """The queue's view, or None when nothing waits and nothing was ejected."""
    from gitpar.core.integrate.select import queue_state

    state = queue_state(repo) or {}
    live = state.get("live") if isinstance(state.get("live"), dict) and _alive(state.get("pid")) else {}
    waiting = [n for n in plan.streams
               if (p := progress.get(n)) is not None and p.status == "completed" and not p.extra.get("integrated")]
    testing = sorted(n for n, what in (live or {}).items() if what == "testing")
    ejected = [e for e in state.get("ejected") or [] if isinstance(e, dict) and e.get("stream") in waiting]
    if not waiting and not testing and not ejected:
        return None
    seconds = [float(x) for x in state.get("gate_seconds") or [] if isinstance(x, (int, float))]
    gate = sum(seconds) / len(seconds) if seconds else None
    jobs = state.get("jobs") if isinstance(state.get("jobs"), int) else 1
    left = [n for n in waiting if n not in {e["stream"] for e in ejected}]
    eta = None
    if gate is not None and left:  # if every one passes: one at a time, or one batch with -j
        eta = round(gate * (len(left) if jobs == 1 else 1), 1)
    return {"waiting": [n for n in left if n not in testing], "testing": testing, "ejected": ejected,
            "gate_seconds": round(gate, 2) if gate is not None else None, "jobs": jobs, "eta_seconds": eta}


def describe(view: Mapping[str, Any]) -> list[str]:
    """The queue's lines for the terminal."""
    lines = [f"queue: {len(view['waiting'])} waiting"
             + (f" ({', '.join(view['waiting'])})" if view["waiting"] else "")
             + (f", testing {', '.join(view['testing'])}" if view["testing"] else "")
             + (f"; ETA {view['eta_seconds']} s if all pass (gate ~{view['gate_seconds']} s, -j {view['jobs']})"
                if view.get("eta_seconds") is not None else "")]
    for e in view["ejected"]:
        lines.append(f"  ejected {e['stream']} ({e.get('outcome', '')}): {e.get('why', '')}"
                     + (f" (log {e['log']})" if e.get("log") else ""))
    return lines
