"""Shared files that chain: a stream taking a lock builds on the previous holder's version.

A lock serialises edits of a shared file in time; this makes them build on each other in
content. When a stream takes the lock on a path that another stream held before it and
changed on its branch, that version is merged into the taker's worktree file first (a
three-way merge of that one file; uncommitted edits are the taker's side, never
overwritten), and the state branch records what the taker built on (``chained`` in its
progress). ``gitpar integrate`` and ``gitpar sync`` use that record as the file's common
base when the two versions meet again, so edits made in turns do not conflict.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitpar.core.lock_history import Held, lock_history
from gitpar.core.plan import Plan
from gitpar.core.plan_patterns import union_paths
from gitpar.core.progress import Progress, parse_progress, progress_path, render_progress
from gitpar.core.repo import Repo
from gitpar.core.stream_progress import all_progress, read_progress
from gitpar.errors import Refused
from gitpar.store import merge as m
from gitpar.store.merge import FileConflict, FileRule
from gitpar.store.repo import Index, Oid
from gitpar.store.state import StateStore

CHAINED = "chained"  # the progress key: path -> {from: stream, commit: sha, blob: id}


@dataclass(frozen=True)
class Brought:
    """A previous holder's version of a shared file, merged for the worktree."""

    path: str
    holder: str
    commit: str  # the holder's branch tip the version was read from
    blob: str  # that version
    text: bytes  # what the worktree file becomes
    ours: bytes | None  # the worktree file it was merged with (None: there was none)
    merged: bool  # a three-way merge (False: the holder's new file, taken as it is)

    def describe(self) -> str:
        how = "3-way merge" if self.merged else "a new file"
        return f"{self.path}: brought in {self.holder}'s version ({how})"


def previous_holder(history: Mapping[str, Sequence[Held]], path: str, stream: str) -> str | None:
    """The stream other than ``stream`` that held ``path``'s lock last."""
    holds = [h for h in history.get(path, ()) if h.stream != stream]
    if not holds:
        return None
    # whole-second times tie often: the later one in the history (closed in order) wins
    return max(enumerate(holds), key=lambda ih: (ih[1].end, ih[1].start, ih[0]))[1].stream


def _read(file: Path) -> bytes | None:
    if file.is_symlink() or file.is_dir():
        raise Refused(f"{file} is not a regular file, so no version can be merged into it; "
                      "lock without bringing one in: gitpar lock --no-chain PATH")
    try:
        return file.read_bytes()
    except FileNotFoundError:
        return None


def plan_chain(repo: Repo, stream: str, paths: Sequence[str], worktree: Path,
               now: float, *, finished_only: bool = False) -> tuple[list[Brought], list[str]]:
    """What taking the locks on ``paths`` brings into ``worktree``, and notes on what it could
    not look at; Refused (changing nothing) when a version does not merge cleanly.

    ``finished_only`` (the plan's ``lock_chain: true``, the default): only the version of a
    holder whose stream is completed, the work that is to land; a holder still at work may
    change or lose its version, so building on it is the explicit ``--chain``'s choice."""
    history = lock_history(repo, now)
    mine = repo.stream_tip(stream)
    # what the worktree already has or is merging in needs no bringing
    have = [c for c in (mine, m.merge_head(worktree)) if c is not None]
    brought: list[Brought] = []
    notes: list[str] = []
    refusals: list[str] = []
    for path in paths:
        holder = previous_holder(history, path, stream)
        if holder is None:
            continue
        if finished_only:
            held = read_progress(repo, holder)
            if held is None or held.status != "completed":
                notes.append(f"{path}: {holder} held its lock before and has not finished, so its version "
                             f"is not brought in (gitpar lock --chain {path} builds on it now)")
                continue
        tip = repo.stream_tip(holder) or _integrated_at(repo, holder)
        if tip is None:
            notes.append(f"{path}: {holder} held its lock before, but gitpar/{holder} is not in this "
                         "clone (fetch it to build on its version); nothing brought in")
            continue
        if any(m.is_ancestor(repo, tip, c) for c in have):
            continue
        start = m.merge_base(repo, mine, tip) if mine is not None else None
        base, theirs = m.file_at(repo, start, path), m.file_at(repo, tip, path)
        if theirs == base:
            continue  # it committed no change to the file
        ours = _read(worktree / path)
        if theirs is not None and ours == theirs[1]:
            continue  # already here
        source = f"gitpar/{holder}" if repo.stream_tip(holder) == tip else str(tip)[:12]
        fix = (f"bring {holder}'s change in by hand (git show {source}:{path}) and lock "
               f"again, or lock without it: gitpar lock --no-chain {path}")
        if theirs is None:
            refusals.append(f"{path}: {holder} deleted it ({source}); {fix}")
            continue
        if base is None and ours is None:
            brought.append(Brought(path, holder, str(tip), theirs[0], theirs[1], None, merged=False))
            continue
        if ours is None:
            refusals.append(f"{path}: this worktree has deleted it, {holder} changed it; {fix}")
            continue
        merged = m.merge_file(base[1] if base else b"", ours, theirs[1],
                              labels=(f"{stream} (worktree)", "base", f"{holder} ({source})"))
        if merged.binary:
            refusals.append(f"{path}: {holder}'s version and this worktree's differ and it is not text; {fix}")
        elif merged.conflicts:
            hunks = f"{merged.conflicts} conflicting part{'s' if merged.conflicts != 1 else ''}"
            refusals.append(f"{path}: {holder}'s committed version conflicts with this worktree's "
                            f"({hunks}); {fix}")
        elif merged.text != ours:
            brought.append(Brought(path, holder, str(tip), theirs[0], merged.text, ours, merged=True))
    if refusals:
        raise Refused("the lock is not taken and nothing changed:\n  " + "\n  ".join(refusals))
    return brought, notes


def _integrated_at(repo: Repo, stream: str, p: Progress | None = None) -> Oid | None:
    """The commit a stream whose branch is gone (cleaned up after integration) was recorded
    as integrated at: it holds the stream's work."""
    p = p or read_progress(repo, stream)
    marker = p.extra.get("integrated") if p is not None else None
    if not isinstance(marker, str) or "@" not in marker:
        return None
    try:
        return repo.resolve(marker.rpartition("@")[2])
    except Exception:  # noqa: BLE001 — a commit this clone lacks: nothing to build on
        return None


def save_record(repo: Repo, stream: str, brought: Sequence[Brought]) -> None:
    """Note in ``stream``'s progress what it built each path on (the latest chain of a path
    wins) — written only once the versions are in its worktree."""
    from dataclasses import replace


    def change(snap: Any) -> tuple[dict[str, str | None], str]:
        text = snap.read(progress_path(stream))
        current = parse_progress(stream, text) if text is not None else Progress(stream=stream)
        chained = dict(current.extra.get(CHAINED) or {})
        for b in brought:
            chained[b.path] = {"from": b.holder, "commit": b.commit, "blob": b.blob}
        new = replace(current, extra=dict(current.extra, **{CHAINED: chained}))
        what = "; ".join(f"{b.path} on {b.holder}'s version ({b.commit[:10]})" for b in brought)
        return {progress_path(stream): render_progress(new)}, f"chain {stream}: built {what}"

    StateStore(repo).update(change)


def bring_in(worktree: Path, brought: Sequence[Brought]) -> None:
    """Write the merged versions into ``worktree``, each only if its file is still what was
    merged with (else Refused, writing nothing)."""
    changed = [b.path for b in brought if _read(worktree / b.path) != b.ours]
    if changed:
        raise Refused(f"{', '.join(changed)} changed while the lock was being taken, so nothing was "
                      "brought in; the lock is held: bring the previous holder's version in by hand, "
                      "or 'gitpar unlock' and lock again")
    for b in brought:
        target = worktree / b.path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.gitpar-{os.getpid()}")
        tmp.write_bytes(b.text)
        if target.exists():
            os.chmod(tmp, target.stat().st_mode)
        tmp.replace(target)


def records(progress: Mapping[str, Progress]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every chain record: (the stream that built on a version, path, record)."""
    out = []
    for name, p in progress.items():
        chained = p.extra.get(CHAINED)
        if not isinstance(chained, dict):
            continue
        for path, rec in chained.items():
            if isinstance(rec, dict) and all(isinstance(rec.get(k), str) for k in ("from", "commit", "blob")):
                out.append((name, str(path), rec))
    return out


@dataclass(frozen=True)
class Link:
    """A chain record that applies where two commits merge: ``builder`` built ``path`` on
    ``holder``'s version ``blob`` (read from ``source``), one side holds that work of the
    holder's, the other the builder's work (``tip``) built on it."""

    path: str
    builder: str
    holder: str
    blob: str
    source: Oid
    tip: Oid


class ChainIndex:
    """The chain records of one state commit, parsed once and found by path: a forecast of
    thousands of pairs asks for the records of each pair's few files."""

    def __init__(self, progress: Mapping[str, Progress]) -> None:
        self.progress = progress
        self.all = records(progress)
        self.by_path: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for item in self.all:
            self.by_path.setdefault(item[1], []).append(item)

    def of(self, paths: Sequence[str] | None) -> list[tuple[str, str, dict[str, Any]]]:
        if paths is None:
            return self.all
        return [item for path in paths for item in self.by_path.get(path, ())]


def chain_links(repo: Repo, progress: Mapping[str, Progress], ours: Oid, theirs: Oid,
                paths: Sequence[str] | None = None, index: ChainIndex | None = None) -> list[Link]:
    """The chain records that apply when ``ours`` and ``theirs`` merge (those of ``paths``)."""
    found: list[Link] = []
    for builder, path, rec in (index or ChainIndex(progress)).of(paths):
        tip = repo.stream_tip(builder) or _integrated_at(repo, builder, progress[builder])
        try:
            source = repo.resolve(rec["commit"])
        except Exception:  # noqa: BLE001 — a commit this clone lacks: the record cannot apply
            continue
        if tip is None:
            continue
        if ((m.is_ancestor(repo, source, ours) and m.is_ancestor(repo, tip, theirs))
                or (m.is_ancestor(repo, source, theirs) and m.is_ancestor(repo, tip, ours))):
            found.append(Link(path, builder, rec["from"], rec["blob"], source, tip))
    return found


def chain_bases(repo: Repo, progress: Mapping[str, Progress], ours: Oid,
                theirs: Oid) -> dict[str, list[str]]:
    """Path -> versions (blob ids) to try as its common base when ``ours`` and ``theirs``
    merge: a version a stream built on, where one side holds the work it was taken from and
    the other the stream's work built on it."""
    found: dict[str, list[str]] = {}
    for link in chain_links(repo, progress, ours, theirs):
        found.setdefault(link.path, []).append(link.blob)
    return found


def rewrites(repo: Repo, ours: Oid, theirs: Oid, paths: Sequence[str],
             index: ChainIndex | None = None) -> list[FileConflict]:
    """The rewrite rule of the forecast: where ``ours`` and ``theirs`` meet through a chain
    record of one of ``paths``, the lines of the holder's version that the holder had
    changed and the builder then replaced or deleted (kind ``rewrite``, ``by`` the builder,
    ``over`` the holder). The merge keeps the builder's lines without a conflict, so the
    holder's change is gone without anyone having merged it away by hand. Lines the builder
    only added (appends in turns), or changed where the holder had not, are no rewrite."""
    index = index or state_chains(repo)
    if not index.all:
        return []
    progress = index.progress
    found: list[FileConflict] = []
    for link in chain_links(repo, progress, ours, theirs, paths, index):
        later = m.file_at(repo, link.tip, link.path)
        if later is None or later[0] == link.blob:
            continue  # the builder deleted the file (a delete is no line rewrite) or kept it as it was
        regions = m.rewritten_lines(repo, _base_of(repo, progress, link), link.blob, later[0])
        if regions and not _confirmed(repo, link):
            found.append(m.FileConflict(link.path, "rewrite", regions, (link.path,),
                                        by=link.builder, over=link.holder))
    return found


REPLACES = "Gitpar-Replaces"  # the trailer a builder confirms a rewrite with: "Gitpar-Replaces: a [PATH...]"


def _confirmed(repo: Repo, link: Link) -> bool:
    """Whether a commit of the builder's since it took the holder's version says it meant to
    replace the holder's change: ``Gitpar-Replaces: HOLDER`` (every path), or with paths."""
    for value in m.trailer_values(repo, link.tip, m.merge_base(repo, link.source, link.tip), REPLACES):
        words = value.split()
        if words and words[0] == link.holder and (len(words) == 1 or link.path in words[1:]):
            return True
    return False


def _base_of(repo: Repo, progress: Mapping[str, Progress], link: Link) -> str | None:
    """The version the holder changed to make the one the builder built on: the version the
    holder had built on itself (its own chain record), else the file where the holder's and
    the builder's work part (their merge base)."""
    own = progress.get(link.holder)
    chained = own.extra.get(CHAINED) if own is not None else None
    rec = chained.get(link.path) if isinstance(chained, dict) else None
    if isinstance(rec, dict) and isinstance(rec.get("blob"), str) and rec["blob"] != link.blob:
        return rec["blob"]
    at = m.file_at(repo, m.merge_base(repo, link.source, link.tip), link.path)
    return at[0] if at is not None else None


def file_rules(repo: Repo, progress: Mapping[str, Progress], ours: Oid, theirs: Oid,
               union: Callable[[str], bool] | None = None) -> Callable[[str], FileRule | None]:
    """How each path merges when ``ours`` and ``theirs`` meet: its chain bases, and whether
    the plan says ``merge: union`` for it (``union``); None for git's default."""
    bases = chain_bases(repo, progress, ours, theirs) if progress else {}

    def rule_of(path: str) -> FileRule | None:
        joined = bool(union and union(path))
        if path not in bases and not joined:
            return None
        return FileRule(bases=tuple(bases.get(path, ())), union=joined)

    return rule_of


#: The progress files of one state commit, parsed once: (state commit id, progress). A
#: command that forecasts or settles many pairs (``conflicts`` at 500 streams settles every
#: conflicting pair) read and parsed all N progress files for each pair; keyed by the
#: commit id, it cannot go stale (a new state commit is a new key).
_progress_seen: tuple[str, ChainIndex] | None = None


def state_chains(repo: Repo) -> ChainIndex:
    """The chain records on the state branch's current commit, parsed once per commit."""
    global _progress_seen

    snap = StateStore(repo).snapshot()
    if snap.commit is None:
        return ChainIndex({})
    key = f"{repo.git.path}:{snap.commit}"
    if _progress_seen is None or _progress_seen[0] != key:
        _progress_seen = (key, ChainIndex(all_progress(snap)))
    return _progress_seen[1]


def _state_progress(repo: Repo) -> Mapping[str, Progress]:
    """Every stream's progress on the state branch's current commit, parsed once per commit."""
    return state_chains(repo).progress


def rules_touch(repo: Repo, plan: Plan, conflicts: Sequence[FileConflict], ours: Oid, theirs: Oid,
                index: ChainIndex | None = None) -> bool:
    """Whether a chain record or a ``merge: union`` rule could settle any of ``conflicts``:
    when none can, :func:`settle` would return them unchanged (and needs no whole merge)."""
    union = union_paths(plan)
    index = index or state_chains(repo)
    if union is None and not index.all:
        return False
    paths = [path for c in conflicts for path in (c.paths or (c.path,))]
    if union is None or not any(union(path) for path in paths):
        links = chain_links(repo, index.progress, ours, theirs, paths, index)
        return bool(links)
    return True


def settle(repo: Repo, plan: Plan, index: Index, ours: Oid, theirs: Oid) -> list[FileConflict]:
    """Settle the conflicts of the in-memory merge ``index`` of ``theirs`` into ``ours`` that
    the chain records and the plan's ``merge: union`` files resolve; the conflicts left."""
    progress = _state_progress(repo)
    return m.resolve_by_rules(repo, index, file_rules(repo, progress, ours, theirs, union_paths(plan)))
