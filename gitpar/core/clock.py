"""The time gitpar judges locks by: two clocks, one for reading and one for writing.

:func:`now` is what reads judge by: the system clock, unless ``GITPAR_NOW`` (epoch seconds,
or an ISO-8601 time like ``2026-12-03T14:00:00Z``) fixes the moment, so a test or a what-if
on the command line (``gitpar locks``, ``status``, the hooks' view of live locks) can look
past a lock's expiry instead of sleeping until it.

:func:`real_now` is what every state write stamps and judges by (lock, unlock, progress,
start, finish, the queue): always the system clock. ``GITPAR_NOW`` never moves a write, so it
cannot call a live lock stale, nor stamp an ``acquired``/``expires`` in the past or the
future (see docs/lockproof.md). Waiting (``gitpar lock --wait``) measures real elapsed time.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as dt

ENV = "GITPAR_NOW"

# How far two clocks may disagree before a date counts as out of order: a commit dated this
# much before its parent (backwards) or after the check's own real clock (the future), or a
# lock whose ``acquired`` is this far from its state commit's date, cannot prove a hold.
CLOCK_SKEW_S = 120.0


def now() -> float:
    """The current time in epoch seconds (``GITPAR_NOW`` when set)."""
    fixed = os.environ.get(ENV)
    return time.time() if not fixed else _parse(fixed)


def real_now() -> float:
    """The system clock in epoch seconds, whatever ``GITPAR_NOW`` says: for state writes."""
    return time.time()


def real_now_utc() -> dt.datetime:
    """:func:`real_now` as an aware UTC datetime."""
    import datetime as dt  # not at the top: the guard and the commit hook read now() alone

    return dt.datetime.fromtimestamp(time.time(), dt.timezone.utc)


def now_utc() -> dt.datetime:
    """:func:`now` as an aware UTC datetime."""
    import datetime as dt

    return dt.datetime.fromtimestamp(now(), dt.timezone.utc)


def _parse(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from gitpar.errors import bad

        raise bad(None, ENV, f"{text!r} is not a time",
                  "give epoch seconds (1796306176) or an ISO time (2026-12-03T14:00:00Z), "
                  "or unset it") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()
