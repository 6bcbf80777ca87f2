"""Forecast the conflicts between active streams, and between each stream and the base.

Nothing is checked out and no index is written: each stream's changes are read once
(the paths it changed since it forked from the base), an inverted index from path to
streams finds the pairs whose changes meet, and only those pairs are merged, in memory.
The cost follows the real overlap, not the square of the number of streams.

A pair whose changed paths do not meet cannot conflict, with two exceptions handled
here: a file added where the other side has a directory (found from the directories of
every changed path), and history where a stream forked from an older base than the
other (the base's own changes in between count for the newer one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitpar.core.chain import ChainIndex, state_chains
from gitpar.core.plan import Plan
from gitpar.core.plan_patterns import union_paths
from gitpar.core.progress import Progress
from gitpar.core.repo import Repo
from gitpar.store.commits import TreeDiffer
from gitpar.store.merge import (
    FileConflict,
    conflicts_of_commits,
    conflicts_of_files,
    conflicts_of_paths,
    is_ancestor,
    merge_base,
)
from gitpar.store.repo import Oid
from gitpar.store.state import StateStore

SCHEMA_VERSION = 1
ACTIVE = ("in_progress", "blocked", "completed")


@dataclass
class PairForecast:
    """What merging ``b`` into ``a`` would do: the paths both changed, those that conflict."""

    a: str
    b: str  # a stream's name, or the base branch when ``with_base``
    with_base: bool
    overlapping: list[str]
    conflicts: list[FileConflict]
    # ``b`` is the integration branch: streams waiting to land there (``with_base`` too)
    with_integration: bool = False

    @property
    def stopping(self) -> list[FileConflict]:
        """The conflicts that would stop the merge."""
        return [c for c in self.conflicts if c.kind != "rewrite"]

    @property
    def rewrites(self) -> list[FileConflict]:
        """Lines one side changed that the other replaced after building on them (the
        chain): the merge is clean and keeps the later side's lines."""
        return [c for c in self.conflicts if c.kind == "rewrite"]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "with_base": self.with_base,
                "with_integration": self.with_integration,
                "overlapping": self.overlapping,
                "conflicts": [c.to_dict() for c in self.conflicts]}


@dataclass
class Forecast:
    base: str
    base_tip: str | None
    streams: list[str]
    pairs: list[PairForecast] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # stream -> why it is not forecast
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def conflicting(self) -> list[PairForecast]:
        return [p for p in self.pairs if p.conflicts]

    @property
    def overlapping_only(self) -> list[PairForecast]:
        return [p for p in self.pairs if not p.conflicts]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "base": self.base,
            "base_tip": self.base_tip,
            "streams": self.streams,
            "conflicts": len(self.conflicting),
            "rewrites": sum(1 for p in self.pairs if p.rewrites),
            "overlaps": len(self.overlapping_only),
            "pairs": [p.to_dict() for p in self.pairs],
            "skipped": self.skipped,
            "stats": self.stats,
        }


def is_integrated(p: Progress) -> bool:
    return bool(p.extra.get("integrated"))


def active_streams(plan: Plan, progress: Mapping[str, Progress]) -> list[str]:
    """Streams in progress, blocked, or completed but not yet integrated (plan order)."""
    out = []
    for name in plan.streams:
        p = progress.get(name)
        if p is None or p.status not in ACTIVE:
            continue
        if p.status == "completed" and is_integrated(p):
            continue
        out.append(name)
    return out


def forecast(repo: Repo, plan: Plan | None = None, *, names: Iterable[str] | None = None,
             progress: Mapping[str, Progress] | None = None) -> Forecast:
    """Forecast every pair of active streams (or ``names``) and each stream against the base."""
    plan = plan or repo.load_plan()
    base = plan.settings.base
    if names is None:
        if progress is None:
            from gitpar.core.stream_progress import all_progress

            progress = all_progress(StateStore(repo).snapshot())
        names = active_streams(plan, progress)
    base_tip = repo.tip(base)
    result = Forecast(base=base, base_tip=str(base_tip) if base_tip else None, streams=[])
    tips: dict[str, Oid] = {}
    for name in names:
        tip = repo.stream_tip(name)
        if tip is None:
            result.skipped[name] = f"its branch gitpar/{name} does not exist"
        else:
            tips[name] = tip
    result.streams = list(tips)
    differ = TreeDiffer(repo.git)
    fork: dict[str, Oid | None] = {
        n: (merge_base(repo, t, base_tip) if base_tip is not None else None) for n, t in tips.items()}
    differ.prefetch((fork[n], t) for n, t in tips.items())
    changes = {n: differ.changes(fork[n], t) for n, t in tips.items()}
    merged = 0

    # stream against stream: group by fork point; the usual case is one group
    groups: dict[Oid | None, list[str]] = defaultdict(list)
    for n in tips:
        groups[fork[n]].append(n)
    candidates: set[tuple[str, str]] = set()
    keys = list(groups)
    for i, f1 in enumerate(keys):
        for f2 in keys[i:]:
            if f1 == f2:
                sets = {n: changes[n] for n in groups[f1]}
                candidates |= _meeting(sets, sets)
                continue
            # different forks: the base's changes between the two count for each side
            mb = merge_base(repo, f1, f2) if f1 is not None and f2 is not None else None
            x1, x2 = differ.changes(mb, f1), differ.changes(mb, f2)
            left = {n: {**x1, **changes[n]} for n in groups[f1]}
            right = {n: {**x2, **changes[n]} for n in groups[f2]}
            candidates |= _meeting(left, right)
    order = {n: i for i, n in enumerate(tips)}
    rules = _Rules.of(repo, plan)
    added = {n: {p for p, how in c.items() if how == "A"} for n, c in changes.items()}
    dirs: dict[str, set[str]] = {}  # a stream's folders with changes, for the file/directory clash

    def folders(n: str) -> set[str]:
        if n not in dirs:
            dirs[n] = _folders(changes[n])
        return dirs[n]

    for a, b in sorted(candidates, key=lambda p: (order[p[0]], order[p[1]])):
        mb = merge_base(repo, tips[a], tips[b])
        ca = changes[a] if mb == fork[a] else differ.changes(mb, tips[a])
        cb = changes[b] if mb == fork[b] else differ.changes(mb, tips[b])
        clash = None
        if ca is changes[a] and cb is changes[b]:  # the streams' own changes: folders known
            clash = ((added[a] & folders(b)) if added[a] else set()) | ((added[b] & folders(a)) if added[b] else set())
        pair = _forecast_pair(repo, a, b, False, mb, tips[a], tips[b], ca, cb, plan, rules=rules, clash=clash)
        merged += 1
        if pair is not None:
            result.pairs.append(pair)

    # each stream against the base tip
    if base_tip is not None:
        base_changes: dict[Oid | None, dict[str, str]] = {}
        for n in tips:
            f = fork[n]
            if f not in base_changes:
                base_changes[f] = differ.changes(f, base_tip)
            if not base_changes[f] or not _meeting({n: changes[n]}, {"": base_changes[f]}):
                continue
            pair = _forecast_pair(repo, n, base, True, f, tips[n], base_tip, changes[n],
                                  base_changes[f], plan, rules=rules)
            merged += 1
            if pair is not None:
                result.pairs.append(pair)
    merged += _against_integration(repo, plan, result, tips, fork, changes, differ, base_tip, rules)
    count = len(tips)
    result.stats = {"streams": count,
                    "pairs": count * (count - 1) // 2 + (count if base_tip is not None else 0),
                    "pairs_merged": merged,
                    "files_changed": sum(len(c) for c in changes.values())}
    return result


def _against_integration(repo: Repo, plan: Plan, result: Forecast, tips: Mapping[str, Oid],
                         fork: Mapping[str, Oid | None], changes: Mapping[str, Mapping[str, str]],
                         differ: Any, base_tip: Oid | None, rules: _Rules | None = None) -> int:
    """Each stream against the integration branch, when it holds streams the base does not
    have yet (merged by ``gitpar integrate``, waiting to land): a stream that collides with
    one of them would stop at integration though the base and the active streams say
    nothing. Pairs already forecast against the base (same conflicting paths) are not
    repeated. The number of merges made."""
    branch = plan.settings.integration_branch
    tip = repo.tip(f"refs/heads/{branch}")
    if tip is None or (base_tip is not None and is_ancestor(repo, tip, base_tip)):
        return 0
    seen = {(p.a, tuple(sorted(c.path for c in p.conflicts))) for p in result.pairs if p.with_base}
    merged = 0
    for n, t in tips.items():
        if is_ancestor(repo, t, tip):
            continue  # in the integration branch already
        mb = merge_base(repo, t, tip)
        theirs = differ.changes(mb, tip)
        if not theirs or not _meeting({n: changes[n]}, {"": theirs}):
            continue
        mine = changes[n] if mb == fork[n] else differ.changes(mb, t)
        pair = _forecast_pair(repo, n, branch, True, mb, t, tip, mine, theirs, plan, rules=rules)
        merged += 1
        if pair is None or (n, tuple(sorted(c.path for c in pair.conflicts))) in seen:
            continue
        pair.with_integration = True
        result.pairs.append(pair)
    return merged


def _meeting(left: Mapping[str, Mapping[str, str]],
             right: Mapping[str, Mapping[str, str]]) -> set[tuple[str, str]]:
    """Pairs (l, r), l != r, whose changes share a path, or where one adds a file at a
    path the other has changes under (a file/directory clash). Same-set pairs come once."""
    same = left is right
    by_path: dict[str, list[str]] = defaultdict(list)
    under: dict[str, set[str]] = defaultdict(set)  # directory -> right streams changing below it
    for r, paths in right.items():
        for path in paths:
            by_path[path].append(r)
            cut = path.rfind("/")
            while cut > 0:
                under[path[:cut]].add(r)
                cut = path.rfind("/", 0, cut)
    found: set[tuple[str, str]] = set()

    def add(lname: str, rname: str) -> None:
        if lname == rname:
            return
        found.add((lname, rname) if not same or lname < rname else (rname, lname))

    for lname, paths in left.items():
        for path, how in paths.items():
            for rname in by_path.get(path, ()):
                add(lname, rname)
            if how == "A":
                for rname in under.get(path, ()):
                    add(lname, rname)
    if not same:  # the right side's added files against the left's directories
        by_left_under: dict[str, set[str]] = defaultdict(set)
        for lname, paths in left.items():
            for path in paths:
                cut = path.rfind("/")
                while cut > 0:
                    by_left_under[path[:cut]].add(lname)
                    cut = path.rfind("/", 0, cut)
        for rname, paths in right.items():
            for path, how in paths.items():
                if how == "A":
                    for lname in by_left_under.get(path, ()):
                        add(lname, rname)
    return found


@dataclass
class _Rules:
    """What a forecast asks of every pair, looked up once: the chain records by path and
    whether any ``merge: union`` rule exists (without either, no pair needs the rules)."""

    chains: ChainIndex
    union: bool

    @classmethod
    def of(cls, repo: Repo, plan: Plan) -> _Rules:
        return cls(state_chains(repo), union_paths(plan) is not None)


def _forecast_pair(repo: Repo, a: str, b: str, with_base: bool, mb: Oid | None,
                   tip_a: Oid, tip_b: Oid, ca: Mapping[str, str],
                   cb: Mapping[str, str], plan: Plan | None = None, *,
                   rules: _Rules | None = None, clash: set[str] | None = None) -> PairForecast | None:
    overlapping = sorted(ca.keys() & cb.keys())
    if clash is None:
        clash = _file_dir_clash(ca, cb)
    if not overlapping and not clash:
        return None
    conflicts = None
    if not clash and all(ca[p] == "M" and cb[p] == "M" for p in overlapping):
        conflicts = conflicts_of_files(repo, mb, tip_a, tip_b, overlapping)
    if conflicts is None:  # adds, deletes, renames, links: the whole merge of what changed
        conflicts = conflicts_of_paths(repo, mb, tip_a, tip_b, _merge_paths(ca, cb, overlapping))
    if conflicts is None:  # a path no tree here can hold: the whole trees
        _index, conflicts = conflicts_of_commits(repo, mb, tip_a, tip_b)
    if plan is not None and rules is None:
        rules = _Rules.of(repo, plan)
    if plan is None or rules is None or (not rules.chains.all and not rules.union):
        return PairForecast(a, b, with_base, overlapping or sorted(clash), conflicts)
    if conflicts:  # as integrate and sync settle them: chains, merge: union
        from gitpar.core.chain import rules_touch, settle

        # the whole merge again only where a rule could settle one of the conflicts found
        if rules_touch(repo, plan, conflicts, tip_a, tip_b, rules.chains):
            conflicts = settle(repo, plan, conflicts_of_commits(repo, mb, tip_a, tip_b)[0], tip_a, tip_b)
    if overlapping and rules.chains.all:  # the rewrite rule, where the two meet through a chain
        from gitpar.core.chain import rewrites

        stopped = {path for c in conflicts for path in (c.paths or (c.path,))}
        chained = [p for p in overlapping if p not in stopped and p in rules.chains.by_path]
        if chained:
            conflicts = [*conflicts, *rewrites(repo, tip_a, tip_b, chained, rules.chains)]
    return PairForecast(a, b, with_base, overlapping or sorted(clash), conflicts)


def _merge_paths(ca: Mapping[str, str], cb: Mapping[str, str], overlapping: list[str]) -> set[str]:
    """The paths a merge of the two sides can conflict in or pair in a rename: those both
    changed, and every path either added or deleted (a rename is a delete and an add; a
    file where the other side has a directory is an add, the directory's files on the
    other side adds, or deletes on the same side). A path only one side modified in place
    merges as that side has it, whatever else happens."""
    out = set(overlapping)
    for changes in (ca, cb):
        out.update(p for p, how in changes.items() if how != "M")
    return out


def _folders(changes: Mapping[str, str]) -> set[str]:
    """Every folder a changed path is in (``a/b/c.py``: ``a``, ``a/b``)."""
    out: set[str] = set()
    for path in changes:
        cut = path.rfind("/")
        while cut > 0:
            folder = path[:cut]
            if folder in out:
                break  # its parents are in already
            out.add(folder)
            cut = path.rfind("/", 0, cut)
    return out


def _file_dir_clash(ca: Mapping[str, str], cb: Mapping[str, str]) -> set[str]:
    out = set()
    for mine, other in ((ca, cb), (cb, ca)):
        added = {p for p, how in mine.items() if how == "A"}
        if not added:
            continue
        for path in other:
            cut = path.rfind("/")
            while cut > 0:
                if path[:cut] in added:
                    out.add(path[:cut])
                cut = path.rfind("/", 0, cut)
    return out


def attention(repo: Repo, plan: Plan,
              progress: Mapping[str, Progress] | None = None) -> list[tuple[str, str, str]]:
    """``(stream, kind, message)`` items for the *needs attention* part of ``gitpar status``."""
    fc = forecast(repo, plan, progress=progress)
    items: list[tuple[str, str, str]] = []
    for p in fc.conflicting:
        other = f"the base {p.b}" if p.with_base else f"stream {p.b}"
        if p.stopping:
            files = ", ".join(c.describe(p.a, p.b) for c in p.stopping[:3])
            more = f" and {len(p.stopping) - 3} more" if len(p.stopping) > 3 else ""
            items.append((p.a, "conflict", f"will conflict with {other}: {files}{more}"))
        for c in p.rewrites:
            items.append((c.by, "rewrite", f"{c.describe()}: the merge with {other} keeps {c.by}'s lines; "
                          f"{rewrite_advice(c)}"))
    return items


def rewrite_advice(c: FileConflict) -> str:
    """What to do about a rewrite: it is a choice only the two streams can make."""
    return (f"coordinate with {c.over}; if {c.by} meant to replace {c.over}'s change, say so in a commit "
            f"of {c.by}'s (its version lands as it is): git commit --allow-empty -m 'replace {c.over}'s "
            f"change' -m 'Gitpar-Replaces: {c.over} {c.path}'")
