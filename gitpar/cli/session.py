"""What a command shares with the rest of its run, without the command line's parser: the
repositories it opened and their warnings, printed once when it ends. The commands answered
before typer loads (:mod:`gitpar.cli.quick`) use it as the full ones do (through
:mod:`gitpar.cli.app`)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing and the printer cost import time on the fast paths (guard)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from gitpar.core.repo import Repo

    R = TypeVar("R")

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

    found = pending_warnings()
    if found:
        from gitpar.cli import output as o

        for w in found:
            o.warn(w)
    _opened.clear()
    loading = sys.modules.get("gitpar.plugins.loading")
    if loading is not None:
        loading.take_warnings()


def say_state_age(repo: Any) -> None:
    """Reads that do not fetch say, with a remote, how old the state they read is."""
    from gitpar.cli import output as o
    from gitpar.core.remote import refresh

    note = refresh(repo, offline=True)
    if note:
        o.err(note.replace(" (--offline)", ""))


def crash(exc: BaseException, argv: list[str]) -> int:
    """An unexpected error: one line, and the versions and traceback in the crash log."""
    from gitpar.cli import output as o
    from gitpar.store import crash_log

    log = crash_log.write(exc, ["gitpar", *argv])
    o.err(f"gitpar: {crash_log.one_line(exc, log)}")
    return 3


def run_guarded(argv: list[str], body: Callable[[], R]) -> R | int:
    """``body()``'s answer (an exit code), with gitpar's handling of what ends a command: an expected
    error is its message and code, an interruption 130, a reader gone away 0, anything
    else a crash (:func:`crash`); the warnings are printed once at the end, whatever
    happened. The full command line and the commands answered before it loads both run
    through here."""
    from gitpar.errors import GitparError

    try:
        return body()
    except GitparError as exc:
        _say(f"gitpar: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("gitpar: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 — the one handler for the unexpected
        return crash(exc, argv)
    finally:
        show_warnings()


def _say(text: str) -> None:
    from gitpar.cli import output as o

    o.err(text)
