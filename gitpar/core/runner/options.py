"""What ``gitpar run`` was asked to do: the options, parsed and checked, and the command's
placeholders (``{stream}``, ``{worktree}``, ``{brief}``, ``{port}``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitpar.core.durations import parse_duration
from gitpar.errors import bad

PLACEHOLDERS = ("stream", "worktree", "brief", "port")
# {name} is a placeholder; ${name} is the shell's; {{name}} is a literal {name}
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_]\w*)\}\}|(?<!\$)\{([A-Za-z_]\w*)\}")


@dataclass(frozen=True)
class Halt:
    """When to stop the run: ``never``, or ``soon``/``now`` after some failures or successes."""

    when: str = "never"  # never | soon | now
    on: str = "fail"  # fail | success
    count: int = 1
    percent: float | None = None

    def reached(self, hits: int, total: int) -> bool:
        if self.when == "never" or hits == 0:
            return False
        if self.percent is not None:
            return total > 0 and 100.0 * hits / total >= self.percent
        return hits >= self.count

    def describe(self) -> str:
        if self.when == "never":
            return "never"
        amount = f"{self.percent:g}%" if self.percent is not None else str(self.count)
        return f"{self.when},{self.on}={amount}"


def parse_halt(text: str) -> Halt:
    """``never``, ``now``, ``soon``, or ``now|soon,fail|success=N[%]`` as in GNU parallel."""
    fix = "write --halt never, --halt soon,fail=1, --halt now,fail=1 or --halt now,success=50%"
    value = text.strip().lower()
    if value == "never":
        return Halt()
    when, _, rest = value.partition(",")
    if when not in ("soon", "now"):
        raise bad(None, "--halt", f"{text!r} is not a halt policy", fix)
    if not rest:
        return Halt(when)
    m = re.fullmatch(r"(fail|success)=(\d+(?:\.\d+)?)(%?)", rest)
    if not m:
        raise bad(None, "--halt", f"{text!r} is not a halt policy", fix)
    amount = float(m.group(2))
    if m.group(3):
        if not 0 < amount <= 100:
            raise bad(None, "--halt", f"{text!r}: a percentage must be above 0 and at most 100", fix)
        return Halt(when, m.group(1), 1, amount)
    if amount < 1 or amount != int(amount):
        raise bad(None, "--halt", f"{text!r}: the count must be a whole number of at least 1", fix)
    return Halt(when, m.group(1), int(amount))


def parse_jobs(text: str | None) -> int:
    """``-j``: how many commands at once (default: the number of CPUs)."""
    if text is None:
        return os.cpu_count() or 1
    value = text.strip()
    if not value.isdigit() or int(value) < 1:
        raise bad(None, "-j", f"{text!r} is not a number of parallel jobs",
                  "give a whole number of at least 1, e.g. -j 4")
    return int(value)


def parse_timeout(text: str | None) -> float | None:
    """``--timeout``: a duration (``90s``, ``10m``, a number of seconds) or None."""
    if text is None:
        return None
    value: object = text
    try:
        value = float(text)
    except ValueError:
        pass
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise bad(None, "--timeout", str(exc), "write it like --timeout 90s, 10m or 2h (or leave it out)") from None
    if seconds <= 0:
        raise bad(None, "--timeout", f"{text!r} is not a positive duration",
                  "write it like --timeout 90s, 10m or 2h (or leave it out)")
    return seconds


def check_placeholders(command: Sequence[str]) -> None:
    """BadInput for an empty command or a ``{placeholder}`` gitpar does not know."""
    if not command or not command[0]:
        raise bad(None, "command", "no command given",
                  "put the command after --, e.g. gitpar run --all -- make test")
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for arg in command:
        for m in _PLACEHOLDER.finditer(arg):
            name = m.group(2)
            if name is not None and name not in PLACEHOLDERS:
                raise bad(None, "command", f"unknown placeholder {{{name}}} in {arg!r}",
                          f"use one of {known}; write {{{{{name}}}}} for a literal {{{name}}}")


def substitute(arg: str, values: Mapping[str, str]) -> str:
    """``arg`` with its placeholders replaced (checked beforehand by :func:`check_placeholders`)."""
    def one(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return "{" + m.group(1) + "}"
        return values[m.group(2)]

    return _PLACEHOLDER.sub(one, arg)


def check_command_exists(command: Sequence[str]) -> None:
    """BadInput when the program is a bare name found nowhere on PATH.

    A path (``./build.sh``) may exist only inside the worktrees, so it is checked per
    stream when it starts (a missing one fails that stream with exit 127).
    """
    program = command[0]
    if _PLACEHOLDER.search(program) or "/" in program:
        return
    if shutil.which(program) is None:
        raise bad(None, "command", f"{program!r} is not a command found on PATH",
                  "check the spelling, install it, or give its path")


@dataclass(frozen=True)
class RunOptions:
    """What ``gitpar run`` was asked to do."""

    command: tuple[str, ...]
    jobs: int
    select: str = "all"  # all | ready | streams
    streams: tuple[str, ...] = ()  # with select="streams"
    retries: int = 0
    retry_delay_s: float = 1.0  # the first backoff; doubles on every retry, at most a minute
    timeout_s: float | None = None
    kill_grace_s: float = 2.0  # between SIGTERM and SIGKILL
    finish: bool = False
    joblog: Path | None = None
    resume: str | None = None  # None | all | failed
    halt: Halt = field(default_factory=Halt)
    # write run records (durations for estimates) to the state branch: only when asked
    # (--record), or with --finish, where a success is the stream's work being done
    record: bool = False

    @property
    def command_key(self) -> str:
        """The command as typed: what run records are compared by."""
        return shlex.join(self.command)
