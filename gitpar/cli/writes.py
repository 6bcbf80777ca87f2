"""The bodies of the write commands answered before the command line loads (``progress``):
the full command (``cli/main.py``) and :mod:`gitpar.cli.quick` both call them, so they
cannot say different things. Nothing here imports typer."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

SECTIONS = ("completed", "current", "blocked", "next", "coordination")


def percent(text: str) -> int:
    """``--completion``'s type: a whole number 0..100, else gitpar's usual exit-2 message."""
    from gitpar.core.progress import check_completion

    try:
        return check_completion(int(text))
    except ValueError:
        return check_completion(text)


def progress(*, stream: str | None = None, status: str | None = None, completion: int | None = None,
             done: Sequence[str] = (), current: str | None = None, blocked: Sequence[str] = (),
             next_: Sequence[str] = (), need: Sequence[str] = (), agent: str | None = None,
             clear: Sequence[str] = (), json_: bool = False) -> None:
    """``gitpar progress``: report progress for the stream of this worktree (or ``stream``)."""
    from gitpar.cli import output as o
    from gitpar.cli.session import _repo
    from gitpar.core import streams
    from gitpar.core.progress import ProgressUpdate, check_status, check_text
    from gitpar.errors import bad

    if status is not None:
        check_status(status)
    for section in clear:
        if section not in SECTIONS:
            raise bad("--clear", "section", f"{section!r} is not a section",
                      "use completed, current, blocked, next or coordination")
    # newlines and other control characters become spaces: text cannot forge a section
    done, blocked, next_, need = ([check_text(t, opt) for t in items] for opt, items in
                                  (("--done", done), ("--blocked", blocked), ("--next", next_), ("--need", need)))
    current = None if current is None else check_text(current, "--current")
    agent = None if agent is None else check_text(agent, "--agent")
    repo = _repo()
    name, by = streams.writer_of(repo, stream)
    update = ProgressUpdate(status=status, completion=completion, done=tuple(done), current=current,
                            blocked=tuple(blocked), next=tuple(next_), need=tuple(need), agent=agent,
                            clear=tuple(clear))
    p = streams.report(repo, name, update, what=f"{update.describe()}\n\nreported for {name}, {by}" if by else None)
    if json_:
        o.emit_json(p.to_dict())
    else:
        o.err(f"{name}: {p.status}, {p.completion}%")
