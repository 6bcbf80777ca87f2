"""Commits as gitpar judges them: the paths each changed, and the history of locks."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pygit2

from gitpar.store.repo import Repo, no_git_env, walk_files
from gitpar.store.state import StateStore

_TRAILER = re.compile(r"^Gitpar-Stream:\s*(\S+)\s*$", re.M)


@dataclass(frozen=True)
class CommitChange:
    sha: str
    summary: str
    author_time: int
    commit_time: int
    paths: tuple[str, ...]
    stream_trailer: str | None  # information only: the branch, never a trailer, says whose it is
    # a merge's paths where one side's work is undone: the result is that side's merge base
    # version again (``git merge -s ours``, a plumbing merge); (path, the side's commit)
    dropped: tuple[tuple[str, str], ...] = ()
    parent_time: int = 0  # the newest committer date among its parents (0 for a root commit)


_ENTRY = re.compile(rb"(\d+) ([^\0]*)\0(.{20})", re.S)
_TREE = b"40000"
_EMPTY: frozenset[tuple[bytes, bytes, bytes]] = frozenset()

ADDED, DELETED, MODIFIED = "A", "D", "M"


class TreeDiffer:
    """Paths changed between two commits, for many pairs of commits at once.

    ``prefetch`` hands every pair to one ``git diff-tree --stdin`` process, whose C tree
    walk skips unchanged subtrees; the cost follows what changed, not the size of the
    repository (libgit2's diff visits every entry of both trees). A pair asked for alone
    is walked here, reading each tree object once and comparing entries as sets.
    """

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._entries: dict[bytes, frozenset[tuple[bytes, bytes, bytes]]] = {}
        self._trees: dict[pygit2.Oid, bytes] = {}
        self._done: dict[tuple[bytes | None, bytes | None], dict[str, str]] = {}

    def _records(self, raw_id: bytes | None) -> frozenset[tuple[bytes, bytes, bytes]]:
        if raw_id is None:
            return _EMPTY
        found = self._entries.get(raw_id)
        if found is None:
            data = self.repo.odb.read(pygit2.Oid(raw=raw_id))[1]
            found = frozenset(_ENTRY.findall(data))
            self._entries[raw_id] = found
        return found

    def tree_of(self, commit: pygit2.Oid) -> bytes:
        raw = self._trees.get(commit)
        if raw is None:
            raw = self.repo[commit].peel(pygit2.Commit).tree_id.raw
            self._trees[commit] = raw
        return raw

    def prefetch(self, pairs: Iterable[tuple[pygit2.Oid | None, pygit2.Oid]]) -> None:
        """Compute the changes of many ``(old, new)`` commit pairs in one git process."""
        todo = []
        for old, new in pairs:
            key = (self.tree_of(old) if old is not None else None, self.tree_of(new))
            if key[0] is not None and key[0] != key[1] and key not in self._done and key not in todo:
                todo.append(key)
        if len(todo) < 4:  # a process costs more than walking a few pairs here
            return
        lines = "".join(f"{pygit2.Oid(raw=a)} {pygit2.Oid(raw=b)}\n" for a, b in todo if a is not None)
        proc = subprocess.run(["git", "--git-dir", self.repo.path, "diff-tree", "-r", "-z",
                               "--no-renames", "--name-status", "--stdin"],
                              input=lines.encode(), capture_output=True, env=no_git_env())
        if proc.returncode != 0:
            return  # the walk below still answers, only slower
        found: dict[tuple[bytes | None, bytes | None], dict[str, str]] = {key: {} for key in todo}
        current: dict[str, str] | None = None
        tokens = proc.stdout.split(b"\0")
        i = 0
        while i < len(tokens) - 1:
            token = tokens[i]
            if b"\n" in token:  # "<tree> <tree>\n" before the first status of each pair
                header, token = token.split(b"\n", 1)
                a, b = header.split(b" ")
                current = found.setdefault((bytes.fromhex(a.decode()), bytes.fromhex(b.decode())), {})
            status, path = token[:1], tokens[i + 1].decode("utf-8", "surrogateescape")
            i += 2
            if current is not None:
                current[path] = {b"A": ADDED, b"D": DELETED}.get(status, MODIFIED)
        self._done.update(found)

    def changes(self, old: pygit2.Oid | None, new: pygit2.Oid | None) -> dict[str, str]:
        """``path -> A | D | M`` for every file (blob, link, submodule) that differs."""
        return self.tree_changes(self.tree_of(old) if old is not None else None,
                                 self.tree_of(new) if new is not None else None)

    def tree_changes(self, a: bytes | None, b: bytes | None) -> dict[str, str]:
        """:meth:`changes` of two trees (raw ids, None: empty)."""
        found = self._done.get((a, b))
        if found is None:
            found = {}
            if a != b:
                self.walk(a, b, "", found)
            self._done[(a, b)] = found
        return found

    def walk(self, a: bytes | None, b: bytes | None, prefix: str, out: dict[str, str]) -> None:
        """Add to ``out`` what differs between the trees ``a`` and ``b`` (raw ids, None: empty)."""
        ea, eb = self._records(a), self._records(b)
        old = {name: (mode, oid) for mode, name, oid in ea - eb}
        new = {name: (mode, oid) for mode, name, oid in eb - ea}
        for name in old.keys() | new.keys():
            x, y = old.get(name), new.get(name)
            path = prefix + name.decode("utf-8", "surrogateescape")
            x_tree = x is not None and x[0] == _TREE
            y_tree = y is not None and y[0] == _TREE
            if x_tree or y_tree:
                self.walk(x[1] if x_tree and x else None, y[1] if y_tree and y else None,
                           path + "/", out)
            x_file = x is not None and not x_tree
            y_file = y is not None and not y_tree
            if x_file and y_file:
                out[path] = MODIFIED
            elif x_file:
                out[path] = DELETED
            elif y_file:
                out[path] = ADDED


def _paths_between(repo: pygit2.Repository, old: pygit2.Tree | None, new: pygit2.Tree,
                   differ: TreeDiffer | None = None) -> set[str]:
    """Every path added, deleted or modified (content, mode, type) from ``old`` to ``new``.

    Renames are not detected, so both sides of a rename are reported. The walk skips the
    subtrees both sides share, so its cost follows what changed, not the tree's size.
    """
    return set((differ or TreeDiffer(repo)).tree_changes(old.id.raw if old is not None else None, new.id.raw))


def changed_paths(repo: pygit2.Repository, commit: pygit2.Commit, differ: TreeDiffer | None = None) -> set[str]:
    """Paths ``commit`` changed. For a merge: only paths that differ from every parent —
    what the merge itself wrote (conflict resolutions), not what it brought in. What a merge
    throws away is :func:`dropped_paths`. ``differ`` keeps the trees read across calls."""
    tree = commit.tree
    if not commit.parents:
        return _paths_between(repo, None, tree, differ)
    sets = [_paths_between(repo, p.tree, tree, differ) for p in commit.parents]
    result = sets[0]
    for s in sets[1:]:
        result = result & s
    return result


def _entry_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


def dropped_paths(repo: pygit2.Repository, commit: pygit2.Commit) -> list[tuple[str, str]]:
    """The work a merge undoes: ``(path, parent)`` where ``parent`` changed ``path`` since its
    merge base with another parent and the merge's result is the merge base's version again.

    A merge made by git keeps each side's changes (or resolves a conflict into something
    new); ``git merge -s ours`` or a hand-made merge (``git commit-tree``) can instead keep
    the old content, silently reverting the other side. Judged against every pair of parents.
    """
    parents = list(commit.parents)
    if len(parents) < 2:
        return []
    tree = commit.tree
    out: dict[str, str] = {}
    for side in parents:
        for other in parents:
            if other.id == side.id:
                continue
            base_id = repo.merge_base(side.id, other.id)
            base_tree = repo[base_id].peel(pygit2.Tree) if base_id is not None else None
            for path in _paths_between(repo, base_tree, side.tree):
                old = _entry_id(base_tree, path) if base_tree is not None else None
                if _entry_id(side.tree, path) != old and _entry_id(tree, path) == old:
                    out.setdefault(path, str(side.id))
    return sorted(out.items())


def paths_between(repo: Repo, old: pygit2.Oid, new: pygit2.Oid) -> set[str]:
    """Every path whose content differs between the trees of commits ``old`` and ``new``."""
    git = repo.git
    return _paths_between(git, git[old].peel(pygit2.Tree), git[new].peel(pygit2.Tree))


def net_paths(repo: Repo, target: pygit2.Oid, head: pygit2.Oid) -> set[str]:
    """What integrating ``head`` into ``target`` would apply: the paths ``head`` changed since
    its merge base with ``target`` and whose content still differs from ``target``'s.

    A path brought back to the base's content (a revert of a slip), or to the target's, is
    not in it.
    """
    git = repo.git
    base_id = git.merge_base(target, head)
    head_tree = git[head].peel(pygit2.Tree)
    target_tree = git[target].peel(pygit2.Tree)
    base_tree = git[base_id].peel(pygit2.Tree) if base_id is not None else None
    return _paths_between(git, base_tree, head_tree) & _paths_between(git, target_tree, head_tree)


def commits_between(repo: Repo, tip: pygit2.Oid, hide: pygit2.Oid | Iterable[pygit2.Oid | None] | None, *,
                    first_parent: bool = False, reverse: bool = False,
                    no_merges: bool = False) -> list[pygit2.Commit]:
    """Commits reachable from ``tip`` and from none of ``hide`` (one commit or several),
    newest first unless ``reverse``: the one walk every range in gitpar is read with."""
    mode = pygit2.enums.SortMode.TOPOLOGICAL | (pygit2.enums.SortMode.REVERSE if reverse else 0)
    walker = repo.git.walk(tip, mode)
    if first_parent:
        walker.simplify_first_parent()
    for oid in ([hide] if hide is None or isinstance(hide, pygit2.Oid) else hide):
        if oid is not None:
            walker.hide(oid)
    return [c for c in walker if not (no_merges and len(c.parent_ids) > 1)]


def changes_between(repo: Repo, tip: pygit2.Oid, hide: Iterable[pygit2.Oid | None] = ()) -> list[CommitChange]:
    """What each commit of :func:`commits_between` changed, oldest first."""
    out = []
    commits = commits_between(repo, tip, hide, reverse=True)
    differ = TreeDiffer(repo.git)
    differ.prefetch((p, c.id) for c in commits for p in c.parent_ids)  # one git diff-tree for all
    for c in commits:
        trailer = _TRAILER.findall(c.message or "")
        out.append(CommitChange(sha=str(c.id), summary=(c.message or "").splitlines()[0] if c.message else "",
                                author_time=int(c.author.time), commit_time=int(c.commit_time),
                                paths=tuple(sorted(changed_paths(repo.git, c, differ))),
                                stream_trailer=trailer[-1] if trailer else None,
                                dropped=tuple(dropped_paths(repo.git, c)),
                                parent_time=_parent_time(repo.git, c)))
    return out

def _parent_time(git: pygit2.Repository, c: pygit2.Commit) -> int:
    """The newest committer date among ``c``'s parents (0 for none; a parent a shallow clone
    lacks is skipped)."""
    best = 0
    for p in c.parent_ids:
        try:
            best = max(best, int(git[p].peel(pygit2.Commit).commit_time))
        except (KeyError, ValueError, pygit2.GitError):
            continue
    return best


def state_tip(repo: Repo) -> str | None:
    """The state branch's tip: the local branch, else a remote's copy (a CI clone)."""
    tip = StateStore(repo).tip()
    return None if tip is None else str(tip)


def is_ancestor(repo: Repo, old: str, new: str) -> bool:
    """Whether commit ``old`` is ``new`` or one of its ancestors."""
    try:
        return old == new or bool(repo.git.descendant_of(new, old))
    except (KeyError, ValueError, pygit2.GitError):
        return False


def folder_versions(repo: Repo, folder: str, tip: str, since: str | None = None,
                   last_tree: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """The state branch's ``folder`` (e.g. ``locks``) through history, oldest first, from
    after commit ``since`` (whose folder was the tree ``last_tree``) up to ``tip``.

    Yields ``(commit time, {file path: blob id})`` for each commit where the folder changed
    (an empty dict when the folder is gone). Read the blobs with ``blob_text``.
    """
    for _sha, when, files in dated_folder_versions(repo, folder, tip, since, last_tree):
        if files is not None:
            yield when, files


def dated_folder_versions(repo: Repo, folder: str, tip: str, since: str | None = None,
                          last_tree: str | None = None) -> Iterator[tuple[str, int, dict[str, str] | None]]:
    """Every state commit after ``since`` up to ``tip``, oldest first, as
    ``(commit id, committer time, {file path: blob id} of ``folder``)`` — the files None where
    the folder did not change (its dates still count: the lock history checks their order)."""
    walker = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if since is not None:
        walker.hide(pygit2.Oid(hex=since))
    last: pygit2.Oid | None | bool = False if since is None else (
        pygit2.Oid(hex=last_tree) if last_tree else None)
    for commit in walker:
        try:
            tree_id: pygit2.Oid | None = commit.tree[folder].id
        except KeyError:
            tree_id = None
        if tree_id == last:
            yield str(commit.id), int(commit.commit_time), None
            continue
        last = tree_id
        files = {} if tree_id is None else {p: str(oid) for p, oid in walk_files(repo.git, tree_id, folder)}
        yield str(commit.id), int(commit.commit_time), files


def blob_text(repo: Repo, blob_id: str) -> str:
    """The text of a blob (undecodable bytes replaced)."""
    data: bytes = repo.git[blob_id].peel(pygit2.Blob).data
    return data.decode("utf-8", errors="replace")


def folder_at(repo: Repo, commit: str, folder: str) -> str | None:
    """The tree id of ``folder`` in ``commit`` (None when it has none)."""
    return repo.subtree_at(pygit2.Oid(hex=commit), folder)


def paths_touched(repo: Repo, tip: pygit2.Oid, base_tip: pygit2.Oid,
                  known: tuple[str, str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """Every path a commit of ``base_tip..tip`` changed (as :func:`changes_between` lists
    them), sorted.

    ``known`` is an earlier answer ``(base_tip, tip, paths)``: the same range is answered
    from it, and a range that only grew (the same base, the old tip an ancestor of the new)
    walks only the new commits — a range's commits never change, so neither do its paths.
    """
    if known is not None and known[0] == str(base_tip):
        if known[1] == str(tip):
            return known[2]
        old = pygit2.Oid(hex=known[1])
        if is_ancestor(repo, known[1], str(tip)):
            return tuple(sorted({*known[2], *_range_paths(repo, tip, [base_tip, old])}))
    return tuple(sorted(_range_paths(repo, tip, [base_tip])))


def _range_paths(repo: Repo, tip: pygit2.Oid, hide: list[pygit2.Oid]) -> set[str]:
    commits = commits_between(repo, tip, hide)
    differ = TreeDiffer(repo.git)
    differ.prefetch((p, c.id) for c in commits for p in c.parent_ids)
    found: set[str] = set()
    for c in commits:
        found |= changed_paths(repo.git, c, differ)
    return found


def reachable(repo: Repo, tip: str, hide: Iterable[str] = ()) -> set[str]:
    """The ids of the commits reachable from ``tip`` and from none of ``hide`` (hex ids);
    empty when this clone does not have ``tip`` (ids it does not have in ``hide`` are ignored)."""
    git = repo.git
    try:
        if tip not in git:
            return set()
        return {str(c.id) for c in commits_between(
            repo, pygit2.Oid(hex=tip), [pygit2.Oid(hex=h) for h in hide if h and h in git])}
    except (KeyError, ValueError, pygit2.GitError):
        return set()


def parents_of(repo: Repo, sha: str) -> list[str]:
    """The parents of commit ``sha`` (hex ids), first parent first."""
    return [str(p) for p in repo.git[sha].peel(pygit2.Commit).parent_ids]


def merged_side_paths(repo: Repo, sha: str) -> set[str]:
    """The paths a merge's other parents (all but the first) changed since their merge base
    with the first: what the merge brought in, where its own writing (a conflict resolved,
    a union of a shared file) is legitimate."""
    commit = repo.git[sha].peel(pygit2.Commit)
    parents = list(commit.parent_ids)
    out: set[str] = set()
    for other in parents[1:]:
        out |= net_paths(repo, parents[0], other) | net_paths(repo, other, parents[0])
    return out
