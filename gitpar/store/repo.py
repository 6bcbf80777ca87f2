"""The repository: finding it, its worktrees, reading the plan from a folder or a ref.

The only module family that talks to pygit2 or runs ``git``; pygit2 errors become gitpar
errors here, naming the ref or file.

Warnings have one channel: ``Repo.warnings``, the list of the repository a command works
on. Whatever the user should see as a warning (something that did not stop the command),
in the store, the core or a plugin, goes there through :meth:`Repo.warn`, which keeps each
text once. The command line prints that list once, on stderr as ``warning: ...``, when the
command ends, whatever its outcome or output format (``cli.session.show_warnings``, from
``main()``'s ``finally``); nothing else prints a warning. A JSON result with a ``warnings``
field fills it from the same list, so ``--json`` and stderr say the same thing. Plugin
loading, which may run before any repository is open, keeps its warnings waiting
(``plugins.loading.warn``) and hands them to the repository it is next given
(``plugins.loading.hand_over``); whatever still waits when the command ends is printed
with the rest.
"""

from __future__ import annotations

import os
import subprocess
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import pygit2

from gitpar.errors import GitparError, bad
from gitpar.store.naming import stream_of_branch as stream_of_branch  # the one parser, re-exported
from gitpar.store.quickgit import common_dir

STATE_BRANCH = "gitpar/_state"
STATE_REF = "refs/heads/gitpar/_state"
STREAM_PREFIX = "refs/heads/gitpar/"
PLAN_DIR = ".gitpar"  # the plan's folder in a commit's tree (core.plan names its files)

Oid = pygit2.Oid  # for annotations in the layers above, which do not import pygit2
Index = pygit2.Index


def valid_branch_name(name: str) -> bool:
    """Whether ``name`` is a valid branch name (git's check-ref-format rules)."""
    return bool(pygit2.reference_is_valid_name(f"refs/heads/{name}"))


def walk_files(git: pygit2.Repository, tree_id: pygit2.Oid, prefix: str = "") -> Iterator[tuple[str, pygit2.Oid]]:
    """Every file (blob or link) under the tree ``tree_id``: its path (below ``prefix``) and id."""
    stack = [(prefix, tree_id)]
    while stack:
        folder, oid = stack.pop()
        for entry in git[oid].peel(pygit2.Tree):
            path = f"{folder}/{entry.name}" if folder else entry.name or ""
            if entry.type_str == "tree":
                stack.append((path, entry.id))
            else:
                yield path, entry.id


def subtree_id(git: pygit2.Repository, commit: pygit2.Oid, path: str) -> pygit2.Oid | None:
    """The id of the folder ``path`` in ``commit``'s tree, or None when there is none."""
    try:
        entry = git[commit].peel(pygit2.Tree)[path]
    except KeyError:
        return None
    return entry.id if entry.type_str == "tree" else None


def blob_at(git: pygit2.Repository, commit: pygit2.Oid, path: str) -> bytes | None:
    """The content of the file ``path`` in ``commit``'s tree (None when it is no file there)."""
    try:
        entry = git[commit].peel(pygit2.Tree)[path]
    except (KeyError, ValueError):
        return None
    if entry.type_str != "blob":
        return None
    data: bytes = git[entry.id].peel(pygit2.Blob).data
    return data


def no_git_env() -> dict[str, str]:
    """The environment without GIT_* variables that a hook inherits from git.

    Inside a hook git sets GIT_DIR, GIT_INDEX_FILE and friends for the repository being
    committed to; a git command run for another worktree would wrongly inherit them.
    Identity, config and tracing variables are kept.
    """
    keep = {"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_SYSTEM", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_TERMINAL_PROMPT",
            "GIT_EDITOR", "GIT_TRACE", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR"}
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in keep}


def git(args: Sequence[str], cwd: Path | str, *, check: bool = True,
        input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``git args`` in ``cwd`` with a clean environment (plus ``env``); GitparError on failure."""
    proc = subprocess.run(["git", *args], cwd=cwd, env={**no_git_env(), **(env or {})}, capture_output=True,
                          text=True, input=input)
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        raise GitparError(f"git {' '.join(args[:3])} failed in {cwd}: {msg}")
    return proc


def signature(repo: pygit2.Repository) -> pygit2.Signature:
    """Who makes state commits: git's usual identity (environment, then config), else gitpar.

    What the configuration says is read once per repository object (a state change signs
    both its commit and its reflog entry); the environment is read every time, and the
    signature's time is always now."""
    name = os.environ.get("GIT_COMMITTER_NAME") or os.environ.get("GIT_AUTHOR_NAME")
    email = os.environ.get("GIT_COMMITTER_EMAIL") or os.environ.get("GIT_AUTHOR_EMAIL")
    if not (name and email):
        key = (name, email)
        known = _identities.get(repo)
        if known is not None and known[0] == key:
            name, email = known[1]
        else:
            found = (name, email)
            try:
                config = repo.config
                found = (name or config["user.name"], email or config["user.email"])
            except (KeyError, pygit2.GitError):
                pass
            _identities[repo] = (key, found)
            name, email = found
    return pygit2.Signature(name or "gitpar", email or "gitpar@localhost")


# repository -> (the environment's identity, the identity found with its configuration)
_identities: weakref.WeakKeyDictionary[pygit2.Repository, tuple[tuple[str | None, str | None],
                                                                tuple[str | None, str | None]]] = \
    weakref.WeakKeyDictionary()


def swap_ref(repo: Repo, ref: str, new: pygit2.Oid, old: pygit2.Oid | None, message: str) -> bool:
    """Move ``ref`` to ``new`` only if it still points at ``old`` (None: only if it is absent):
    the one compare-and-swap of a ref, for the state branch and the streams' branches alike.

    libgit2's reference transaction locks the ref (git's own ``.lock`` file), compares and
    moves it, with a reflog entry by :func:`signature`; pygit2 before 1.19 (the newest on
    Python 3.10) has none, and ``git update-ref NEW OLD`` does the same. False when the
    ref moved, or another process holds its lock right now; a lock file older than
    :data:`STALE_REF_LOCK_S` was left by a process killed while it held it, and is removed
    (with a warning) before one more try.
    """
    for _ in range(2):  # once more after breaking a lock file left by a process that died
        done = _swap_ref_once(repo, ref, new, old, message)
        if done or not _break_stale_ref_lock(repo, ref):
            return done
    return False


STALE_REF_LOCK_S = 10.0  # git holds a ref's lock for milliseconds: one this old was left by a crash


def _break_stale_ref_lock(repo: Repo, ref: str) -> bool:
    """Remove ``ref``'s lock file when it is older than :data:`STALE_REF_LOCK_S` (a process
    killed while it held it: git asks for it to be removed by hand); True when removed.
    Nothing is lost: the ref itself is untouched, the file only held a value not written."""
    lock = repo.common_dir / f"{ref}.lock"
    try:
        age = time.time() - lock.stat().st_mtime
        if age < STALE_REF_LOCK_S:
            return False
        lock.unlink()
    except OSError:
        return False
    repo.warn(f"removed {lock}, left {age:.0f}s ago by a process that stopped while it "
              f"was moving {ref}")
    return True


def _swap_ref_once(repo: Repo, ref: str, new: pygit2.Oid, old: pygit2.Oid | None, message: str) -> bool:
    if not hasattr(repo.git, "transaction"):
        expected = str(old) if old is not None else "0" * 40
        proc = git(["update-ref", "-m", message, ref, str(new), expected], repo.common_dir, check=False)
        return proc.returncode == 0
    sig = signature(repo.git)
    # the reflog entry's identity: pygit2's set_target(signature=...) cannot take one, so
    # set the repository's identity, which libgit2 uses instead of user.name
    repo.git.set_ident(sig.name, sig.email)
    try:
        with repo.git.transaction() as txn:
            txn.lock_ref(ref)
            current = repo.git.references.get(ref)
            if (None if current is None else current.target) != old:
                return False
            txn.set_target(ref, new, message=message)
    except pygit2.GitError:
        return False  # another process holds the ref's lock file
    return True


@dataclass(frozen=True)
class Worktree:
    """One worktree: its folder, the branch it has checked out, its admin folder."""

    path: Path
    branch: str | None  # refs/heads/... or None when detached
    gitdir: Path  # .git/worktrees/<name>, or the common git dir for the main worktree
    locked: bool = False  # 'git worktree lock': keep its entry even while the folder is gone


def _head_branch(head: Path) -> str | None:
    """The branch a HEAD file names (``refs/heads/...``), None when detached or unreadable."""
    try:
        text = head.read_text().strip()
    except OSError:
        return None
    return text[len("ref: "):] if text.startswith("ref: refs/heads/") else None


class HasWarnings(Protocol):
    warnings: list[str]


@dataclass
class Repo:
    """A repository as gitpar sees it: the object store, the main worktree, where we are."""

    git: pygit2.Repository
    common_dir: Path
    main_root: Path | None  # None for a bare repository
    here: Path | None  # the root of the worktree the command runs in
    here_gitdir: Path
    warnings: list[str] = field(default_factory=list)  # the warnings channel: see the module's docstring

    @property
    def name(self) -> str:
        root = self.main_root or self.common_dir
        name = root.name
        return name[:-4] if name.endswith(".git") else name

    @property
    def gitpar_dir(self) -> Path:
        """Where gitpar keeps local files (logs, caches) inside the common git directory."""
        return self.common_dir / "gitpar"

    def state_remote(self) -> str | None:
        """The git remote the state branch is coordinated through (None: this clone only).

        The store knows no plan; ``gitpar.core.repo.Repo`` answers from ``remote:`` in plan.md.
        """
        return None

    def current_branch(self) -> str | None:
        """The branch checked out in the worktree we run in (None when detached)."""
        head = self.here_gitdir / "HEAD"
        try:
            text = head.read_text().strip()
        except OSError:
            return None
        if text.startswith("ref: refs/heads/"):
            return text[len("ref: refs/heads/"):]
        return None

    def stream_tip(self, stream: str) -> pygit2.Oid | None:
        """The tip of ``gitpar/<stream>``: the local branch, else the remote's copy (the
        plan's remote, else origin) — another machine's stream seen from this clone or CI."""
        found = None
        for prefix in self._stream_ref_prefixes():
            tip = self.tip(prefix + stream)
            if tip is not None:
                found = self._newer(found, tip)
        return found

    def _newer(self, found: pygit2.Oid | None, tip: pygit2.Oid) -> pygit2.Oid:
        """The first copy found, unless a later one (a remote's) is ahead of it: the work was
        pushed from another clone, and this clone's branch is older."""
        if found is None:
            return tip
        if found != tip and self.git.descendant_of(tip, found):
            return tip
        return found

    def _stream_ref_prefixes(self) -> list[str]:
        """Where a stream's branch is looked for, in order: the local branch, then the
        copies of the plan's remote and of origin."""
        remotes = dict.fromkeys([self.state_remote() or "origin", "origin"])
        return ["refs/heads/gitpar/", *(f"refs/remotes/{r}/gitpar/" for r in remotes)]

    def stream_tips(self) -> dict[str, pygit2.Oid]:
        """:meth:`stream_tip` of every stream that has a branch, from one listing of the
        refs (not two lookups per stream of the plan)."""
        names = self.git.listall_references()
        tips: dict[str, pygit2.Oid] = {}
        for prefix in self._stream_ref_prefixes():  # the first place that has the stream wins
            for name in names:
                if name.startswith(prefix):
                    tip = self.tip(name)
                    if tip is not None:
                        stream = name[len(prefix):]
                        tips[stream] = self._newer(tips.get(stream), tip)
        return tips

    def recorded_base(self) -> str | None:
        """The base branch ``gitpar init`` recorded (``gitpar.base`` in the repository's common
        config, where no stream's commit can move it), or None in a clone that has no record."""
        try:
            value = self.git.config["gitpar.base"]
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return str(value).strip() or None

    def record_base(self, base: str) -> None:
        """Record ``base`` as the base branch (``gitpar.base`` in the common config)."""
        try:
            self.git.config["gitpar.base"] = base
        except (ValueError, pygit2.GitError) as exc:
            raise bad(".git/config", "gitpar.base", f"cannot record the base branch: {exc}",
                      "check that .git/config is writable") from exc

    def default_branch(self) -> str | None:
        """The branch origin's HEAD points at (a clone's default branch), or None."""
        try:
            ref = self.git.references.get("refs/remotes/origin/HEAD")
        except (ValueError, pygit2.GitError):
            return None
        target = getattr(ref, "target", None) if ref is not None else None
        if isinstance(target, str) and target.startswith("refs/remotes/origin/"):
            return target[len("refs/remotes/origin/"):]
        return None

    def current_stream(self) -> str | None:
        """The stream whose worktree we run in, from its branch ``gitpar/<name>``."""
        return stream_of_branch(self.current_branch())

    def tip(self, ref: str) -> pygit2.Oid | None:
        """The commit a branch or ref points at, or None when it does not exist."""
        for name in (ref, f"refs/heads/{ref}"):
            try:
                reference = self.git.references.get(name)
            except (ValueError, pygit2.GitError):
                reference = None
            if reference is not None:
                try:
                    return reference.peel(pygit2.Commit).id
                except (pygit2.GitError, ValueError, KeyError):
                    return None
        return None

    def resolve_ci(self, rev: str) -> pygit2.Oid:
        """Like resolve(), also trying ``origin/<rev>``: a CI checkout often has no local branches."""
        try:
            return self.resolve(rev)
        except GitparError:
            for candidate in (f"origin/{rev}", f"refs/remotes/origin/{rev}"):
                try:
                    return self.resolve(candidate)
                except GitparError:
                    continue
            raise

    def resolve(self, rev: str) -> pygit2.Oid:
        """The commit ``rev`` names (branch, ref, sha, ``HEAD~2``); BadInput when none.

        ``HEAD`` is the HEAD of the worktree gitpar runs in, not of the main worktree.
        """
        if rev == "HEAD" or rev.startswith(("HEAD~", "HEAD^", "HEAD@")):
            try:
                head = (self.here_gitdir / "HEAD").read_text().strip()
            except OSError:
                head = ""
            if head:
                rev = (head[len("ref: "):] if head.startswith("ref: ") else head) + rev[len("HEAD"):]
        try:
            obj = self.git.revparse_single(rev)
            return obj.peel(pygit2.Commit).id
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise bad(None, "revision", f"{rev!r} names no commit in {self.common_dir}",
                      "check the branch or ref name (fetch it first if it is remote)") from None

    def worktrees(self) -> list[Worktree]:
        """Every worktree git knows, the main one first: read from the files ``git worktree
        list`` reads (``.git/worktrees/<name>/{HEAD,gitdir,locked}``), without running it,
        whether or not each folder still exists. The one listing of worktrees."""
        out: list[Worktree] = []
        if self.main_root is not None:
            out.append(Worktree(self.main_root, _head_branch(self.common_dir / "HEAD"), self.common_dir))
        admin = self.common_dir / "worktrees"
        try:
            entries = sorted(os.scandir(admin), key=lambda e: e.name)
        except OSError:
            entries = []
        for entry in entries:
            try:
                gitdir = Path(entry.path, "gitdir").read_text().strip()
            except OSError:
                continue
            dotgit = Path(gitdir) if os.path.isabs(gitdir) else Path(entry.path, gitdir)
            out.append(Worktree(Path(os.path.normpath(dotgit.parent)), _head_branch(Path(entry.path, "HEAD")),
                                Path(entry.path), locked=Path(entry.path, "locked").exists()))
        return out

    def stream_worktrees(self) -> dict[str, Path]:
        """Worktrees by the stream whose branch (``gitpar/<name>``) each has checked out."""
        out: dict[str, Path] = {}
        for wt in self.worktrees():
            stream = stream_of_branch(wt.branch)
            if stream is not None:
                out[stream] = wt.path
        return out

    def worktree_admin_name(self, path: Path) -> str | None:
        """The name of the worktree entry (``.git/worktrees/<name>``) for ``path``."""
        want = os.path.realpath(path)
        for wt in self.worktrees():
            if wt.gitdir != self.common_dir and os.path.realpath(wt.path) == want:
                return wt.gitdir.name
        return None

    def subtree_at(self, commit: pygit2.Oid, path: str) -> str | None:
        """The id of the folder ``path`` in ``commit``'s tree (None when there is none)."""
        found = subtree_id(self.git, commit, path)
        return None if found is None else str(found)

    def files_at(self, commit: pygit2.Oid) -> Iterator[tuple[str, pygit2.Oid]]:
        """Every file in ``commit``'s tree: its path and blob id."""
        return walk_files(self.git, self.git[commit].peel(pygit2.Tree).id)

    def warn(self, text: str) -> None:
        """Put ``text`` on the warnings channel (once), for the command line to show when the
        command ends; see the module's docstring."""
        if text not in self.warnings:
            self.warnings.append(text)

    def _noted(self, plan: _Warned) -> _Warned:
        """``plan`` after keeping its warnings for the command line to show."""
        for w in plan.warnings:
            self.warn(w)
        return plan

    # -- the plan ---------------------------------------------------------------------

    def plan_files_in_dir(self, root: Path) -> dict[str, str]:
        """Plan files (``.gitpar/...`` to text) from a worktree's folder."""
        files: dict[str, str] = {}
        stack = [PLAN_DIR]
        # plain strings and scandir: a plan may have thousands of stream files
        while stack:
            rel_dir = stack.pop()
            try:
                entries = list(os.scandir(os.path.join(root, rel_dir)))
            except OSError:
                continue
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}"
                if entry.is_dir():
                    stack.append(rel)
                elif entry.name.endswith(".md"):
                    with open(entry.path, "rb") as f:
                        data = f.read()
                    try:
                        files[rel] = data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise bad(rel, None, "is not UTF-8 text", "save the file as UTF-8") from None
        return files

    def blob_at(self, commit: pygit2.Oid, path: str) -> bytes | None:
        """The content of the file ``path`` as committed in ``commit`` (None when it has none)."""
        return blob_at(self.git, commit, path)

    def text_at(self, commit: pygit2.Oid, path: str) -> str | None:
        """The text of the file ``path`` as committed in ``commit`` (None when it has none)."""
        try:
            entry = self.git[commit].peel(pygit2.Commit).tree[path]
        except (KeyError, ValueError, pygit2.GitError):
            return None
        if entry.type_str != "blob":
            return None
        try:
            return bytes(self.git[entry.id].peel(pygit2.Blob).data).decode("utf-8")
        except UnicodeDecodeError:
            raise bad(path, None, "is not UTF-8 text", "save the file as UTF-8") from None

    def plan_files_at(self, commit: pygit2.Oid) -> dict[str, str]:
        """Plan files (``.gitpar/...`` to text) as committed in ``commit``."""
        files: dict[str, str] = {}
        top = subtree_id(self.git, commit, PLAN_DIR)
        if top is None:
            return files
        for path, oid in walk_files(self.git, top, PLAN_DIR):
            if path.endswith(".md"):
                data = self.git[oid].peel(pygit2.Blob).data
                try:
                    files[path] = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise bad(path, None, "is not UTF-8 text", "save the file as UTF-8") from None
        return files


R = TypeVar("R", bound=Repo)
_Warned = TypeVar("_Warned", bound="HasWarnings")


# The class a repository is opened as by :func:`repo_around`: the core's (``gitpar.core.repo``
# sets it when imported), so a layer that may not import the core (the plugins) can open one.
around_factory: type[Repo] | None = None


def repo_around(cwd: str) -> Repo | None:
    """The repository around ``cwd`` as :data:`around_factory` makes it; None when there is
    none, or when no factory was set (no core loaded: nothing asks about a repository)."""
    if around_factory is None:
        return None
    try:
        return open_repo(cwd, factory=around_factory)
    except GitparError:
        return None


def open_repo(cwd: Path | str | None = None, factory: type[R] = Repo) -> R:  # type: ignore[assignment]
    """The repository around ``cwd`` (made by ``factory``, a Repo class); BadInput when there is none."""
    start = Path(cwd or os.getcwd())
    try:
        found = pygit2.discover_repository(str(start))
    except pygit2.GitError:
        found = None
    if found is None:
        raise bad(None, None, f"{start} is not inside a git repository",
                  "run gitpar from inside a repository (or 'git init' one first)")
    # libgit2 gives the git directory and the work tree as real paths (it resolves symlinks
    # when it finds or opens a repository): resolving them again is a walk of each path
    here_gitdir = Path(found)
    common = Path(common_dir(str(here_gitdir)))
    try:
        repo = pygit2.Repository(str(common))
    except pygit2.GitError as exc:
        raise GitparError(f"cannot open the repository at {common}: {exc}") from None
    main_root = None if repo.is_bare else Path(repo.workdir)
    here: Path | None = None
    if here_gitdir == common:
        here = main_root
    else:
        gitdir_file = here_gitdir / "gitdir"
        try:
            here = Path(gitdir_file.read_text().strip()).parent.resolve()
        except OSError:
            here = None
    return factory(git=repo, common_dir=common, main_root=main_root, here=here, here_gitdir=here_gitdir)


def require_main_root(repo: Repo) -> Path:
    if repo.main_root is None:
        raise bad(None, None, "this is a bare repository, which has no worktree for streams",
                  "run this command in a clone with a worktree ('git clone' it, or 'git worktree add')")
    return repo.main_root
