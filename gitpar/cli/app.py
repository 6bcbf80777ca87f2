"""The ``gitpar`` application object and what every command module shares.

The command modules (``main`` and ``cmd_*``) import from here, never from each other, so
there is no circle between the entry point and the commands it loads.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gitpar.cli import output as o

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.repo import Repo

app = typer.Typer(
    name="gitpar",
    help="Coordinate parallel work streams in one git repository: plans, worktrees, progress, "
    "ownership, locks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
stream_app = typer.Typer(help="Define and read streams (.gitpar/streams/<name>.md).",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(stream_app, name="stream")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print data as JSON.")]


_opened: list[object] = []  # repositories opened by this command, whose warnings main() shows


def _repo() -> Repo:
    """The repository around the current directory, its warnings shown when the command ends."""
    from gitpar.core.repo import open_repo

    repo = open_repo()
    _opened.append(repo)
    return repo


def show_warnings() -> None:
    seen: set[str] = set()
    for repo in _opened:
        for w in getattr(repo, "warnings", []):
            if w not in seen:
                seen.add(w)
                o.warn(w)
    _opened.clear()
