"""The README.md of the state branch: what GitHub shows on the branch page.

Written on request (``gitpar status --publish``, e.g. from a scheduled CI job), not in
every state commit: a state change must cost the same whatever the number of streams,
and every change is pushed when the state is coordinated through a remote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitpar.core.analysis import analyse, render_mermaid
from gitpar.core.locks import LOCKS_DIR, all_locks
from gitpar.core.markdown import cell, code, table
from gitpar.core.progress import Progress, now_iso, parse_progress
from gitpar.core.report import gather
from gitpar.core.report_html import render as render_report
from gitpar.errors import GitparError
from gitpar.store.state import StateStore


def render(repo: Any, files: Mapping[str, str], message: str) -> str:
    """The README for a state branch holding ``files`` (path to text), after ``message``."""
    progress: dict[str, Progress | None] = {}
    for path, text in sorted(files.items()):
        if path.startswith("progress/") and path.endswith(".md") and path.count("/") == 1:
            name = path[len("progress/"):-3]
            try:
                progress[name] = parse_progress(name, text)
            except Exception:  # noqa: BLE001 — a damaged file is shown as such, not fatal here
                progress[name] = None
    locks = all_locks({p: t for p, t in files.items() if p.startswith(LOCKS_DIR + "/")})
    try:
        plan = repo.load_plan_at_base()
    except Exception:  # noqa: BLE001 — the page still shows progress and locks
        plan = None
    names = sorted(set(progress) | set(plan.streams if plan else ()))
    lines = ["# gitpar state", "",
             "This branch holds gitpar's live coordination state. gitpar rewrites this page with every "
             "change of the branch; do not edit it. `git log` of this branch is the audit log.", "",
             f"Last change ({now_iso()}): {cell(message.splitlines()[0])}", "", "## Streams", ""]
    if names:
        rows: list[list[Any]] = []
        for name in names:
            p = progress.get(name)
            if name in progress and p is None:
                rows.append([name, "(unreadable progress file)", "", "", ""])
            elif p is None:
                rows.append([name, "pending", "0%", "", ""])
            else:
                rows.append([name, p.status, f"{p.completion}%", p.agent, p.updated])
        lines += table(["stream", "status", "done", "agent", "updated"], rows)
    else:
        lines.append("No streams yet.")
    lines += ["", "## Locks", ""]
    if locks:
        lines += table(["path", "stream", "until", "reason"],
                       [[code(lk.path), lk.stream, lk.expires, lk.reason] for _, lk in sorted(locks.items())])
    else:
        lines.append("No locks held.")
    graph = _graph(plan, progress) if plan is not None and plan.streams else None
    if graph:
        lines += ["", "## Dependency graph", "", "```mermaid", graph.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def _graph(plan: Any, progress: Mapping[str, Progress | None]) -> str | None:
    """``gitpar graph``'s mermaid picture (status colours, the critical path), or None when
    the plan cannot be analysed (the page still shows progress and locks)."""
    try:
        return render_mermaid(analyse(plan, workers=2, budget_s=0.0,
                                      progress={n: p for n, p in progress.items() if p is not None}))
    except GitparError:
        return None


REPORT_FILE = "report.html"


def publish(repo: Any) -> str:
    """Rewrite README.md on the state branch with the current status, and ``report.html``
    beside it (``gitpar report --html``), linked from the README: one state commit."""
    page = render_report(gather(repo, workers=2))

    def change(snap: Any) -> tuple[dict[str, str | None], str] | None:
        files = {p: t for p, t in snap.list_all().items() if p not in ("README.md", REPORT_FILE)}
        readme = render(repo, files, "publish the status page")
        readme += (f"\n## Report\n\n[{REPORT_FILE}]({REPORT_FILE}): the dependency graph with its "
                   "critical path, the planned and actual timeline, who held which lock when, and the "
                   "forecast conflicts (download it and open it in a browser).\n")
        return ({"README.md": readme, REPORT_FILE: page},
                f"publish: README.md and {REPORT_FILE}")

    snap = StateStore(repo).update(change)
    return (f"published the status page: README.md and {REPORT_FILE} on gitpar/_state at "
            f"{str(snap.commit)[:12]}")
