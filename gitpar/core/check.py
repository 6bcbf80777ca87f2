"""``gitpar check``: judge a staged change or a range of commits against the plan.

The plan is always read from the base branch — never from the branch being judged — so
a stream cannot grant itself files by editing ``.gitpar/`` on its own branch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.rules import Rules, Violation, judge


@dataclass
class Report:
    """The verdict on a change: who made it, what was looked at, and what is wrong."""

    stream: str | None
    scope: str  # "staged" or "A..B"
    base: str
    paths: int = 0
    commits: int = 0
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "ok": self.ok, "stream": self.stream, "scope": self.scope,
                "base": self.base, "paths_checked": self.paths, "commits_checked": self.commits,
                "violations": [v.to_dict() for v in self.violations], "notes": self.notes}


def base_rules(repo: Any, base_rev: str | None = None) -> tuple[Rules, str]:
    """The rules from the plan on the base branch (``base_rev`` if given, as CI names it) and
    the stream statuses, and the base's name."""
    from gitpar.core.streams import statuses
    from gitpar.errors import bad
    from gitpar.store.state import StateStore

    if base_rev is not None:
        base = base_rev
        plan = repo.load_plan_at(repo.resolve_ci(base_rev))
    else:
        base = repo.configured_base()
        plan = repo.load_plan_at_base(base)
    if plan is None:
        raise bad(".gitpar/", None, f"no plan committed on the base branch {base!r}",
                  "commit .gitpar/ to the base branch (the check never reads a stream's own copy)")
    snap = StateStore(repo).snapshot()
    return Rules.from_plan(plan, statuses(snap) if snap.commit else {}), base


def live_holders(repo: Any) -> dict[str, str]:
    """Path -> stream holding a live (unexpired) lock right now."""
    from gitpar.core.locks import LOCKS_DIR, all_locks
    from gitpar.store.state import StateStore

    snap = StateStore(repo).snapshot()
    now = time.time()
    return {p: lk.stream for p, lk in all_locks(snap.list(LOCKS_DIR)).items() if not lk.expired(now)}


def check_paths(rules: Rules, stream: str | None, paths: list[str], holders: dict[str, str],
                scope: str, base: str) -> Report:
    from gitpar.plugins import manager as plugins

    report = Report(stream=stream, scope=scope, base=base, paths=len(paths))
    report.violations = judge(rules, stream, paths, holders.get)
    report.violations.extend(plugins.check_paths(stream, paths, rules))
    return report


def check_staged(repo: Any, stream: str | None = None) -> Report:
    """Judge what is staged in the current worktree (as pre-commit sees it)."""
    from gitpar.store.staged import staged_paths

    if stream is None:
        stream = repo.current_stream()
    rules, base = base_rules(repo)
    paths = staged_paths(str(repo.here or repo.main_root))
    report = check_paths(rules, stream, paths, live_holders(repo), "staged", base)
    _note_undefined(report, rules, stream)
    return report


def _note_undefined(report: Report, rules: Rules, stream: str | None) -> None:
    """A branch named like a stream the base plan does not define owns nothing: say so."""
    if stream is not None and stream not in rules.streams:
        report.notes.append(f"gitpar/{stream} names no stream defined in the plan on {report.base}, "
                            "so it owns nothing; add .gitpar/streams/"
                            f"{stream}.md on {report.base} first")


def check_range(repo: Any, base_rev: str | None, head_rev: str, stream: str | None = None,
                *, stream_from_branch: str | None = None) -> Report:
    """Judge every commit in ``base_rev..head_rev`` with the locks held when each was made.

    The stream is ``stream``, else the one named by ``stream_from_branch``
    (``gitpar/<name>``), else the commits' ``Gitpar-Stream`` trailers.
    """
    from gitpar.core.lock_history import held_at, lock_history
    from gitpar.errors import bad
    from gitpar.store.commits import commits_between

    rules, base = base_rules(repo, base_rev)
    head = repo.resolve_ci(head_rev)
    base_oid = repo.resolve_ci(base_rev) if base_rev else None
    if base_oid is not None and repo.git.merge_base(base_oid, head) is None and repo.git.is_shallow:
        raise bad(None, "--base", f"this clone is shallow and holds no common ancestor of {base_rev} and "
                  f"{head_rev}, so the commits of the change cannot be told apart",
                  "fetch the whole history (actions/checkout with fetch-depth: 0, or git fetch --unshallow)")
    if stream is None and stream_from_branch:
        stream = repo.stream_of_branch(stream_from_branch)
    commits = commits_between(repo, base_oid, head)
    scope = f"{base_rev or ''}..{head_rev}"
    report = Report(stream=stream, scope=scope, base=base, commits=len(commits))
    from gitpar.plugins import manager as plugins

    history = lock_history(repo, time.time())
    seen_paths: set[str] = set()
    for c in commits:
        who = stream or c.stream_trailer
        times = (float(c.author_time), float(c.commit_time))

        def holder(path: str, who: str | None = who, times: tuple[float, ...] = times) -> str | None:
            return held_at(history, path, times, who)

        seen_paths.update(c.paths)
        report.violations.extend(judge(rules, who, list(c.paths), holder, commit=c.sha[:10]))
        report.violations.extend(plugins.check_paths(who, list(c.paths), rules, c.sha[:10]))
    report.paths = len(seen_paths)
    _note_undefined(report, rules, stream)
    return report
