"""Printing a check report: text, JSON, or GitHub workflow commands plus a job summary."""

from __future__ import annotations

import os
from typing import Any

from gitpar.cli import output as o

# GitHub shows at most 10 error annotations per step; the rest go in one summary line.
GITHUB_MAX_ERRORS = 10


def emit(report: Any, fmt: str) -> int:
    """Print ``report`` in ``fmt``; the exit code: 0 clean, 1 violations."""
    if fmt == "json":
        o.emit_json(report.to_dict())
    elif fmt == "github":
        github(report)
    else:
        text(report)
    return 0 if report.ok else 1


def _who(report: Any) -> str:
    return f"stream {report.stream}" if report.stream else "a branch that is no stream"


def text(report: Any) -> None:
    what = (f"{report.commits} commits, {report.paths} paths" if report.scope != "staged"
            else f"{report.paths} staged paths")
    if report.ok:
        o.err(f"gitpar check: ok ({what}, {_who(report)}, plan from {report.base})")
        return
    o.out(f"gitpar check: {len(report.violations)} violations ({what}, {_who(report)}, "
          f"plan from {report.base})")
    for v in report.violations:
        where = f" [{v.commit}]" if v.commit else ""
        o.out(f"  {v.path}{where}: {v.message}")
        o.out(f"    fix: {v.fix}")
    for note in report.notes:
        o.out(f"  note: {note}")


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(report: Any) -> None:
    """Workflow commands for the annotations, and a markdown job summary."""
    violations = report.violations
    shown = violations if len(violations) <= GITHUB_MAX_ERRORS else violations[:GITHUB_MAX_ERRORS - 1]
    for v in shown:
        title = _escape_property(f"gitpar: {v.rule}")
        msg = _escape_data(f"{v.message}. Fix: {v.fix}" + (f" (commit {v.commit})" if v.commit else ""))
        o.out(f"::error file={_escape_property(v.path)},title={title}::{msg}")
    rest = len(violations) - len(shown)
    if rest:
        o.out(f"::error title=gitpar::{rest} more violations; the job summary lists them all")
    for note in report.notes:
        o.out(f"::warning title=gitpar::{_escape_data(note)}")
    if report.ok:
        o.out(f"gitpar check: ok ({_who(report)}, plan from {report.base})")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(job_summary(report))


def job_summary(report: Any) -> str:
    from gitpar.core.markdown import cell, code, table

    verdict = "✅ gitpar check passed" if report.ok else f"❌ gitpar check: {len(report.violations)} violations"
    lines = [f"## {verdict}", "", f"Judged {_who(report)} against the plan on `{report.base}` "
             f"({report.commits} commits, {report.paths} paths).", ""]
    if report.violations:
        lines += table(["path", "rule", "problem", "fix", "commit"],
                       [[code(v.path), v.rule, v.message, v.fix, v.commit] for v in report.violations])
        lines.append("")
    lines += [f"> {cell(note)}" for note in report.notes]
    if report.notes:
        lines.append("")
    lines += _status_section()
    return "\n".join(lines) + "\n"


def _status_section() -> list[str]:
    """The streams' status table and the dependency graph, when they can be read."""
    from gitpar.cli import render_status
    from gitpar.core.analysis import analyse_repo, render_mermaid
    from gitpar.core.repo import open_repo
    from gitpar.errors import GitparError

    try:
        repo = open_repo()
        st = render_status.collect(repo, dirty="none")
    except GitparError:
        return []
    lines = [render_status.markdown(st)]
    try:
        graph = render_mermaid(analyse_repo(repo, workers=2))
    except GitparError:
        return lines
    return [*lines, "", "### Dependency graph", "", "```mermaid", graph.rstrip("\n"), "```", ""]
