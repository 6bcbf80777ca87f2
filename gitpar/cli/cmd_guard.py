"""Command: gitpar guard — may this stream write these paths now?

The work is in :mod:`gitpar.cli.guard_entry`, which the entry point also calls directly
(without this module, or typer) for the common forms, since it runs before every edit.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gitpar.cli.app import app


@app.command()
def guard(paths: Annotated[list[str] | None, typer.Argument(
              help="Paths to write, absolute or relative to where you are (none with a harness format: "
                   "the tool call on stdin names them).")] = None,
          format_: Annotated[str, typer.Option("--format", help="text | json | claude | codex | gemini "
                                               "(a harness's pre-tool hook contract: JSON on stdin)")] = "text",
          json_: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
          changed: Annotated[bool, typer.Option("--changed", help="Judge what the worktree now holds (modified, "
                                                "added, deleted, created files) instead of PATHs: the check after "
                                                "each tool call (a harness's PostToolUse/AfterTool event does it too).")] = False,
          stream: Annotated[str | None, typer.Option("--stream", help="Judge as this stream, in its worktree, "
                                                     "whatever the current folder (the hook gitpar-agents installs "
                                                     "names it).")] = None) -> None:
    """May this stream write these paths now? The edit-time check, for agent harness hooks.

    Owned: allowed. Shared: allowed while this stream holds its lock. Another stream's,
    the plan, or outside the worktree: denied, with the way out. Exit 0 allowed, 1 denied;
    with a harness format, exit 0 and the contract's answer (2 when stdin is not a tool call).
    Shell commands (Bash) are read for the writes they visibly make: a best effort; the
    check after the tool call (--changed, PostToolUse) sees what the command really did.
    """
    from gitpar.cli.guard_entry import run

    raise typer.Exit(run(list(paths or []), "json" if json_ else format_, stream=stream, changed=changed))
