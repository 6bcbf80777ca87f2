"""Files in ``<git dir>/gitpar/cache/``: pickled values, written atomically.

A cache file that is missing, truncated or from another version reads as None, and one
that cannot be written only costs time: gitpar then recomputes what it held. These files
are as trusted as the repository's own hooks (they live in the same git directory).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

_UNREADABLE = (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError)


def read(path: Path) -> Any:
    """The value pickled in ``path``, or None when there is none to read."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except _UNREADABLE:
        return None


def write(path: Path, value: Any, *, keep: int | None = None) -> None:
    """Pickle ``value`` into ``path`` (a rename: readers see the old file or the new one).

    With ``keep``, only the ``keep`` newest ``*.pickle`` files of the folder are kept.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        if keep is not None:
            old = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime)[:-keep]
            for stale in old:
                stale.unlink(missing_ok=True)
    except OSError:
        pass
