"""``gitpar who`` and ``gitpar check --staged`` without typer and, mostly, without pygit2.

Both are asked often and at any size of plan (an agent before it edits, a script in a
loop), and importing the command line (typer, click, rich) and pygit2 costs far more than
their answer. :func:`gitpar.launch.main` sends them here first; anything this module's
small parsers do not know, or a case it does not cover, returns None and the full command
(``gitpar.cli.cmd_enforce``) answers — which prints through the same functions below, so
the two cannot drift apart:

- ``check [--staged] [--format F | --json]``: the verdict of the pre-commit hook
  (:func:`gitpar.core.check.staged_report`, from the hook's rules cache);
- ``who PATH... [--json]``: the rules of the main worktree's plan, cached by the plan
  folder's file names, sizes and times (:mod:`gitpar.core.plan_cache`; written by the
  full command the first time), and the live locks from the hook's cache. A plan with a
  ``remote:`` (whose reads say how old the fetched state is) or with warnings goes to the
  full command.
"""

from __future__ import annotations

import os
import sys

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


def _who_args(args: list[str]) -> tuple[list[str], bool] | None:
    paths: list[str] = []
    json_ = only_paths = False
    for a in args:
        if only_paths or not a.startswith("-") or a == "-":
            paths.append(a)
        elif a == "--":
            only_paths = True
        elif a == "--json":
            json_ = True
        else:
            return None
    return (paths, json_) if paths else None


def _check_args(args: list[str]) -> str | None:
    fmt = "text"
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--staged":
            pass
        elif a == "--json":
            fmt = "json"
        elif a == "--format" and i + 1 < len(args):
            fmt = args[i + 1]
            i += 1
        elif a.startswith("--format="):
            fmt = a[len("--format="):]
        else:
            return None
        i += 1
    if "--staged" not in args and os.environ.get("GITHUB_EVENT_PATH"):
        return None  # in CI the full command judges the pull request instead
    return fmt if fmt in FORMATS else None


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
    report = staged_report(root, stream_of_branch(branch_of(gitdir)))
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
    key = plan_cache.folder_key(Path(os.path.dirname(common)) / ".gitpar")
    cached = plan_cache.read_rules(Path(common) / "gitpar", key) if key is not None else None
    if cached is None:
        return None
    from gitpar.core.paths import repo_path

    rel = [repo_path(p, Path(os.getcwd()), Path(root)) for p in raw]
    print_who(who_rows(Rules.from_json(cached), rel, live_holders(root, gitdir)), json_)
    return 0


COMMANDS = {"check": check, "who": who}


def fast(args: list[str]) -> int | None:
    """Run ``gitpar ARGS`` here when this module covers it; None: the full command line."""
    command = COMMANDS.get(args[0]) if args else None
    if command is None or "-h" in args or "--help" in args:
        return None
    from gitpar.errors import GitparError

    try:
        return command(args[1:])
    except GitparError as exc:
        print(f"gitpar: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
