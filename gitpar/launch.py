"""The ``gitpar`` entry point: the full command line, except for the commands that run so
often that importing it would be most of their cost: ``gitpar guard`` (before every edit),
``gitpar who``, ``gitpar check --staged`` and the plain forms of ``gitpar status`` and
``gitpar plan``, answered by :mod:`gitpar.cli.quick`.

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
    args = sys.argv[1:]
    if args == ["--version"]:  # a constant: no command line to load for it (cli/app.py's --version says the same)
        from gitpar import __version__

        sys.stdout.write(f"gitpar {__version__}\n")
        return 0
    if args[:1] in (["guard"], ["who"], ["check"], ["plan"], ["status"]):
        from gitpar.cli.quick import fast

        code = fast(args)
        if code is not None:
            return code
    from gitpar.cli.main import main as full

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
