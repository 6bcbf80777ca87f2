"""``gitpar check``: judge a staged change or a range of commits against the plan.

The plan is always read from the base branch — never from the branch being judged — so
a stream cannot grant itself files by editing ``.gitpar/`` on its own branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitpar.core import clock
from gitpar.core.rules import Rules, Violation, judge

# base_rules moved to core.verdict; re-exported here while callers still import it from here
from gitpar.core.verdict import base_rules as base_rules
from gitpar.core.verdict import judge_change

if TYPE_CHECKING:
    from gitpar.store.repo import Oid


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


def lock_holders(repo: Any) -> dict[str, str]:
    """Path -> stream holding a live (unexpired) lock right now: from the hook's cache of the
    state branch's locks (:func:`gitpar.core.rules_cache.live_holders`) in a worktree, read
    from the state branch in a repository without one."""
    from gitpar.core.locks import LOCKS_DIR, all_locks
    from gitpar.core.rules_cache import live_holders as cached
    from gitpar.store.quickgit import git_dir
    from gitpar.store.state import StateStore

    root = repo.here or repo.main_root
    if root is not None:
        return cached(str(root), git_dir(str(root)))
    snap = StateStore(repo).snapshot()
    now = clock.now()
    return {p: lk.stream for p, lk in all_locks(snap.list(LOCKS_DIR)).items() if not lk.expired(now)}


def check_paths(rules: Rules, stream: str | None, paths: list[str], holders: dict[str, str],
                scope: str, base: str) -> Report:
    """Judge ``paths`` changed by ``stream`` now, with the locks held now (no git involved)."""
    report = Report(stream=stream, scope=scope, base=base, paths=len(paths))
    report.violations = judge_change(rules, stream, paths, holders.get)
    report.notes.extend(sorted(set(rules.ignored_locks.values())))
    return report


def check_staged(repo: Any, stream: str | None = None) -> Report:
    """Judge what is staged in the current worktree, as the pre-commit hook does.

    The stream is ``stream``, else the worktree's branch — never a trailer.
    """
    from gitpar.errors import bad

    cwd = str(repo.here or repo.main_root)
    if stream is None:
        report = staged_report(cwd, repo.current_stream(), repo.current_branch(), by_branch=True)
    else:
        report = staged_report(cwd, stream)
    if report is None:
        raise bad(".gitpar/", None, f"no plan committed on the base branch {repo.configured_base()!r}",
                  "commit .gitpar/ to the base branch (the check never reads a stream's own copy)")
    return report


def staged_report(cwd: str, stream: str | None, branch: str | None = None, *,
                  by_branch: bool = False) -> Report | None:
    """The report on what is staged in the worktree at ``cwd``, judged as the pre-commit hook
    judges it (:func:`gitpar.core.rules_cache.judge_staged`); None when the base branch has
    no plan. Needs no pygit2 while the hook's cache is current: ``gitpar check --staged``
    calls it before the command line is loaded."""
    from gitpar.core.rules_cache import judge_staged
    from gitpar.store.quickgit import git_dir

    found = judge_staged(cwd, git_dir(cwd), stream, branch, by_branch=by_branch)
    if found is None:
        return None
    if found.note:
        stream = None
    report = Report(stream=stream, scope="staged", base=found.base, paths=len(found.paths),
                    violations=found.violations)
    _note_undefined(report, found.streams, stream)
    if found.note:
        report.notes.insert(0, found.note)
    return report


def _note_undefined(report: Report, streams: set[str], stream: str | None) -> None:
    """A branch named like a stream the base plan does not define owns nothing: say so."""
    if stream is not None and stream not in streams:
        report.notes.append(f"gitpar/{stream} names no stream defined in the plan on {report.base}, "
                            "so it owns nothing; add .gitpar/streams/"
                            f"{stream}.md on {report.base} first")


def check_range(repo: Any, base_rev: str | None, head_rev: str, stream: str | None = None,
                *, branch: str | None = None, status: dict[str, str] | None = None) -> Report:
    """Judge the change ``base_rev..head_rev``: every commit, and the net effect.

    The stream is ``stream`` (``--stream``), else the one whose branch ``branch`` names
    (``gitpar/<name>``, ``origin/gitpar/<name>``, ``refs/...``), else none: a branch that
    is no stream's. ``Gitpar-Stream`` trailers are information, never identity.
    ``status``: the streams' claim statuses when the caller has read them already (as
    :func:`base_rules` takes them).
    """
    from gitpar.errors import bad

    plan_rev, plan_note = plan_base(repo, base_rev)
    rules, base = base_rules(repo, plan_rev, status)
    head = repo.resolve_ci(head_rev)
    base_oid = repo.resolve_ci(base_rev) if base_rev else None
    if base_oid is not None and repo.git.merge_base(base_oid, head) is None and repo.git.is_shallow:
        raise bad(None, "--base", f"this clone is shallow and holds no common ancestor of {base_rev} and "
                  f"{head_rev}, so the commits of the change cannot be told apart",
                  "fetch the whole history (actions/checkout with fetch-depth: 0, or git fetch --unshallow)")
    note = None
    if stream is None:
        from gitpar.core.identity import of_branch

        who = of_branch(rules, branch, _base_name(base))
        stream, rules, note = who.stream, who.rules, who.note
    target = base_oid if base_oid is not None else repo.tip(f"refs/heads/{base}")
    report = judge_range(repo, rules, base, stream, head, target=target,
                         hide=[base_oid] if base_oid is not None else [],
                         scope=f"{base_rev or ''}..{head_rev}")
    _note_undefined(report, rules.streams, stream)
    if note:
        report.notes.insert(0, note)
    if plan_note:
        report.notes.append(plan_note)
    report.notes.extend(sorted(set(rules.ignored_locks.values())))
    if target is not None:
        from gitpar.core.identity import review_notes
        from gitpar.store.commits import net_paths

        report.notes.extend(review_notes(net_paths(repo, target, head)))
    return report


def _base_name(base: str) -> str:
    """The base branch's name from how CI names it (``origin/main``, ``refs/remotes/origin/main``)."""
    from gitpar.core.identity import short_branch

    name = short_branch(base) or base
    return name.partition("/")[2] if name.startswith("origin/") else name


def plan_base(repo: Any, base_rev: str | None) -> tuple[str | None, str | None]:
    """Where the plan a range is judged by comes from, and a note when that is not ``base_rev``.

    A pull request into a branch its author just created (carrying the author's own
    ``.gitpar/``) must not be judged by that plan: when ``base_rev`` names a branch other
    than the configured base, the plan is read from the configured base instead (its copy
    on origin when the target was named that way); BadInput when this clone has neither.
    """
    import re

    from gitpar.errors import GitparError, bad

    if base_rev is None or re.fullmatch(r"[0-9a-fA-F]{7,40}", base_rev):
        return base_rev, None
    name = base_rev
    for prefix in ("refs/heads/", "refs/remotes/origin/", "remotes/origin/", "origin/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    configured = repo.configured_base()
    if name == configured or not repo.git.references.get(f"refs/heads/{name}") and \
            not repo.git.references.get(f"refs/remotes/origin/{name}"):
        return base_rev, None  # the base itself, or not a branch (a tag, HEAD~3): as given
    remote_first = base_rev != name and not base_rev.startswith("refs/heads/")
    candidates = ([f"origin/{configured}", configured] if remote_first else [configured, f"origin/{configured}"])
    for candidate in candidates:
        try:
            repo.resolve_ci(candidate)
        except GitparError:
            continue
        return candidate, (f"the change targets {name}, which is not the plan's base {configured}: it is "
                           f"judged by the plan on {candidate}, never by a plan on {name}")
    raise bad(None, "--base", f"{base_rev} is not the plan's base {configured}, and this clone has no "
              f"{configured} to read the plan from", f"fetch {configured} (actions/checkout with "
              f"fetch-depth: 0), or check changes into {configured} only")


def judge_range(repo: Any, rules: Rules, base: str, stream: str | None, head: Oid, *,
                target: Oid | None, hide: list[Oid], scope: str) -> Report:
    """Judge the commits reachable from ``head`` but not from ``hide``, made by ``stream``.

    Each commit is judged with the locks held when it was made; a merge also by the work it
    undoes (:func:`gitpar.store.commits.dropped_paths`). Then the net-effect rule, against
    ``target`` (what integrating ``head`` into it would apply): a violation on a path the
    net change leaves as the base has it (a reverted slip) is dropped, and every path the
    net change does change must be the stream's, or shared with the lock held when it was
    last changed — dated by the commit that made that change, also when ``hide`` hides it
    (a commit the remote already has), so every push of a branch gets the verdict of
    ``check --range`` over the whole branch.

    A commit found wrong as ``stream``'s that was on stream X's branch when X was completed
    or integrated (:mod:`gitpar.core.landed`) is judged as X's work instead, with X's locks;
    a merge of such work (integration) is fine where it writes what its sides changed.
    ``gitpar check`` and the pre-push hook both judge through here.
    """
    from gitpar.core.landed import Attribution
    from gitpar.core.lock_history import held_at, lock_history
    from gitpar.store.commits import changes_between, net_paths

    commits = changes_between(repo, head, hide or ())
    whole = [target] if target is not None else hide
    dating = commits if not hide or list(hide) == list(whole) else changes_between(repo, head, whole)
    net = net_paths(repo, target, head) if target is not None else None
    report = Report(stream=stream, scope=scope, base=base, commits=len(commits))
    history = lock_history(repo, clock.real_now())  # a verdict: the real clock
    last_change: dict[str, tuple[tuple[float, ...], str]] = {}
    seen_paths: set[str] = set()
    attribution = Attribution(repo)
    integration_merges: set[str] = set()  # merges of landed work judged fine
    failed: set[str] = set()

    def kept(found: list[Violation]) -> list[Violation]:
        return [v for v in found if net is None or v.path in net]

    for c in dating:
        times = commit_times(c)  # committer dates only (the notes come from the judged commits)
        for path in c.paths:
            last_change[path] = (times, c.sha)
    for c in commits:
        times = commit_times(c, report)

        def holder(path: str, times: tuple[float, ...] = times, who: str | None = stream) -> str | None:
            return held_at(history, path, times, who)

        short = c.sha[:10]
        seen_paths.update(c.paths)
        found = kept(judge_change(rules, stream, c.paths, holder, short, repo=repo, at=target))
        undone = kept(_undone(rules, stream, c.dropped, holder, short, base)) if c.dropped else []
        if found or undone:
            owner = attribution.stream_of(c.sha)
            if owner is not None and owner != stream:
                def owners(path: str, times: tuple[float, ...] = times, who: str = owner) -> str | None:
                    return held_at(history, path, times, who)

                found = kept(judge_change(rules, owner, c.paths, owners, short, repo=repo, at=target))
                undone = kept(_undone(rules, owner, c.dropped, owners, short, base)) if c.dropped else []
            elif found and _integration_merge(repo, c.sha, {v.path for v in found}, attribution, failed):
                integration_merges.add(c.sha)
                found = []
        if found or undone:
            failed.add(c.sha)
        report.violations.extend(found + undone)
        if c.stream_trailer is not None and c.stream_trailer != stream:
            report.notes.append(f"commit {short} says 'Gitpar-Stream: {c.stream_trailer}', but it is judged as "
                                f"{'stream ' + stream if stream else 'a branch that is no stream'}: "
                                "the branch says whose work it is, a trailer is only information")
    if net:
        reported = {v.path for v in report.violations}
        latest = last_change_default(commits)

        def holder_net(path: str) -> str | None:
            return held_at(history, path, last_change[path][0] if path in last_change else latest, stream)

        for v in judge(rules, stream, sorted(net - reported), holder_net, commit="net"):
            if _landed_net(rules, v.path, last_change.get(v.path), attribution, integration_merges,
                           history, stream):
                continue
            v.message += f" (the net change against {base}, what integration would apply, changes it)"
            report.violations.append(v)
    report.paths = len(seen_paths | (net or set()))
    for sha, why in history.refused.items():
        report.notes.append(f"state commit {sha[:10]} is {why}: the state branch's history there is "
                            "suspect, so the hold it records proves no change ('gitpar doctor' lists it)")
    return report


def commit_times(c: Any, report: Report | None = None) -> tuple[float, ...]:
    """The time a commit proves a lock by: its committer date alone (the author date is
    information, set freely with ``GIT_AUTHOR_DATE``), and none at all when that date goes
    backwards from its parent's or lies in the future of the real clock by more than
    :data:`~gitpar.core.clock.CLOCK_SKEW_S` (said in ``report``'s notes)."""
    from gitpar.core.lock_history import date_doubt

    t = float(c.commit_time)
    why = date_doubt(t, float(c.parent_time), clock.real_now())
    if why is None:
        return (t,)
    if report is not None:
        report.notes.append(f"commit {c.sha[:10]}'s committer date {why}, so it proves no lock held")
    return ()


def _integration_merge(repo: Any, sha: str, paths: set[str], attribution: Any, failed: set[str]) -> bool:
    """Whether merge ``sha`` is one of landed streams' work (as ``integrate`` makes them): a
    parent is a recorded stream's, no parent was found wrong, and the merge writes only
    paths its merged sides changed (a conflict resolved, a shared file's union)."""
    from gitpar.store.commits import merged_side_paths, parents_of

    parents = parents_of(repo, sha)
    if len(parents) < 2 or any(p in failed for p in parents):
        return False
    if not any(attribution.stream_of(p) is not None for p in parents):
        return False
    return paths <= merged_side_paths(repo, sha)


def _landed_net(rules: Rules, path: str, last: tuple[tuple[float, ...], str] | None, attribution: Any,
                integration_merges: set[str], history: Any, stream: str | None) -> bool:
    """Whether the net change of ``path`` is landed work that is fine: its last change was made
    by a recorded stream's commit that could make it then, or by an integration merge."""
    from gitpar.core.lock_history import held_at

    if last is None:
        return False
    times, sha = last
    if sha in integration_merges:
        return True
    owner = attribution.stream_of(sha)
    if owner is None or owner == stream:
        return False
    return not judge(rules, owner, [path], lambda p: held_at(history, p, times, owner), commit="net")


def last_change_default(commits: list[Any]) -> tuple[float, ...]:
    """The time of the newest commit (for a path only a merge's result changed)."""
    if not commits:
        return (clock.real_now(),)
    return commit_times(commits[-1])


def _undone(rules: Rules, stream: str | None, dropped: tuple[tuple[str, str], ...], holder: Any,
            commit: str, base: str) -> list[Violation]:
    """A merge that undoes work on ``dropped`` paths the stream may not change: name whose work."""
    paths = [p for p, _side in dropped]
    out = []
    for v in judge(rules, stream, paths, holder, commit):
        side = dict(dropped)[v.path][:10]
        owners = sorted({r.stream for r in rules.index_for([v.path]).match(v.path) if r.kind == "owns"})
        whose = f"the work of stream {', '.join(owners)}" if owners else f"work already on {base}"
        out.append(Violation(
            v.path, "undoes-work",
            f"merge {commit} undoes changes to {v.path} made on {side} ({whose}): the merge keeps the old "
            "content instead of that side's (git merge -s ours, or a hand-made merge)",
            "redo the merge so that it keeps the other side's changes (git merge without -s ours), "
            "or revert the merge commit", owner=owners[0] if owners else v.owner, commit=commit))
    return out


def check_streams(repo: Any, names: Sequence[str]) -> dict[str, Report]:
    """``check_range`` of each stream's branch ``gitpar/<name>`` against the base, with the
    plan read once for all of them (the lock history comes from its index)."""
    rules, base = base_rules(repo)
    base_oid = repo.tip(base)
    out = {}
    for name in names:
        head = repo.stream_tip(name)
        if head is not None:
            report = judge_range(repo, rules, base, name, head, target=base_oid,
                                 hide=[base_oid] if base_oid is not None else [],
                                 scope=f"{base}..gitpar/{name}")
            _note_undefined(report, rules.streams, name)
            out[name] = report
    return out
