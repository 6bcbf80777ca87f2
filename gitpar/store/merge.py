"""Merges computed in memory, and the few git operations that apply a result safely.

Everything that forecasts works on objects only: trees are compared by reading the tree
objects (each one once, cached), files are merged with libgit2's three-way file merge, and
whole merges with ``merge_trees`` into an in-memory index. Nothing here touches a worktree
or an index file except the functions that say so (``move_branch`` and the
``keep_conflict_*`` functions); those run only when the result is known to be clean, or
when the user asked to keep a conflict.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from gitpar.errors import GitparError, Refused
from gitpar.store.commits import (
    changed_paths,
    commits_between,
)
from gitpar.store.repo import Repo, Worktree, git, no_git_env, signature, swap_ref

_REGULAR = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)


def merge_base(repo: Repo, a: pygit2.Oid, b: pygit2.Oid) -> pygit2.Oid | None:
    try:
        return repo.git.merge_base(a, b)
    except (pygit2.GitError, KeyError):
        return None


def is_ancestor(repo: Repo, ancestor: pygit2.Oid, commit: pygit2.Oid) -> bool:
    """Whether ``ancestor`` is ``commit`` or one of its ancestors."""
    return ancestor == commit or bool(repo.git.descendant_of(commit, ancestor))


def own_changed_files(repo: Repo, tip: pygit2.Oid, base_tip: pygit2.Oid,
                      others: Sequence[pygit2.Oid]) -> list[str] | None:
    """The files a branch changed itself since its merge base with the base: its net change
    (merge base .. ``tip``) less what it only merged in from ``others`` (the integration
    branch, other streams' branches). A file counts when one of the branch's own commits
    touched it (a merge: only what it resolved); its own commits are its first-parent line
    and what it merged in that no other holds. None when the branch merged nothing in, so
    its net change is all its own.
    """
    walker = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(base_tip)
    if not any(len(c.parent_ids) > 1 for c in walker):
        return None
    first = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    first.simplify_first_parent()
    first.hide(base_tip)
    unshared = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    for oid in (base_tip, *others):
        unshared.hide(oid)
    own = {c.id: c for c in first} | {c.id: c for c in unshared}
    touched: set[str] = set()
    for c in own.values():
        touched |= changed_paths(repo.git, c)
    start = merge_base(repo, tip, base_tip)
    old = repo.git[start].peel(pygit2.Tree) if start is not None else _empty_tree(repo.git)
    diff = old.diff_to_tree(repo.git[tip].peel(pygit2.Tree))
    net = {d.new_file.path for d in diff.deltas} | {d.old_file.path for d in diff.deltas}
    return sorted(net & touched)


# -- one file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MergedFile:
    """A three-way merge of one file's contents: the result and how many conflicts it has
    (the result then holds conflict markers); ``binary`` when git would not merge it."""

    text: bytes
    conflicts: int
    binary: bool = False


def merge_file(base: bytes, ours: bytes, theirs: bytes, *, union: bool = False,
               labels: tuple[str, str, str] = ("ours", "base", "theirs")) -> MergedFile:
    """Merge the contents ``ours`` and ``theirs`` of one file, ``base`` their common version,
    with ``git merge-file`` (the byte-exact xdiff merge git uses; ``union`` keeps both sides'
    lines of a conflicting hunk instead). Nothing in a repository is touched."""
    with tempfile.TemporaryDirectory(prefix="gitpar-merge-") as tmp:
        files = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            f = Path(tmp, name)
            f.write_bytes(data)
            files.append(str(f))
        args = ["git", "merge-file", "-p", *(["--union"] if union else [])]
        for label in labels:
            args += ["-L", label]
        proc = subprocess.run([*args, *files], capture_output=True, env=no_git_env())
    if proc.returncode < 0 or proc.returncode > 127 or b"binary" in proc.stderr.lower():
        return MergedFile(ours, 1, binary=True)  # git merges no binary file; a crash is no merge
    return MergedFile(proc.stdout, proc.returncode)


def file_at(repo: Repo, commit: pygit2.Oid | str | None, path: str) -> tuple[str, bytes] | None:
    """The file ``path`` in ``commit``'s tree: (blob id, content); None when it is no file there."""
    if commit is None:
        return None
    try:
        entry = repo.git[commit].peel(pygit2.Tree)[path]
    except (KeyError, ValueError):
        return None
    if entry.type_str != "blob":
        return None
    return str(entry.id), repo.git[entry.id].peel(pygit2.Blob).data


def blob_data(repo: Repo, blob: str) -> bytes | None:
    """The content of the blob ``blob`` (None when this repository does not have it)."""
    try:
        return repo.git[blob].peel(pygit2.Blob).data
    except (KeyError, ValueError, pygit2.GitError):
        return None


def merge_head(worktree: Path) -> pygit2.Oid | None:
    """The commit a merge left unfinished in ``worktree`` is bringing in, if any."""
    proc = git(["rev-parse", "-q", "--verify", "MERGE_HEAD^{commit}"], worktree, check=False)
    return pygit2.Oid(hex=proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None


@dataclass(frozen=True)
class FileRule:
    """How to merge one path beyond git's default: other versions to try as the common base
    (blob ids, in order; one that merges cleanly wins), and ``union`` (keep both sides'
    lines of a conflicting hunk, git's union merge)."""

    bases: tuple[str, ...] = ()
    union: bool = False


def resolve_by_rules(repo: Repo, index: pygit2.Index,
                     rule_of: Callable[[str], FileRule | None]) -> list[FileConflict]:
    """Resolve in place the text conflicts of a merge's in-memory ``index`` that a path's
    rule settles; the conflicts left (described as :func:`describe_index_conflicts` does)."""
    if index.conflicts is None:
        return []
    g = repo.git
    settled: list[tuple[str, pygit2.Oid, int]] = []
    for anc, ours, theirs in list(index.conflicts):
        if ours is None or theirs is None or ours.path != theirs.path:
            continue  # a delete or rename conflict: no lines to merge
        rule = rule_of(ours.path)
        if rule is None or ours.mode not in _REGULAR or theirs.mode not in _REGULAR:
            continue
        mine, other = _blob(g, ours.id).data, _blob(g, theirs.id).data
        bases = [*rule.bases, str(anc.id) if anc is not None else ""]  # "": an add/add
        for base_id in bases:
            base = blob_data(repo, base_id) if base_id else b""
            if base is None:
                continue
            merged = merge_file(base, mine, other, union=rule.union)
            if not merged.conflicts and not merged.binary:
                settled.append((ours.path, g.create_blob(merged.text), ours.mode))
                break
    for path, blob, mode in settled:
        del index.conflicts[path]
        index.add(pygit2.IndexEntry(path, blob, _mode(mode)))
    return describe_index_conflicts(repo, index)


# -- conflicts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """One conflicting region of a file: line ranges (first, last; 1-based) on each side.

    An empty range (a pure insertion or deletion on that side) has ``last == first - 1``.
    """

    base: tuple[int, int]
    ours: tuple[int, int]
    theirs: tuple[int, int]

    def to_dict(self) -> dict[str, list[int]]:
        return {"base": list(self.base), "ours": list(self.ours), "theirs": list(self.theirs)}


@dataclass(frozen=True)
class FileConflict:
    """A path a merge cannot resolve, and why."""

    path: str
    kind: str  # content | binary | add/add | modify/delete | delete/modify | mode | type | rename
    regions: tuple[Region, ...] = ()
    paths: tuple[str, ...] = ()  # every path involved (a rename names more than one)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind,
                               "regions": [r.to_dict() for r in self.regions]}
        if len(self.paths) > 1:
            out["paths"] = list(self.paths)
        return out

    def describe(self, ours: str = "ours", theirs: str = "theirs") -> str:
        """``src/config.py (lines 5-6)`` or ``a.txt (deleted by x, changed by y)``."""
        if self.kind == "content" and self.regions:
            return f"{self.path} ({', '.join(_lines(r.base) for r in self.regions)})"
        what = {
            "binary": "binary file changed on both sides",
            "add/add": "added on both sides with different contents",
            "modify/delete": f"changed by {ours}, deleted by {theirs}",
            "delete/modify": f"deleted by {ours}, changed by {theirs}",
            "mode": "file mode changed differently on both sides",
            "type": "a file on one side, a directory or link on the other",
            "rename": "renamed or moved differently on both sides",
            "content": "changed differently on both sides",
        }.get(self.kind, self.kind)
        extra = f" [{', '.join(self.paths)}]" if len(self.paths) > 1 else ""
        return f"{self.path} ({what}){extra}"


def _lines(r: tuple[int, int]) -> str:
    first, last = r
    if last < first:
        return f"after line {last}" if last > 0 else "at the top"
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _entry(tree: pygit2.Tree | None, path: str) -> tuple[int, pygit2.Oid] | None:
    if tree is None:
        return None
    try:
        obj = tree[path]
    except KeyError:
        return None
    return obj.filemode, obj.id


def _tree(repo: pygit2.Repository, commit: pygit2.Oid | None) -> pygit2.Tree | None:
    return None if commit is None else repo[commit].peel(pygit2.Tree)


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Blob:
    return repo[oid].peel(pygit2.Blob)


def _empty_tree(repo: pygit2.Repository) -> pygit2.Tree:
    return repo[repo.TreeBuilder().write()].peel(pygit2.Tree)


def _mode(value: int) -> pygit2.enums.FileMode:
    return pygit2.enums.FileMode(value)


def conflicts_of_files(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid, theirs: pygit2.Oid,
                       paths: Iterable[str]) -> list[FileConflict] | None:
    """Conflicts a merge would have in ``paths``, each a regular file on all three sides.

    The fast path of a forecast: only the files both sides changed are merged (libgit2's
    three-way file merge, the same xdiff merge git uses). None when a path is not a plain
    modification on both sides (added, deleted, a link, a submodule, undecodable text):
    renames and directory changes need the whole-tree merge (``conflicts_of_commits``).
    """
    g = repo.git
    tb, to, tt = _tree(g, base), _tree(g, ours), _tree(g, theirs)
    found: list[FileConflict] = []
    for path in paths:
        eb, eo, et = _entry(tb, path), _entry(to, path), _entry(tt, path)
        if eb is None or eo is None or et is None:
            return None
        if eo[0] not in _REGULAR or et[0] not in _REGULAR or eb[0] not in _REGULAR:
            return None
        if eo == et or eo == eb or et == eb:
            continue  # the same change on both sides, or changed on one side only
        if eo[0] != eb[0] and et[0] != eb[0] and eo[0] != et[0]:
            found.append(FileConflict(path, "mode", paths=(path,)))
            continue
        if eo[1] == et[1] or eo[1] == eb[1] or et[1] == eb[1]:
            continue  # contents resolve trivially; only a mode changed
        blobs = [_blob(g, eb[1]), _blob(g, eo[1]), _blob(g, et[1])]
        if any(b.is_binary for b in blobs):
            found.append(FileConflict(path, "binary", paths=(path,)))
            continue
        try:
            # use_deprecated=False: a result that says whether it merged cleanly (pygit2
            # 1.15-1.18 default to returning the merged text alone)
            result = g.merge_file_from_index(pygit2.IndexEntry(path, eb[1], _mode(eb[0])),
                                             pygit2.IndexEntry(path, eo[1], _mode(eo[0])),
                                             pygit2.IndexEntry(path, et[1], _mode(et[0])),
                                             use_deprecated=False)
        except UnicodeDecodeError:  # pygit2 decodes the merged text; let libgit2 do the tree
            return None
        if not result.automergeable:
            found.append(FileConflict(path, "content", _regions(blobs[0], blobs[1], blobs[2]), (path,)))
    return found


def conflicts_of_commits(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid,
                         theirs: pygit2.Oid) -> tuple[pygit2.Index, list[FileConflict]]:
    """The whole in-memory merge of ``theirs`` into ``ours`` (renames found) and its conflicts."""
    g = repo.git
    ancestor = _tree(g, base)
    index = g.merge_trees(ancestor if ancestor is not None else _empty_tree(g),
                          g[ours].peel(pygit2.Tree), g[theirs].peel(pygit2.Tree))
    return index, describe_index_conflicts(repo, index)


def merge_taking_theirs(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid,
                        theirs: pygit2.Oid) -> pygit2.Index | None:
    """The in-memory merge taking ``theirs``'s side of every conflicting hunk, or None when
    conflicts remain that have no hunks to take a side of (deletions, modes, binaries)."""
    g = repo.git
    index = g.merge_trees(_tree(g, base) or _empty_tree(g), g[ours].peel(pygit2.Tree),
                          g[theirs].peel(pygit2.Tree), favor=pygit2.enums.MergeFavor.THEIRS)
    return None if index.conflicts is not None else index


def describe_index_conflicts(repo: Repo, index: pygit2.Index) -> list[FileConflict]:
    """The conflicts recorded in a merge's in-memory index, with line ranges for text."""
    if index.conflicts is None:
        return []
    g = repo.git
    found: list[FileConflict] = []
    for anc, ours, theirs in index.conflicts:
        paths = tuple(dict.fromkeys(e.path for e in (ours, theirs, anc) if e is not None))
        path = paths[0]
        if anc is None:
            kind = "add/add" if ours is not None and theirs is not None else "rename"
        elif ours is None:
            kind = "delete/modify"
        elif theirs is None:
            kind = "modify/delete"
        elif len(paths) > 1:
            kind = "rename"
        else:
            kind = "content"
        regions: tuple[Region, ...] = ()
        if kind in ("content", "add/add") and ours is not None and theirs is not None:
            modes = {ours.mode, theirs.mode} | ({anc.mode} if anc else set())
            if not modes <= set(_REGULAR):
                kind = "type"
            elif any(_blob(g, e.id).is_binary for e in (anc, ours, theirs) if e is not None):
                kind = "binary"
            elif anc is not None:
                regions = _regions(_blob(g, anc.id), _blob(g, ours.id), _blob(g, theirs.id))
        found.append(FileConflict(path, kind, regions, paths))
    found.sort(key=lambda c: c.path)
    return found


def _regions(base: pygit2.Blob, ours: pygit2.Blob, theirs: pygit2.Blob) -> tuple[Region, ...]:
    """Where both sides changed the same or adjacent lines of the base (xdiff's rule)."""
    def hunks(new: pygit2.Blob) -> list[tuple[int, int, int, int]]:
        patch = base.diff(new, context_lines=0, interhunk_lines=0)  # type: ignore[call-arg]
        out = []
        for h in patch.hunks:
            start = h.old_start if h.old_lines == 0 else h.old_start - 1  # 0-based, end exclusive
            new_start = h.new_start if h.new_lines == 0 else h.new_start - 1
            out.append((start, start + h.old_lines, new_start, new_start + h.new_lines))
        return out

    events = [(h, 0) for h in hunks(ours)] + [(h, 1) for h in hunks(theirs)]
    events.sort()
    groups: list[list[tuple[tuple[int, int, int, int], int]]] = []
    end = -2
    for hunk, side in events:
        if groups and hunk[0] <= end:  # touching or overlapping the current group
            groups[-1].append((hunk, side))
            end = max(end, hunk[1])
        else:
            groups.append([(hunk, side)])
            end = hunk[1]
    regions = []
    for group in groups:
        if len({side for _, side in group}) < 2:
            continue
        b0 = min(h[0] for h, _ in group)
        b1 = max(h[1] for h, _ in group)

        regions.append(Region((b0 + 1, b1), _span(group, 0), _span(group, 1)))
    return tuple(regions)


# -- writing results (objects and refs) --------------------------------------------------


def _span(group: list[tuple[tuple[int, int, int, int], int]], side: int) -> tuple[int, int]:
    hunks = [h for h, s in group if s == side]
    return min(h[2] for h in hunks) + 1, max(h[3] for h in hunks)


def write_merge(repo: Repo, index: pygit2.Index, parents: Sequence[pygit2.Oid], message: str) -> pygit2.Oid:
    """A commit of a clean in-memory merge, written to the object store only (no ref moves)."""
    if index.conflicts is not None:
        raise GitparError("internal: writing a merge that has conflicts")
    tree = index.write_tree(repo.git)
    sig = signature(repo.git)
    return repo.git.create_commit(None, sig, sig, message, tree, list(parents))


# -- worktrees -----------------------------------------------------------------------------


def worktrees(repo: Repo) -> list[Worktree]:
    """The worktrees whose folders exist (the main one first): ``Repo.worktrees`` less those
    whose folder is gone."""
    return [wt for wt in repo.worktrees() if wt.path.exists()]


def worktrees_on(repo: Repo, branch: str) -> list[Worktree]:
    """The worktrees that have ``branch`` (short name) checked out."""
    ref = f"refs/heads/{branch}"
    return [w for w in worktrees(repo) if w.branch == ref]


def operation_in_progress(wt: Worktree) -> str | None:
    """A merge, rebase, cherry-pick or revert left unfinished in the worktree, if any."""
    for name, what in (("MERGE_HEAD", "a merge"), ("rebase-merge", "a rebase"),
                       ("rebase-apply", "a rebase or am"), ("CHERRY_PICK_HEAD", "a cherry-pick"),
                       ("REVERT_HEAD", "a revert")):
        if (wt.gitdir / name).exists():
            return what
    return None


def _git_shielded(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run git in its own session, so a Ctrl-C at the terminal cannot stop it half-way."""
    return subprocess.run(["git", *args], cwd=cwd, env=no_git_env(), capture_output=True,
                          text=True, start_new_session=True)


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done, then raise it: a ref and the files or the
    record that go with it move together, never one without the other."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


INDEX_WAIT_S = 3.0  # how long to wait for another git process to let go of a worktree's index


def _wait_for_index(wt: Worktree, timeout: float = INDEX_WAIT_S) -> None:
    """Give a git process still writing ``wt``'s index (one that outlived a gitpar killed
    half-way: gitpar runs git in its own session) a moment to finish, as git itself waits
    for a ref's lock; a lock left by a crash is then reported by git, with its fix."""
    lock = wt.gitdir / "index.lock"
    deadline = time.monotonic() + timeout
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def move_branch(repo: Repo, branch: str, old: pygit2.Oid, new: pygit2.Oid, message: str,
                checked_out: Sequence[Worktree] = ()) -> None:
    """Move ``branch`` from ``old`` to ``new``, updating the worktrees that have it checked out.

    The ref moves by compare-and-swap; then each worktree's index and files go from
    ``old``'s tree to ``new``'s (``git read-tree -m -u``, which refuses rather than
    overwrite a local change or an untracked file). If that refuses, the ref is moved back
    and the worktree is as it was. Callers check the worktrees are clean first.
    """
    ref = f"refs/heads/{branch}"
    with held_interrupts():
        # before the ref moves, so that nothing but starting read-tree lies between the two:
        # read-tree -m wants the index's file metadata current (a copied or touched
        # worktree's is not, and the dirty check reads without refreshing it)
        for wt in checked_out:
            _wait_for_index(wt)
            _git_shielded(["update-index", "-q", "--refresh"], wt.path)
        if not swap_ref(repo, ref, new, old, message):
            raise Refused(f"{branch} moved while gitpar was working on it; run the command again")
        for wt in checked_out:
            proc = _git_shielded(["read-tree", "-m", "-u", str(old), str(new)], wt.path)
            if proc.returncode != 0:
                swap_ref(repo, ref, old, new, f"{message} (undone)")
                raise Refused(f"could not update the files of {wt.path} for {branch}: "
                              f"{proc.stderr.strip()}; {branch} and the worktree are unchanged")


def add_temp_worktree(repo: Repo, commit: pygit2.Oid) -> Path:
    """A detached worktree of ``commit`` in a new temporary folder (see remove_temp_worktree)."""
    parent = Path(tempfile.mkdtemp(prefix="gitpar-test-"))
    path = parent / "tree"
    proc = _git_shielded(["worktree", "add", "--detach", "--quiet", str(path), str(commit)],
                         repo.common_dir)
    if proc.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise GitparError(f"cannot create a temporary worktree for {str(commit)[:10]}: "
                          f"{proc.stderr.strip()}")
    return path


def remove_temp_worktree(repo: Repo, path: Path) -> None:
    """Remove a worktree made by ``add_temp_worktree`` and its folder."""
    _git_shielded(["worktree", "remove", "--force", "--force", str(path)], repo.common_dir)
    shutil.rmtree(path.parent, ignore_errors=True)
    _git_shielded(["worktree", "prune"], repo.common_dir)


def keep_conflict(wt: Worktree, mode: str, onto: str) -> str:
    """Run the real ``git merge``/``git rebase`` in a clean worktree, leaving its conflict there."""
    if mode == "rebase":
        proc = git(["rebase", onto], wt.path, check=False)
        how = "resolve, 'git add' the files, then 'git rebase --continue' (or 'git rebase --abort')"
    else:
        proc = git(["merge", "--no-ff", "--no-edit", onto], wt.path, check=False)
        how = "resolve, 'git add' the files, then 'git commit' (or 'git merge --abort')"
    if proc.returncode == 0:
        return "git finished it without a conflict"
    return f"left for you to resolve in {wt.path}: {how}"


# -- history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)

    def short(self) -> str:
        return f"{self.sha[:10]} {self.subject}"


def _info(c: pygit2.Commit) -> CommitInfo:
    message = c.message or ""
    trailers = {}
    for line in message.splitlines():
        if ": " in line and line.split(": ", 1)[0].startswith("Gitpar-"):
            key, value = line.split(": ", 1)
            trailers[key] = value.strip()
    return CommitInfo(str(c.id), message.splitlines()[0] if message else "", trailers)


def commits_touching(repo: Repo, tip: pygit2.Oid, hide: pygit2.Oid | None, path: str,
                     limit: int = 5) -> list[CommitInfo]:
    """Non-merge commits between ``hide`` and ``tip`` that changed ``path`` (newest first)."""
    out = []
    for c in commits_between(repo, tip, hide, no_merges=True):
        before = _entry(c.parents[0].tree, path) if c.parents else None
        if _entry(c.tree, path) != before:
            out.append(_info(c))
            if len(out) >= limit:
                break
    return out


def merges_touching(repo: Repo, tip: pygit2.Oid, hide: pygit2.Oid | None,
                    path: str) -> list[CommitInfo]:
    """First-parent commits of ``tip`` back to ``hide`` that changed ``path`` (merges included)."""
    out = []
    for c in commits_between(repo, tip, hide, first_parent=True):
        before = _entry(c.parents[0].tree, path) if c.parents else None
        if _entry(c.tree, path) != before:
            out.append(_info(c))
    return out


# -- rebase in memory ------------------------------------------------------------------------


@dataclass
class Replay:
    """The result of replaying commits onto a new base in memory."""

    tip: pygit2.Oid | None  # None when a commit conflicted
    conflicted_at: CommitInfo | None = None
    conflicts: list[FileConflict] = field(default_factory=list)
    dropped: list[CommitInfo] = field(default_factory=list)  # became empty (already upstream)


def replay(repo: Repo, commits: Sequence[pygit2.Commit], onto: pygit2.Oid) -> Replay:
    """Cherry-pick ``commits`` (oldest first, no merges) onto ``onto``, in memory only."""
    g = repo.git
    current = onto
    dropped = []
    for c in commits:
        parent_tree = c.parents[0].tree if c.parents else _empty_tree(g)
        current_tree = g[current].peel(pygit2.Tree)
        index = g.merge_trees(parent_tree, current_tree, c.tree)
        if index.conflicts is not None:
            return Replay(None, _info(c), describe_index_conflicts(repo, index))
        tree = index.write_tree(g)
        if tree == current_tree.id and c.tree_id != parent_tree.id:
            dropped.append(_info(c))
            continue
        sig = signature(g)
        current = g.create_commit(None, c.author, sig, c.message, tree, [current])
    return Replay(current, dropped=dropped)


def short(oid: pygit2.Oid | str | None) -> str:
    return "" if oid is None else str(oid)[:10]
