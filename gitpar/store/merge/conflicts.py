"""What a merge cannot resolve: ``FileConflict`` (a path, its kind, the conflicting line
ranges as ``Region``), read from a merge's in-memory index (``describe_index_conflicts``)
or forecast for plain file modifications without a whole-tree merge (``conflicts_of_files``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pygit2

from gitpar.store.merge.files import REGULAR_MODES, blob_of, filemode, tree_entry, tree_of
from gitpar.store.repo import Repo


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
    kind: str  # content | binary | add/add | modify/delete | delete/modify | mode | type | rename | rewrite
    regions: tuple[Region, ...] = ()
    paths: tuple[str, ...] = ()  # every path involved (a rename names more than one)
    # kind "rewrite" (the merge is clean): ``by`` replaced lines ``over`` had changed
    by: str = ""
    over: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind,
                               "regions": [r.to_dict() for r in self.regions]}
        if len(self.paths) > 1:
            out["paths"] = list(self.paths)
        if self.kind == "rewrite":
            out["by"], out["over"] = self.by, self.over
        return out

    def describe(self, ours: str = "ours", theirs: str = "theirs") -> str:
        """``src/config.py (lines 5-6)`` or ``a.txt (deleted by x, changed by y)``."""
        if self.kind == "content" and self.regions:
            return f"{self.path} ({', '.join(_lines(r.base) for r in self.regions)})"
        if self.kind == "rewrite":
            where = ", ".join(_lines(r.theirs) for r in self.regions)
            return (f"{self.path} ({self.by} replaced {where} of {self.over}'s version, "
                    f"which {self.over} had changed)")
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


def conflicts_of_files(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid, theirs: pygit2.Oid,
                       paths: Iterable[str]) -> list[FileConflict] | None:
    """Conflicts a merge would have in ``paths``, each a regular file on all three sides.

    The fast path of a forecast: only the files both sides changed are merged (libgit2's
    three-way file merge, the same xdiff merge git uses). None when a path is not a plain
    modification on both sides (added, deleted, a link, a submodule, undecodable text):
    renames and directory changes need the whole-tree merge (``conflicts_of_commits``).
    """
    g = repo.git
    tb, to, tt = tree_of(g, base), tree_of(g, ours), tree_of(g, theirs)
    found: list[FileConflict] = []
    for path in paths:
        eb, eo, et = tree_entry(tb, path), tree_entry(to, path), tree_entry(tt, path)
        if eb is None or eo is None or et is None:
            return None
        if eo[0] not in REGULAR_MODES or et[0] not in REGULAR_MODES or eb[0] not in REGULAR_MODES:
            return None
        if eo == et or eo == eb or et == eb:
            continue  # the same change on both sides, or changed on one side only
        if eo[0] != eb[0] and et[0] != eb[0] and eo[0] != et[0]:
            found.append(FileConflict(path, "mode", paths=(path,)))
            continue
        if eo[1] == et[1] or eo[1] == eb[1] or et[1] == eb[1]:
            continue  # contents resolve trivially; only a mode changed
        try:
            # use_deprecated=False: a result that says whether it merged cleanly (pygit2
            # 1.15-1.18 default to returning the merged text alone)
            result = g.merge_file_from_index(pygit2.IndexEntry(path, eb[1], filemode(eb[0])),
                                             pygit2.IndexEntry(path, eo[1], filemode(eo[0])),
                                             pygit2.IndexEntry(path, et[1], filemode(et[0])),
                                             use_deprecated=False)
            clean = result.automergeable
        except (UnicodeDecodeError, RuntimeError):  # pygit2 decodes the merged text; a binary
            clean = None                           # file has none (libgit2 merges no binary)
        if clean:
            continue  # the blobs are read only for what conflicts: most overlaps merge cleanly
        blobs = [blob_of(g, eb[1]), blob_of(g, eo[1]), blob_of(g, et[1])]
        if any(b.is_binary for b in blobs):
            found.append(FileConflict(path, "binary", paths=(path,)))
        elif clean is None:
            return None  # text pygit2 cannot decode: let libgit2 merge the trees
        else:
            found.append(FileConflict(path, "content", _regions(blobs[0], blobs[1], blobs[2]), (path,)))
    return found


def conflicts_of_paths(repo: Repo, base: pygit2.Oid | None, ours: pygit2.Oid, theirs: pygit2.Oid,
                       paths: Iterable[str]) -> list[FileConflict] | None:
    """The conflicts of the whole in-memory merge (renames found, as ``conflicts_of_commits``),
    computed on trees holding only ``paths`` of each side: they must hold every path both
    sides changed since ``base`` and every path either side added or deleted. A path
    neither changed, or only one side modified in place, cannot conflict or pair in a
    rename, so the conflicts are the same; the merge reads a few entries instead of the
    whole tree (6 ms a pair at 20,000 files). The small trees are written to the object store (as
    ``git merge-tree --write-tree`` writes its trees); no ref, index file or worktree is
    touched. None when a path cannot be put in a tree here (the caller merges whole trees)."""
    g = repo.git
    wanted = list(paths)
    try:
        trees = []
        for commit in (base, ours, theirs):
            tree = tree_of(g, commit)
            index = pygit2.Index()
            for path in wanted:
                entry = tree_entry(tree, path)
                if entry is not None and entry[0] != pygit2.GIT_FILEMODE_TREE:
                    index.add(pygit2.IndexEntry(path, entry[1], filemode(entry[0])))
            trees.append(g[index.write_tree(g)].peel(pygit2.Tree))
    except (UnicodeError, ValueError, pygit2.GitError):
        return None
    return describe_index_conflicts(repo, g.merge_trees(*trees))


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
            if not modes <= set(REGULAR_MODES):
                kind = "type"
            elif any(blob_of(g, e.id).is_binary for e in (anc, ours, theirs) if e is not None):
                kind = "binary"
            elif anc is not None:
                regions = _regions(blob_of(g, anc.id), blob_of(g, ours.id), blob_of(g, theirs.id))
        found.append(FileConflict(path, kind, regions, paths))
    found.sort(key=lambda c: c.path)
    return found


def rewritten_lines(repo: Repo, base: str | None, earlier: str, later: str) -> tuple[Region, ...]:
    """Where ``later`` (a version built on ``earlier``) replaced or deleted lines that
    ``earlier`` had changed from ``base`` (blob ids; None: the file was new in ``earlier``).

    Each Region: ``theirs`` the lines of ``earlier`` both touched (``earlier``'s numbers),
    ``base`` what those lines replaced in ``base``, ``ours`` what ``later`` has there. Lines
    ``later`` only added, and lines of ``earlier`` it changed that ``earlier`` had not, are
    no rewrite: edits in turns that build on each other. Binary files have none."""
    g = repo.git
    try:
        blobs = [blob_of(g, pygit2.Oid(hex=b)) if b else None for b in (base, earlier, later)]
    except (KeyError, ValueError):
        return ()  # a version this clone lacks
    b0, b1, b2 = blobs
    if b1 is None or b2 is None or any(b is not None and b.is_binary for b in blobs):
        return ()
    if b0 is None:  # earlier added the file: all its lines are its change
        count = b1.data.count(b"\n") + (0 if b1.data.endswith(b"\n") or not b1.data else 1)
        changed = [(0, count, 0, count)]
    else:
        changed = [(h[2], h[3], h[0], h[1]) for h in _hunks(b0, b1) if h[3] > h[2]]
    found = []
    for old0, old1, new0, new1 in _hunks(b1, b2):
        if old1 == old0:
            continue  # a pure insertion: nothing of earlier's replaced
        for e0, e1, base0, base1 in changed:
            lo, hi = max(old0, e0), min(old1, e1)
            if lo < hi:
                found.append(Region((base0 + 1, base1), (new0 + 1, new1), (lo + 1, hi)))
    return tuple(found)


def _hunks(old: pygit2.Blob, new: pygit2.Blob) -> list[tuple[int, int, int, int]]:
    """``new``'s changes to ``old``: (old start, old end, new start, new end), 0-based, end exclusive."""
    patch = old.diff(new, context_lines=0, interhunk_lines=0)  # type: ignore[call-arg]
    out = []
    for h in patch.hunks:
        start = h.old_start if h.old_lines == 0 else h.old_start - 1
        new_start = h.new_start if h.new_lines == 0 else h.new_start - 1
        out.append((start, start + h.old_lines, new_start, new_start + h.new_lines))
    return out


def _regions(base: pygit2.Blob, ours: pygit2.Blob, theirs: pygit2.Blob) -> tuple[Region, ...]:
    """Where both sides changed the same or adjacent lines of the base (xdiff's rule)."""
    events = [(h, 0) for h in _hunks(base, ours)] + [(h, 1) for h in _hunks(base, theirs)]
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


def _span(group: list[tuple[tuple[int, int, int, int], int]], side: int) -> tuple[int, int]:
    hunks = [h for h, s in group if s == side]
    return min(h[2] for h in hunks) + 1, max(h[3] for h in hunks)
