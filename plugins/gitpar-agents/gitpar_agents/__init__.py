"""gitpar-agents: brief a started stream's agent (AGENTS.md, CLAUDE.md) and guard its edits.

Coding agents read ``AGENTS.md`` (Claude Code reads ``CLAUDE.md``) from the folder they
work in. This plugin writes the stream's brief there — its scope, what it owns and
shares, the rules, and the commands to report progress and take locks — when
``gitpar start`` creates (or reuses) the worktree, and ``.claude/settings.local.json``
with a PreToolUse hook that runs ``gitpar guard --stream NAME --format claude`` before every
Edit, MultiEdit, Write, NotebookEdit and Bash call, and the same command as a PostToolUse
hook after every tool call: the agent is refused a file that is not its own before it does
the work (a shell command: as far as its text shows), and told right after a call that left
such a change (``gitpar guard --changed``), not at the commit. ``gitpar agents setup [NAME]`` writes them
again into an existing worktree.

The files are not the stream's work, so git must not see them — in that worktree only.
They are listed in an excludes file inside the worktree's own git directory
(``.git/worktrees/<name>/gitpar-exclude``), which ``core.excludesFile`` names in that
worktree's configuration (``extensions.worktreeConfig``): the main worktree's own
``CLAUDE.md`` stays visible to ``git add``. ``core.excludesFile`` replaces the user's
global excludes file in that worktree, so its patterns are copied in (again on each
setup). A file tracked by the repository, or one the user wrote, is left alone.

Options in ``.gitpar/plan.md``::

    plugins:
      agents: {files: [AGENTS.md]}     # default: [AGENTS.md, CLAUDE.md]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitpar.plugins import hookimpl

if TYPE_CHECKING:
    import typer

__version__ = "0.1.0"
DEFAULT_FILES = ("AGENTS.md", "CLAUDE.md")
MARKER = "<!-- Written by gitpar-agents"
# what version 0.1 wrote into the common info/exclude (it hid the main worktree's own files)
EXCLUDE_HEADER = "# gitpar-agents: stream briefs written into worktrees (never committed)"
WORKTREE_EXCLUDE = "gitpar-exclude"  # in the worktree's own git directory
SETTINGS = ".claude/settings.local.json"
GUARDED_TOOLS = "Edit|MultiEdit|Write|NotebookEdit|Bash"  # Bash: the writes its command shows (a best effort)
AFTER_TOOLS = "*"  # after every tool call, whatever wrote: the worktree is checked (the guarantee)


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
        f"{MARKER} when stream {name} started. Not committed (ignored in this worktree only); "
        f"'gitpar agents setup {name}' writes it again. -->",
        "",
        rendered.rstrip("\n"),
        "",
        "## Working in this worktree",
        f"- This folder is the worktree of stream `{name}`, on branch `{brief.get('branch', 'gitpar/' + name)}`: "
        "commit here, and only the files this stream owns.",
        "- Before changing a shared file, take its lock: `gitpar lock PATH --reason 'why'`; "
        "release it when done: `gitpar unlock PATH`. `gitpar who PATH` says who owns or holds a path.",
        "- `gitpar guard PATH` says whether you may write a path now (Claude Code asks it before each edit).",
        f"- Report progress as you go: `{commands.get('progress', 'gitpar progress --completion N')}`.",
        f"- When something blocks you: `{commands.get('blocked', 'gitpar progress --blocked WHAT')}`.",
        f"- Servers you start listen on port `{port}` (`$GITPAR_PORT`), so streams do not collide.",
        "- When the work is done and committed: `gitpar finish`.",
    ]
    return "\n".join(lines) + "\n"


# in the worktree's own git directory, in a folder of its own (<git dir>/gitpar is gitpar's
# cache folder in a main worktree): the hooks' command
GUARD_SHIM = "gitpar-agents/gitpar"


def write_guard_shim(worktree: Path) -> Path:
    """``<the worktree's git dir>/gitpar-agents/gitpar``: this interpreter started without site (``-S``),
    gitpar's import paths recorded, as the commit hook shim does. Site initialisation costs
    more than the guard's own check (about 10 of 17 ms here), and the guard runs before and
    after every tool call. Exit 2 (the harnesses' "block") when the interpreter is gone."""
    import json
    import sys

    from gitpar.core.guard import shell_word
    from gitpar.store.hooks import import_paths

    gitdir = Path(_git(worktree, "rev-parse", "--absolute-git-dir"))
    code = f"import sys; sys.path[:0] = {json.dumps(import_paths())}; from gitpar.launch import main; sys.exit(main())"
    shim = gitdir / GUARD_SHIM
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text("#!/bin/sh\n"
                    "# gitpar-agents: 'gitpar' for this worktree's agent hooks, started without site (-S);\n"
                    "# 'gitpar agents setup' writes it again.\n"
                    f"PYTHON={shell_word(sys.executable)}\n"
                    'if [ ! -x "$PYTHON" ]; then\n'
                    '  echo "gitpar: $PYTHON is gone: reinstall gitpar, then run \'gitpar agents setup\'" >&2\n'
                    "  exit 2\n"
                    "fi\n"
                    f'exec "$PYTHON" -S -c {shell_word(code)} "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return shim


def guard_command(stream: str | None = None, shim: Path | None = None) -> str:
    """The hook's command: ``shim`` (:func:`write_guard_shim`) when given, else the gitpar
    next to this interpreter when there is one (the harness's PATH may not have it), else
    ``gitpar`` from the PATH. It names the stream (``--stream``), so the guard judges as
    that stream in its worktree whatever the session's ``cwd`` (a session that wandered
    into another worktree is not judged as it)."""
    import sys

    from gitpar.core.guard import shell_word

    exe = shim if shim is not None else Path(sys.executable).with_name("gitpar")
    named = f" --stream {shell_word(stream)}" if stream else ""
    return f"{shell_word(str(exe)) if exe.is_file() else 'gitpar'} guard{named} --format claude"


def claude_settings(stream: str | None = None, shim: Path | None = None) -> str:
    """``.claude/settings.local.json``: the PreToolUse hook asking gitpar before each edit
    (and shell command), and the PostToolUse hook checking the worktree after every tool call."""
    import json

    command = guard_command(stream, shim)
    hook = {"type": "command", "command": command, "timeout": 30}
    # --changed: the check of the worktree, known before the request is read (git starts at once)
    after = {"type": "command", "command": command.replace(" --format claude", " --changed --format claude"),
             "timeout": 30}
    data = {"hooks": {"PreToolUse": [{"matcher": GUARDED_TOOLS, "hooks": [hook]}],
                      "PostToolUse": [{"matcher": AFTER_TOOLS, "hooks": [after]}]}}
    return json.dumps(data, indent=2) + "\n"


def _ours(path: Path, kind: str) -> bool:
    """Whether an existing file is one this plugin wrote (so it may be written again)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if kind == "brief":
        return text.startswith(MARKER)
    import json

    try:
        data = json.loads(text)
        events = data["hooks"]
        # what 0.1 wrote (PreToolUse only) or this version (PreToolUse and PostToolUse)
        return set(data) == {"hooks"} and set(events) in ({"PreToolUse"}, {"PreToolUse", "PostToolUse"}) and all(
            len(entries) == 1 and all(" guard" in h.get("command", "") and "--format claude" in h.get("command", "")
                                      for h in entries[0].get("hooks", []))
            for entries in events.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


def _git(cwd: Path, *args: str) -> str:
    import subprocess

    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        from gitpar.errors import Refused

        raise Refused(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def global_excludes(worktree: Path) -> tuple[Path | None, list[str]]:
    """The user's global excludes file (``core.excludesFile`` outside this worktree's own
    setting, else git's default ``$XDG_CONFIG_HOME/git/ignore``) and its lines."""
    import os
    import subprocess

    proc = subprocess.run(["git", "config", "--global", "--path", "core.excludesFile"], cwd=worktree,
                          capture_output=True, text=True)
    if proc.returncode == 0 and proc.stdout.strip():
        path = Path(proc.stdout.strip()).expanduser()
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        path = Path(xdg) / "git" / "ignore"
    try:
        return path, path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return path, []


def ignore_in_worktree(worktree: Path, names: Sequence[str]) -> Path:
    """Make git ignore ``/<name>`` for each of ``names`` in ``worktree`` only: an excludes
    file in its own git directory, named by its per-worktree ``core.excludesFile``."""
    gitdir = Path(_git(worktree, "rev-parse", "--absolute-git-dir"))
    exclude = gitdir / WORKTREE_EXCLUDE
    source, user_lines = global_excludes(worktree)
    lines = ["# gitpar-agents: files written into this worktree, never committed (this worktree only)",
             *(f"/{n}" for n in names)]
    if user_lines:
        lines += [f"# the user's global excludes ({source}), which core.excludesFile replaces here:",
                  *user_lines]
    exclude.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _git(worktree, "config", "extensions.worktreeConfig", "true")
    _git(worktree, "config", "--worktree", "core.excludesFile", str(exclude))
    return exclude


def forget_common_exclude(common_dir: Path) -> bool:
    """Take out the block version 0.1 wrote into the common ``info/exclude`` (it made the
    main worktree's own AGENTS.md and CLAUDE.md invisible to git). True when it did."""
    exclude = common_dir / "info" / "exclude"
    try:
        lines = exclude.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    if EXCLUDE_HEADER not in lines:
        return False
    out: list[str] = []
    in_block = False
    for line in lines:
        if line == EXCLUDE_HEADER:
            in_block = True
            continue
        if in_block and line.startswith("/") and "/" not in line[1:]:
            continue
        in_block = False
        out.append(line)
    exclude.write_text("\n".join(out) + ("\n" if out else ""), encoding="utf-8")
    return True


def tracked(repo: Any, branch: str, name: str) -> bool:
    """Whether ``name`` (a path) is a file in ``branch``'s tree."""
    import pygit2

    try:
        tree = repo.git.revparse_single(f"refs/heads/{branch}").peel(pygit2.Tree)
        tree[name]
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return True


def setup(repo: Any, plan: Any, name: str, worktree: Path, port: int, brief: Mapping[str, Any]) -> list[str]:
    """Write the brief files and the Claude Code hook into ``worktree``, ignored there only.

    A file tracked on the stream's branch, or one already there that this plugin did not
    write, is left alone (and said so).
    """
    from gitpar.plugins import manager

    branch = str(brief.get("branch") or f"gitpar/{name}")
    wanted = [(f, "brief") for f in files_of(plan)] + [(SETTINGS, "settings")]
    notes: list[str] = []
    mine: list[tuple[str, str]] = []
    for f, kind in wanted:
        target = Path(worktree) / f
        if tracked(repo, branch, f):
            notes.append(f"{f} is tracked on {branch}; gitpar-agents leaves it alone")
        elif target.exists() and not _ours(target, kind):
            notes.append(f"{f} is already there and not written by gitpar-agents; left alone"
                         + (" (add the PreToolUse hook running 'gitpar guard --format claude' yourself)"
                            if kind == "settings" else ""))
        else:
            mine.append((f, kind))
    if forget_common_exclude(Path(repo.common_dir)):
        notes.append("removed gitpar-agents' old entries from the repository's common info/exclude")
    if not mine:
        return notes
    ignore_in_worktree(Path(worktree), [f for f, _ in mine])
    shim = write_guard_shim(Path(worktree)) if any(kind == "settings" for _, kind in mine) else None
    text = render(name, brief, manager.render_brief(brief, plan.stream(name), plan), port)
    for f, kind in mine:
        target = Path(worktree) / f
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text if kind == "brief" else claude_settings(name, shim), encoding="utf-8")
    return [f"wrote {', '.join(f for f, _ in mine)} (ignored by git in this worktree)"] + notes


@hookimpl
def gitpar_prepare_worktree(name: str, worktree: Path, stream: Any, port: int, brief: Mapping[str, Any],
                            plan: Any, repo: Any) -> list[str]:
    return setup(repo, plan, name, worktree, port, brief)


def setup_command(name: str | None) -> None:
    """``gitpar agents setup [NAME]``: write the files again into the stream's worktree."""
    from gitpar.cli import output as o
    from gitpar.cli.app import _repo
    from gitpar.core import streams
    from gitpar.errors import Refused

    repo = _repo()
    stream = streams.stream_of(repo, name)
    worktree = repo.stream_worktrees().get(stream)
    if worktree is None:
        raise Refused(f"stream {stream} has no worktree; 'gitpar start {stream}' creates it (and writes the files)")
    data = streams.brief(repo, stream)
    for line in setup(repo, repo.load_plan(), stream, Path(worktree), int(data["port"]), data):
        o.err(line)


@hookimpl
def gitpar_register_commands(app: typer.Typer) -> None:
    import typer

    agents = typer.Typer(help="gitpar-agents: the brief and the edit guard in stream worktrees.",
                         no_args_is_help=True, rich_markup_mode=None)

    @agents.callback()
    def group() -> None:
        """The brief files and the edit guard in stream worktrees."""  # a group, not one command

    @agents.command("setup")
    def setup_cmd(name: str | None = typer.Argument(None, help="The stream (default: this worktree's).")) -> None:
        """Write AGENTS.md, CLAUDE.md and .claude/settings.local.json into a stream's worktree again."""
        setup_command(name)

    app.add_typer(agents, name="agents")
