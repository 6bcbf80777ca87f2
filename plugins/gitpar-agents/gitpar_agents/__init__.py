"""gitpar-agents: when a stream starts, brief its agent through AGENTS.md (and CLAUDE.md).

Coding agents read ``AGENTS.md`` (Claude Code reads ``CLAUDE.md``) from the folder they
work in. This plugin writes the stream's brief there — its scope, what it owns and
shares, the rules, and the commands to report progress and take locks — when
``gitpar start`` creates (or reuses) the worktree.

The files are not the stream's work: they are listed in the repository's
``info/exclude`` (git reads only the common one, not a linked worktree's own), so they
never show in ``git status``, never get committed, and ``gitpar finish`` does not see a
dirty worktree. A file of that name tracked by the repository is left alone.

Options in ``.gitpar/plan.md``::

    plugins:
      agents: {files: [AGENTS.md]}     # default: [AGENTS.md, CLAUDE.md]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitpar.plugins import hookimpl

__version__ = "0.1.0"
DEFAULT_FILES = ("AGENTS.md", "CLAUDE.md")
EXCLUDE_HEADER = "# gitpar-agents: stream briefs written into worktrees (never committed)"


def files_of(plan: Any) -> list[str]:
    """The file names to write, from ``plugins: {agents: {files: [...]}}`` in plan.md."""
    from gitpar.errors import bad

    settings = plan.settings.extra.get("plugins") or {}
    options = (settings.get("agents") or {}) if isinstance(settings, Mapping) else {}
    files = options.get("files", list(DEFAULT_FILES)) if isinstance(options, Mapping) else None
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) and f and "/" not in f and f not in (".", "..")
                                              for f in files):
        raise bad(".gitpar/plan.md", "plugins.agents.files", f"must be a list of file names, got {files!r}",
                  "write it like files: [AGENTS.md, CLAUDE.md]")
    return files


def render(name: str, brief: Mapping[str, Any], rendered: str, port: int) -> str:
    """The text of AGENTS.md: the brief as gitpar renders it, then how to work in the worktree."""
    commands = brief.get("commands") or {}
    lines = [
        f"<!-- Written by gitpar-agents when stream {name} started. Not committed (listed in the "
        f"repository's info/exclude); 'gitpar start {name}' writes it again. -->",
        "",
        rendered.rstrip("\n"),
        "",
        "## Working in this worktree",
        f"- This folder is the worktree of stream `{name}`, on branch `{brief.get('branch', 'gitpar/' + name)}`: "
        "commit here, and only the files this stream owns.",
        "- Before changing a shared file, take its lock: `gitpar lock PATH --reason 'why'`; "
        "release it when done: `gitpar unlock PATH`. `gitpar who PATH` says who owns or holds a path.",
        f"- Report progress as you go: `{commands.get('progress', 'gitpar progress --completion N')}`.",
        f"- When something blocks you: `{commands.get('blocked', 'gitpar progress --blocked WHAT')}`.",
        f"- Servers you start listen on port `{port}` (`$GITPAR_PORT`), so streams do not collide.",
        "- When the work is done and committed: `gitpar finish`.",
    ]
    return "\n".join(lines) + "\n"


def ignore(common_dir: Path, names: Sequence[str]) -> None:
    """List ``/<name>`` in ``<common git dir>/info/exclude`` (once) so git never shows them."""
    exclude = common_dir / "info" / "exclude"
    try:
        text = exclude.read_text(encoding="utf-8")
    except OSError:
        text = ""
    have = {line.strip() for line in text.splitlines()}
    missing = [f"/{n}" for n in names if f"/{n}" not in have]
    if not missing:
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    block = ([] if EXCLUDE_HEADER in have else [EXCLUDE_HEADER]) + missing
    sep = "" if not text or text.endswith("\n") else "\n"
    exclude.write_text(text + sep + "\n".join(block) + "\n", encoding="utf-8")


def tracked(repo: Any, branch: str, name: str) -> bool:
    """Whether ``name`` is a file at the root of ``branch``'s tree."""
    import pygit2

    try:
        tree = repo.git.revparse_single(f"refs/heads/{branch}").peel(pygit2.Tree)
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return name in tree


@hookimpl
def gitpar_prepare_worktree(name: str, worktree: Path, stream: Any, port: int, brief: Mapping[str, Any],
                            plan: Any, repo: Any) -> list[str]:
    from gitpar.plugins import manager

    files = files_of(plan)
    branch = str(brief.get("branch") or f"gitpar/{name}")
    mine = [f for f in files if not tracked(repo, branch, f)]
    notes = [f"{f} is tracked on {branch}; gitpar-agents leaves it alone" for f in files if f not in mine]
    if not mine:
        return notes
    ignore(Path(repo.common_dir), mine)
    text = render(name, brief, manager.render_brief(brief, stream, plan), port)
    for f in mine:
        (Path(worktree) / f).write_text(text, encoding="utf-8")
    return [f"wrote {', '.join(mine)} (ignored by git)"] + notes
