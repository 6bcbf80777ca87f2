"""The verdict on a change: the ownership rules of the plan on the base branch, the
lock holders, the plugins' path policies, and the net-effect rule for what is staged.

``core.rules`` judges paths against rules and nothing else (no git, no plugins); this
module brings in what the rules cannot know: the plan and the statuses on the state
branch (:func:`base_rules`), the plugins (:func:`judge_change`) and git's view of the
staged change (:func:`staged_verdict`). ``check``, the hooks' cache and the guard ask here.
"""

from __future__ import annotations

from gitpar.core.rules import Rules, Violation, judge

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from gitpar.core.rules import HolderAt


def base_rules(repo: Any, base_rev: str | None = None,
               status: dict[str, str] | None = None) -> tuple[Rules, str]:
    """The rules from the plan on the base branch (``base_rev`` if given, as CI names it) and
    the stream statuses (``status`` when the caller has read them already), and the base's name."""
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
    if status is None:
        from gitpar.core.identity import claim_statuses
        from gitpar.core.stream_progress import all_progress

        snap = StateStore(repo).snapshot()
        status = claim_statuses(all_progress(snap)) if snap.commit else {}
    return Rules.from_plan(plan, status), base


def judge_change(rules: Rules, stream: str | None, paths: Sequence[str], holder: HolderAt,
                 commit: str | None = None, *, policies: bool = True, repo: Any = None,
                 at: Any = None) -> list[Violation]:
    """The verdict on one change (a staged change, or one commit) — every check runs here.

    The ownership and lock rules, then the plugins' path policies (``gitpar_check_paths``),
    the repository's plugins read from ``at`` (the base commit) when given. ``policies``
    False skips the plugins: the hook knows from its cache that none has a path policy.
    """
    out = judge(rules, stream, paths, holder, commit)
    if policies:
        from gitpar.plugins import manager

        out.extend(manager.check_paths(stream, list(paths), rules, commit, repo=repo, at=at))
    return out


def staged_verdict(cwd: str, rules: Rules, stream: str | None, paths: Sequence[str], holder: HolderAt,
                   base: str, *, policies: bool = True, repo: Any = None, at: Any = None) -> list[Violation]:
    """The verdict on what is staged in the worktree at ``cwd`` (pre-commit and ``check --staged``).

    The net-effect rule: a path whose staged content is its content where the branch forked
    from the base (or on the base now) changes nothing integration would apply — a revert
    of a slip — so it is always allowed. The plugins' path policies are those of the
    repository around ``cwd`` when no ``repo`` is given.
    """
    if policies and repo is None and at is None:
        from gitpar.core.repo import open_repo

        repo = open_repo(cwd)
    found = judge_change(rules, stream, paths, holder, policies=policies, repo=repo, at=at)
    if not found:
        return found
    from gitpar.store.staged import merge_base, staged_equal_to

    base_ref = f"refs/heads/{base}"
    suspects = sorted({v.path for v in found})
    same = staged_equal_to(cwd, base_ref, suspects)
    fork = merge_base(cwd, "HEAD", base_ref)
    if fork is not None:
        same |= staged_equal_to(cwd, fork, [p for p in suspects if p not in same])
    return [v for v in found if v.path not in same]
