"""Which commits are whose once they leave their stream's branch: the landed records.

When a stream is completed (``finish``) or integrated, the tip of its branch at that time
is recorded on the state branch (``landed/<stream>.txt``: one line per record, the tip,
the base tip then, and when). A commit reachable from a recorded tip of stream X and not
from the base it was recorded against is X's work, on whatever branch it later reaches
(``gitpar/_integration``, main): ``gitpar check``, the pre-push hook and the CI check
judge it with X's rules and X's locks at the time it was made
(:func:`gitpar.core.check.judge_range`). A commit that was never on a recorded stream
branch is judged as before: by the branch it is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitpar.core.progress import now_iso
from gitpar.core.repo import Repo
from gitpar.core.stream_progress import all_progress
from gitpar.store.commits import parents_of
from gitpar.store.state import Snapshot, StateStore

LANDED_DIR = "landed"
KEEP = 100  # records kept per stream (a stream finished again and again)


def landed_path(stream: str) -> str:
    return f"{LANDED_DIR}/{stream}.txt"


def landed_changes(snap: Snapshot, stream: str, tip: str, base_tip: str | None) -> dict[str, str | None]:
    """The state change recording ``tip`` as stream ``stream``'s landed work ({} when it is
    recorded already): for a CAS commit of its own or another change's (``finish``'s)."""
    path = landed_path(stream)
    lines = (snap.read(path) or "").splitlines()
    if any(line.split()[:1] == [tip] for line in lines if line.strip()):
        return {}
    lines.append(f"{tip} {base_tip or '-'} {now_iso()}")
    return {path: "\n".join(lines[-KEEP:]) + "\n"}


def record_landed(repo: Repo, stream: str, tip: str, base_tip: str | None = None) -> None:
    """Record on the state branch that ``tip`` (of ``gitpar/<stream>``) is ``stream``'s work:
    call it when the stream is completed or integrated (one CAS commit; nothing when known).
    ``base_tip``: the base when it was recorded (its commits are not the stream's)."""
    def change(snap: Snapshot) -> tuple[dict[str, str | None], str] | None:
        changes = landed_changes(snap, stream, tip, base_tip)
        return (changes, f"landed {stream}: gitpar/{stream} at {tip[:10]}") if changes else None

    StateStore(repo).update(change)


def landed_records(repo: Repo, snap: Snapshot) -> dict[str, list[tuple[str, str | None]]]:
    """Stream -> its records ``(tip, base tip then)``, oldest first: the ``landed/`` files, and
    the merges ``integrate`` recorded in progress files (``integrated: TARGET@MERGE``), whose
    other parents are the stream's tip and whose first parent was the target then."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for path, text in snap.list(LANDED_DIR).items():
        if not path.endswith(".txt"):
            continue
        stream = path[len(LANDED_DIR) + 1:-4]
        for line in text.splitlines():
            parts = line.split()
            if parts:
                out.setdefault(stream, []).append((parts[0], None if len(parts) < 2 or parts[1] == "-" else parts[1]))
    for name, p in all_progress(snap).items():
        value = str(p.extra.get("integrated") or "")
        merge = value.rpartition("@")[2]
        try:
            parents = parents_of(repo, merge) if merge else []
        except (KeyError, ValueError):
            continue
        for tip in parents[1:]:
            out.setdefault(name, []).append((tip, parents[0]))
    return out


@dataclass
class Attribution:
    """Whose commit is it: read lazily (only when a commit is found wrong as its branch's)."""

    repo: Any
    _owner: dict[str, str] | None = None
    _records: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    def _load(self) -> dict[str, str]:
        if self._owner is None:
            from gitpar.store.commits import reachable
            from gitpar.store.state import StateStore

            snap = StateStore(self.repo).snapshot()
            self._records = landed_records(self.repo, snap) if snap.commit else {}
            owner: dict[str, str] = {}
            for stream, records in sorted(self._records.items()):
                for tip, base in records:
                    for sha in reachable(self.repo, tip, [base] if base else []):
                        owner.setdefault(sha, stream)
            self._owner = owner
        return self._owner

    def stream_of(self, sha: str) -> str | None:
        """The stream whose recorded (completed or integrated) branch held commit ``sha``."""
        return self._load().get(sha)
