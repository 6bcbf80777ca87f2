"""Markdown files with YAML frontmatter: the format of every gitpar file.

Parsing goes through python-frontmatter (which uses libyaml's C loader when present);
every file gitpar reads (plan, streams, progress, locks, history) comes through
:func:`parse`, which first refuses what no gitpar file needs and an attacker could use: a
file over :data:`MAX_FILE_BYTES`, and YAML anchors and aliases (``&a``/``*a``), which let a
few hundred bytes expand into gigabytes (an "alias bomb"). Aliases are found by scanning
the YAML tokens, before anything is composed, so refusing a bomb costs microseconds.
Writing is done here so that lists stay in the compact flow style the design shows
(``owns: ["src/api/**"]``) and a file round-trips without churn.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gitpar.errors import bad

MAX_FILE_BYTES = 1 << 20  # 1 MiB: the biggest progress file in use is a few kB

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none", "~"}
_NUMBERISH = re.compile(r"[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?\Z|0x[0-9a-fA-F]+\Z|0o[0-7]+\Z")
_TIMESTAMPISH = re.compile(r"\d{4}-\d\d-\d\d")


# The subset of YAML that gitpar itself writes, read without the YAML library (thousands of
# files are read per status): ``key: value`` lines whose value is a plain word, a decimal
# integer, a timestamp, a JSON string, or a flow list of those. Anything else — comments,
# block lists, YAML 1.1's many spellings of booleans and numbers — goes to the real parser.
_FAST_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): ?(.*)\Z")
_FAST_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_FAST_INT = re.compile(r"(?:0|-?[1-9][0-9]{0,15})\Z")
_FAST_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_FAST_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"\Z')
_FAST_SPECIAL = {"null": None, "true": True, "false": False}
# words starting with a digit that YAML reads as text: durations (2h, 1h30m) and commit ids
_FAST_DIGIT_WORD = re.compile(r"(?:\d+[smhdw])+\Z|[0-9a-f]{40}\Z")
_YAML_NUMBER = re.compile(r"[0-9_]*(?:\.[0-9_]*)?(?:e[-+]?[0-9]+)?\Z")


class _NotFast(Exception):
    pass


def _fast_scalar(token: str) -> Any:
    if token in _FAST_SPECIAL:
        return _FAST_SPECIAL[token]
    if token.lower() in _YAML_WORDS:
        raise _NotFast
    if _FAST_INT.match(token):
        return int(token)
    if _FAST_TIME.match(token):
        return token
    if token.startswith('"'):
        if not _FAST_STRING.match(token):
            raise _NotFast
        return json.loads(token)
    if _FAST_WORD.match(token):
        return token
    if _FAST_DIGIT_WORD.match(token) and not _YAML_NUMBER.match(token):
        return token
    raise _NotFast


def _strip_comment(raw: str) -> str:
    """``raw`` without a trailing `` # comment`` (a ``#`` inside a JSON string is text)."""
    in_string = escaped = False
    for i, ch in enumerate(raw):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#" and (i == 0 or raw[i - 1] in " \t"):
            return raw[:i]
    return raw


def _fast_value(raw: str) -> Any:
    raw = _strip_comment(raw).strip()
    if raw.startswith("["):
        if not raw.endswith("]") or "#" in raw:
            raise _NotFast
        inner = raw[1:-1].strip()
        if not inner:
            return []
        if '"' in inner:
            # only simple quoted items without commas inside, so a split on ", " is exact
            items = [i.strip() for i in inner.split(",")]
            if any(i.count('"') not in (0, 2) for i in items):
                raise _NotFast
        else:
            items = [i.strip() for i in inner.split(",")]
        return [_fast_scalar(i) for i in items]
    if not raw or "#" in raw and not raw.startswith('"'):
        raise _NotFast
    return _fast_scalar(raw)


def _parse_fast(text: str) -> tuple[dict[str, Any], str] | None:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    if end < 0:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            return None
    meta: dict[str, Any] = {}
    try:
        for line in text[4:end].split("\n"):
            m = _FAST_KEY.match(line)
            if m is None or m.group(1) in meta:
                return None
            meta[m.group(1)] = _fast_value(m.group(2))
    except (_NotFast, ValueError):
        return None
    body = text[end + 5:]
    return meta, body.strip("\n")


def parse(text: str, file: str) -> tuple[dict[str, Any], str]:
    """The frontmatter (a mapping) and the body of ``text``; BadInput names ``file`` on error.

    Refused with BadInput (exit 2): a file over :data:`MAX_FILE_BYTES`, YAML anchors or
    aliases anywhere in the frontmatter, malformed YAML, a frontmatter that is not a mapping.
    """
    check_size(text, file)
    fast = _parse_fast(text)  # the fast subset has no anchors or aliases
    if fast is not None:
        return fast
    import frontmatter
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    # python-frontmatter's own parse() step by step, so the YAML is scanned for aliases
    # before it is loaded, and a frontmatter that is not a mapping is an error, not {}
    text = text.strip()
    try:
        handler = frontmatter.detect_format(text, frontmatter.handlers)
        if handler is None:
            return {}, text
        try:
            fm, content = handler.split(text)
        except ValueError:
            return {}, text
        if isinstance(handler, YAMLHandler):
            _refuse_anchors(fm, file)
        meta = handler.load(fm)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise bad(file, "frontmatter", f"malformed YAML{where}: {problem}",
                  "fix the YAML between the two '---' lines") from None
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise bad(file, "frontmatter", f"unreadable: {exc}",
                  "start the file with '---', YAML key: value lines, then '---'") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise bad(file, "frontmatter", "is not a mapping of keys to values",
                  "write it as 'key: value' lines between the two '---' lines")
    return {str(k): _normalise(v) for k, v in meta.items()}, content.strip()


def check_size(text: str, file: str) -> None:
    """BadInput naming ``file`` when ``text`` is over :data:`MAX_FILE_BYTES` in UTF-8."""
    # a character is at most 4 bytes: encode only when the length alone cannot decide
    if len(text) > MAX_FILE_BYTES or (
            len(text) * 4 > MAX_FILE_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES):
        raise bad(file, None, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB, "
                  "far more than any gitpar file needs",
                  "shorten it (move long text out of the frontmatter and the sections), "
                  "or restore it from git history")


def _refuse_anchors(frontmatter_text: str, file: str) -> None:
    """BadInput when the YAML text uses an anchor (``&a``) or an alias (``*a``).

    Scans tokens only (linear in the text; nothing is composed or expanded). A scanner
    error is left to the loader, which reports it with its line.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for token in yaml.scan(frontmatter_text, Loader=loader):
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                kind = "anchor ('&name')" if isinstance(token, yaml.AnchorToken) else "alias ('*name')"
                mark = token.start_mark
                # +1: the split-off frontmatter starts with the opening '---' line's newline
                line = f" (line {mark.line + 1})" if mark is not None else ""
                raise bad(file, "frontmatter", f"a YAML {kind}{line} is "
                          "not allowed in gitpar files: aliases can expand a small file "
                          "into gigabytes",
                          "write each value out in full; quote text that starts with '&' "
                          "or '*', like \"*x\"")
    except yaml.YAMLError:
        return


def _normalise(value: Any) -> Any:
    # YAML turns timestamps into datetime objects; gitpar keeps them as ISO-8601 text
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    return value


def scalar(value: Any) -> str:
    """One YAML scalar or flow list, written so it reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(str(k))}: {scalar(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if (
        _PLAIN.match(text)
        and text.lower() not in _YAML_WORDS
        and not _NUMBERISH.match(text)
        and not _TIMESTAMPISH.match(text)
    ):
        return text
    if _TIMESTAMPISH.match(text) and re.fullmatch(r"[0-9TZ:.\-+]+", text):
        return text  # a timestamp reads back as a datetime, which parse() turns into this text
    return json.dumps(text, ensure_ascii=False)


def render(meta: Mapping[str, Any], body: str, comments: Mapping[str, str] | None = None) -> str:
    """A markdown file: ``---``, one ``key: value`` line per entry, ``---``, the body."""
    lines = ["---"]
    for key, value in meta.items():
        line = f"{key}: {scalar(value)}"
        if comments and key in comments:
            line = f"{line:<32} # {comments[key]}"
        lines.append(line)
    lines.append("---")
    text = "\n".join(lines) + "\n"
    body = body.strip("\n")
    if body:
        text += body + "\n"
    return text


# -- markdown for people: the tables of the state README, status --markdown, CI summaries ------


def cell(value: Any) -> str:
    """``value`` as one markdown table cell: ``|`` escaped, on one line (None: empty)."""
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A markdown table's lines; every cell through :func:`cell`, except those a caller
    wraps in :class:`Raw` (already markdown, e.g. a path in backticks)."""
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(c.text if isinstance(c, Raw) else cell(c) for c in row) + " |")
    return lines


class Raw:
    """Markdown a :func:`table` cell keeps as it is (its parts escaped by the caller)."""

    def __init__(self, text: str) -> None:
        self.text = text


def code(value: Any) -> Raw:
    """A table cell in backticks (a path): escaped, then wrapped."""
    return Raw(f"`{cell(value)}`")
