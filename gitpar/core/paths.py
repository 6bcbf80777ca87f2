"""A path the user names, as a repository path: the one check of what is inside the repository."""

from __future__ import annotations

import os
from pathlib import Path

from gitpar.errors import bad


def repo_path(raw: str, cwd: Path, root: Path) -> str:
    """``raw`` (relative to ``cwd``, or absolute) as a repository path; BadInput if outside."""
    if not raw or not raw.strip():
        raise bad(None, "path", "the path is empty", "name a file inside the repository")
    if "\0" in raw or "\n" in raw:
        raise bad(None, "path", f"{raw!r} contains a control character", "name a file inside the repository")
    full = os.path.normpath(os.path.join(cwd, raw))
    root_s = os.path.normpath(str(root))
    rel = os.path.relpath(full, root_s)
    if rel == "." or rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
        raise bad(None, "path", f"{raw!r} is outside the repository {root_s}",
                  "name a file inside the repository, relative to where you are")
    rel = rel.replace(os.sep, "/")
    if rel == ".git" or rel.startswith(".git/"):
        raise bad(None, "path", f"{raw!r} is inside .git, which gitpar does not lock",
                  "name a tracked file of the repository")
    return rel
