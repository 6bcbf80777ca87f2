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
from gitpar.store.naming import FETCHED_ENV
from gitpar.store.repo import Repo, Worktree, git, no_git_env, swap_ref
from gitpar.store.worktrees import files_in_the_way


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
    _refuse_overwriting_ignored(branch, old, new, checked_out)
    with held_interrupts():
        # before the ref moves, so that nothing but starting read-tree lies between the two:
        # read-tree -m wants the index's file metadata current (a copied or touched
        # worktree's is not, and the dirty check reads without refreshing it)
        for wt in checked_out:
            _wait_for_index(wt)
            _git_shielded(["update-index", "-q", "--refresh"], wt.path)
        # a kill between the ref's move and read-tree would leave the worktree's index at
        # ``old`` under a HEAD at ``new`` (a staged revert of what came in): the record lets
        # the next command on the branch, or doctor --fix, finish the move
        record = _record_move(repo, branch, old, new, checked_out) if checked_out else None
        if not swap_ref(repo, ref, new, old, message):
            _drop_record(record)
            raise Refused(f"{branch} moved while gitpar was working on it; run the command again")
        for wt in checked_out:
            proc = _git_shielded(["read-tree", "-m", "-u", str(old), str(new)], wt.path)
            if proc.returncode != 0:
                swap_ref(repo, ref, old, new, f"{message} (undone)")
                _drop_record(record)
                raise Refused(f"could not update the files of {wt.path} for {branch}: "
                              f"{proc.stderr.strip()}; {branch} and the worktree are unchanged")
        _drop_record(record)


PENDING_MOVES = "gitpar/pending-moves"  # under the common git dir: one JSON record per branch


def _record_path(repo: Repo, branch: str) -> Path:
    return Path(repo.common_dir) / PENDING_MOVES / (branch.replace("/", "%") + ".json")


def _record_move(repo: Repo, branch: str, old: pygit2.Oid, new: pygit2.Oid,
                 checked_out: Sequence[Worktree]) -> Path:
    import json
    import os

    path = _record_path(repo, branch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"branch": branch, "old": str(old), "new": str(new),
                               "worktrees": [str(wt.path) for wt in checked_out]}), encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _drop_record(record: Path | None) -> None:
    if record is not None:
        record.unlink(missing_ok=True)


class PendingMove:
    """A branch move whose worktree update did not finish (gitpar was killed in between)."""

    __slots__ = ("branch", "old", "new", "worktree", "state")

    def __init__(self, branch: str, old: str, new: str, worktree: str, state: str) -> None:
        # state: half-moved (index and files still at old: can be finished) | finished |
        # changed (the worktree's index is neither: someone worked there since; reported only)
        self.branch, self.old, self.new, self.worktree, self.state = branch, old, new, worktree, state


def pending_moves(repo: Repo, branch: str | None = None) -> list[PendingMove]:
    """The recorded moves not finished, of ``branch`` (short name) or of every branch."""
    import json

    folder = Path(repo.common_dir) / PENDING_MOVES
    files = [_record_path(repo, branch)] if branch else sorted(folder.glob("*.json"))
    out = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
            name, old, new, trees = data["branch"], data["old"], data["new"], list(data["worktrees"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for wt in trees:
            out.append(PendingMove(name, old, new, wt, _move_state(repo, name, old, new, Path(wt))))
    return out


def _move_state(repo: Repo, branch: str, old: str, new: str, wt: Path) -> str:
    tip = repo.tip(f"refs/heads/{branch}")
    if tip is None or str(tip) != new or not wt.exists():
        return "finished"  # the branch moved on (or back), or the worktree is gone: nothing to finish
    head = _git_shielded(["symbolic-ref", "-q", "HEAD"], wt)
    if head.stdout.strip() != f"refs/heads/{branch}":
        return "finished"
    if _git_shielded(["diff-index", "--cached", "--quiet", new, "--"], wt).returncode == 0:
        return "finished"
    if _git_shielded(["diff-index", "--cached", "--quiet", old, "--"], wt).returncode == 0:
        return "half-moved"
    return "changed"


def unmerged_index(wt: Path) -> str | None:
    """The parent of HEAD's merge whose tree the index of worktree ``wt`` still is (a move that
    stopped before its read-tree), or None: the index is HEAD's, or not a parent's."""
    if _git_shielded(["diff-index", "--cached", "--quiet", "HEAD", "--"], wt).returncode == 0:
        return None
    parents = _git_shielded(["rev-parse", "HEAD^@"], wt).stdout.split()
    if len(parents) < 2:
        return None
    for parent in parents:
        if _git_shielded(["diff-index", "--cached", "--quiet", parent, "--"], wt).returncode == 0:
            return parent
    return None


def finish_moves(repo: Repo, branch: str | None = None) -> list[PendingMove]:
    """Finish the recorded moves of ``branch`` (or all): a worktree still at the old side gets
    ``read-tree -m -u old new`` (which refuses rather than overwrite a local change); records
    of finished moves are dropped. Returns the moves it could not finish."""
    left = []
    for move in pending_moves(repo, branch):
        if move.state == "half-moved":
            wt = Path(move.worktree)
            _git_shielded(["update-index", "-q", "--refresh"], wt)
            proc = _git_shielded(["read-tree", "-m", "-u", move.old, move.new], wt)
            if proc.returncode == 0:
                move.state = "finished"
        if move.state != "finished":
            left.append(move)
    done = {m.branch for m in pending_moves(repo, branch)} - {m.branch for m in left}
    for name in done:
        _drop_record(_record_path(repo, name))
    return left


def _refuse_overwriting_ignored(branch: str, old: pygit2.Oid, new: pygit2.Oid,
                                checked_out: Sequence[Worktree]) -> None:
    """Refused when the move would overwrite ignored files in a worktree of ``branch``:
    read-tree replaces them without a word (git counts them expendable), and they are
    someone's ``.env`` or local config, of which git keeps no copy."""
    for wt in checked_out:
        found = files_in_the_way(wt.path, str(old), str(new))
        if found:
            shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
            raise Refused(f"moving {branch} would overwrite ignored files in {wt.path} that git keeps no "
                          f"copy of ({shown}); move them aside, then run the command again; {branch} "
                          "and the worktree are unchanged")


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


def remove_temp_worktrees(repo: Repo, paths: Sequence[Path]) -> None:
    """Remove several worktrees made by ``add_temp_worktree`` at once: their folders, then
    ONE ``git worktree prune`` for git's records of them (not a ``worktree remove`` each)."""
    if not paths:
        return
    with _WORKTREE_TURNS:
        for path in paths:
            shutil.rmtree(path.parent, ignore_errors=True)
        _git_shielded(["worktree", "prune"], repo.common_dir)


def reset_temp_worktree(path: Path, commit: pygit2.Oid) -> None:
    """Move a worktree made by ``add_temp_worktree`` to ``commit``, exactly its tree: the
    tracked files checked out by force, every other file (untracked, ignored, nested
    repositories) removed — what a new worktree of ``commit`` would hold, reused (the merge
    queue's gates: no worktree made and removed per gate)."""
    for args in (["checkout", "--quiet", "--detach", "--force", str(commit)], ["clean", "-ffdxq"]):
        proc = _git_shielded(args, path)
        if proc.returncode != 0:
            raise GitparError(f"cannot reset the temporary worktree {path} to {str(commit)[:10]}: "
                              f"{proc.stderr.strip()}")


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


def push_with_lease(repo: Repo, remote: str, commit: pygit2.Oid, branch: str,
                    old: pygit2.Oid, *, fetched: bool = False) -> tuple[bool, str]:
    """Push ``commit`` to ``remote``'s ``branch`` only if it is still at ``old`` (compare and
    swap: ``--force-with-lease``; the push is a fast-forward, the lease makes it atomic).
    Whether it landed, and git's message. The pre-push hook runs as for any push; ``fetched``:
    this command fetched the remote's state already, so the hook judges with that fetch."""
    ref = f"refs/heads/{branch}"
    proc = git(["push", "--porcelain", f"--force-with-lease={ref}:{old}", remote, f"{commit}:{ref}"],
               repo.common_dir, check=False, env={FETCHED_ENV: "1"} if fetched else None)
    return proc.returncode == 0, (proc.stderr or proc.stdout).strip()


def fetch_branch(repo: Repo, remote: str, branch: str) -> pygit2.Oid | None:
    """Fetch ``remote``'s ``branch`` into ``refs/remotes/<remote>/<branch>``; its tip (None:
    the remote has no such branch)."""
    ref = f"refs/remotes/{remote}/{branch}"
    proc = git(["fetch", "--quiet", remote, f"+refs/heads/{branch}:{ref}"], repo.common_dir, check=False)
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            return None
        raise GitparError(f"cannot fetch {branch} from {remote}: {proc.stderr.strip()}")
    return repo.tip(ref)
