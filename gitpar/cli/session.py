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


def crash(exc: BaseException, argv: list[str], *, label: str = "gitpar", program: str = "gitpar",
          cwd: str | None = None) -> int:
    """An unexpected error: one line, and the versions and traceback in the crash log."""
    from gitpar.store import crash_log

    log = crash_log.write(exc, [program, *argv], cwd)
    _say(f"{label}: {crash_log.one_line(exc, log)}")
    return 3


def run_guarded(argv: list[str], body: Callable[[], R], *, label: str = "gitpar", program: str = "gitpar",
                refusal: int | None = None, fail_closed: str | None = None, warnings: bool = True,
                cwd: str | None = None) -> R | int:
    """``body()``'s answer (an exit code), ended the one way gitpar ends a command, for the
    command line (both the full one and the light commands), the hooks and the guard:

    - an expected error (:class:`GitparError`): ``LABEL: message`` and its exit code
      (``refusal``, when given, stands for bad input's 2: a hook's refusal is git's 1);
    - Ctrl-C: ``LABEL: interrupted``, 130; a reader gone away (a closed pipe): 0;
    - anything else: a crash, one line naming the crash log (versions, ``PROGRAM ARGV``,
      traceback), 3 (:func:`crash`).

    ``fail_closed`` (the guard answering a harness's hook): every error, expected or not,
    is ``FAIL_CLOSED: Type: message`` and exit 2, the harness's "block it": a guard that
    cannot judge must not wave the edit through. With ``warnings`` the command's warnings
    are printed once at the end, whatever happened (:func:`show_warnings`)."""
    from gitpar.errors import GitparError

    try:
        return body()
    except KeyboardInterrupt:
        _say(f"{label}: interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 — the one handler for what ends a command
        if fail_closed is not None:
            _say(f"{fail_closed}: {type(exc).__name__}: {exc}")
            return 2
        if isinstance(exc, BrokenPipeError):
            return 0
        if isinstance(exc, GitparError):
            _say(f"{label}: {exc}")
            return refusal if refusal is not None and exc.exit_code == 2 else exc.exit_code
        return crash(exc, argv, label=label, program=program, cwd=cwd)
    finally:
        if warnings:
            show_warnings()


def _say(text: str) -> None:
    import sys

    sys.stderr.write(text + "\n")
