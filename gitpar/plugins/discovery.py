"""Finding installed plugins without importing pluggy or importlib.metadata.

Kept apart from the manager so that code paths which only need to know whether any
plugin *could* listen (events from locks and progress) stay as light as they are.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

ENTRY_POINT_GROUP = "gitpar"


@dataclass(frozen=True)
class EntryPoint:
    """One ``gitpar`` entry point of an installed distribution."""

    name: str
    value: str  # module or module:attribute
    package: str
    version: str


def find_entry_points(group: str = ENTRY_POINT_GROUP, path: Sequence[str] | None = None) -> list[EntryPoint]:
    """The ``group`` entry points of the distributions on ``path`` (default ``sys.path``).

    Like ``importlib.metadata.entry_points(group=...)``: the first distribution of a name
    on the path wins; unlike it, only ``*.dist-info`` / ``*.egg-info`` folders are read,
    with plain file reads (a few milliseconds for a few hundred distributions).
    """
    seen: set[str] = set()
    out: list[EntryPoint] = []
    header = f"[{group}]"
    for entry in path if path is not None else sys.path:
        folder = entry or os.getcwd()
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in sorted(names):
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist, _, version = name.rsplit(".", 1)[0].partition("-")
            key = dist.lower().replace("-", "_").replace(".", "_")
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if header not in text:
                continue
            version = version.split("-")[0]
            for ep_name, value in _section(text, header):
                out.append(EntryPoint(ep_name, value, dist, version))
    return out


def _section(text: str, header: str) -> Iterator[tuple[str, str]]:
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == header
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            yield name.strip(), value.strip()


_any_installed: bool | None = None  # looked up once per process (forget() asks again)


def any_installed() -> bool:
    """Whether any plugin is installed (an entry point in the group on ``sys.path``),
    looked up once per process: what lets events, path policies and estimates skip
    loading the plugins when only gitpar's own exist."""
    global _any_installed
    if _any_installed is None:
        _any_installed = bool(find_entry_points())
    return _any_installed


def forget() -> None:
    """Look again on the next :func:`any_installed` (``plugins.loading.reset``)."""
    global _any_installed
    _any_installed = None
