"""``gitpar integrate --land``: the queue's result moved onto the base, never over it.

With a remote (``remote:`` in the plan), the integration branch's tip is pushed to the
remote's base by compare-and-swap (``git push --force-with-lease=refs/heads/<base>:<old>``,
where ``<old>`` is the base the command fetched): a base that moved meanwhile is fetched,
merged into the integration branch, the gate run again on that merge, and the push tried
again — never overwritten. The local base then follows when it can (a fast-forward, its
worktree clean). Without a remote the local base is moved the same way (compare-and-swap,
the worktree that has it checked out updated if clean; refused otherwise).
"""

from __future__ import annotations

from gitpar.core.integrate.gate import run_test
from gitpar.core.integrate.result import Integration, Progress
from gitpar.core.plan import Plan
from gitpar.core.repo import Repo
from gitpar.errors import GitparError, Refused, bad
from gitpar.store import merge as m
from gitpar.store.merge import fetch_branch
from gitpar.store.repo import Oid
from gitpar.store.worktrees import dirty_files

TRIES = 3  # a base that keeps moving: merged in and gated again at most this many times


def check_land(repo: Repo, plan: Plan, target: str) -> None:
    """Bad input for --land, before anything changes: a target that is the base, or a
    remote that has no base branch to land on."""
    base = plan.settings.base
    if target == base:
        raise bad(None, "--land", f"the target is the base {base} itself",
                  "drop --land (the queue already lands on it), or integrate into another branch")
    remote = repo.state_remote()
    # the command's fetch (core.remote.refresh) brought the remote's base already: no second round trip
    if remote is not None and repo.tip(f"refs/remotes/{remote}/{base}") is None \
            and fetch_branch(repo, remote, base) is None:
        raise bad(None, "--land", f"{remote} has no branch {base} to land on",
                  f"push the base first: git push {remote} {base}")


def land(repo: Repo, plan: Plan, run: Integration, say: Progress) -> dict[str, str]:
    """Land ``run``'s target tip on the base (see the module's docstring); what was done."""
    base = plan.settings.base
    target = run.target
    remote = repo.state_remote()
    for _ in range(TRIES):
        tip = repo.tip(f"refs/heads/{target}")
        assert tip is not None
        if remote is not None:
            old = repo.tip(f"refs/remotes/{remote}/{base}")
            if old is None:
                raise Refused(f"{remote} has no branch {base} any more; push it, then 'gitpar integrate --land'")
        else:
            old = repo.tip(f"refs/heads/{base}")
            if old is None:
                raise Refused(f"the base {base} does not exist; commit to it first")
        if not m.is_ancestor(repo, old, tip):
            tip = _take_base_in(repo, plan, run, old, tip, say)
        if remote is None:
            checked = m.worktrees_on(repo, base)
            _check_clean(checked, base)
            m.move_branch(repo, base, old, tip, f"gitpar integrate --land: {target}", checked)
            say(f"landed {target} on {base} ({m.short(tip)})")
            return {"base": base, "commit": str(tip), "where": "local"}
        ok, why = m.push_with_lease(repo, remote, tip, base, old, fetched=True)  # this command's fetch
        if ok:
            say(f"landed {target} on {remote}/{base} ({m.short(tip)})")
            done = {"base": base, "commit": str(tip), "where": remote}
            done["local"] = _follow_local(repo, base, tip)
            return done
        say(f"{remote}/{base} moved while landing ({why.splitlines()[-1] if why else 'lease refused'}); "
            "merging it in and testing again")
        if m.fetch_branch(repo, remote, base) == old:
            raise Refused(f"the push of {target} to {remote}/{base} was refused: {why}")
    raise Refused(f"{base} kept moving while landing {target}; run 'gitpar integrate --land' again")


def _take_base_in(repo: Repo, plan: Plan, run: Integration, old: Oid, tip: Oid, say: Progress) -> Oid:
    """Merge the moved base into the target, gate it, move the target: the new tip to land."""
    base, target = plan.settings.base, run.target
    index, conflicts = m.conflicts_of_commits(repo, m.merge_base(repo, tip, old), tip, old)
    if conflicts:
        raise Refused(f"{base} moved and conflicts with {target} in {', '.join(c.path for c in conflicts)}; "
                      f"{base} and {target} are unchanged: merge {base} into the streams, then "
                      "'gitpar integrate --fresh --land'")
    new = m.write_merge(repo, index, [tip, old], f"Merge {base} into {target}\n\nMerged by gitpar integrate --land.\n")
    if run.test is not None:
        code, log = run_test(repo, f"{target.replace('/', '_')}-land", new, run.test)
        run.gate_runs += 1
        if code != 0:
            raise Refused(f"{target} with the moved {base} merged in fails the gate (exit {code}, log {log}); "
                          f"{base} and {target} are unchanged")
    m.move_branch(repo, target, tip, new, f"gitpar integrate --land: merge {base}", m.worktrees_on(repo, target))
    say(f"merged the moved {base} into {target} ({m.short(new)}), gate passed")
    return new


def _check_clean(checked: list, base: str) -> None:  # type: ignore[type-arg]
    for wt in checked:
        what = busy_with(wt)
        if what:
            raise Refused(f"{base} is checked out in {wt.path} with {what}; commit or stash them there, "
                          "then 'gitpar integrate --land' again (the integration is kept)")


def busy_with(wt: object) -> str | None:
    """What keeps the worktree ``wt`` (a ``store.merge`` worktree) from being moved: an
    operation in progress, or its local changes (None: it is clean)."""
    busy = m.operation_in_progress(wt)
    dirty = dirty_files(wt.path)  # type: ignore[attr-defined]
    if not busy and not dirty:
        return None
    return busy or "local changes: " + ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")


def _follow_local(repo: Repo, base: str, tip: Oid) -> str:
    """The local base after a landing on the remote: fast-forwarded when it can be."""
    old = repo.tip(f"refs/heads/{base}")
    if old is None or not m.is_ancestor(repo, old, tip):
        return f"local {base} left as it is (it has commits the landing does not)"
    try:
        checked = m.worktrees_on(repo, base)
        _check_clean(checked, base)
        m.move_branch(repo, base, old, tip, "gitpar integrate --land: follow the remote", checked)
    except GitparError as exc:
        return f"local {base} left as it is: {exc}"
    return f"local {base} moved to {m.short(tip)}"
