"""The ``gitpar`` application object and what every command module shares.

The command modules (``main`` and ``cmd_*``) import from here, never from each other, so
there is no circle between the entry point and the commands it loads.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

# what every command shares with the rest of its run (also without typer: cli/quick.py)
from gitpar.cli.session import _repo as _repo
from gitpar.cli.session import pending_warnings as pending_warnings
from gitpar.cli.session import say_state_age as say_state_age
from gitpar.cli.session import show_warnings as show_warnings

HELP_OPTIONS = ["-h", "--help"]
# what every command group (``gitpar stream``, ``gitpar hooks`` ...) is made with: -h as well as
# --help, and no completion options of its own (they are offered once, at the top)
GROUP_SETTINGS: dict[str, Any] = {"no_args_is_help": True, "rich_markup_mode": None, "add_completion": False,
                                  "context_settings": {"help_option_names": HELP_OPTIONS}}

app = typer.Typer(
    name="gitpar",
    help="Coordinate parallel work streams in one git repository: plans, worktrees, progress, "
    "ownership, locks.",
    no_args_is_help=True,
    add_completion=True,  # offered once, here: --install-completion / --show-completion
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": HELP_OPTIONS},
)
stream_app = typer.Typer(help="Define and read streams (.gitpar/streams/<name>.md).", **GROUP_SETTINGS)
app.add_typer(stream_app, name="stream")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print data as JSON.")]


def _version(value: bool) -> None:
    if value:
        from gitpar import __version__

        typer.echo(f"gitpar {__version__}")
        raise typer.Exit(0)


@app.callback()
def _top(version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                              help="Print gitpar's version and exit.")] = False) -> None:
    """Coordinate parallel work streams in one git repository: plans, worktrees, progress, ownership, locks."""
