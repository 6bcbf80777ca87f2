"""Progress files (``progress/<name>.md`` on the state branch): parse, update, render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from typing import Any

from gitpar.core import markdown
from gitpar.errors import BadInput, bad

# parse_time and STATUSES live in gitpar.model; re-exported here while other modules still import them from here
from gitpar.model.statuses import STATUSES as STATUSES
from gitpar.model.times import parse_time as parse_time

# extra statuses written by later stages keep the file readable by this version
SECTIONS = (
    ("completed", "Completed"),
    ("current", "Current"),
    ("blocked", "Blocked"),
    ("next", "Next"),
    ("coordination", "Coordination needed"),
)
_HEADINGS = {title.lower(): key for key, title in SECTIONS}
LIST_SECTIONS = ("completed", "blocked", "next", "coordination")


def progress_path(name: str) -> str:
    return f"progress/{name}.md"


def now_iso(now: dt.datetime | None = None) -> str:
    if now is None:  # a stamp written to the state branch: the real clock, never GITPAR_NOW
        from gitpar.core.clock import real_now_utc

        now = real_now_utc()
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Progress:
    """One stream's reported progress."""

    stream: str
    status: str = "pending"
    completion: int = 0
    agent: str = ""
    started: str | None = None
    updated: str | None = None
    completed: tuple[str, ...] = ()
    current: str = ""
    blocked: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    coordination: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # port, finished, setup ... kept as written

    @classmethod
    def pending(cls, stream: str) -> Progress:
        """``Progress(stream)``, the progress of a stream nobody started, made without the
        dozen frozen-field assignments of ``__init__`` (a status of a big plan makes one for
        nearly every stream)."""
        made = object.__new__(cls)
        made.__dict__.update(_PENDING_FIELDS, stream=stream, extra={})
        return made

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: frontmatter names first, then the sections."""
        out: dict[str, Any] = {
            "stream": self.stream,
            "status": self.status,
            "completion": self.completion,
            "agent": self.agent,
            "started": self.started,
            "updated": self.updated,
        }
        out.update(self.extra)
        out.update({
            "completed": list(self.completed),
            "current": self.current,
            "blocked": list(self.blocked),
            "next": list(self.next),
            "coordination": list(self.coordination),
        })
        return out


_PENDING_FIELDS = {f.name: f.default for f in fields(Progress) if f.name not in ("stream", "extra")}

MAX_TEXT = 4000  # characters in one text option: a progress file must stay small


def clean_text(value: str) -> str:
    """``value`` on one line: each run of control characters (newline, tab, ...) becomes
    one space, so reported text can never start a section or a list item of a file."""
    if value.isprintable():
        return value.strip()
    out: list[str] = []
    for ch in value:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif out and out[-1] != " ":
            out.append(" ")
    return "".join(out).strip()


def check_text(value: str, option: str) -> str:
    """A text option (``--done``, ``--reason``, ...) cleaned by :func:`clean_text`;
    BadInput when it is longer than :data:`MAX_TEXT` characters."""
    if len(value) > MAX_TEXT:
        raise bad(None, option, f"the text is {len(value)} characters long, more than {MAX_TEXT}",
                  "say it in a sentence or two, and put long notes in a file of the stream")
    return clean_text(value)


def check_completion(value: Any, file: str | None = None, field: str = "--completion") -> int:
    """``value`` as a whole percentage; BadInput unless it is a number from 0 to 100."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        shown = value if isinstance(value, str) else repr(value)
        raise bad(file, field, f"{shown} is not a percentage from 0 to 100",
                  "give a whole number from 0 to 100, e.g. --completion 40")
    return int(value)


def check_status(value: Any, file: str | None = None, field: str = "--status") -> str:
    """``value`` if it is a known status; BadInput listing them otherwise."""
    if value not in STATUSES:
        raise bad(file, field, f"{value!r} is not a status",
                  f"use one of: {', '.join(STATUSES)}")
    return str(value)


def parse_progress(name: str, text: str, file: str | None = None) -> Progress:
    """A Progress from its file's text; BadInput names the file and field."""
    file = file or f"gitpar/_state:{progress_path(name)}"
    meta, body = markdown.parse(text, file)
    if not meta:  # random bytes, a truncated or hand-mangled file: never read as "pending"
        raise bad(file, "frontmatter", "missing: the file does not start with a '---' block "
                  "of key: value lines", "restore it from the state branch's history "
                  f"(git log -p gitpar/_state -- {progress_path(name)}), or delete it and "
                  "report progress again")
    status = check_status(meta.get("status", "pending"), file, "status")
    completion = check_completion(meta.get("completion", 0) or 0, file, "completion")
    sections: dict[str, list[str]] = {key: [] for key, _ in SECTIONS}
    current_key: str | None = None
    for line in body.splitlines():
        if line.startswith("## "):
            current_key = _HEADINGS.get(line[3:].strip().lower())
            continue
        if current_key is None:
            continue
        if current_key in LIST_SECTIONS:
            stripped = line.strip()
            if stripped.startswith(("- ", "* ")):
                sections[current_key].append(stripped[2:].strip())
            elif stripped and sections[current_key]:
                sections[current_key][-1] += " " + stripped  # a wrapped item
        else:
            sections[current_key].append(line)
    known = {"stream", "agent", "status", "completion", "started", "updated"}
    agent = meta.get("agent") or ""
    return Progress(
        stream=name,
        status=status,
        completion=completion,
        agent=str(agent),
        started=_text_or_none(meta.get("started")),
        updated=_text_or_none(meta.get("updated")),
        completed=tuple(sections["completed"]),
        current="\n".join(sections["current"]).strip(),
        blocked=tuple(sections["blocked"]),
        next=tuple(sections["next"]),
        coordination=tuple(sections["coordination"]),
        extra={k: v for k, v in meta.items() if k not in known},
    )


def read_all(files: dict[str, str]) -> tuple[dict[str, Progress], dict[str, str]]:
    """Progress by stream from ``progress/<name>.md`` files, and the unreadable ones.

    Never raises: a file that cannot be parsed goes into the second mapping (stream name
    to the problem, naming the file) so a reader such as ``status`` can report it.
    """
    out: dict[str, Progress] = {}
    problems: dict[str, str] = {}
    for path, text in files.items():
        name = path[len("progress/"):-3]
        if not (path.startswith("progress/") and path.endswith(".md")) or "/" in name:
            continue
        try:
            out[name] = parse_progress(name, text)
        except BadInput as exc:
            problems[name] = str(exc).replace("\n  fix:", "; fix:")
    return out, problems


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def render_progress(p: Progress) -> str:
    meta: dict[str, Any] = {
        "stream": p.stream,
        "agent": p.agent,
        "status": p.status,
        "completion": p.completion,
        "started": p.started,
        "updated": p.updated,
    }
    meta.update(p.extra)
    parts = []
    for key, title in SECTIONS:
        value = getattr(p, key)
        if key in LIST_SECTIONS:
            text = "\n".join(f"- {item}" for item in value)
        else:  # a line starting with '#' would read back as a heading: indent it
            text = "\n".join(" " + line if line.startswith("#") else line
                             for line in value.split("\n"))
        parts.append(f"## {title}\n{text}".rstrip() + "\n")
    return markdown.render(meta, "\n".join(parts))


@dataclass(frozen=True)
class ProgressUpdate:
    """What a worker reports in one ``gitpar progress`` call."""

    status: str | None = None
    completion: int | None = None
    done: tuple[str, ...] = ()
    current: str | None = None
    blocked: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    need: tuple[str, ...] = ()
    agent: str | None = None
    clear: tuple[str, ...] = ()  # sections to empty first

    def describe(self) -> str:
        bits = []
        if self.status:
            bits.append(f"status {self.status}")
        if self.completion is not None:
            bits.append(f"{self.completion}%")
        if self.done:
            bits.append(f"done: {'; '.join(self.done)}")
        if self.current is not None:
            bits.append("current")
        if self.blocked:
            bits.append(f"blocked: {'; '.join(self.blocked)}")
        if self.next:
            bits.append("next")
        if self.need:
            bits.append(f"needs: {'; '.join(self.need)}")
        if self.clear:
            bits.append(f"cleared {', '.join(self.clear)}")
        return ", ".join(bits) or "touched"


def apply_update(p: Progress, u: ProgressUpdate, now: str) -> Progress:
    """``p`` with ``u`` applied: items appended (no duplicates), fields replaced, ``updated`` set."""
    def merged(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(old + tuple(c for c in map(clean_text, new) if c)))

    u = replace(u, done=tuple(map(clean_text, u.done)),
                current=None if u.current is None else clean_text(u.current),
                agent=None if u.agent is None else clean_text(u.agent))

    cleared = {key: () for key in u.clear}
    p = replace(p, **cleared) if cleared else p  # type: ignore[arg-type]
    if "current" in u.clear:
        p = replace(p, current="")
    status = u.status or p.status
    if u.status is None:
        if u.blocked and status != "completed":
            status = "blocked"
        elif status == "blocked" and "blocked" in u.clear:
            status = "in_progress"
        elif status == "pending" and (u.done or u.current or u.completion):
            status = "in_progress"
    completion = p.completion if u.completion is None else u.completion
    if u.status == "completed" and u.completion is None:
        completion = 100
    done = merged(p.completed, u.done)
    # an item reported done leaves the list of next steps
    next_items = tuple(i for i in merged(p.next, u.next) if i not in u.done)
    return replace(
        p,
        status=status,
        completion=completion,
        agent=u.agent if u.agent is not None else p.agent,
        started=p.started or (now if status != "pending" else None),
        updated=now,
        completed=done,
        current=u.current if u.current is not None else p.current,
        blocked=merged(p.blocked, u.blocked),
        next=next_items,
        coordination=merged(p.coordination, u.need),
    )
