"""CODEOWNERS files: parse them, render the plan's ownership as a section, turn entries into streams.

gitpar's ownership patterns follow CODEOWNERS semantics, so a pattern is written as it
is. In CODEOWNERS the last matching line wins; the section lists shared paths first and
owned paths after them, so a stream's own files end with their owner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEGIN = "# BEGIN gitpar"
END = "# END gitpar"
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # where GitHub looks, in order
_OWNER = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9._-]+)?\Z|[^@\s]+@[^@\s]+\.[^@\s]+\Z")


@dataclass(frozen=True)
class Entry:
    """One CODEOWNERS line: a pattern and its owners (none: the path is unowned)."""

    pattern: str
    owners: tuple[str, ...]
    line: int


@dataclass
class Export:
    """The section's text, and the streams whose owner is unknown (written as comments)."""

    text: str
    unknown: list[str] = field(default_factory=list)


def is_owner(text: str) -> bool:
    """``@user``, ``@org/team`` or an email address."""
    return bool(_OWNER.match(text))


def find_file(root: Path) -> Path | None:
    """The CODEOWNERS file GitHub would use, or None."""
    for rel in LOCATIONS:
        if (root / rel).is_file():
            return root / rel
    return None


def parse(text: str, file: str = "CODEOWNERS", *, skip_gitpar: bool = True) -> list[Entry]:
    """The entries of a CODEOWNERS file (gitpar's own section skipped); BadInput on a bad owner."""
    from gitpar.errors import bad

    entries = []
    inside = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith(BEGIN):
            inside = True
            continue
        if line.startswith(END):
            inside = False
            continue
        if not line or line.startswith("#") or (inside and skip_gitpar):
            continue
        words = re.split(r"(?<!\\)\s+", line.split(" #", 1)[0].strip())
        pattern, owners = words[0], tuple(w for w in words[1:] if w)
        for owner in owners:
            if not is_owner(owner):
                raise bad(f"{file}:{number}", "owner", f"{owner!r} is not @user, @org/team or an email",
                          "fix the line in the CODEOWNERS file")
        entries.append(Entry(pattern, owners, number))
    return entries


def owners_of(plan: Any, options: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each stream's owners: ``plugins.codeowners.owners.<stream>``, else its ``agent`` when it
    is an owner, else ``plugins.codeowners.default``; streams with none are left out."""
    from gitpar.errors import bad

    configured = options.get("owners") or {}
    if not isinstance(configured, Mapping):
        raise bad(".gitpar/plan.md", "plugins.codeowners.owners", "must map stream names to owners",
                  'write it like owners: {api: "@org/backend"}')
    default = options.get("default")
    out: dict[str, tuple[str, ...]] = {}
    for name, stream in plan.streams.items():
        raw = configured.get(name)
        if raw is None and stream.agent and all(is_owner(w) for w in stream.agent.split()):
            raw = stream.agent.split()
        if raw is None:
            raw = default
        if raw is None:
            continue
        owners = tuple([raw] if isinstance(raw, str) else raw)
        for owner in owners:
            if not isinstance(owner, str) or not is_owner(owner):
                raise bad(".gitpar/plan.md", f"plugins.codeowners.owners.{name}",
                          f"{owner!r} is not @user, @org/team or an email", 'write it like "@org/team"')
        out[name] = owners
    return out


def export(plan: Any, options: Mapping[str, Any]) -> Export:
    """The plan's ownership as a CODEOWNERS section (between ``# BEGIN gitpar`` and ``# END gitpar``)."""
    owners = owners_of(plan, options)
    lines = [f"{BEGIN}: the streams of .gitpar/ (written by 'gitpar codeowners export'; edits here are replaced)"]
    unknown = sorted(n for n in plan.streams if n not in owners)
    shared: dict[str, list[str]] = {}
    for s in plan.streams.values():
        for pattern in s.shares:
            shared.setdefault(pattern, []).append(s.name)
    if shared:
        lines.append("# shared: any of the sharing streams' owners may approve")
        for pattern, names in shared.items():
            who = sorted({o for n in names for o in owners.get(n, ())})
            lines.append(_line(pattern, who, ", ".join(names)))
    for s in plan.streams.values():
        if not s.owns:
            continue
        lines.append(f"# stream {s.name}" + (f": {s.description}" if s.description else ""))
        for pattern in s.owns:
            lines.append(_line(pattern, list(owners.get(s.name, ())), s.name))
    lines.append(END)
    return Export("\n".join(lines) + "\n", unknown)


def _line(pattern: str, owners: Sequence[str], streams: str) -> str:
    if not owners:
        return f"# {pattern}  (no owner known for {streams})"
    return f"{pattern} {' '.join(owners)}"


def replace_section(text: str, section: str) -> str:
    """``text`` with gitpar's section replaced by ``section`` (appended when there is none)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(BEGIN)), None)
    if start is None:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return text + sep + section
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(END)), len(lines) - 1)
    return "".join(lines[:start]) + section + "".join(lines[end + 1:])


def stream_name(owner: str) -> str:
    """A stream name from an owner: ``@org/backend`` -> ``backend``, ``bob@x.org`` -> ``bob``."""
    base = owner.split("/")[-1].lstrip("@") if owner.startswith("@") else owner.split("@")[0]
    name = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._") or "owner"
    return name if name[0].isalnum() else "o" + name


CATCH_ALL = ("*", "/*", "**", "/**", "/")


def to_streams(entries: Sequence[Entry]) -> tuple[list[dict[str, Any]], list[str]]:
    """Streams from CODEOWNERS entries, one per set of owners, owning that set's patterns;
    and notes on what was left out.

    A pattern listed again later belongs to the later owners (CODEOWNERS: the last match
    wins); a line without owners takes the pattern away from everyone. A catch-all line
    (``* @org/all``) is left out: in gitpar a stream owning everything would overlap every
    other; the plan's ``unowned`` setting covers the rest.
    """
    notes = []
    last: dict[str, tuple[str, ...]] = {}
    for e in entries:
        if e.pattern in CATCH_ALL:
            notes.append(f"line {e.line}: the catch-all {e.pattern!r} ({' '.join(e.owners) or 'no owner'}) is "
                         "left out; the plan's 'unowned' setting decides for files no stream owns")
            continue
        last.pop(e.pattern, None)
        last[e.pattern] = e.owners
    groups: dict[tuple[str, ...], list[str]] = {}
    for pattern, owners in last.items():
        if owners:
            groups.setdefault(owners, []).append(pattern)
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    for owners, patterns in groups.items():
        name = stream_name(owners[0])
        n = 2
        while name in used:
            name, n = f"{stream_name(owners[0])}-{n}", n + 1
        used.add(name)
        out.append({"name": name, "owns": patterns, "agent": " ".join(owners)})
    return out, notes
