"""``gitpar guard``: it runs before every edit an agent makes.

:func:`gitpar.launch.main` sends ``gitpar guard ...`` here (through :mod:`gitpar.cli.quick`) before the command line
(typer, click, the command modules) is imported; ``--help`` and anything this parser
does not know go to the full command line (``gitpar.cli.cmd_guard``), which calls the
same :func:`run`. The rules come from the commit hook's cache (exact: keyed by the plan's
and the locks' trees), so a call costs a Python start-up, a few file reads and the match.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from gitpar.core.guard import Verdict

USAGE = "usage: gitpar guard PATH... [--format text|json|claude|codex|gemini]"


def parse(args: list[str]) -> tuple[list[str], str] | None:
    """Paths and format from ``args``; None for anything else (the full parser answers it)."""
    parsed = parse_args(args)
    return None if parsed is None else (parsed[0], parsed[1])


def parse_args(args: list[str], *, flags: frozenset[str] = frozenset(),
               format_option: bool = True) -> tuple[list[str], str, set[str]] | None:
    """The paths, the format (``--json``, and with ``format_option`` ``--format F``) and which
    of ``flags`` were given; None for anything else, which the full parser answers. The one
    parser of the commands answered before the command line loads (guard, who, check)."""
    paths: list[str] = []
    seen: set[str] = set()
    fmt = "text"
    i = 0
    only_paths = False
    while i < len(args):
        a = args[i]
        if only_paths or not a.startswith("-") or a == "-":
            paths.append(a)
        elif a == "--":
            only_paths = True
        elif a == "--json":
            fmt = "json"
        elif a in flags:
            seen.add(a)
        elif format_option and a == "--format" and i + 1 < len(args):
            fmt = args[i + 1]
            i += 1
        elif format_option and a.startswith("--format="):
            fmt = a[len("--format="):]
        else:
            return None
        i += 1
    return paths, fmt, seen


def worktree_root(cwd: str) -> str | None:
    """The top of the worktree around ``cwd`` (the folder holding ``.git``), if any."""
    here = os.path.realpath(cwd)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        up = os.path.dirname(here)
        if up == here:
            return None
        here = up


def verdicts_at(cwd: str, paths: list[str]) -> tuple[list[Verdict], str | None] | None:
    """The verdicts for ``paths`` in the worktree around ``cwd``, and its stream; None when
    ``cwd`` is in no git worktree or the base branch has no plan (nothing to enforce)."""
    from gitpar.core.guard import decide
    from gitpar.core.rules import Rules
    from gitpar.core.rules_cache import branch_of, cached_rules, held_now
    from gitpar.store.naming import stream_of_branch
    from gitpar.store.quickgit import git_dir

    root = worktree_root(cwd)
    if root is None:
        return None
    gitdir = git_dir(root)
    data = cached_rules(root, gitdir)
    if data["rules"] is None:
        return None
    stream = stream_of_branch(branch_of(gitdir))
    rules = Rules.from_json(data["rules"])
    return decide(rules, stream, paths, cwd, root, held_now(data), policies=bool(data.get("policies")),
                  base=data["base"]), stream


def run(paths: list[str], fmt: str, cwd: str | None = None, stdin: TextIO | None = None) -> int:
    """Judge, print, and return the exit code: 0 allowed, 1 denied (text, json); with a
    harness format, 0 with the contract's answer, or 2 (the harness blocks) when the
    request cannot be read or judged."""
    from gitpar.core.guard import FORMATS, HARNESSES
    from gitpar.errors import GitparError, bad

    if fmt not in FORMATS:
        raise bad(None, "--format", f"{fmt!r} is not a format", f"use one of {', '.join(FORMATS)}")
    cwd = cwd or os.getcwd()
    if fmt in HARNESSES:
        try:
            return _hook(fmt, paths, cwd, stdin or sys.stdin)
        except (GitparError, Exception) as exc:  # noqa: BLE001 — a guard that fails must not wave the edit through
            # exit 2 is each of these harnesses' "block, and show stderr to the agent"; any
            # other code lets the edit go on. The commit hook still judges it either way.
            print(f"gitpar guard could not judge this edit, so it is blocked: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return 2
    if not paths:
        raise bad(None, "PATH", "no path given", "name the files to write: " + USAGE)
    found = verdicts_at(cwd, paths)
    if found is None:
        if worktree_root(cwd) is None:
            raise bad(None, None, f"{cwd} is not inside a git worktree", "run it in a stream's worktree")
        verdicts, stream = _no_plan(paths), None
    else:
        verdicts, stream = found
    _print(fmt, verdicts, stream)
    return 0 if all(v.allowed for v in verdicts) else 1


def _no_plan(paths: list[str]) -> list[Verdict]:
    from gitpar.core.guard import Verdict

    return [Verdict(p, None, True, "", "no plan on the base branch: nothing to enforce") for p in paths]


def _hook(fmt: str, extra: list[str], cwd: str, stdin: TextIO) -> int:
    import json

    from gitpar.core.guard import HookInputError, edit_request, harness_answer

    text = stdin.read()
    try:
        request = edit_request(fmt, json.loads(text))
    except (ValueError, HookInputError) as exc:
        print(f"gitpar guard: the {fmt} hook input cannot be read ({exc}), so the edit is blocked; "
              f"check the hook's command in the harness settings: it must be "
              f"'gitpar guard --format {fmt}', with the tool call as JSON on stdin", file=sys.stderr)
        return 2
    if request is None:
        return 0  # a tool that writes no file
    paths, where = request
    found = verdicts_at(where or cwd, paths + extra)
    if found is None:
        return 0  # no gitpar worktree, or no plan: nothing to enforce
    answer = harness_answer(fmt, *found)
    if answer is not None:
        print(json.dumps(answer))
    return 0


def _print(fmt: str, verdicts: list[Verdict], stream: str | None) -> None:
    if fmt == "json":
        import json

        data: dict[str, Any] = {"version": 1, "stream": stream, "allowed": all(v.allowed for v in verdicts),
                                "paths": [v.to_dict() for v in verdicts]}
        print(json.dumps(data, indent=2))
        return
    for v in verdicts:
        if v.allowed:
            print(f"allow  {v.rel or v.path}" + (f"  ({v.message})" if v.message else ""))
        else:
            print(f"deny   {v.rel or v.path}: {v.message}\n       fix: {v.fix}")


def fast(args: list[str]) -> int | None:
    """``gitpar guard ARGS`` without the command line; None: let the full one answer."""
    parsed = parse(args)
    return None if parsed is None else run(*parsed)
