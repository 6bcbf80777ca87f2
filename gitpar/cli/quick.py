"""The commands answered before the command line loads: ``gitpar guard``, ``gitpar who``
and ``gitpar check --staged`` — without typer and, while the caches are warm, without
pygit2 — and the plain forms of ``gitpar status`` and ``gitpar plan``, without typer.

They are asked often and at any size of plan (``guard`` before every edit an agent makes,
``who`` and ``check`` by agents and scripts in loops), and importing the command line
(typer, click, rich) and pygit2 costs far more than their answer. :func:`gitpar.launch.main`
sends them here first. The one small parser (:func:`gitpar.cli.guard_entry.parse_args`)
knows only their plain forms; anything else, or a case this module does not cover, returns
None and the full command (``cli/cmd_guard.py``, ``cli/cmd_enforce.py``) answers, printing
through the same functions, so the two cannot drift apart:

- ``guard PATH... [--format F | --json]``: :mod:`gitpar.cli.guard_entry`;
- ``check [--staged] [--format F | --json]``: the verdict of the pre-commit hook
  (:func:`gitpar.core.check.staged_report`, from the hook's rules cache);
- ``who PATH... [--json]``: the rules of the main worktree's plan, cached by its ``.gitpar``
  tree id when git says the folder is clean (:mod:`gitpar.core.plan_cache`; written by the
  full command the first time), and the live locks from the hook's cache. A plan with a
  ``remote:`` (whose reads say how old the fetched state is) or with warnings goes to the
  full command;
- ``status [--json] [--offline] [--dirty auto|all|none]`` and ``plan [--json] [--workers N]``:
  the bodies the full commands call (``cli/render_status.run``, ``cli/plan_view.run``): typer
  and the command modules would otherwise be a tenth of a status of thousands of streams.

Every one ends as the full command does (``cli/session.run_guarded``): its messages, exit
codes, warnings and crash log.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


FORMATS = ("text", "json", "github")


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


def _who_args(args: list[str]) -> tuple[list[str], bool] | None:
    from gitpar.cli.guard_entry import parse_args

    parsed = parse_args(args, format_option=False)
    return (parsed[0], parsed[1] == "json") if parsed is not None and parsed[0] else None


def _check_args(args: list[str]) -> str | None:
    from gitpar.cli.guard_entry import parse_args

    parsed = parse_args(args, flags=frozenset({"--staged"}))
    if parsed is None or parsed[0]:
        return None
    if not parsed[2] and os.environ.get("GITHUB_EVENT_PATH"):
        return None  # in CI the full command judges the pull request instead
    return parsed[1] if parsed[1] in FORMATS else None


def _worktree(cwd: str) -> tuple[str, str] | None:
    """The worktree root around ``cwd`` and its git directory."""
    from gitpar.cli.guard_entry import worktree_root
    from gitpar.store.quickgit import git_dir

    root = worktree_root(cwd)
    return None if root is None else (root, git_dir(root))


def check(args: list[str]) -> int | None:
    """``gitpar check --staged``: the exit code, or None to let the full command answer."""
    fmt = _check_args(args)
    found = _worktree(os.getcwd()) if fmt is not None else None
    if fmt is None or found is None:
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


def who(args: list[str]) -> int | None:
    """``gitpar who PATH...``: the exit code, or None to let the full command answer."""
    parsed = _who_args(args)
    found = _worktree(os.getcwd()) if parsed is not None else None
    if parsed is None or found is None:
        return None
    from pathlib import Path

    from gitpar.core import plan_cache
    from gitpar.core.rules import Rules
    from gitpar.core.rules import who as who_rows
    from gitpar.core.rules_cache import live_holders
    from gitpar.store.quickgit import common_dir

    raw, json_ = parsed
    root, gitdir = found
    common = common_dir(gitdir)
    if os.path.basename(common) != ".git":
        return None  # a bare repository, or a git directory kept elsewhere
    key = plan_cache.worktree_key(os.path.dirname(common))
    cached = plan_cache.read_rules(Path(common) / "gitpar", key) if key is not None else None
    if cached is None:
        return None
    from gitpar.core.paths import repo_path

    rel = [repo_path(p, Path(os.getcwd()), Path(root)) for p in raw]
    print_who(who_rows(Rules.from_json(cached), rel, live_holders(root, gitdir)), json_)
    return 0


def guard(args: list[str]) -> int | None:
    """``gitpar guard PATH...``: :mod:`gitpar.cli.guard_entry`."""
    from gitpar.cli.guard_entry import fast as guard_fast

    return guard_fast(args)


def _options(args: list[str], flags: frozenset[str], valued: dict[str, str]) -> dict[str, object] | None:
    """``args`` as the given flags (True when present) and options with a value (``--opt V``
    or ``--opt=V``; ``valued`` maps each spelling to its name); None for anything else."""
    found: dict[str, object] = {}
    i = 0
    while i < len(args):
        a = args[i]
        name, eq, value = a.partition("=")
        if a in flags:
            found[a] = True
        elif name in valued and eq:
            found[valued[name]] = value
        elif a in valued and i + 1 < len(args) and not args[i + 1].startswith("-"):
            found[valued[a]] = args[i + 1]
            i += 1
        else:
            return None
        i += 1
    return found


def status(args: list[str]) -> int | None:
    """``gitpar status`` in its plain forms: the exit code, or None for the full command."""
    found = _options(args, frozenset({"--json", "--offline"}), {"--dirty": "dirty"})
    if found is None:
        return None
    from gitpar.cli import render_status

    render_status.run(json_=bool(found.get("--json")), offline=bool(found.get("--offline")),
                      dirty=str(found.get("dirty", "auto")))
    return 0


def plan(args: list[str]) -> int | None:
    """``gitpar plan`` in its plain forms: the exit code, or None for the full command."""
    found = _options(args, frozenset({"--json"}), {"--workers": "workers", "-w": "workers"})
    if found is None:
        return None
    from gitpar.cli import plan_view

    workers = found.get("workers")
    plan_view.run(None if workers is None else str(workers), bool(found.get("--json")))
    return 0


COMMANDS = {"check": check, "guard": guard, "who": who, "plan": plan, "status": status}


def fast(args: list[str]) -> int | None:
    """Run ``gitpar ARGS`` here when this module covers it; None: the full command line."""
    command = COMMANDS.get(args[0]) if args else None
    if command is None or "-h" in args or "--help" in args:
        return None
    from gitpar.cli.session import run_guarded

    # as the full command line ends a command: its errors, interruptions and crashes, the
    # warnings printed once (None, nothing having happened, lets the full command answer)
    return run_guarded(args, lambda: command(args[1:]))
