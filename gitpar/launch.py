"""The ``gitpar`` entry point: the full command line, except for the commands that run so
often that importing it would be most of their cost: ``gitpar guard`` (before every edit),
``gitpar who`` and ``gitpar check --staged``, answered by :mod:`gitpar.cli.quick`."""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args[:1] in (["guard"], ["who"], ["check"]):
        from gitpar.cli.quick import fast

        code = fast(args)
        if code is not None:
            return code
    from gitpar.cli.main import main as full

    return full()
