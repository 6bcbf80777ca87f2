"""What is staged: the paths the next commit changes, as the pre-commit hook sees them."""

from __future__ import annotations

import os

from gitpar.errors import GitparError
from gitpar.store.quickgit import git_dir, git_output


def _diff_names(cwd: str, *args: str) -> set[str]:
    # The environment is passed on untouched: inside a hook GIT_INDEX_FILE names the index
    # the commit is being made from (`git commit -a` and `git commit PATH` use a temporary one).
    code, out = git_output(["diff", "--cached", "--name-only", "-z", "--no-renames",
                            "--no-ext-diff", "--ignore-submodules=none", *args], cwd)
    if code != 0:
        raise GitparError(f"git diff --cached failed in {cwd} (exit {code}; git's message is above)")
    return {p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p}


def staged_paths(cwd: str) -> list[str]:
    """Paths the staged change adds, deletes or modifies (both sides of a rename).

    During a merge, only paths whose staged content differs from both sides: what the
    merge brings in from the other branch was judged there; resolutions are judged here.
    """
    paths = _diff_names(cwd)
    if paths and os.path.isfile(os.path.join(git_dir(cwd), "MERGE_HEAD")):
        paths &= _diff_names(cwd, "MERGE_HEAD")
    return sorted(paths)


def merge_base(cwd: str, a: str, b: str) -> str | None:
    """The merge base of two revisions (None when they share no history or one is missing)."""
    code, out = git_output(["merge-base", a, b], cwd)
    text = out.decode("ascii", errors="replace").strip()
    return text if code == 0 and text else None


def staged_equal_to(cwd: str, rev: str, paths: list[str]) -> set[str]:
    """Those of ``paths`` whose staged content is exactly their content in ``rev`` (a path
    absent from both counts as equal): staging them brings nothing new relative to ``rev``."""
    if not paths:
        return set()
    code, out = git_output(["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff",
                            rev, "--", *(f":(literal){p}" for p in paths)], cwd)
    if code != 0:
        return set()  # rev unreadable: nothing is known to be equal, nothing is excused
    differ = {p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p}
    return {p for p in paths if p not in differ}
