"""The state branch ``gitpar/_state``: live coordination state, changed only by CAS commits.

Every change is one commit made in the object store (no checkout, no index) and published
by a compare-and-swap of the branch: the ref is locked (libgit2's reference transaction,
the same ``.lock`` file git itself honours), its current value compared with the commit
the change was computed from, and only then moved. A writer that lost the race re-reads
the new tip, recomputes its change and tries again after a short jittered pause. A crash
at any moment leaves the branch at its old or its new commit, never in between.

Writers on one machine queue on a file lock (``<git dir>/gitpar/state.lock``, :func:`take_queue`)
before the compare-and-swap, so they take turns instead of burning retries.

With a remote (``remote:`` in plan.md) the git server's ref update is the distributed
lock: a change is fetch, apply to the fetched tip, push with the expected old value
(``--force-with-lease``); a rejected push means another machine won, so fetch and apply
again. The local branch moves only after the push succeeded, and otherwise follows the
remote's tip (fast-forward only) each time it is fetched: the local branch is always the
last state seen on the remote, which is what reads and the hooks use.

The branch is recognisable: its root tree holds the marker file ``.gitpar-state``.
gitpar refuses to read or write a state ref without it (a branch replaced by another
one, say ``git update-ref refs/heads/gitpar/_state main``), and refuses to write on top of
history unrelated to the last tip it saw.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pygit2

from gitpar.errors import BadState, RemoteError, StateConflict, StateRewound, bad
from gitpar.store.repo import (
    STATE_BRANCH,
    STATE_REF,
    Repo,
    git,
    signature,
    subtree_id,
    swap_ref,
    walk_files,
)

Changes = Mapping[str, "str | None"]  # path -> new text, or None to delete

MARKER = ".gitpar-state"
MARKER_TEXT = ("gitpar state branch, format 1\n"
               "gitpar keeps live coordination state here (progress, locks, history) and\n"
               "changes it only by compare-and-swap commits. Do not commit to it by hand.\n")
README_TEXT = ("# gitpar state\n\nThis branch holds gitpar's live coordination state: progress "
               "and locks. gitpar changes it by compare-and-swap commits; do not commit to it "
               "by hand. `git log` of this branch is the audit log. `gitpar status --publish` "
               "rewrites this page with the current status.\n")


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


def recognisable(git_repo: pygit2.Repository, commit: pygit2.Oid) -> bool:
    """Whether ``commit``'s tree is a gitpar state tree: it holds the marker file, or it is
    a state tree from before the marker (its README says so and it holds nothing else)."""
    tree = git_repo[commit].peel(pygit2.Tree)
    if MARKER in tree:
        return True
    names = {entry.name for entry in tree}
    if "README.md" not in names or not names <= {"README.md", "progress", "locks", "history",
                                                 "integrated", "runs", "reviews", "report.html"}:
        return False
    data: bytes = git_repo[tree["README.md"].id].peel(pygit2.Blob).data
    return data.startswith(b"# gitpar state")


def _not_state(ref: str, commit: pygit2.Oid) -> BadState:
    return BadState(f"{ref} points at {str(commit)[:12]}, which is not a gitpar state branch "
                    f"(its tree has no {MARKER}); gitpar will neither read nor write it.\n"
                    f"  fix: put the branch back where it was: 'git reflog show {ref}' lists its "
                    f"earlier values, then 'git update-ref {ref} <the last good one>'")


def take_queue(path: str, timeout: float) -> Callable[[], None] | None:
    """Wait up to ``timeout`` seconds for the machine's writers' queue, the lock file at
    ``path``; the function that releases it, or None when another process kept it.

    On POSIX an exclusive ``flock`` of the file, as filelock's Unix lock takes it (so the two
    exclude each other), without importing filelock (a good part of a write command's start-up); a
    file replaced while waiting (deleted and made anew) is locked again. Elsewhere filelock.
    The queue only spares retries: the compare-and-swap of the ref is what keeps writes whole.
    """
    import os

    try:
        import fcntl
    except ImportError:  # not POSIX
        from filelock import FileLock, Timeout

        lock = FileLock(path, thread_local=False)  # one lock object per change: no per-thread bookkeeping
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            return None
        return lock.release
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        os.close(fd)
                        return None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            def release(fd: int = fd) -> None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

            return release
        os.close(fd)  # the file was replaced while we waited: queue on the one at the path now


class StateStore:
    """Read and change the state branch of ``repo`` (through its remote, when it has one)."""

    def __init__(self, repo: Repo, remote: str | None = None) -> None:
        self.repo = repo
        self.git = repo.git
        self.remote = remote if remote is not None else repo.state_remote()
        if self.remote is not None:
            self._check_remote(self.remote)

    # -- reading ------------------------------------------------------------------------

    @property
    def tracking_ref(self) -> str | None:
        """Where the last fetched remote state is kept (``refs/remotes/<remote>/gitpar/_state``)."""
        return f"refs/remotes/{self.remote}/{STATE_BRANCH}" if self.remote else None

    def _ref_target(self, name: str) -> pygit2.Oid | None:
        ref = self.git.references.get(name)
        return None if ref is None else ref.target  # type: ignore[return-value]

    def local_tip(self) -> pygit2.Oid | None:
        return self._ref_target(STATE_REF)

    def tip(self) -> pygit2.Oid | None:
        """The state to read: the local branch, else a remote's copy (a fresh clone, CI)."""
        local = self.local_tip()
        if local is not None:
            return local
        for name in self._remote_copies():
            found = self._ref_target(name)
            if found is not None:
                return found
        return None

    def _remote_copies(self) -> list[str]:
        names = [self.tracking_ref] if self.tracking_ref else []
        names.append(f"refs/remotes/origin/{STATE_BRANCH}")
        try:
            names += [r for r in self.git.references
                      if r.startswith("refs/remotes/") and r.endswith("/" + STATE_BRANCH)]
        except pygit2.GitError:
            pass
        return list(dict.fromkeys(names))

    def exists(self) -> bool:
        return self.tip() is not None

    def snapshot(self) -> Snapshot:
        """The current state; BadState when the ref is not a gitpar state branch."""
        tip = self.tip()
        if tip is not None and not recognisable(self.git, tip):
            raise _not_state(STATE_REF, tip)
        return Snapshot(self.git, tip)

    # -- the remote ----------------------------------------------------------------------

    def _check_remote(self, name: str) -> None:
        try:
            self.git.remotes[name]
        except (KeyError, ValueError, pygit2.GitError):
            known = ", ".join(r.name or "" for r in self.git.remotes) or "none"
            raise bad(".gitpar/plan.md", "remote", f"no git remote named {name!r} in this clone "
                      f"(remotes: {known})", f"add it with 'git remote add {name} URL', or set "
                      "'remote:' to one of the remotes (null: no remote)") from None

    def _git(self, args: list[str]) -> tuple[int, str]:
        # from the main worktree, where a relative remote URL (../origin.git) was meant from
        proc = git(args, self.repo.main_root or self.repo.common_dir, check=False)
        return proc.returncode, (proc.stderr + proc.stdout).strip()

    def fetch(self) -> pygit2.Oid | None:
        """Fetch the remote's state branch; its tip (None when the remote has none).

        The local branch follows it when that is a fast-forward; BadState when the two
        have diverged or the remote's is not a state branch. RemoteError when unreachable.
        """
        assert self.remote is not None and self.tracking_ref is not None
        seen = self._ref_target(self.tracking_ref)  # the remote's tip the last time this clone saw it
        code, text = self._git(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote,
                                f"+{STATE_REF}:{self.tracking_ref}"])
        return self._fetched(code, text, seen)

    def fetch_all(self, base: str) -> pygit2.Oid | None:
        """Fetch, in one ``git fetch`` of the remote, its state branch, its ``base`` branch
        and every ``gitpar/*`` stream branch into ``refs/remotes/<remote>/``; then as
        :meth:`fetch` (the state's tip; the local state branch follows it).

        Stream branches deleted on the remote are pruned from the remote-tracking refs; a
        remote without ``base`` is fetched without it.
        """
        assert self.remote is not None and self.tracking_ref is not None
        seen = self._ref_target(self.tracking_ref)  # the remote's tip the last time this clone saw it
        streams = f"+refs/heads/gitpar/*:refs/remotes/{self.remote}/gitpar/*"
        base_spec = f"+refs/heads/{base}:refs/remotes/{self.remote}/{base}"
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--prune", self.remote]
        code, text = self._git([*args, base_spec, streams])
        if code != 0 and _missing_ref(text):
            code, text = self._git([*args, streams])
        if code == 0 and self._ref_target(self.tracking_ref) is None:
            text = "couldn't find remote ref " + STATE_REF
            code = 1
        return self._fetched(code, text, seen)

    def _fetched(self, code: int, text: str, seen: pygit2.Oid | None) -> pygit2.Oid | None:
        assert self.remote is not None and self.tracking_ref is not None
        if code != 0:
            if _missing_ref(text):
                remote_tip = None
                if self._ref_target(self.tracking_ref) is not None:
                    self.git.references.delete(self.tracking_ref)
            else:
                raise RemoteError(f"cannot fetch {STATE_BRANCH} from the remote {self.remote!r}: "
                                  f"{_last_line(text)}; nothing was changed")
        else:
            remote_tip = self._ref_target(self.tracking_ref)
        self._note_fetched()
        if remote_tip is None:
            return None
        if not recognisable(self.git, remote_tip):
            raise BadState(f"{self.remote}'s {STATE_BRANCH} ({str(remote_tip)[:12]}) is not a gitpar "
                           f"state branch (no {MARKER} in its tree); nothing was changed.\n  fix: "
                           f"point 'remote:' in .gitpar/plan.md at the right remote, or delete that "
                           f"branch on {self.remote} ('git push {self.remote} :{STATE_BRANCH}') "
                           "if it is not needed")
        self._refuse_rewound(remote_tip, seen)
        self._follow(remote_tip)
        return remote_tip

    def _refuse_rewound(self, remote_tip: pygit2.Oid, seen: pygit2.Oid | None) -> None:
        """StateRewound when the remote no longer has a state this clone has seen there.

        Every state change with a remote is pushed before the local branch moves, so the
        remote's branch only ever moves forward: a tip that is not a descendant of the one
        last fetched (or pushed), or of the local branch when the two share history, means
        someone force-pushed it back (a push from this clone moves the tracking ref too, so
        the local branch is the record that counts). That state is not adopted: it could
        grant a lock a second time and erase the proof of work done under it. The tracking
        ref is put back, so every command keeps saying so until the copy is pushed back.
        """
        assert self.tracking_ref is not None
        known = None
        if seen is not None and seen != remote_tip and not self.git.descendant_of(remote_tip, seen):
            known = seen
        local = self.local_tip()
        if (local is not None and local != remote_tip and not self.git.descendant_of(remote_tip, local)
                and (known is None or local == known or self.git.descendant_of(local, known))):
            try:
                related = self.git.merge_base(local, remote_tip) is not None
            except (pygit2.GitError, KeyError):
                related = False
            if related or known is not None:
                known = local  # unrelated roots: _follow's "diverged"
        if known is None or self._remote_has(known):
            return
        if seen is not None:
            self.git.references.create(self.tracking_ref, seen, force=True)
        raise StateRewound(rewound_message(self.git, self.remote or "origin", remote_tip, known))

    def _remote_has(self, commit: pygit2.Oid) -> bool:
        """Whether the remote's state branch, asked again now, contains ``commit``: a fetch by
        one process that finished before another process's push, read after that push moved
        the local branch, is a race, not a rewind."""
        code, text = self._git(["ls-remote", self.remote or "origin", STATE_REF])
        tip = text.split()[0] if code == 0 and text.split() else ""
        try:
            now = pygit2.Oid(hex=tip)
        except (ValueError, TypeError):
            return False
        return now == commit or (now in self.git and self.git.descendant_of(now, commit))

    def _follow(self, remote_tip: pygit2.Oid) -> None:
        """Fast-forward the local branch to the remote's tip; BadState when they diverged."""
        local = self.local_tip()
        if local == remote_tip:
            return
        if local is not None and self.git.descendant_of(local, remote_tip):
            return  # local commits not yet published: the next change pushes them
        if local is not None and not self.git.descendant_of(remote_tip, local):
            raise BadState(f"the local {STATE_BRANCH} ({str(local)[:12]}) and {self.remote}'s "
                           f"({str(remote_tip)[:12]}) have diverged (a local state made before "
                           "'remote:' was set?); gitpar does not merge them silently.\n"
                           f"  fix: keep the local one aside and adopt the remote's: 'git branch -m "
                           f"{STATE_BRANCH} gitpar/_state-local' then 'gitpar init'; compare them "
                           f"with 'git log --oneline gitpar/_state-local {self.tracking_ref}'")
        self._swap(local, remote_tip, f"fetch: {self.remote}'s state")

    def _note_fetched(self) -> None:
        path = self.repo.gitpar_dir / "state-fetched"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{self.remote}\n", encoding="utf-8")
        except OSError:
            pass

    def fetched_age(self) -> float | None:
        """Seconds since the remote's state was last fetched (None: never, or no remote)."""
        if self.remote is None:
            return None
        try:
            return max(0.0, time.time() - (self.repo.gitpar_dir / "state-fetched").stat().st_mtime)
        except OSError:
            return None

    def refresh(self) -> Snapshot:
        """Fetch the remote's state first (when there is a remote), then read it."""
        if self.remote is not None:
            self.fetch()
        return self.snapshot()

    def _push(self, new: pygit2.Oid, expected: pygit2.Oid | None) -> bool:
        """Push ``new`` as the remote's state branch if it is still at ``expected``.

        False when another machine moved it first (lost the race); RemoteError otherwise.
        """
        assert self.remote is not None
        lease = f"--force-with-lease={STATE_REF}:{expected if expected is not None else ''}"
        code, text = self._git(["push", "--porcelain", "--quiet", lease, self.remote, f"{new}:{STATE_REF}"])
        if code == 0:
            return True
        verdict = next((line for line in text.splitlines() if line.startswith("!")), "")
        if any(w in verdict for w in _LOST_RACE):
            return False
        reason = verdict.split("\t")[-1] if verdict else _last_line(text)
        raise RemoteError(f"the remote {self.remote!r} refused the change to {STATE_BRANCH}: "
                          f"{reason}; nothing was changed locally")

    # -- writing ------------------------------------------------------------------------

    def update(self, change: Callable[[Snapshot], tuple[Changes, str] | None], *,
               timeout: float = 120.0) -> Snapshot:
        """Apply ``change`` as one commit, retrying on lost races until ``timeout``.

        ``change`` gets the current snapshot and returns ``(changes, message)``, or None
        when there is nothing to do; it may raise to refuse. It is called again with the
        new tip after a lost race, so it must compute from the snapshot alone.
        Returns the snapshot of the commit made (or the current one when nothing changed).
        """
        deadline = time.monotonic() + timeout
        self.repo.gitpar_dir.mkdir(parents=True, exist_ok=True)
        path = str(self.repo.gitpar_dir / "state.lock")
        release = take_queue(path, timeout)
        if release is None:
            raise StateConflict(f"another gitpar process on this machine held the state branch's "
                                f"queue ({path}) for {timeout:.0f}s; try again")
        try:
            if self.remote is not None:
                return self._update_remote(change, deadline, timeout)
            return self._update_local(change, deadline, timeout)
        finally:
            release()

    def _base(self, tip: pygit2.Oid | None, ref: str) -> Snapshot:
        if tip is not None and not recognisable(self.git, tip):
            raise _not_state(ref, tip)
        return Snapshot(self.git, tip)

    def _update_local(self, change: Callable[[Snapshot], tuple[Changes, str] | None],
                      deadline: float, timeout: float) -> Snapshot:
        pause = 0.002
        while True:
            snap = self._base(self.local_tip(), STATE_REF)
            made = self._make(snap, change)
            if made is None:
                return snap
            if self._swap(snap.commit, made, _summary(self.git, made)):
                return Snapshot(self.git, made)
            if time.monotonic() > deadline:
                raise StateConflict(f"the state branch {STATE_REF} kept changing for {timeout:.0f}s; "
                                    "try again")
            time.sleep(random.uniform(0, pause))
            pause = min(pause * 2, 0.1)

    def _update_remote(self, change: Callable[[Snapshot], tuple[Changes, str] | None],
                       deadline: float, timeout: float) -> Snapshot:
        pause = 0.02
        tries = 0
        while True:
            tries += 1
            remote_tip = self.fetch()
            local = self.local_tip()
            # the remote's tip, or local commits made on top of it that were never published
            base = local if local is not None and (remote_tip is None or local != remote_tip) else remote_tip
            snap = self._base(base, STATE_REF)
            made = self._make(snap, change)
            if made is None:
                if base is None or base == remote_tip:
                    return snap
                made = base  # publish what the remote has not seen yet
            if self._push(made, remote_tip):
                if self.tracking_ref is not None:
                    self.git.references.create(self.tracking_ref, made, force=True)
                self._advance_local(made)
                return Snapshot(self.git, made)
            if time.monotonic() > deadline or tries >= 200:
                raise StateConflict(f"{self.remote}'s {STATE_BRANCH} kept changing ({tries} tries in "
                                    f"{timeout:.0f}s); try again")
            time.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 1.5, 1.0)

    def _make(self, snap: Snapshot, change: Callable[[Snapshot], tuple[Changes, str] | None]
              ) -> pygit2.Oid | None:
        """The commit of ``change`` on ``snap`` (None when it changes nothing)."""
        result = change(snap)
        if result is None:
            return None
        changes, message = result
        if not changes:
            return None
        if snap.commit is None or MARKER not in self.git[snap.commit].peel(pygit2.Tree):
            # a new root is unique (two clones' roots made in one second are not one commit)
            import uuid  # only for the state branch's first commit (its import costs every writer)

            changes = {MARKER: MARKER_TEXT + f"root: {uuid.uuid4()}\n", **changes}
            if snap.commit is None and "README.md" not in changes:
                changes["README.md"] = README_TEXT
        return self._commit(snap, changes, message)

    def _advance_local(self, new: pygit2.Oid) -> None:
        """Move the local branch to ``new`` (pushed), unless it is already further on."""
        for _ in range(50):
            local = self.local_tip()
            if local == new or (local is not None and self.git.descendant_of(local, new)):
                return
            if self._swap(local, new, _summary(self.git, new)):
                return
        raise StateConflict(f"could not move the local {STATE_BRANCH} to {str(new)[:12]}, which "
                            f"{self.remote} already has; 'gitpar status' fetches it again")

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
        return swap_ref(self.repo, STATE_REF, new, old, message.splitlines()[0])


# how git reports a push that lost the race: the lease did not hold when the client
# looked (stale info), or another push moved the ref between the check and the server's
# update (the server's own compare-and-swap)
_LOST_RACE = ("(stale info)", "(fetch first)", "(non-fast-forward)", "cannot lock ref",
              "failed to update ref", "but expected", "incorrect old value")


def _only_in(git_repo: pygit2.Repository, tip: pygit2.Oid, hide: pygit2.Oid) -> list[pygit2.Oid]:
    """The commits reachable from ``tip`` and not from ``hide``, newest first."""
    walker = git_repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    try:
        walker.hide(hide)
    except (KeyError, pygit2.GitError):
        pass
    return [c.id for c in walker]


def rewound_message(git_repo: pygit2.Repository, remote: str, remote_tip: pygit2.Oid,
                    known: pygit2.Oid) -> str:
    """What to say when ``remote``'s state (now ``remote_tip``) lost commits this clone has."""
    missing = _only_in(git_repo, known, remote_tip)
    newest = missing[0] if missing else known
    extra = _only_in(git_repo, remote_tip, known)
    dest = f"refs/heads/{STATE_BRANCH}"
    text = (f"{remote}'s {STATE_BRANCH} was rewound: it is at {str(remote_tip)[:12]}, which lacks "
            f"{len(missing)} state commit{'s' if len(missing) != 1 else ''} this clone has seen there "
            f"(newest {str(newest)[:12]} '{_summary(git_repo, newest)}'); gitpar does not adopt it "
            "(it could grant a held lock again and erase the record of work done under a lock); "
            "nothing was changed.\n")
    if not extra:
        text += (f"  fix: push this clone's copy back (a fast-forward): 'git push {remote} "
                 f"{known}:{dest}'; then protect the branch on {remote} "
                 "(git config receive.denyNonFastForwards true and receive.denyDeletes true)")
    else:
        text += (f"  fix: {remote} has {len(extra)} commit{'s' if len(extra) != 1 else ''} made on the "
                 f"rewound state since (newest {str(extra[0])[:12]} '{_summary(git_repo, extra[0])}'); "
                 f"compare with 'git log --oneline {remote_tip} {known}', then push this clone's copy back "
                 f"with 'git push --force-with-lease={dest}:{remote_tip} {remote} {known}:{dest}' and "
                 "redo those changes; then protect the branch on the remote "
                 "(receive.denyNonFastForwards, receive.denyDeletes)")
    return text


def _summary(git_repo: pygit2.Repository, commit: pygit2.Oid) -> str:
    message: str = git_repo[commit].peel(pygit2.Commit).message or ""
    return (message.splitlines() or ["state"])[0]


def _missing_ref(text: str) -> bool:
    return "couldn't find remote ref" in text or "could not find remote ref" in text


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("To ") and line.strip() != "Done"]
    return lines[-1] if lines else "git gave no reason"


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


def push_branch(repo: Repo, remote: str, branch: str) -> tuple[bool, str]:
    """``git push <remote> refs/heads/<branch>`` (the hooks run, as for any push): whether
    the remote took it, and git's last words when it did not."""
    proc = git(["push", "--quiet", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}"],
               repo.main_root or repo.common_dir, check=False)
    if proc.returncode == 0:
        tip = repo.git.references[f"refs/heads/{branch}"].peel(pygit2.Commit).id
        repo.git.references.create(f"refs/remotes/{remote}/{branch}", tip, force=True)
        return True, ""
    text = (proc.stderr + proc.stdout).strip()
    verdict = next((line for line in text.splitlines() if line.startswith("!")), "")
    lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
    return False, (verdict.split("\t")[-1] if verdict else "") + ("\n" + "\n".join(lines[-12:]) if lines else "")
