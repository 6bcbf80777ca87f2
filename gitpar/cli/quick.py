"""The commands answered before the command line loads, and the one table of what they accept.

Some commands are asked so often, or are so small, that importing the command line (typer,
click, the command modules) would be most of their cost: ``gitpar guard`` (before every
edit an agent makes), ``who`` and ``check --staged`` (agents and scripts in loops; without
pygit2 while the caches are warm), ``status`` and ``plan``, the write commands
``progress``, ``lock`` and ``unlock`` (one commit on the state branch each), and
``--version`` and ``--help``. :func:`gitpar.launch.main` sends every command line here
first.

:data:`LIGHT` is the one table of those commands: for each, every option typer declares for
it (spelling, name, flag or value, type, default) and whether it takes paths; :func:`parse`
is the one parser that reads it. ``tests/test_quick_table.py`` walks typer's own parameters for
each command and checks the table says exactly the same, so the two cannot accept different
things. A command line the table does not know (an unknown option, ``-h``, a short option
glued to its value, a value that does not convert) goes to typer, which says what is wrong;
so does a form the light command does not answer (``status --watch``, ``check --range``):
its handler returns None. What a handler answers it answers through the same bodies the
full commands call (``cli/guard_entry.run``, ``cli/render_status.run``, ``cli/plan_view.run``,
``cli/writes``, ``cli/report_check.emit``), and every one ends as the full command does
(:func:`gitpar.cli.session.run_guarded`): its messages, exit codes, warnings and crash log.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Options = dict[str, Any]


FORMATS = ("text", "json", "github")

# -- the table -------------------------------------------------------------------------------
# An option: spelling -> (name, kind, multiple, default). kind: "flag" (True when given),
# "unflag" (the --no-X of a flag pair: False), or the type of its value: "str", "float",
# "percent" (cli/writes.percent). The help options (-h, --help) are typer's, for every command.

_JSON = {"--json": ("json_", "flag", False, False)}
_STREAM = {"--stream": ("stream", "str", False, None), "-s": ("stream", "str", False, None)}

#: command -> (takes paths, its options). "" is the top level (``gitpar --version``).
LIGHT: dict[str, tuple[bool, dict[str, tuple[str, str, bool, Any]]]] = {
    "": (False, {"--version": ("version", "flag", False, False),
                 "--install-completion": ("install_completion", "flag", False, None),
                 "--show-completion": ("show_completion", "flag", False, None)}),
    "guard": (True, {"--format": ("format_", "str", False, "text"), **_JSON,
                     "--changed": ("changed", "flag", False, False),
                     "--stream": ("stream", "str", False, None)}),
    "who": (True, {"--resource": ("resource", "str", True, None), **_JSON}),
    "check": (False, {"--staged": ("staged", "flag", False, False), "--range": ("range_", "str", False, None),
                      "--base": ("base", "str", False, None), "--head": ("head", "str", False, None),
                      "--push": ("push", "flag", False, False), **_STREAM, **_JSON,
                      "--format": ("format_", "str", False, "text")}),
    "status": (False, {**_JSON, "--markdown": ("markdown", "flag", False, False),
                       "--watch": ("watch", "float", False, None), "--dirty": ("dirty", "str", False, "auto"),
                       "--offline": ("offline", "flag", False, False),
                       "--publish": ("publish", "flag", False, False)}),
    "plan": (False, {"--workers": ("workers", "str", False, None), "-w": ("workers", "str", False, None), **_JSON}),
    "progress": (False, {**_STREAM, "--status": ("status", "str", False, None),
                         "--completion": ("completion", "percent", False, None),
                         "--done": ("done", "str", True, []), "--current": ("current", "str", False, None),
                         "--blocked": ("blocked", "str", True, []), "--next": ("next_", "str", True, []),
                         "--need": ("need", "str", True, []), "--agent": ("agent", "str", False, None),
                         "--clear": ("clear", "str", True, []), **_JSON}),
    "lock": (True, {"--resource": ("resource", "str", True, None), "--ttl": ("ttl", "str", False, None),
                    "--reason": ("reason", "str", False, ""), "--wait": ("wait", "float", False, 0.0),
                    **_STREAM, "--agent": ("agent", "str", False, ""),
                    "--chain": ("chain", "flag", False, None), "--no-chain": ("chain", "unflag", False, None)}),
    "unlock": (True, {"--resource": ("resource", "str", True, None), "--force": ("force", "flag", False, False),
                      "--no-force": ("force", "unflag", False, False), **_STREAM}),
}

HELP = ("-h", "--help")


def parse(command: str, args: list[str]) -> tuple[list[str], Options] | None:
    """``args`` (what follows ``command``) as its paths and options, by :data:`LIGHT`: every
    option the table names with its value converted, the others at their defaults. None for
    anything the table does not know, which typer then reads (and says what is wrong)."""
    takes_paths, table = LIGHT[command]
    paths: list[str] = []
    found: Options = {}
    i, n = 0, len(args)
    while i < n:
        a = args[i]
        i += 1
        if a == "--":
            paths.extend(args[i:])
            break
        if a[:1] != "-" or a == "-":
            paths.append(a)
            continue
        name, eq, value = a.partition("=") if a[:2] == "--" else (a, "", "")
        spec = table.get(name)
        if spec is None:
            return None  # -h, --help, an option it does not know, -sNAME: typer's to read
        dest, kind, multiple, _default = spec
        if kind == "flag" or kind == "unflag":
            if eq:
                return None  # a flag takes no value: typer says so
            found[dest] = kind == "flag"
            continue
        if not eq:
            if i == n:
                return None  # the value is missing: typer says so
            value = args[i]  # as click: the next word, whatever it looks like
            i += 1
        if kind == "float":
            try:
                converted: Any = float(value)
            except ValueError:
                return None  # typer's message for a number that is not one
        else:
            converted = value
        if multiple:
            found.setdefault(dest, []).append(converted)
        else:
            found[dest] = converted
    if paths and not takes_paths:
        return None
    for dest, kind, _multiple, _default in table.values():
        if kind == "percent" and found.get(dest) is not None:
            from gitpar.cli.writes import percent

            # after the whole line is read, as click converts: an unknown option is said first
            found[dest] = percent(found[dest])
    for dest, _kind, _multiple, default in table.values():
        found.setdefault(dest, list(default) if isinstance(default, list) else default)
    return paths, found


# -- the light commands: each answers, or returns None for the full command line -----------


def print_who(rows: list[dict[str, Any]], json_: bool) -> None:
    from gitpar.cli import output as o

    if json_:
        o.emit_json({"version": 1, "paths": rows})
        return
    o.table(["path", "owned by", "shared by", "locked by"],
            [[r["path"], ", ".join(r["owners"]) or ("(the plan)" if r["plan"] else "-"),
              ", ".join(r["shares"]) or "-", r["locked_by"] or "-"] for r in rows])
    for r in rows:
        if r.get("ignored_lock"):
            o.err(f"warning: {r['ignored_lock']}")


def _worktree(cwd: str) -> tuple[str, str] | None:
    """The worktree root around ``cwd`` and its git directory."""
    from gitpar.cli.guard_entry import worktree_root
    from gitpar.store.quickgit import git_dir

    root = worktree_root(cwd)
    return None if root is None else (root, git_dir(root))


def top(paths: list[str], opts: Options) -> int | None:
    """``gitpar --version`` (a constant); ``--help`` and the completion options: typer."""
    if not opts["version"] or opts["install_completion"] or opts["show_completion"]:
        return None
    import sys

    from gitpar import __version__

    sys.stdout.write(f"gitpar {__version__}\n")  # what typer's --version says (cli/app.py)
    return 0


def check(paths: list[str], opts: Options) -> int | None:
    """``gitpar check [--staged]``: the pre-commit hook's verdict (``core.check.staged_report``,
    from the hook's rules cache); a range, a push, ``--stream`` or CI: the full command."""
    if opts["range_"] or opts["base"] or opts["head"] or opts["push"] or opts["stream"] is not None:
        return None
    fmt = "json" if opts["json_"] else opts["format_"]
    if fmt not in FORMATS:
        return None  # the full command says what is wrong
    if not opts["staged"] and os.environ.get("GITHUB_EVENT_PATH"):
        return None  # in CI the full command judges the pull request instead
    found = _worktree(os.getcwd())
    if found is None:
        return None
    from gitpar.cli import report_check
    from gitpar.core.check import staged_report
    from gitpar.core.rules_cache import branch_of
    from gitpar.store.naming import stream_of_branch

    root, gitdir = found
    branch = branch_of(gitdir)
    report = staged_report(root, stream_of_branch(branch), branch, by_branch=True)
    if report is None:
        return None  # no plan on the base: the full command says so
    return report_check.emit(report, fmt)


def who(paths: list[str], opts: Options) -> int | None:
    """``gitpar who PATH...``: the rules of the main worktree's plan, cached by its
    ``.gitpar`` tree id when git says the folder is clean (:mod:`gitpar.core.plan_cache`;
    written by the full command the first time), and the live locks from the hook's cache.
    ``--resource``, or a plan with a ``remote:`` or warnings: the full command."""
    found = _worktree(os.getcwd()) if paths and opts["resource"] is None else None
    if found is None:
        return None
    from pathlib import Path

    from gitpar.core import plan_cache
    from gitpar.core.rules import Rules
    from gitpar.core.rules import who as who_rows
    from gitpar.core.rules_cache import live_holders
    from gitpar.store.quickgit import common_dir

    root, gitdir = found
    common = common_dir(gitdir)
    if os.path.basename(common) != ".git":
        return None  # a bare repository, or a git directory kept elsewhere
    key = plan_cache.worktree_key(os.path.dirname(common))
    cached = plan_cache.read_rules(Path(common) / "gitpar", key) if key is not None else None
    if cached is None:
        return None
    from gitpar.core.paths import repo_path

    rel = [repo_path(p, Path(os.getcwd()), Path(root)) for p in paths]
    print_who(who_rows(Rules.from_json(cached), rel, live_holders(root, gitdir)), opts["json_"])
    return 0


def guard(paths: list[str], opts: Options) -> int | None:
    """``gitpar guard``, every form: :func:`gitpar.cli.guard_entry.run`."""
    from gitpar.cli.guard_entry import run

    return run(paths, "json" if opts["json_"] else opts["format_"], stream=opts["stream"],
               changed=opts["changed"])


def status(paths: list[str], opts: Options) -> int | None:
    """``gitpar status``; ``--markdown``, ``--watch`` and ``--publish``: the full command."""
    if opts["markdown"] or opts["watch"] is not None or opts["publish"]:
        return None
    from gitpar.cli import render_status

    render_status.run(json_=opts["json_"], offline=opts["offline"], dirty=opts["dirty"])
    return 0


def plan(paths: list[str], opts: Options) -> int | None:
    """``gitpar plan``, every form."""
    from gitpar.cli import plan_view

    plan_view.run(opts["workers"], opts["json_"])
    return 0


def progress(paths: list[str], opts: Options) -> int | None:
    """``gitpar progress``, every form: :func:`gitpar.cli.writes.progress`."""
    from gitpar.cli import writes

    writes.progress(**opts)
    return 0


def lock(paths: list[str], opts: Options) -> int | None:
    """``gitpar lock``, every form: :func:`gitpar.cli.writes.lock`."""
    from gitpar.cli import writes

    writes.lock(paths, **opts)
    return 0


def unlock(paths: list[str], opts: Options) -> int | None:
    """``gitpar unlock``, every form: :func:`gitpar.cli.writes.unlock`."""
    from gitpar.cli import writes

    writes.unlock(paths, **opts)
    return 0


HANDLERS: dict[str, Callable[[list[str], Options], int | None]] = {
    "": top, "check": check, "guard": guard, "who": who, "plan": plan, "status": status,
    "progress": progress, "lock": lock, "unlock": unlock}


def top_help(full: Callable[[list[str]], int] | None = None) -> int | None:
    """``gitpar --help``: typer's text for the top level, printed from a cache once made.

    It lists gitpar's own commands only (plugins' commands are added for a command typed,
    never for the top-level help), so what it says depends on the code of the command line
    and typer, and on the terminal's width (click's: the columns, at most 80): the cache
    file, in the user's cache folder, is named by those (:func:`_help_key`), and a missing
    or unreadable one is made again by typer itself: ``full``, the full command line
    (:func:`gitpar.launch.main` passes it; without it, a missing cache returns None)."""
    import sys

    from gitpar.store import cache

    key = _help_key()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "gitpar", f"help-{key}.txt")
    data = cache.read_bytes(path)
    if data is None:
        if full is None:
            return None
        import contextlib
        import io

        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            code = full(["--help"])
        data = text.getvalue().encode()
        if code != 0:
            sys.stdout.write(text.getvalue())
            return code
        cache.write_bytes(path, data, keep=8)
    sys.stdout.write(data.decode())
    return 0


def _help_key() -> str:
    """What the top-level help depends on: gitpar's version, the size and time of every
    module of the command line, typer's own files, and click's width (the terminal's
    columns, as shutil reads them, at most 80, less 2)."""
    import sys
    from zlib import crc32

    from gitpar import __version__

    here = os.path.dirname(os.path.realpath(__file__))
    marks = [here, __version__, sys.version]
    with os.scandir(here) as entries:
        for e in sorted(entries, key=lambda e: e.name):
            if e.name.endswith(".py"):
                st = e.stat()
                marks.append(f"{e.name}:{st.st_size}:{st.st_mtime_ns}")
    for folder in sys.path:
        typer_init = os.path.join(folder or ".", "typer", "__init__.py")
        try:
            st = os.stat(typer_init)
        except OSError:
            continue
        marks.append(f"{typer_init}:{st.st_size}:{st.st_mtime_ns}")
        break
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    width = max(min(columns, 80) - 2, 50)
    text = "\0".join(marks).encode("utf-8", "surrogateescape")
    return f"{crc32(text):08x}-{width}"


def fast(args: list[str]) -> int | None:
    """Run ``gitpar ARGS`` here when the table knows it and its command answers; None: the
    full command line."""
    if not args or "_GITPAR_COMPLETE" in os.environ:
        return None  # nothing to run, or the shell asking typer for completions
    if args == ["--help"] or args == ["-h"]:
        return top_help()
    command = args[0] if args[0] in LIGHT else "" if args[0][:1] == "-" else None
    if command is None:
        return None
    rest = args[1:] if command else args
    from gitpar.cli.session import run_guarded

    def body() -> int | None:
        parsed = parse(command, rest)
        return None if parsed is None else HANDLERS[command](*parsed)

    # as the full command line ends a command: its errors, interruptions and crashes, the
    # warnings printed once (None, nothing having happened, lets the full command answer)
    return run_guarded(args, body)
