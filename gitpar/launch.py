"""The ``gitpar`` entry point: the full command line, except for the commands that run so
often that importing it would be most of their cost: ``gitpar guard`` (before every edit,
:mod:`gitpar.cli.guard_entry`), ``gitpar who`` and ``gitpar check --staged``
(:mod:`gitpar.cli.quick`)."""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["guard"] and "-h" not in args and "--help" not in args:
        from gitpar.cli.guard_entry import fast

        code = fast(args[1:])
        if code is not None:
            return code
    elif args[:1] in (["who"], ["check"]):
        from gitpar.cli.quick import fast as quick

        code = quick(args)
        if code is not None:
            return code
    from gitpar.cli.main import main as full

    return full()
