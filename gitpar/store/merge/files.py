"""One file of a merge: where it is in a tree, its content, its three-way merge.

``merge_file`` merges one file's three versions with ``git merge-file``; ``FileRule`` says
how a path merges beyond git's default (other common bases to try, union). The small
readers at the top (a path's entry in a tree, a blob, the empty tree) are what the rest of
``store.merge`` compares trees with.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitpar.store.repo import Repo, no_git_env

REGULAR_MODES = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)


def tree_entry(tree: pygit2.Tree | None, path: str) -> tuple[int, pygit2.Oid] | None:
    """``path``'s (mode, id) in ``tree``; None when it is not there."""
    if tree is None:
        return None
    try:
        obj = tree[path]
    except KeyError:
        return None
    return obj.filemode, obj.id


def tree_of(repo: pygit2.Repository, commit: pygit2.Oid | None) -> pygit2.Tree | None:
    """``commit``'s tree (None for no commit)."""
    return None if commit is None else repo[commit].peel(pygit2.Tree)


def blob_of(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Blob:
    """The blob ``oid``."""
    return repo[oid].peel(pygit2.Blob)


def empty_tree(repo: pygit2.Repository) -> pygit2.Tree:
    """The empty tree: the common base of two sides that share no history."""
    return repo[repo.TreeBuilder().write()].peel(pygit2.Tree)


def filemode(value: int) -> pygit2.enums.FileMode:
    """A tree entry's mode as pygit2's ``FileMode``."""
    return pygit2.enums.FileMode(value)


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


@dataclass(frozen=True)
class FileRule:
    """How to merge one path beyond git's default: other versions to try as the common base
    (blob ids, in order; one that merges cleanly wins), and ``union`` (keep both sides'
    lines of a conflicting hunk, git's union merge)."""

    bases: tuple[str, ...] = ()
    union: bool = False
