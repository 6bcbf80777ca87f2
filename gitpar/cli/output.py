"""Printing: data to stdout, messages to stderr, colour and tables only on a terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def warn(text: str) -> None:
    err(f"warning: {text}")


def emit_json(data: Any) -> None:
    # compact: indent= would force json's pure-Python encoder instead of the C one
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A table: rich on a terminal, aligned plain text otherwise."""
    if use_colour():
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title)
        for h in headers:
            t.add_column(h)
        for row in rows:
            t.add_row(*("" if c is None else str(c) for c in row))
        Console().print(t)
        return
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if title:
        out(title)
    for r in cells:
        out("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
