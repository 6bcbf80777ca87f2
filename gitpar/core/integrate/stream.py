"""One stream's merge into the target: forecast in memory, chained shared files settled,
the plan's conflict strategy asked, a check that nothing already on the target is undone,
the test gate, then the target moved and the stream marked integrated on the state branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitpar.core.integrate.result import Progress, Step
from gitpar.core.ownership import matches
from gitpar.core.plan import Plan
from gitpar.core.repo import Repo
from gitpar.core.rules import PLAN_PREFIX, Rules
from gitpar.core.stream_progress import read_progress
from gitpar.store import merge as m
from gitpar.store.commits import paths_between
from gitpar.store.merge import FileConflict
from gitpar.store.repo import Index, Oid, Worktree
from gitpar.store.state import StateStore


@dataclass
class Merge:
    """A stream's clean merge onto a commit, written to the object store only (no ref moved)."""

    name: str
    parent: Oid
    commit: Oid
    review: _Review | None = None
    tip: Oid | None = None  # gitpar/<name> merged


def prepare(repo: Repo, plan: Plan, target: str, name: str, current: Oid) -> Step | Merge:
    """Forecast and write ``name``'s merge onto ``current``: the merge, or the step that says
    why there is none (already merged, conflicted, would undo work). Nothing moves and
    nothing is recorded: the queue decides, once the commits before it are settled."""
    tip = repo.stream_tip(name)
    if tip is None:
        return Step(name, "conflicted", f"the branch gitpar/{name} disappeared")
    if m.is_ancestor(repo, tip, current):
        return Step(name, "already merged", f"{target} already contains gitpar/{name}")
    mb = m.merge_base(repo, current, tip)
    index, conflicts = m.conflicts_of_commits(repo, mb, current, tip)
    if conflicts:  # shared files edited in turns under a lock, and merge: union files
        from gitpar.core.chain import settle

        conflicts = settle(repo, plan, index, current, tip)
    review: _Review | None = None
    if conflicts:
        other = {c.path: _who_wrote(repo, current, tip, c.path) for c in conflicts}
        files = "; ".join(
            f"{c.describe(target, name)}, {name}'s side from "
            f"{', '.join(i.short() for i in m.commits_touching(repo, tip, current, c.path, limit=2)) or 'a merge'}"
            f", the other side from {', '.join(other[c.path]) or 'the base'}"
            for c in conflicts)
        detail = (f"{name} conflicts with {target}: {files}. {target} stays at {m.short(current)}; "
                  f"gitpar/{name} is unchanged. Resolve it on gitpar/{name} (e.g. merge {target} into "
                  "it), then run 'gitpar integrate --continue'")
        stopped = Step(name, "conflicted", detail, conflicts=conflicts, other_side=other)
        if not _conflict_strategy_chosen(plan):
            return stopped
        taken = _take_stream_side(repo, plan, target, name, mb, current, tip, conflicts, other)
        if isinstance(taken, str):
            stopped.detail += f" ({taken})"
            return stopped
        index, review = taken
    message = (f"Merge stream '{name}' into {target}\n\n"
               f"{plan.streams[name].description or 'Merged by gitpar integrate.'}\n\n"
               + (f"{review.note}\n\n" if review else "")
               + f"Gitpar-Stream: {name}\n"
               + "".join(f"Gitpar-Review: {line}\n" for line in (review.trailers if review else ())))
    new = m.write_merge(repo, index, [current, tip], message)
    undone = _undone_on_target(repo, plan, name, current, new)
    if undone:
        listed = "; ".join(f"{p} (the work of {who})" for p, who in undone)
        return Step(name, "would undo work",
                    f"merging {name} would undo changes already on {target}: {listed}. gitpar/{name} "
                    f"keeps old content of files it does not own (a 'git merge -s ours' or a hand-made "
                    f"merge); {target} stays at {m.short(current)}. Redo that merge on gitpar/{name} "
                    f"keeping {target}'s changes (or revert it), then run 'gitpar integrate --continue' "
                    f"(or 'gitpar integrate --fresh' to start again from the base)")
    return Merge(name, current, new, review, tip)


def would_merge_step(merge: Merge, test: str | None) -> Step:
    """A dry run's step for a clean merge."""
    review = merge.review
    return Step(merge.name, "would merge" + (" (review)" if review else ""),
                (review.note if review else "merges cleanly")
                + (" (tests not run in a dry run)" if test else ""), str(merge.commit),
                conflicts=review.conflicts if review else [],
                other_side=review.other_side if review else {})


def merged_step(merge: Merge, log: str | None, note: str = "") -> Step:
    """The step of a merge that landed."""
    review = merge.review
    return Step(merge.name, "merged" + (" (review)" if review else ""),
                f"at {m.short(merge.commit)}" + (f"; {review.note}" if review else "") + note,
                str(merge.commit), conflicts=review.conflicts if review else [],
                other_side=review.other_side if review else {}, log=log)


def publish(repo: Repo, target: str, current: Oid, new: Oid, merges: Sequence[Merge],
            checked_out: Sequence[Worktree], say: Progress, *, record: bool = True) -> None:
    """Move ``target`` from ``current`` to ``new`` (the tested tip of ``merges``, in order) and
    record the streams as integrated in one state commit, a Ctrl-C held until both are done.
    ``record=False`` moves the target only: the caller records them later with
    :func:`record_merges` (the queue: one state commit per run)."""
    names = ", ".join(x.name for x in merges)
    with m.held_interrupts():
        m.move_branch(repo, target, current, new, f"gitpar integrate: merge {names}", checked_out)
        if record:
            record_merges(repo, target, merges)
    for x in merges:
        say(f"merged {x.name} into {target} ({m.short(x.commit)})" + (f"; {x.review.note}" if x.review else ""))


def record_merges(repo: Repo, target: str, merges: Sequence[Merge]) -> None:
    """Record ``merges`` (landed on ``target``) as integrated, in one state commit."""
    if merges:
        base_tip = repo.tip(repo.configured_base())
        mark_landed(repo, target, [(x.name, x.commit, x.review, x.tip) for x in merges], base_tip)


def _undone_on_target(repo: Repo, plan: Plan, name: str, current: Oid, merged: Oid) -> list[tuple[str, str]]:
    """The paths where the merged tree differs from the target's though ``name`` may not change
    them (another stream's files, the plan), with whose work each is: checked on the trees,
    not assumed from how the merge was made. A normal merge never changes such a path."""
    rules = Rules.from_plan(plan)
    changed = sorted(paths_between(repo, current, merged))
    out = []
    for path, found in rules.index.match_many(changed).items():
        mine = any(r.stream == name for r in found)
        owners = sorted({r.stream for r in found if r.kind == "owns"})
        if path.startswith(PLAN_PREFIX):
            out.append((path, "the plan"))
        elif owners and not mine:
            out.append((path, "stream " + ", ".join(owners)))
    return sorted(out)


@dataclass
class _Review:
    """A conflict settled by taking the stream's side, for a person to review."""

    note: str  # the strategy's review note
    trailers: list[str]  # one Gitpar-Review trailer per file: the path and the other side
    conflicts: list[FileConflict]
    other_side: dict[str, list[str]]


def _conflict_strategy_chosen(plan: Plan) -> bool:
    # no plugins: section is the common case: the default (stop) needs no plugin
    if plan.settings.extra.get("plugins") is None:
        return False
    from gitpar.plugins import manager

    return manager.strategy_chosen(plan, "conflicts")


# conflicts made of hunks: the only ones whose stream side can be taken hunk by hunk
_HUNK_CONFLICTS = ("content", "add/add")


def _take_stream_side(repo: Repo, plan: Plan, target: str, name: str, mb: Oid | None,
                      current: Oid, tip: Oid, conflicts: Sequence[FileConflict],
                      other: dict[str, list[str]]) -> tuple[Index, _Review] | str:
    """Ask the plan's conflict strategy; the merge taking the stream's side, or why it stops.

    Only when the strategy answers ``take_stream`` for every conflicted path, and every
    conflict is one of hunks in a text file: the merge is redone in memory taking the
    stream's side of each conflicting hunk (the rest of each file merges as usual). A
    binary, delete, rename or mode conflict still stops: there is no hunk to take.
    """
    from gitpar.model.hooks import ConflictCase
    from gitpar.plugins import manager

    chosen = manager.plugin_settings(plan).get("conflicts")
    paths = tuple(c.path for c in conflicts)
    resolution = manager.resolve_conflict(plan, ConflictCase(stream=name, target=target, paths=paths,
                                                             other_side=other, match=matches))
    if resolution.action != "take_stream":
        return f"conflict strategy {chosen}: {resolution.reason}"
    left = [p for p in paths if p not in resolution.paths]
    if left:
        return f"conflict strategy {chosen} takes no side in {', '.join(left)}"
    whole = [c for c in conflicts if c.kind not in _HUNK_CONFLICTS]
    if whole:
        return (f"conflict strategy {chosen}: {', '.join(c.describe(target, name) for c in whole)} "
                "has no hunks to take a side of, so it still stops")
    index = m.merge_taking_theirs(repo, mb, current, tip)
    if index is None:
        return f"conflict strategy {chosen}: taking {name}'s side still leaves conflicts"
    trailers = [f"{c.describe(target, name)} took {name}'s side over "
                f"{', '.join(other.get(c.path) or ()) or 'the base branch'}" for c in conflicts]
    return index, _Review(note=resolution.review, trailers=trailers, conflicts=list(conflicts),
                          other_side=dict(other))


def _who_wrote(repo: Repo, current: Oid, tip: Oid, path: str) -> list[str]:
    """Who changed ``path`` on the target's side since the stream forked: streams or the base."""
    who: list[str] = []
    for info in m.merges_touching(repo, current, tip, path):
        stream = info.trailers.get("Gitpar-Stream")
        label = f"stream {stream} ({info.sha[:10]})" if stream else info.short()
        if label not in who:
            who.append(label)
    return who


def mark(repo: Repo, name: str, target: str, commit: Oid, review: _Review | None = None,
         tip: Oid | None = None, base_tip: Oid | None = None) -> None:
    """Record on the state branch that ``name`` is integrated into ``target`` (one CAS commit);
    see :func:`mark_landed`, which records several at once."""
    mark_landed(repo, target, [(name, commit, review, tip)], base_tip)


def mark_landed(repo: Repo, target: str, landed: Sequence[tuple[str, Oid, _Review | None, Oid | None]],
                base_tip: Oid | None = None) -> None:
    """Record on the state branch that each ``(name, commit, review, tip)`` is integrated into
    ``target`` at ``commit``, with ``tip`` (its branch merged) as its landed work
    (core.landed), so the commits are judged as ``name``'s on whatever branch they reach:
    ONE CAS commit for the whole batch (in a remote plan, one fetch and push).

    A merge that took the stream's side of a conflict also gets a coordination item in the
    stream's progress, so ``gitpar status`` lists it as needing attention until reviewed.
    """
    from dataclasses import replace

    from gitpar.core.progress import (
        Progress,
        ProgressUpdate,
        apply_update,
        now_iso,
        progress_path,
        render_progress,
    )

    def change(snap: Any) -> tuple[dict[str, str | None], str] | None:
        from gitpar.core.landed import landed_changes

        changes: dict[str, str | None] = {}
        said = []
        for name, commit, review, tip in landed:
            value = f"{target}@{commit}"
            need = (f"review merge {str(commit)[:10]} into {target}: {review.note}",) if review else ()
            landed_now = landed_changes(snap, name, str(tip), str(base_tip) if base_tip else None) if tip else {}
            current = read_progress(repo, name, snap) or Progress(stream=name)
            if current.extra.get("integrated") == value and all(n in current.coordination for n in need) \
                    and not landed_now:
                continue
            new = replace(current, updated=now_iso(), extra={**current.extra, "integrated": value})
            if need:
                new = apply_update(new, ProgressUpdate(need=need), now_iso())
            changes.update({progress_path(name): render_progress(new), **landed_now})
            said.append(f"{name} at {str(commit)[:10]}" + (f" (review: {review.note})" if review else ""))
        if not changes:
            return None
        if len(said) == 1:
            return changes, f"integrate {said[0].split(' at ')[0]}: merged into {target} at {said[0].split(' at ', 1)[1]}"
        return changes, f"integrate {len(said)} streams into {target}: " + ", ".join(said)

    StateStore(repo).update(change)
