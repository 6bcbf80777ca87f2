"""What a worktree now holds that its HEAD does not: the paths ``gitpar guard --changed`` judges.

Through git (``git status --porcelain -z``), never a file walk: git's index knows which files
are unchanged without reading them, and its ignore rules say what is not the stream's work.
Like :mod:`gitpar.store.staged`, it runs git with :func:`gitpar.store.quickgit.git_output`
(no ``subprocess``): the check runs after every tool call an agent makes.
"""

from __future__ import annotations

from gitpar.errors import GitparError
from gitpar.store.quickgit import git_output

# the kinds of change, in the user's words (the guard's message names them)
ADDED, MODIFIED, DELETED, CREATED = "added", "modified", "deleted", "created"


STATUS_ARGS = ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=dirty"]


class PendingChanges:
    """``git status`` started in the background (:func:`start_worktree_changes`): the guard
    reads its rules while git walks the index, and :meth:`result` waits for the answer."""

    def __init__(self, root: str) -> None:
        import os

        self.root = root
        self._pid = None
        if not hasattr(os, "posix_spawnp"):
            self._done = git_output(STATUS_ARGS, root)
            return
        out_r, out_w = os.pipe()
        try:
            self._pid = os.posix_spawnp("git", ["git", "-C", root, *STATUS_ARGS], os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_CLOSE, out_r)])
        except OSError:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
        self._out = out_r

    def result(self) -> list[tuple[str, str]]:
        """``(path, kind)`` as :func:`worktree_changes` says."""
        import os

        if self._pid is None:
            code, out = self._done
        else:
            chunks = []
            try:
                while chunk := os.read(self._out, 1 << 16):
                    chunks.append(chunk)
            finally:
                os.close(self._out)
            _, status = os.waitpid(self._pid, 0)
            code, out = os.waitstatus_to_exitcode(status), b"".join(chunks)
        if code != 0:
            raise GitparError(f"git status failed in {self.root} (exit {code}; git's message is above)")
        return _parse(out)


def start_worktree_changes(root: str) -> PendingChanges:
    """:func:`worktree_changes`, started now and answered by ``.result()``."""
    return PendingChanges(root)


def worktree_changes(root: str) -> list[tuple[str, str]]:
    """``(path, kind)`` for every file the worktree at ``root`` (index and files) changes
    against HEAD: modified, added (staged new), deleted, and created (untracked, each file
    named: ``--untracked-files=all``). Ignored files are not listed; renames count as a
    deletion and a creation (``--no-renames``), both of which are writes."""
    return start_worktree_changes(root).result()


def _parse(out: bytes) -> list[tuple[str, str]]:
    changes = []
    for item in out.decode("utf-8", errors="surrogateescape").split("\0"):
        if len(item) < 4:
            continue
        xy, path = item[:2], item[3:]
        if xy == "??":
            kind = CREATED
        elif "D" in xy:
            kind = DELETED
        elif xy[0] == "A":
            kind = ADDED
        else:
            kind = MODIFIED
        changes.append((path, kind))
    return changes


def worktree_equal_to(root: str, rev: str, paths: list[str]) -> set[str]:
    """Those of ``paths`` (tracked in ``rev`` or deleted) whose content in the worktree is
    exactly their content in ``rev`` (absent from both counts as equal): undone, or never
    changed relative to ``rev`` — the commit check's net-effect rule."""
    if not paths:
        return set()
    code, out = git_output(["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", rev, "--",
                            *(f":(literal){p}" for p in paths)], root)
    if code != 0:
        return set()  # rev unreadable: nothing is known to be equal, nothing is excused
    differ = {p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p}
    return {p for p in paths if p not in differ}
