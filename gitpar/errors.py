"""The one family of expected errors, each with its exit code.

Exit codes: 0 ok, 1 a check failed or an operation was refused, 2 bad input or usage,
3 an unexpected internal error, 130 interrupted.
"""

from __future__ import annotations


class GitparError(Exception):
    """An expected failure: its message is for the user, its exit code for the shell."""

    exit_code = 2


class BadInput(GitparError):
    """Bad input: a malformed file, an unknown stream, an invalid name, pattern or value.

    The message names the file, the field and the fix. Nothing was changed.
    """

    exit_code = 2


class Refused(GitparError):
    """A check failed, or an operation was refused to protect work (override flag named)."""

    exit_code = 1


class StateConflict(GitparError):
    """The state branch kept moving under us for longer than the retry budget."""

    exit_code = 1


class RemoteError(GitparError):
    """The remote the state is coordinated through could not be reached or refused the change.

    Nothing was changed locally.
    """

    exit_code = 1


class BadState(GitparError):
    """The state branch is not one gitpar made (replaced, unrelated or diverged history).

    Every command stops; the message names the ref and the way to recover.
    """

    exit_code = 2


class StateRewound(BadState):
    """The remote's state branch lost commits this clone has seen there (force-pushed back).

    Not adopted; the message names the missing commits and the push that restores them.
    Exit 1: refused to protect work (the locks and their record).
    """

    exit_code = 1


def bad(file: str | None, field: str | None, problem: str, fix: str) -> BadInput:
    """Build a BadInput whose message names the file, the field, the problem and the fix."""
    where = ""
    if file and field:
        where = f"{file}: {field}: "
    elif file:
        where = f"{file}: "
    elif field:
        where = f"{field}: "
    return BadInput(f"{where}{problem}\n  fix: {fix}")
