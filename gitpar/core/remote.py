"""What a command reads from the plan's remote: one fetch per command, and how old the view is.

Every command that reads remote state (status, locks, conflicts, next, start, sync,
integrate, the MCP tools, the pre-push hook) calls :func:`refresh` first: ONE ``git fetch``
of the plan's remote brings the state branch, the base branch and every ``gitpar/*``
stream branch into ``refs/remotes/<remote>/``, once per command (it is remembered on the
repository object). ``--offline`` skips it and the note says how old the view is.

The write path (fetch, apply, push with a lease) lives in ``gitpar.store.state``.
"""

from __future__ import annotations

from gitpar.core.durations import format_duration
from gitpar.core.repo import Repo
from gitpar.store.state import StateStore

_DONE = "_gitpar_refreshed"  # on the repository object: the note of this command's fetch


def refresh(repo: Repo, *, offline: bool = False) -> str | None:
    """Fetch the plan's remote once for this command (unless ``offline``): state, base, streams.

    Returns a note for the user saying where the view comes from and how old it is (None
    without a remote). A remote that cannot be reached is a RemoteError (exit 1). A second
    call on the same repository object fetches nothing and returns the first note.
    """
    done = repo.__dict__.get(_DONE)
    if done is not None and (offline or not done[0]):
        return done[1]  # type: ignore[no-any-return]
    store = StateStore(repo)
    if store.remote is None:
        return None
    if not offline:
        store.fetch_all(repo.configured_base())
        note = f"state from {store.remote}, fetched just now (with its base and stream branches)"
    else:
        age = store.fetched_age()
        note = (f"state from {store.remote} never fetched in this clone (--offline): the local copy only"
                if age is None else
                f"state from {store.remote} as fetched {format_duration(age)} ago (--offline)")
    repo.__dict__[_DONE] = (offline, note)
    return note


def remote_base(repo: Repo) -> str:
    """The base branch as the plan's remote has it (``<remote>/<base>``) when this clone has
    fetched it, else the local base: what sync and start branch from and compare with."""
    base = repo.configured_base()
    remote = repo.state_remote()
    if remote is not None and repo.tip(f"refs/remotes/{remote}/{base}") is not None:
        return f"{remote}/{base}"
    return base

