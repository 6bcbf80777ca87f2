"""Durations as people write them in plans: ``90s``, ``45m``, ``2h``, ``1d``, ``1h30m``."""

from __future__ import annotations

import math
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
# Longer than any plan, lock or estimate needs; beyond ~8000 years times overflow datetime.
MAX_SECONDS = 3650 * 86400


def parse_duration(value: object) -> float:
    """Seconds in ``value`` (a duration string, or a number of seconds).

    Raises ValueError with a message saying what is accepted: also for a negative, not
    finite, or longer than ten years (:data:`MAX_SECONDS`) value.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a duration")
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        seconds = float(value)
    elif not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration")
    else:
        text = value.strip().lower().replace(" ", "")
        if not text or len(text) > 64 or not _WHOLE.fullmatch(text):
            raise ValueError(f"{value!r} is not a duration (write it like 90s, 45m, 2h, 1d or 1h30m)")
        seconds = float(sum(float(n) * _UNITS[u] for n, u in _PART.findall(text)))
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is longer than ten years")
    return seconds


def format_duration(seconds: float) -> str:
    """A short human form: ``2h``, ``1h30m``, ``45m``, ``12s``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    out = ""
    if days:
        out += f"{days}d"
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if s and not days:
        out += f"{s}s"
    return out
