"""The state branch ``gitpar/_state``: live coordination state, changed only by CAS commits.

Every change is one commit made in the object store (no checkout, no index) and published
by a compare-and-swap of the branch: the ref is locked (libgit2's reference transaction,
the same ``.lock`` file git itself honours), its current value compared with the commit
the change was computed from, and only then moved. A writer that lost the race re-reads
the new tip, recomputes its change and tries again after a short jittered pause. A crash
at any moment leaves the branch at its old or its new commit, never in between.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pygit2

from gitpar.errors import StateConflict
from gitpar.store.repo import STATE_REF, Repo, subtree_id, walk_files

Changes = Mapping[str, "str | None"]  # path -> new text, or None to delete

# Renders README.md from the branch's files after a change (repo, files, message); set by
# the command line (gitpar.core.state_readme.register) so the branch page on GitHub
# always shows the current state. None: the README is left as it is.
README_RENDERER: Callable[[Repo, dict[str, str], str], str] | None = None


@dataclass(frozen=True)
class Snapshot:
    """The state branch at one commit: read files from it without a checkout."""

    repo: pygit2.Repository
    commit: pygit2.Oid | None

    def read(self, path: str) -> str | None:
        """The text of ``path`` on the state branch, or None."""
        if self.commit is None:
            return None
        tree = self.repo[self.commit].peel(pygit2.Tree)
        try:
            entry = tree[path]
        except KeyError:
            return None
        blob = self.repo[entry.id]
        if not isinstance(blob, pygit2.Blob):
            return None
        data: bytes = blob.data
        return data.decode("utf-8", errors="replace")

    def list(self, folder: str) -> dict[str, str]:
        """Every file under ``folder`` (recursively), by its path on the branch, to its text."""
        if self.commit is None:
            return {}
        top = subtree_id(self.repo, self.commit, folder)
        return {} if top is None else self._texts(walk_files(self.repo, top, folder))

    def list_all(self) -> dict[str, str]:
        """Every file on the branch at this commit, by path."""
        if self.commit is None:
            return {}
        return self._texts(walk_files(self.repo, self.repo[self.commit].peel(pygit2.Tree).id))

    def _texts(self, files: Iterator[tuple[str, pygit2.Oid]]) -> dict[str, str]:
        out: dict[str, str] = {}
        for path, oid in files:
            data: bytes = self.repo[oid].peel(pygit2.Blob).data
            out[path] = data.decode("utf-8", errors="replace")
        return out

    @property
    def time(self) -> int | None:
        if self.commit is None:
            return None
        return int(self.repo[self.commit].peel(pygit2.Commit).commit_time)


def signature(repo: pygit2.Repository) -> pygit2.Signature:
    """Who makes state commits: git's usual identity (environment, then config), else gitpar."""
    name = os.environ.get("GIT_COMMITTER_NAME") or os.environ.get("GIT_AUTHOR_NAME")
    email = os.environ.get("GIT_COMMITTER_EMAIL") or os.environ.get("GIT_AUTHOR_EMAIL")
    if not (name and email):
        try:
            config = repo.config
            name = name or config["user.name"]
            email = email or config["user.email"]
        except (KeyError, pygit2.GitError):
            pass
    return pygit2.Signature(name or "gitpar", email or "gitpar@localhost")


class StateStore:
    """Read and change the state branch of ``repo``."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.git = repo.git

    def tip(self) -> pygit2.Oid | None:
        ref = self.git.references.get(STATE_REF)
        return None if ref is None else ref.target  # type: ignore[return-value]

    def exists(self) -> bool:
        return self.tip() is not None

    def snapshot(self) -> Snapshot:
        return Snapshot(self.git, self.tip())

    def update(self, change: Callable[[Snapshot], tuple[Changes, str] | None], *,
               timeout: float = 120.0) -> Snapshot:
        """Apply ``change`` as one commit, retrying on lost races until ``timeout``.

        ``change`` gets the current snapshot and returns ``(changes, message)``, or None
        when there is nothing to do; it may raise to refuse. It is called again with the
        new tip after a lost race, so it must compute from the snapshot alone.
        Returns the snapshot of the commit made (or the current one when nothing changed).
        """
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            snap = self.snapshot()
            result = change(snap)
            if result is None:
                return snap
            changes, message = result
            if not changes:
                return snap
            if README_RENDERER is not None and "README.md" not in changes:
                files = {p: t for p, t in snap.list_all().items() if p != "README.md"}
                for path, text in changes.items():
                    if text is None:
                        files.pop(path, None)
                    else:
                        files[path] = text
                changes = {**changes, "README.md": README_RENDERER(self.repo, files, message)}
            new = self._commit(snap, changes, message)
            if self._swap(snap.commit, new, message):
                return Snapshot(self.git, new)
            if time.monotonic() > deadline:
                raise StateConflict(f"the state branch {STATE_REF} kept changing for {timeout:.0f}s; "
                                    "try again")
            time.sleep(random.uniform(0, pause))
            pause = min(pause * 2, 0.1)

    def _commit(self, snap: Snapshot, changes: Changes, message: str) -> pygit2.Oid:
        base_tree = self.git[snap.commit].peel(pygit2.Tree).id if snap.commit else None
        tree = self._apply(base_tree, _nest(changes))
        sig = signature(self.git)
        parents = [snap.commit] if snap.commit else []
        return self.git.create_commit(None, sig, sig, message, tree, parents)

    def _apply(self, tree_id: pygit2.Oid | None, changes: dict[str, object]) -> pygit2.Oid:
        """A new tree: ``tree_id`` with nested ``changes`` applied (None deletes)."""
        tree = self.git[tree_id].peel(pygit2.Tree) if tree_id is not None else None
        builder = self.git.TreeBuilder(tree) if tree is not None else self.git.TreeBuilder()
        for name, value in changes.items():
            existing = None
            if tree is not None:
                try:
                    existing = tree[name]
                except KeyError:
                    existing = None
            if isinstance(value, dict):
                sub_id = existing.id if existing is not None and existing.type_str == "tree" else None
                new_sub = self._apply(sub_id, value)
                if len(self.git[new_sub].peel(pygit2.Tree)) == 0:
                    if existing is not None:
                        builder.remove(name)
                else:
                    builder.insert(name, new_sub, pygit2.GIT_FILEMODE_TREE)
            elif value is None:
                if existing is not None:
                    builder.remove(name)
            else:
                assert isinstance(value, str)
                blob = self.git.create_blob(value.encode("utf-8"))
                builder.insert(name, blob, pygit2.GIT_FILEMODE_BLOB)
        return builder.write()

    def _swap(self, old: pygit2.Oid | None, new: pygit2.Oid, message: str) -> bool:
        """Move the state branch from ``old`` to ``new`` if it is still at ``old``."""
        if not hasattr(self.git, "transaction"):
            return self._swap_with_git(old, new, message)
        sig = signature(self.git)
        # the reflog entry's identity: pygit2's set_target(signature=...) cannot take one,
        # so set the repository's identity, which libgit2 uses instead of user.name
        self.git.set_ident(sig.name, sig.email)
        try:
            with self.git.transaction() as txn:
                txn.lock_ref(STATE_REF)
                current = self.tip()
                if current != old:
                    raise _LostRace
                txn.set_target(STATE_REF, new, message=message.splitlines()[0])
        except _LostRace:
            return False
        except pygit2.GitError:
            # someone else holds the ref's lock file right now
            return False
        return True


    def _swap_with_git(self, old: pygit2.Oid | None, new: pygit2.Oid, message: str) -> bool:
        """The same compare-and-swap through ``git update-ref NEW OLD`` (git locks the ref,
        compares and moves it), for pygit2 before 1.19, which has no reference transactions
        (and is the newest pygit2 on Python 3.10)."""
        from gitpar.store.repo import git

        expected = str(old) if old is not None else "0" * 40
        proc = git(["update-ref", "-m", message.splitlines()[0], STATE_REF, str(new), expected],
                   self.repo.common_dir, check=False)
        return proc.returncode == 0


class _LostRace(Exception):
    pass


def _nest(changes: Changes) -> dict[str, object]:
    root: dict[str, object] = {}
    for path, value in changes.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)
            node = child
        node[parts[-1]] = value
    return root
