"""The few git operations that apply a merge's result, or keep its conflict, in worktrees.

``move_branch`` moves a branch by compare-and-swap together with the worktrees that have
it checked out (``git read-tree -m -u``, which refuses rather than overwrite a change);
``held_interrupts`` keeps a Ctrl-C from separating a ref from what goes with it. A test
gate runs in a temporary worktree (``add_temp_worktree``), and ``keep_conflict`` runs the
real ``git merge``/``git rebase`` when the user asked to keep a conflict. These run only
when the result is known to be clean, or when the user asked for the conflict.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pygit2

from gitpar.errors import GitparError, Refused
from gitpar.store.repo import Repo, Worktree, git, no_git_env, swap_ref


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


# gates run in threads (the merge queue's -j): git's worktree bookkeeping (.git/worktrees,
# prune) is not meant for concurrent add/remove/prune in one repository, so they take turns
_WORKTREE_TURNS = threading.Lock()


def add_temp_worktree(repo: Repo, commit: pygit2.Oid) -> Path:
    """A detached worktree of ``commit`` in a new temporary folder (see remove_temp_worktree).
    Safe to call from several threads at once."""
    parent = Path(tempfile.mkdtemp(prefix="gitpar-test-"))
    path = parent / "tree"
    with _WORKTREE_TURNS:
        proc = _git_shielded(["worktree", "add", "--detach", "--quiet", str(path), str(commit)],
                             repo.common_dir)
    if proc.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise GitparError(f"cannot create a temporary worktree for {str(commit)[:10]}: "
                          f"{proc.stderr.strip()}")
    return path


def remove_temp_worktree(repo: Repo, path: Path) -> None:
    """Remove a worktree made by ``add_temp_worktree`` and its folder (thread-safe too)."""
    with _WORKTREE_TURNS:
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


def merge_head(worktree: Path) -> pygit2.Oid | None:
    """The commit a merge left unfinished in ``worktree`` is bringing in, if any."""
    proc = git(["rev-parse", "-q", "--verify", "MERGE_HEAD^{commit}"], worktree, check=False)
    return pygit2.Oid(hex=proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None
