"""Printing a check report: text, JSON, or GitHub workflow commands plus a job summary."""

from __future__ import annotations

import os
from typing import Any

from gitpar.cli import output as o

# GitHub shows at most 10 error annotations per step; the rest go in one summary line.
GITHUB_MAX_ERRORS = 10
# GitHub refuses a step's job summary over 1 MiB (and shows none of it): stay well below.
SUMMARY_MAX_BYTES = 1024 * 1024 - 64 * 1024


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


def job_summary(report: Any, *, limit: int = SUMMARY_MAX_BYTES) -> str:
    """The markdown job summary: verdict, violations, notes, the streams' status. Every file
    name and message is escaped (a path is data, never markdown or HTML), and the table is
    cut, saying how many rows were left out, so the whole stays under ``limit`` bytes."""
    from gitpar.core.markdown import Raw, plain, table

    verdict = "✅ gitpar check passed" if report.ok else f"❌ gitpar check: {len(report.violations)} violations"
    head = [f"## {verdict}", "", f"Judged {_who(report)} against the plan on {_inline(report.base)} "
            f"({report.commits} commits, {report.paths} paths).", ""]
    tail = [f"> {plain(note)}" for note in report.notes]
    if report.notes:
        tail.append("")
    tail += _status_section()
    room = limit - _size(head) - _size(tail) - 512
    rows: list[str] = []
    if report.violations:
        lines = table(["path", "rule", "problem", "fix", "commit"],
                      [[Raw(_inline(v.path)), Raw(plain(v.rule)), Raw(plain(v.message)), Raw(plain(v.fix)),
                        Raw(plain(v.commit or ""))] for v in report.violations])
        rows = lines[:2]
        room -= _size(rows)
        for n, line in enumerate(lines[2:]):
            if _size([line]) > room:
                rows += ["", f"{len(lines) - 2 - n} more violations are not shown here (GitHub keeps a job "
                         "summary under 1 MiB); 'gitpar check --format json' lists them all"]
                break
            rows.append(line)
            room -= _size([line])
        rows.append("")
    text = "\n".join(head + rows + tail) + "\n"
    if len(text.encode("utf-8")) > limit:  # the status section alone is too big: leave it out
        text = "\n".join(head + rows) + "\n"
    return text


def _size(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _inline(value: str) -> str:
    """``value`` (a path, a ref) as code: a markdown code span (its text is literal), or an
    HTML code element of escaped text when the name holds a backtick, which would end it."""
    from gitpar.core.markdown import code, plain

    if "`" not in value and "\n" not in value and "\r" not in value:
        return code(value).text
    return f"<code>{plain(value)}</code>"


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
