"""The time gitpar judges locks by: the system clock, unless ``GITPAR_NOW`` says otherwise.

``GITPAR_NOW`` (epoch seconds, or an ISO-8601 time like ``2026-12-03T14:00:00Z``) fixes
the moment lock expiry, staleness and new lock and progress times are computed from, so a
test (or a what-if on the command line) can step past a lock's expiry instead of sleeping
until it. Waiting (``gitpar lock --wait``) still measures real elapsed time.
"""

from __future__ import annotations

import datetime as dt
import os
import time

ENV = "GITPAR_NOW"


def now() -> float:
    """The current time in epoch seconds (``GITPAR_NOW`` when set)."""
    fixed = os.environ.get(ENV)
    return time.time() if not fixed else _parse(fixed)


def now_utc() -> dt.datetime:
    """:func:`now` as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(now(), dt.timezone.utc)


def _parse(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
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
