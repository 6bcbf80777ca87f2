"""The one owner of ``<git dir>/gitpar/cache/``: every cache file is written and read here.

Each file starts with one header line, ``gitpar-cache <FORMAT> <fingerprint>``: the store's
one format number and a fingerprint of the gitpar code that shapes what the caches hold
(its version and the files of the modules that write them). A file with another header
(another gitpar, an edited checkout, an older format) reads as None and is deleted, so no
cache keeps its own version constant. Values are plain data (dicts, lists, tuples,
strings, numbers, bytes), marshalled: no class instance is ever stored, each cache has
explicit to/from functions next to its types; a file is written by ``mkstemp`` +
``os.replace`` (readers see the old file or the new one).

The caches (docs/architecture.md "Caches" says why none can go stale): ``plans/`` (a plan
and its rules, by ``.gitpar`` tree id: core/plan_cache.py), ``hook-rules.marshal`` (the
hook's rules and locks: core/rules_cache.py), ``ranges.marshal`` (what ranges of commits
changed: store/worktrees.py) and ``lock-history.marshal`` (core/lock_history.py).

A cache file that is missing, truncated or stale reads as None, and one that cannot be
written only costs time: gitpar then recomputes what it held. These files are as trusted
as the repository's own hooks (they live in the same git directory).

Only ``os`` is imported at load time: the commit hook's cache (``core/rules_cache``) is
kept here too.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

FORMAT = 1  # the layout of every cache file; the fingerprint covers what each one holds
_UNREADABLE = (OSError, EOFError, AttributeError, ImportError, TypeError, ValueError, IndexError)
# the modules whose code decides what a cache holds (plan shapes, the rules' JSON, the hook's
# data), and every value type of the model layer (gitpar/model/, when there is one)
_SHAPERS = ("store/cache.py", "core/plan.py", "core/plan_cache.py", "core/rules.py", "core/rules_cache.py",
            "core/status.py", "store/worktrees.py", "store/commits.py", "core/lock_history.py",
            "core/locks/model.py")
_SHAPER_DIRS = ("model",)
_header: bytes | None = None


def header() -> bytes:
    """This gitpar's header line: the format and the fingerprint (computed once a process)."""
    global _header
    if _header is None:
        here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
        marks = [here]
        try:
            from gitpar import __version__ as version
        except ImportError:
            version = "?"
        marks.append(version)
        shapers = list(_SHAPERS)
        for rel_dir in _SHAPER_DIRS:
            try:
                shapers += sorted(f"{rel_dir}/{n}" for n in os.listdir(os.path.join(here, rel_dir))
                                  if n.endswith(".py"))
            except OSError:
                pass
        for rel in shapers:
            try:
                st = os.stat(os.path.join(here, rel))
                marks.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                marks.append(f"{rel}:-")
        from zlib import crc32

        text = "\0".join(marks).encode("utf-8", "surrogateescape")
        _header = f"gitpar-cache {FORMAT} {crc32(text):08x}{len(text):x}\n".encode()
    return _header


def read_bytes(path: Path | str) -> bytes | None:
    """What :func:`write_bytes` wrote to ``path`` with this header; None (and the file
    deleted) when it is missing or was written by another format or code."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    mark = header()
    if not data.startswith(mark):
        try:
            os.unlink(path)  # no gitpar with this code reads it again
        except OSError:
            pass
        return None
    return data[len(mark):]


def read_marshal(path: Path | str) -> Any:
    """The value marshalled in ``path``, or None when there is none to read."""
    import marshal

    data = read_bytes(path)
    try:
        return None if data is None else marshal.loads(data)
    except _UNREADABLE:
        return None


def write_marshal(path: Path | str, value: Any, *, keep: int | None = None) -> None:
    """Marshal ``value`` (plain data) into ``path`` (:func:`write_bytes`)."""
    import marshal

    write_bytes(path, marshal.dumps(value), keep=keep)


def write_bytes(path: Path | str, data: bytes, *, keep: int | None = None) -> None:
    """Write the header and ``data`` to ``path`` by a rename of a ``mkstemp`` file.

    With ``keep``, only the ``keep`` newest files of the folder with ``path``'s suffix are kept.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        import tempfile

        _gc_once(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header())
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
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


def _gc_once(folder: str) -> None:
    """Run :func:`gc` on the cache folder holding ``folder`` the first time this gitpar
    code writes there (a marker file with its header says it did): what an older gitpar
    left, in formats or files this one no longer uses, does not stay forever."""
    root = folder
    for _ in range(3):
        if os.path.basename(root) == "cache":
            break
        root = os.path.dirname(root)
    else:
        return
    from zlib import crc32

    mark = header()
    marker = os.path.join(root, f".gc-{crc32(mark):08x}")
    if os.path.exists(marker):
        return
    gc(root)
    with open(marker, "wb") as f:
        f.write(mark)


def gc(cache_dir: Path | str) -> int:
    """Delete every file under ``cache_dir`` that this gitpar cannot read (another header,
    a temporary file left by a killed writer); how many were deleted."""
    mark, gone = header(), 0
    for top, _dirs, files in os.walk(cache_dir):
        for name in files:
            path = os.path.join(top, name)
            try:
                with open(path, "rb") as f:
                    stale = name.endswith(".part") or f.read(len(mark)) != mark
                if stale:
                    os.unlink(path)
                    gone += 1
            except OSError:
                continue
    return gone
