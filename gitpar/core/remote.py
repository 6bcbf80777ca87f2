"""The state branch through a remote: fetching it before a read, and saying how old it is.

The write path (fetch, apply, push with a lease) lives in ``gitpar.store.state``; this
module is what commands call to read fresh state and to tell the user what they read.
"""

from __future__ import annotations

from gitpar.core.durations import format_duration
from gitpar.core.repo import Repo


def refresh_state(repo: Repo, *, offline: bool = False) -> str | None:
    """Fetch the state branch from the plan's remote first (unless ``offline``).

    Returns a note for the user saying where the state read comes from and how old it is
    (None without a remote). A remote that cannot be reached is a RemoteError (exit 1).
    """
    from gitpar.store.state import StateStore

    store = StateStore(repo)
    if store.remote is None:
        return None
    if not offline:
        store.fetch()
        return f"state from {store.remote}, fetched just now"
    age = store.fetched_age()
    if age is None:
        return f"state from {store.remote} never fetched in this clone (--offline): the local copy only"
    return f"state from {store.remote} as fetched {format_duration(age)} ago (--offline)"
