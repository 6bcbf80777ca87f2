"""A stream's claim: which worktree may work on it now (``start --take-over`` fencing).

Every ``gitpar start`` writes a new claim id into the stream's progress file (``claim:``)
and into the worktree's git directory (``<git dir>/gitpar-claim``). ``start --take-over``
in another clone writes a new one there, so the old worktree's claim is no longer the
stream's: its later commits (the pre-commit hook, against the last fetched state), pushes
(the pre-push hook, which fetches) and progress reports (which fetch) are refused with a
message naming the take-over. A worktree without a claim file (made by an older gitpar)
is not fenced.

Standard library only: the pre-commit hook imports this module.
"""

from __future__ import annotations

import os

CLAIM_FILE = "gitpar-claim"
STATE_REF = "refs/heads/gitpar/_state"


def new_claim() -> str:
    """A fresh claim id (a string YAML keeps as one)."""
    import uuid

    return "c" + uuid.uuid4().hex[:15]


def worktree_claim(gitdir: str) -> str | None:
    """The claim recorded in the worktree whose git directory is ``gitdir`` (None: none)."""
    try:
        with open(os.path.join(gitdir, CLAIM_FILE), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def record_worktree_claim(gitdir: str, claim: str) -> None:
    """Write ``claim`` into the worktree's git directory (never into its files)."""
    with open(os.path.join(gitdir, CLAIM_FILE), "w", encoding="utf-8") as f:
        f.write(claim + "\n")


def superseded(stream: str, mine: str | None, current: str | None, taken_over: str | None) -> str | None:
    """The refusal when this worktree's claim ``mine`` is no longer the stream's ``current``
    one (None when it still is, or either is unknown)."""
    if not mine or not current or mine == current:
        return None
    by = f" by {taken_over}" if taken_over else " from another clone"
    return (f"stream {stream!r} was taken over{by} ('gitpar start {stream} --take-over'); this worktree's "
            f"claim ({mine}) is no longer the stream's ({current}), so its work here is fenced off.\n"
            f"  fix: stop working on {stream} here and hand what is not pushed to the new worker, or "
            f"take it back with 'gitpar start {stream} --take-over' (after 'git fetch')")


def claim_in_progress(text: str | None) -> tuple[str | None, str | None]:
    """``(claim, taken_over)`` from a progress file's text (its front matter's lines)."""
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key in ("claim", "taken_over") and key not in found:
            found[key] = value.strip().strip("'\"")
    return found.get("claim") or None, found.get("taken_over") or None


def check_commit(cwd: str, gitdir: str, stream: str | None) -> str | None:
    """The pre-commit hook's fences: the refusal when the worktree at ``cwd`` holds an old
    claim of ``stream``, or stages a file under a lock taken over from this clone's worker
    (:func:`lock_fence_refusal`), by the last fetched state (no network); else None."""
    if stream is None:
        return None
    return _claim_refusal(cwd, gitdir, stream) or lock_fence_refusal(cwd, gitdir, stream)


LOCK_FENCES = "lock-fences"  # <common git dir>/gitpar/lock-fences/<stream>/<path>: core.locks.acquire's records


def lock_fence_refusal(cwd: str, gitdir: str, stream: str) -> str | None:
    """The refusal when a staged file's lock was taken over since this clone's worker of
    ``stream`` took it: the fencing number the worker recorded (``gitpar lock``) is not the
    last one the state branch gave for the path (``locks/<path>.fence``). The lock may be
    held by ``stream`` again — by its worker in another clone — so the stream's live lock
    alone proves nothing for this worker's edits. No record: nothing to check, no git run."""
    from gitpar.store.quickgit import common_dir, git_output

    root = os.path.join(common_dir(gitdir), "gitpar", LOCK_FENCES, stream)
    records: dict[str, int] = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(folder, name)
            try:
                with open(full, encoding="utf-8") as f:
                    records[os.path.relpath(full, root).replace(os.sep, "/")] = int(f.read().strip())
            except (OSError, ValueError):
                continue
    if not records:
        return None
    paths = sorted(records)
    query = "".join(f"{STATE_REF}:locks/{p}.fence\n{STATE_REF}:locks/{p}.lock\n" for p in paths)
    code, out = git_output(["cat-file", "--batch"], cwd, query.encode("utf-8", "surrogateescape"))
    if code != 0:
        return None
    texts = _batch_texts(out, 2 * len(paths))
    moved = {}
    for i, path in enumerate(paths):
        fence_text, lock_text = texts[2 * i], texts[2 * i + 1]
        try:
            last = int((fence_text or "").strip() or "0")
        except ValueError:
            continue
        if last and last != records[path]:
            holder = ""
            for line in (lock_text or "").splitlines():
                if line.startswith("stream:"):
                    holder = line.partition(":")[2].strip().strip("'\"")
                    break
            moved[path] = (records[path], last, holder)
    if not moved:
        return None
    code, out = git_output(["--literal-pathspecs", "diff", "--cached", "--name-only", "-z", "--", *moved], cwd)
    staged = [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p in moved] if code == 0 else []
    if not staged:
        return None
    lines = []
    for path in staged:
        mine, last, holder = moved[path]
        now = f", held by stream {holder}" if holder else ""
        lines.append(f"the lock on {path} was taken over since this worker took it (its fence {mine}, the "
                     f"lock's is now {last}{now}), so this worker's edits of it were made without the lock")
    first = staged[0]
    return ("; ".join(lines) + f".\n  fix: unstage it ('git restore --staged {first}'), compare your change with "
            f"the new holder's; 'gitpar unlock {first}' drops this worker's claim, then 'gitpar lock {first}' "
            "takes it again")


def _batch_texts(out: bytes, count: int) -> list[str | None]:
    """The contents ``git cat-file --batch`` answered, in order (None: missing)."""
    texts: list[str | None] = []
    at = 0
    while len(texts) < count and at < len(out):
        end = out.find(b"\n", at)
        if end < 0:
            break
        head = out[at:end].split(b" ")
        at = end + 1
        if len(head) == 3 and head[2].isdigit():
            size = int(head[2])
            texts.append(out[at:at + size].decode("utf-8", "replace"))
            at += size + 1
        else:
            texts.append(None)  # "<name> missing", "ambiguous", ...
    return texts + [None] * (count - len(texts))


def _claim_refusal(cwd: str, gitdir: str, stream: str) -> str | None:
    mine = worktree_claim(gitdir)
    if mine is None:
        return None
    from gitpar.store.quickgit import git_output

    # --batch says "missing" on its output, not an error on git's: the hook stays quiet
    code, out = git_output(["cat-file", "--batch"], cwd, f"{STATE_REF}:progress/{stream}.md\n".encode())
    head, _, body = out.partition(b"\n")
    if code != 0 or head.endswith(b"missing") or b" blob " not in head:
        return None
    claim, taken = claim_in_progress(body.decode("utf-8", errors="replace"))
    return superseded(stream, mine, claim, taken)


def holder_fields() -> dict[str, object]:
    """What a start records of the process that claims the stream (``GITPAR_HOLDER_PID``,
    as a lock does): ``holder_pid`` and ``holder_started``; empty when none is claimed."""
    from gitpar.core.locks.holders import holder_process

    pid, started = holder_process()
    return {"holder_pid": pid, "holder_started": started} if pid else {}


def _holder(extra: dict[str, object]) -> tuple[str, int, str]:
    """The host, pid and start time of the process a start recorded as the claim's holder."""
    raw_pid = extra.get("holder_pid")
    pid = raw_pid if isinstance(raw_pid, int) and not isinstance(raw_pid, bool) and raw_pid > 0 else 0
    return str(extra.get("host") or ""), pid, str(extra.get("holder_started") or "")


def claim_gone(extra: dict[str, object], updated: str | None, *, heartbeat: float | None,
               now: float) -> str | None:
    """Why a claimed stream's holder is gone (its process on this host ended, or its pid is
    another process's now; or, with ``lock_heartbeat:``, no report within it), or None: the
    rule locks follow, shown by ``status`` and applied by ``start --take-over``."""
    from gitpar.core.locks.holders import process_gone

    gone = process_gone(*_holder(extra))
    if gone:
        return gone
    since = _age(updated, now)
    if heartbeat is not None and since is not None and since > heartbeat:
        return (f"holder gone: no report for {int(since)}s, longer than the plan's lock_heartbeat "
                f"({int(heartbeat)}s)")
    return None


def take_over_reason(stream: str, extra: dict[str, object], updated: str | None, *,
                     heartbeat: float | None, now: float, force: bool) -> str:
    """Whether ``start --take-over`` may take ``stream`` from the worker its progress names
    (``extra``: its host, pid, start time; ``updated``: its last report), by the rule locks
    follow: its holder is gone when its process on this host has ended (or the pid is another
    process's now), or, when the plan asks for heartbeats (``lock_heartbeat:``), it has not
    reported for longer than that. Gone: the reason, said in the state commit. Known to be
    alive (its process runs here, or it reported within the heartbeat): Refused (exit 1)
    unless ``force``. Neither known: '' (the take-over is the user's call, as before)."""
    from gitpar.core.locks.holders import process_alive
    from gitpar.errors import Refused

    gone = claim_gone(extra, updated, heartbeat=heartbeat, now=now)
    if gone:
        return gone
    host, pid, started = _holder(extra)
    since = _age(updated, now)
    alive = ""
    if process_alive(host, pid, started):
        alive = f"its holder, process {pid} on {host}, is running"
    elif heartbeat is not None and since is not None:
        alive = f"its worker reported {int(since)}s ago, within the plan's lock_heartbeat ({int(heartbeat)}s)"
    if alive and not force:
        raise Refused(f"stream {stream!r} is being worked on: {alive}; 'start --take-over' takes a stream "
                      f"whose holder is gone (its process ended, or no report within lock_heartbeat). "
                      f"Ask its worker to stop, or take it anyway with 'gitpar start {stream} --take-over "
                      f"--force' (recorded; the old worker is fenced off)")
    return f"taken from a live holder with --force ({alive})" if alive else ""


def _age(stamp: str | None, now: float) -> float | None:
    if not stamp:
        return None
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return now - moment.timestamp()
