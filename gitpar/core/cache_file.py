"""Files in ``<git dir>/gitpar/cache/``: pickled or marshalled values, written atomically.

A cache file that is missing, truncated or from another version reads as None, and one
that cannot be written only costs time: gitpar then recomputes what it held. These files
are as trusted as the repository's own hooks (they live in the same git directory).

Only ``os`` is imported at load time: the commit hook's cache (``core/rules_cache``) writes
through :func:`write_bytes` too.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

_UNREADABLE = (OSError, EOFError, AttributeError, ImportError, TypeError, ValueError)


def read(path: Path) -> Any:
    """The value pickled in ``path``, or None when there is none to read."""
    import pickle

    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (*_UNREADABLE, pickle.PickleError):
        return None


def write(path: Path, value: Any, *, keep: int | None = None) -> None:
    """Pickle ``value`` into ``path`` (:func:`write_bytes`)."""
    import pickle

    write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), keep=keep)


def read_marshal(path: Path | str) -> Any:
    """The value marshalled in ``path``, or None when there is none to read."""
    import marshal

    try:
        with open(path, "rb") as f:
            return marshal.loads(f.read())  # marshal.load(f) reads each object apart: far slower
    except _UNREADABLE:
        return None


def write_bytes(path: Path | str, data: bytes, *, keep: int | None = None) -> None:
    """Write ``data`` to ``path`` by a rename (readers see the old file or the new one).

    With ``keep``, only the ``keep`` newest files of the folder with ``path``'s suffix are kept.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        if keep is not None:
            suffix = os.path.splitext(path)[1]
            with os.scandir(folder) as entries:
                same = [e for e in entries if e.name.endswith(suffix) and e.is_file()]
            for stale in sorted(same, key=lambda e: e.stat().st_mtime)[:-keep]:
                try:
                    os.unlink(stale.path)
                except FileNotFoundError:
                    pass
    except OSError:
        pass  # a read-only git directory only costs speed
