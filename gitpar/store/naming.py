"""Branch and stream names: which stream a branch or ref name belongs to.

Standard library only: the pre-commit hook imports it, and start-up is the cost of every
commit. ``gitpar.store.repo`` re-exports it for everything else.
"""

from __future__ import annotations

STREAM_BRANCH_PREFIX = "gitpar/"
# set to "1" on a push made by a gitpar command that fetched the remote's state just before
# (integrate --land): the pre-push hook it fires judges with that fetch instead of its own
FETCHED_ENV = "GITPAR_FETCHED"


def stream_of_branch(name: str | None) -> str | None:
    """The stream whose branch ``name`` is, or None.

    Accepts a branch (``gitpar/api``), a full ref (``refs/heads/gitpar/api``), a remote-
    tracking ref (``refs/remotes/origin/gitpar/api``) or its short form (``origin/gitpar/api``).
    ``gitpar/_state`` and other ``gitpar/_*`` branches are gitpar's own, not streams; tags and
    other refs are no stream's. Stream names hold no ``/``, so nothing deeper is one.
    """
    if not name:
        return None
    if name.startswith("refs/heads/"):
        name = name[len("refs/heads/"):]
    elif name.startswith("refs/remotes/"):
        name = name[len("refs/remotes/"):].partition("/")[2]
    elif name.startswith("refs/"):
        return None
    elif not name.startswith(STREAM_BRANCH_PREFIX):
        remote, _, rest = name.partition("/")  # origin/gitpar/api
        if remote and rest.startswith(STREAM_BRANCH_PREFIX):
            name = rest
    if not name.startswith(STREAM_BRANCH_PREFIX):
        return None
    stream = name[len(STREAM_BRANCH_PREFIX):]
    if not stream or stream.startswith("_") or "/" in stream:
        return None
    return stream
