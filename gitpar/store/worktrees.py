"""Stream branches and worktrees: create, inspect, remove — never losing work."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2

from gitpar.errors import GitparError, Refused
from gitpar.store import cache
from gitpar.store.repo import Repo, Worktree, git


def branch_name(stream: str) -> str:
    return f"gitpar/{stream}"


def create_branch(repo: Repo, stream: str, base: str, *, from_tip: pygit2.Oid | None = None) -> pygit2.Oid:
    """Branch ``gitpar/<stream>`` at ``from_tip`` (a remote's copy of the branch), else at the
    base tip; kept as is if it already exists. Returns the commit the stream started from."""
    tip = repo.tip(f"refs/heads/{branch_name(stream)}")
    if tip is not None:
        return tip
    if from_tip is not None:
        repo.git.branches.local.create(branch_name(stream), repo.git[from_tip].peel(pygit2.Commit))
        base_tip = repo.tip(base)
        merge_base = repo.git.merge_base(base_tip, from_tip) if base_tip is not None else None
        return merge_base or from_tip
    base_tip = repo.tip(base)
    if base_tip is None:
        raise Refused(f"the base branch {base!r} does not exist; commit to it first "
                      "(or set 'base' in .gitpar/plan.md)")
    repo.git.branches.local.create(branch_name(stream), repo.git[base_tip].peel(pygit2.Commit))
    return base_tip


def add_worktree(repo: Repo, stream: str, path: Path) -> Path:
    """Check out ``gitpar/<stream>`` in a new worktree at ``path``."""
    if path.exists() and any(path.iterdir()):
        raise Refused(f"{path} already exists and is not empty; move it away, or set "
                      "'worktrees' in .gitpar/plan.md to another place")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.rmdir()
    admin = stream
    n = 1
    while (repo.common_dir / "worktrees" / admin).exists():
        n += 1
        admin = f"{stream}-{n}"
    ref = repo.git.references[f"refs/heads/{branch_name(stream)}"]
    try:
        repo.git.add_worktree(admin, str(path), ref)
        # libgit2 writes the new index without git's cache of its trees (the TREE
        # extension): every 'git status' there would then compare the whole tree with the
        # index, three times the work in a big tree, until a commit writes it
        index = pygit2.Repository(str(path)).index
        index.write_tree()
        index.write()
    except pygit2.GitError as exc:
        raise GitparError(f"cannot create the worktree {path} for gitpar/{stream}: {exc}") from None
    return path


def dirty_files(path: Path) -> list[str]:
    """Uncommitted, staged, untracked (not ignored) and unmerged paths in the worktree at
    ``path``: what ``git status`` lists, with the user's own status settings (untracked
    cache, fsmonitor). The one dirty check: finish, remove, sync, integrate and status."""
    # --no-optional-locks: never take the index's lock to refresh it, so scanning another
    # stream's worktree cannot make its agent's own git command fail
    proc = git(["--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all"], path)
    items = [item for item in proc.stdout.split("\0") if item]
    out, skip = [], False
    for item in items:
        if skip:  # the source path of a rename
            skip = False
            continue
        out.append(item[3:])
        skip = item[0] in "RC"
    return sorted(out)


def scan_fast_paths(repo: Repo) -> tuple[bool, bool]:
    """Whether git can scan this repository's worktrees the fast ways: the untracked cache
    (``core.untrackedCache``, or ``feature.manyFiles``) and a file system monitor
    (``core.fsmonitor``: the builtin daemon or a hook), as its configuration says."""
    config = repo.git.config

    def value(name: str) -> str:
        try:
            return str(config[name]).strip().lower()
        except (KeyError, ValueError, pygit2.GitError):
            return ""

    yes = ("true", "yes", "on", "1")
    untracked = value("core.untrackedcache") in yes or (value("core.untrackedcache") in ("", "keep")
                                                         and value("feature.manyfiles") in yes)
    monitor = value("core.fsmonitor") not in ("", "false", "no", "off", "0")
    return untracked, monitor


def index_entries(gitdir: Path) -> int | None:
    """How many files the index of the worktree whose git directory is ``gitdir`` tracks
    (its header's count, 12 bytes read); None when it has no readable index."""
    try:
        with open(gitdir / "index", "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"DIRC":
        return None
    return int.from_bytes(head[8:12], "big")


def dirty_scan(path: Path, *, untracked_cache: bool = False) -> list[str]:
    """:func:`dirty_files` for ``status``: with the untracked cache, untracked folders are
    listed as the folder (``--untracked-files=normal``), the one mode in which git before
    2.46 uses that cache; whether the worktree is dirty is the same either way."""
    if not untracked_cache:
        return dirty_files(path)
    proc = git(["--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=normal"], path)
    items = [item for item in proc.stdout.split("\0") if item]
    out, skip = [], False
    for item in items:
        if skip:
            skip = False
            continue
        out.append(item[3:])
        skip = item[0] in "RC"
    return sorted(out)


def ignored_files(path: Path, main_root: Path | None = None) -> list[str]:
    """Ignored files in the worktree at ``path`` that may be someone's work (``.env``, a local
    config): removing the worktree would delete them, and git keeps no copy.

    Not counted: ignored directories (``.venv/``, ``node_modules/``, ``__pycache__/``: what a
    build or ``setup:`` makes again), a file with the same content in the main worktree (a
    ``copy:`` of it), and a file ignored through a ``gitpar-exclude`` file in the worktree's
    git directory (what gitpar's plugins write there, such as gitpar-agents' ``AGENTS.md``).
    """
    proc = git(["--no-optional-locks", "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                "--directory", "--no-empty-directory"], path, check=False)
    if proc.returncode != 0:
        return []
    items = [item for item in proc.stdout.split("\0") if item]
    found = [item for item in items if not item.endswith("/")]
    # git lists a folder whose every file is ignored as the folder; only one that a pattern
    # ignores itself (.venv/) is build output, the others' files are listed one by one
    folders = [item for item in items if item.endswith("/")]
    if folders:
        itself = git(["check-ignore", "-z", "--stdin"], path, check=False,
                     input="\0".join(f.rstrip("/") for f in folders) + "\0").stdout.split("\0")
        inside = [f for f in folders if f.rstrip("/") not in itself]
        if inside:
            more = git(["--no-optional-locks", "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                        "--", *inside], path, check=False)
            found += [item for item in more.stdout.split("\0") if item]
    if not found:
        return found
    why = git(["check-ignore", "-z", "-v", "--stdin"], path, check=False, input="\0".join(found) + "\0")
    fields = why.stdout.split("\0")
    plugin = {fields[i + 3] for i in range(0, len(fields) - 3, 4)
              if fields[i].replace("\\", "/").endswith("/gitpar-exclude")}
    out = []
    for rel in found:
        if rel in plugin:
            continue
        if main_root is not None:
            try:
                if (main_root / rel).read_bytes() == (path / rel).read_bytes():
                    continue
            except OSError:
                pass
        out.append(rel)
    return sorted(out)


def files_in_the_way(path: Path, old: str, new: str) -> list[str]:
    """Files that moving the worktree at ``path`` from commit ``old`` to ``new`` would
    overwrite although git tracks them in neither the index nor ``old``: ignored files
    (git treats them as expendable; they are someone's ``.env`` or local config)."""
    proc = git(["diff", "--no-ext-diff", "--no-renames", "--name-only", "--diff-filter=A", "-z", old, new],
               path, check=False)
    if proc.returncode != 0:
        return []
    return sorted(rel for rel in proc.stdout.split("\0")
                  if rel and os.path.lexists(path / rel) and not (path / rel).is_dir())


def commits_on_no_other_branch(repo: Repo, branch: str) -> list[str]:
    """Commits of ``branch`` that no other local branch (or the state branch) contains."""
    tip = repo.tip(f"refs/heads/{branch}")
    if tip is None:
        return []
    walker = repo.git.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    for ref in repo.git.references:
        if not ref.startswith("refs/heads/") and not ref.startswith("refs/remotes/"):
            continue
        if ref == f"refs/heads/{branch}":
            continue
        try:
            other = repo.git.references[ref].peel(pygit2.Commit).id
        except (pygit2.GitError, ValueError):
            continue
        walker.hide(other)
    return [str(c.id)[:10] + " " + c.message.splitlines()[0] if c.message else str(c.id)[:10]
            for c in walker]


def worktrees(repo: Repo) -> list[Worktree]:
    """The worktrees whose folders exist (the main one first): ``Repo.worktrees`` less those
    whose folder is gone."""
    return [wt for wt in repo.worktrees() if wt.path.exists()]


def worktrees_on(repo: Repo, branch: str) -> list[Worktree]:
    """The worktrees that have ``branch`` (short name) checked out."""
    ref = f"refs/heads/{branch}"
    return [w for w in worktrees(repo) if w.branch == ref]


def delete_merged_branch(repo: Repo, branch: str) -> str | None:
    """Delete ``branch`` when another branch contains all of its commits and no worktree has
    it checked out; else keep it and say why (None: deleted)."""
    tip = repo.tip(f"refs/heads/{branch}")
    if tip is None:
        return None
    unique = commits_on_no_other_branch(repo, branch)
    if unique:
        return f"{len(unique)} commits of {branch} are on no other branch"
    for wt in worktrees_on(repo, branch):
        return f"{branch} is checked out in {wt.path}"
    ref = repo.git.references.get(f"refs/heads/{branch}")
    if ref is None or ref.target != tip:  # moved meanwhile: judge it again next time
        return f"{branch} moved while gitpar looked at it"
    ref.delete()
    return None


def remove_worktree(repo: Repo, path: Path) -> None:
    """Delete the worktree folder and its entry; the branch stays.

    The folder's ``.git`` goes last: a removal stopped half way (a kill) leaves a worktree
    git still knows, whose deleted files the next removal sees as changes; one stopped after
    the folder went leaves only the entry, which this prunes.
    """
    admin = repo.worktree_admin_name(path)
    if path.is_dir():
        for entry in os.scandir(path):
            if entry.name == ".git":
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        shutil.rmtree(path)  # .git last
    if admin is not None:
        try:
            repo.git.lookup_worktree(admin).prune(True)
        except pygit2.GitError:
            git(["worktree", "prune"], repo.common_dir, check=False)


@dataclass(frozen=True)
class Evidence:
    """What git shows about a stream: the facts a progress claim is checked against."""

    branch_exists: bool
    tip: str | None = None
    ahead: int = 0
    behind: int = 0
    files_changed: int = 0
    last_commit: int | None = None  # unix time of the branch tip, if it has own commits


def evidence(repo: Repo, stream: str, base_tip: pygit2.Oid | None,
             changed_cache: dict[str, int] | None = None) -> Evidence:
    """Commits ahead of and behind the base, files changed, last commit time.

    ``changed_cache`` maps ``merge-base..tip`` to a file count: the count of an (immutable)
    pair of commits never changes, and diffing large trees is the costly part.
    """
    tip = repo.stream_tip(stream)
    if tip is None:
        return Evidence(branch_exists=False)
    if base_tip is None:
        return Evidence(branch_exists=True, tip=str(tip))
    ahead, behind = repo.git.ahead_behind(tip, base_tip)
    files = 0
    last = None
    if ahead:
        merge_base = repo.git.merge_base(tip, base_tip)
        key = f"{merge_base}..{tip}"
        if changed_cache is not None and key in changed_cache:
            files = changed_cache[key]
        else:
            new_tree = repo.git[tip].peel(pygit2.Tree)
            if merge_base is None:
                files = sum(1 for _ in new_tree)
            else:
                files = len(repo.git[merge_base].peel(pygit2.Tree).diff_to_tree(new_tree))
            if changed_cache is not None:
                changed_cache[key] = files
        last = int(repo.git[tip].peel(pygit2.Commit).commit_time)
    return Evidence(branch_exists=True, tip=str(tip), ahead=ahead, behind=behind,
                    files_changed=files, last_commit=last)


RANGES_FILE = "ranges.marshal"  # under <git dir>/gitpar/cache/
KEEP_COUNTS = 5000


def load_ranges(repo: Repo) -> dict[str, Any]:
    """The commit-range cache: what ``status`` worked out about ranges of commits, which
    never change. ``{"paths": {stream: (base tip, branch tip, paths touched)}, "counts":
    {"merge-base..tip": files changed}}``, all commit ids and plain data; empty parts when
    there is none to read."""
    data = cache.read_marshal(repo.gitpar_dir / "cache" / RANGES_FILE)
    paths = data.get("paths") if isinstance(data, dict) else None
    counts = data.get("counts") if isinstance(data, dict) else None
    return {"paths": paths if isinstance(paths, dict) else {},
            "counts": counts if isinstance(counts, dict) else {}}


def save_ranges(repo: Repo, ranges: dict[str, Any]) -> None:
    """Keep ``ranges`` (:func:`load_ranges`'s shape), the ``KEEP_COUNTS`` newest counts."""
    counts = ranges["counts"]
    if len(counts) > KEEP_COUNTS:
        counts = dict(list(counts.items())[-KEEP_COUNTS:])
    cache.write_marshal(repo.gitpar_dir / "cache" / RANGES_FILE, {"paths": ranges["paths"], "counts": counts})


def missing_worktrees(repo: Repo) -> list[tuple[str, str]]:
    """Worktree entries (``.git/worktrees/<name>``) whose folder is gone: (entry, folder)."""
    return [(wt.gitdir.name, str(wt.path)) for wt in repo.worktrees()
            if wt.gitdir != repo.common_dir and not wt.path.exists() and not wt.locked]


def prune_worktrees(repo: Repo) -> None:
    """Drop the entries of worktrees whose folder is gone (``git worktree prune``)."""
    git(["worktree", "prune"], repo.main_root or repo.common_dir)


def unpushed(repo: Repo, remote: str, branch: str) -> int | None:
    """Commits on ``branch`` not on ``remote``'s copy of it (None: the remote has no copy)."""
    local = repo.tip(f"refs/heads/{branch}")
    theirs = repo.tip(f"refs/remotes/{remote}/{branch}")
    if local is None:
        return 0
    if theirs is None:
        return None
    ahead, _behind = repo.git.ahead_behind(local, theirs)
    return int(ahead)
