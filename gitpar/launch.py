"""The ``gitpar`` entry point: the full command line, except for the light commands, which
run so often or are so small that importing it would be most of their cost (``guard``,
``who``, ``check --staged``, ``status``, ``plan``, ``progress``, ``--version``: the one
table :data:`gitpar.cli.quick.LIGHT`), answered by :mod:`gitpar.cli.quick`.

:func:`run` is the process around it (the console script and ``python -m gitpar``).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# gitpar's commands make many objects that live until they exit (a plan of 5,000 streams is
# a few hundred thousand), and the collector's default pace (a pass every 700 allocations
# net) walks them over and over to find no garbage: 70-80 ms of a status or a plan at that
# size. Passes a hundred times rarer keep memory bounded for the commands that run long
# (watch, run, the MCP server) at a small part of that cost.
GC_THRESHOLD = 100_000
# Commands that only read, print and end: they run without the collector (what they make
# lives until they end), and once their output is flushed the process ends without the
# interpreter's teardown, which frees every object one by one (50-100 ms after a status or
# a plan of 5,000 streams) and waits for the worktree scans a status no longer needs.
# Commands that write or keep running (--publish, --watch) keep the ordinary ways.
EXIT_AT_ONCE = frozenset({"plan", "status"})


def main() -> int:
    from gitpar.cli.quick import fast

    code = fast(sys.argv[1:])  # the light commands (cli/quick.LIGHT), before typer loads
    if code is not None:
        return code
    from gitpar.cli.main import main as full

    if sys.argv[1:] in (["--help"], ["-h"]):
        from gitpar.cli.quick import top_help

        return top_help(full) or 0  # typer's text, kept for the next time
    return full()


def run() -> NoReturn:
    """``gitpar``, as a process: :func:`main`, its exit code, and nothing after it."""
    import gc

    args = sys.argv[1:]
    once = args[:1] != [] and args[0] in EXIT_AT_ONCE and not any(
        a.split("=", 1)[0] in ("--publish", "--watch") for a in args)
    if once:
        gc.disable()  # it ends soon, and whatever it made goes with the process
    else:
        gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    code = main()
    if once:
        import os

        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            pass  # a reader that went away: as the command's own BrokenPipeError handler
        os._exit(code)
    sys.exit(code)
