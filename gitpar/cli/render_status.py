"""Rendering the consolidated status: terminal table, markdown, live watch."""

from __future__ import annotations

import time
from typing import Any

from gitpar.cli import output as o
from gitpar.core.status import Status
from gitpar.core.status import collect as collect_status


def collect(repo: Any, *, dirty: str = "auto") -> Status:
    from gitpar.core.status import start_scans

    scans = start_scans(repo, dirty)  # they run while the plan is read
    return collect_status(repo, repo.load_plan(), dirty=dirty, scans=scans)


def _git_cell(g: dict[str, Any]) -> str:
    if not g.get("branch_exists"):
        return "-"
    bits = [f"+{g['ahead']}", f"{g['files_changed']} files"]
    if g.get("worktree_missing"):
        bits.append("worktree gone")
    elif g.get("dirty"):
        bits.append(f"dirty({g['dirty_files']})")
    elif g.get("dirty") is False:
        bits.append("clean")
    elif g.get("dirty_scan"):
        bits.append("not scanned")
    return " ".join(bits)


def _rows(st: Status) -> list[list[Any]]:
    rows = []
    for s in st.streams:
        p = s.progress
        rows.append([s.name, p.status + (" (ready)" if s.ready else ""), f"{p.completion}%",
                     s.agent, _git_cell(s.evidence), s.last_activity or ""])
    return rows


HEADERS = ["stream", "status", "done", "agent", "git", "last activity"]


def _summary_line(st: Status) -> str:
    c = st.summary
    return (f"{c['total']} streams: {c['pending']} pending, {c['active']} active, {c['blocked']} blocked, "
            f"{c['completed']} completed, {c['failed']} failed")


def terminal(st: Status) -> None:
    o.out(_summary_line(st))
    if not st.state_branch:
        o.out("(no state branch yet: nothing started)")
    if st.streams:
        o.table(HEADERS, _rows(st))
    o.out(f"ready to start: {', '.join(st.ready) or '(none)'}")
    if st.attention:
        o.out("needs attention:")
        for a in st.attention:
            o.out(f"  - {a.stream} [{a.kind}]: {a.message}")
    if st.queue:
        from gitpar.core.integrate.view import describe

        for line in describe(st.queue):
            o.out(line)
    for note in st.notes:
        o.err(f"note: {note}")


def markdown(st: Status) -> str:
    from gitpar.core.markdown import cell, table

    lines = ["## gitpar status", "", _summary_line(st), ""]
    if st.streams:
        lines += [*table(HEADERS, _rows(st)), ""]
    lines.append(f"**Ready to start:** {', '.join(st.ready) or 'none'}")
    if st.attention:
        lines += ["", "### Needs attention", ""]
        from gitpar.core.markdown import plain  # a message names files: text, never markdown

        lines += [f"- **{cell(a.stream)}** ({a.kind}): {plain(a.message)}" for a in st.attention]
    return "\n".join(lines) + "\n"


def watch(repo: Any, every: float, dirty: str = "auto") -> None:
    """Refresh the status every ``every`` seconds: a live view on a terminal, lines otherwise."""
    if not o.use_colour():
        while True:
            terminal(collect(repo, dirty=dirty))
            o.out("")
            time.sleep(every)
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    def render() -> Table:
        st = collect(repo, dirty=dirty)
        t = Table(title=_summary_line(st), caption=f"ready: {', '.join(st.ready) or 'none'}; "
                  f"needs attention: {len(st.attention)}")
        for h in HEADERS:
            t.add_column(h)
        for row in _rows(st):
            t.add_row(*(str(c) for c in row))
        return t

    with Live(render(), console=Console(), refresh_per_second=1) as live:
        while True:
            time.sleep(every)
            live.update(render())


def run(*, json_: bool = False, markdown_: bool = False, watch_every: float | None = None,
        dirty: str = "auto", offline: bool = False, publish: bool = False) -> None:
    """``gitpar status``: the command's body, without the command line's parser (the full
    command in ``cli/main.py`` and the one answered before typer loads both call it)."""
    import math

    from gitpar.cli.session import _repo
    from gitpar.core.remote import refresh
    from gitpar.errors import bad

    if dirty not in ("auto", "all", "none"):
        raise bad(None, "--dirty", f"{dirty!r} is not auto, all or none",
                  "auto scans completed streams' worktrees and as many others as a small time budget allows")
    if watch_every is not None and not (math.isfinite(watch_every) and 0.1 <= watch_every <= 86400):
        raise bad(None, "--watch", f"{watch_every} is not a refresh interval",
                  "give the seconds between refreshes, from 0.1 to 86400, e.g. --watch 2")
    if offline and publish:
        raise bad(None, "--offline", "--publish writes the status page to the remote's state branch, "
                  "which --offline does not touch", "drop --offline to publish, or --publish to read offline")
    repo = _repo()
    note = refresh(repo, offline=offline)
    if note:
        o.err(note)
    if publish:
        from gitpar.core.state_readme import publish as publish_readme

        o.err(publish_readme(repo))
    if watch_every:
        watch(repo, watch_every, dirty)
        return
    st = collect(repo, dirty=dirty)
    if json_:
        o.out(st.to_json())  # emit_json's text, made faster for big plans
    elif markdown_:
        o.out(markdown(st))
    else:
        terminal(st)
