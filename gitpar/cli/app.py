"""The ``gitpar`` application object and what every command module shares.

The command modules (``main`` and ``cmd_*``) import from here, never from each other, so
there is no circle between the entry point and the commands it loads.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gitpar.cli import output as o

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.repo import Repo

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


_opened: list[Repo] = []  # repositories opened by this command, whose warnings main() shows


def _repo() -> Repo:
    """The repository around the current directory, its warnings shown when the command ends."""
    from gitpar.core.repo import open_repo

    repo = open_repo()
    _opened.append(repo)
    return repo


def pending_warnings() -> list[str]:
    """What :func:`show_warnings` will print: the warnings of the repositories this command
    opened, then those the plugin loader still holds, each once (the one channel: see
    ``store.repo``'s docstring). A command's JSON ``warnings`` field is this list."""
    import sys

    found = [w for repo in _opened for w in repo.warnings]
    loading = sys.modules.get("gitpar.plugins.loading")  # not imported: no plugin was asked
    if loading is not None:
        found += loading.waiting_warnings()
    return list(dict.fromkeys(found))


def show_warnings() -> None:
    """Print the command's warnings on stderr, once, when it ends (``main()``'s ``finally``)."""
    import sys

    for w in pending_warnings():
        o.warn(w)
    _opened.clear()
    loading = sys.modules.get("gitpar.plugins.loading")
    if loading is not None:
        loading.take_warnings()


def say_state_age(repo: Any) -> None:
    """Reads that do not fetch say, with a remote, how old the state they read is."""
    from gitpar.core.remote import refresh_state

    note = refresh_state(repo, offline=True)
    if note:
        o.err(note.replace(" (--offline)", ""))
