"""Whose rules a change is judged by: its branch's stream, the base's, or no stream's.

Identity is the branch (the worktree's, the pushed ref's, the pull request's head). A
``gitpar/<name>`` branch counts as stream ``name``'s only while the state branch holds a
claim for it (started and not yet integrated: in progress, blocked, failed, or completed
and waiting to be integrated) — once the state branch records any stream's progress; before
any stream was ever started (or with no state branch) there is no claim to ask for, and a
stream branch is judged as its stream's. Every other branch — ``feature``, ``gitpar/_x``, or the
branch of a stream nobody started — is no stream's, and the plan's ``other_branches:``
decides what it may change: ``strict`` (the default) allows only ``.gitpar/**`` (plan pull
requests, reviewed like code) and what the plan leaves ``unowned: allow``; ``active`` is the
main worktree's rule (only the files of streams in progress, and locked files, are refused).
The base branch itself keeps the main worktree's rule (``main_worktree:``): the
orchestrator's commits and integrated work land there.

Commits attributed to a completed or integrated stream (:mod:`gitpar.core.landed`) are judged
as that stream's in ``core.check.judge_range``; this module decides only the branch's own.
Standard library only (the pre-commit hook imports it).
"""

from __future__ import annotations

# CLAIMED lives in gitpar.model; re-exported here while other modules still import it from here
from gitpar.model.statuses import CLAIMED as CLAIMED
from gitpar.store.naming import STREAM_BRANCH_PREFIX, stream_of_branch

TYPE_CHECKING = False  # typing costs import time here; mypy treats this name like typing's
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gitpar.core.rules import Rules

OTHER_BRANCHES_MODES = ("strict", "active")
INTEGRATED = "integrated"  # the claim status of a completed stream recorded as integrated
STATE_BRANCH = "gitpar/_state"


def claim_status(status: str | None, integrated: bool) -> str | None:
    """The status the rules keep for a stream: ``integrated`` for a completed stream the
    state branch records as merged (its branch then claims nothing), else its status."""
    return INTEGRATED if integrated and status == "completed" else status


def claim_statuses(progress: Mapping[str, object]) -> dict[str, str]:
    """Stream -> :func:`claim_status` of each progress record (``core.progress.Progress``)."""
    out = {}
    for name, p in progress.items():
        extra = getattr(p, "extra", {}) or {}
        out[name] = claim_status(getattr(p, "status", None), bool(extra.get("integrated"))) or "pending"
    return out


def short_branch(branch: str | None) -> str | None:
    """``refs/heads/x``, ``refs/remotes/origin/x`` and ``origin/x`` -> ``x`` (as far as known)."""
    if not branch:
        return None
    for prefix in ("refs/heads/",):
        if branch.startswith(prefix):
            return branch[len(prefix):]
    if branch.startswith("refs/remotes/"):
        return branch[len("refs/remotes/"):].partition("/")[2]
    return branch


def _is_base(branch: str, base: str) -> bool:
    name = short_branch(branch) or ""
    if name == base and not branch.startswith("refs/remotes/"):
        return True
    # origin/main as CI names the base; refs/remotes/<remote>/main was shortened above
    return name == f"origin/{base}" or (branch.startswith("refs/remotes/") and name == base)


class Identity:
    """Who a change is judged as: ``stream`` (None: no stream's), the ``rules`` to judge it
    by, and ``note``: why a branch named like a stream is not judged as one."""

    __slots__ = ("stream", "rules", "note")

    def __init__(self, stream: str | None, rules: Rules, note: str | None = None) -> None:
        self.stream, self.rules, self.note = stream, rules, note


def of_branch(rules: Rules, branch: str | None, base: str) -> Identity:
    """The identity of a change on ``branch`` (None: unknown, e.g. a detached HEAD), with the
    plan's base branch named ``base``."""
    stream = stream_of_branch(branch)
    if stream is not None:
        if stream in rules.claimed or stream not in rules.streams or not rules.statuses:
            # not in the plan: judged as a stream that owns nothing (core.check notes it); no
            # progress recorded for any stream (no state branch, or nothing ever started): the
            # plan is not run through the state branch, so there is no claim to ask for
            return Identity(stream, rules)
        why = (f"gitpar/{stream} is judged as a branch that is no stream's: stream {stream} has no claim "
               f"on the state branch ({_unclaimed(rules, stream)}), so its branch counts for no stream "
               f"(other_branches: {rules.other_branches}); 'gitpar start {stream}' claims it")
        return Identity(None, rules.as_other_branch(), why)
    if branch and (_is_base(branch, base) or short_branch(branch) == STATE_BRANCH):
        return Identity(None, rules)  # the base, and a hand edit of the state branch: the main worktree's rule
    name = short_branch(branch)
    if name and name.startswith(STREAM_BRANCH_PREFIX + "_"):
        why = (f"{name} is in gitpar's own namespace (gitpar/_*), no stream's: judged as a branch that is "
               f"no stream's (other_branches: {rules.other_branches})")
        return Identity(None, rules.as_other_branch(), why)
    return Identity(None, rules.as_other_branch())


def _unclaimed(rules: Rules, stream: str) -> str:
    status = rules.statuses.get(stream)
    if status == INTEGRATED:
        return "it was completed and integrated"
    if status is None or status == "pending":
        return "it was never started"
    return f"its status is {status}"


def review_notes(paths: set[str] | list[str]) -> list[str]:
    """Warnings for a head that changes the workflows or the plan: both need a review the
    check cannot give (a workflow change can switch the check off; a plan change regrants files)."""
    notes = []
    workflows = sorted(p for p in paths if p.startswith(".github/workflows/"))
    plan = sorted(p for p in paths if p.startswith(".gitpar/"))
    if workflows:
        notes.append(f"this change edits the CI workflows ({', '.join(workflows[:5])}"
                     f"{', ...' if len(workflows) > 5 else ''}): a workflow change can switch this check off; "
                     "it needs a code owner's review (docs/github.md)")
    if plan:
        notes.append(f"this change edits the plan ({', '.join(plan[:5])}{', ...' if len(plan) > 5 else ''}): "
                     "a plan change regrants files and needs the orchestrator's review (docs/github.md)")
    return notes
