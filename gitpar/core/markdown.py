"""Markdown files with YAML frontmatter: the format of every gitpar file.

:func:`parse` is the one frontmatter reader: every file gitpar reads (plan, streams,
progress, locks, history, and the commit hook's cache rebuild) comes through it. Its fast
path reads the subset gitpar writes; the rest goes to PyYAML (libyaml's C loader when
present). It first refuses what no gitpar file needs and an attacker could use: a
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
    return meta, body.strip()


def parse(text: str, file: str) -> tuple[dict[str, Any], str]:
    """The frontmatter (a mapping) and the body of ``text``; BadInput names ``file`` on error.

    The one frontmatter reader of gitpar: a fast path for what gitpar writes itself
    (:func:`_parse_fast`, tested against YAML as its oracle), PyYAML for the rest. A UTF-8
    byte-order mark at the start is read as nothing. A file with no frontmatter at all
    (nothing that looks like one) reads as ``{}`` and its text. Refused with BadInput
    (exit 2): a file over :data:`MAX_FILE_BYTES`; a block gitpar cannot read (no closing
    ``---``, text before the opening ``---``, ``...`` as its end, TOML ``+++`` or JSON
    frontmatter); YAML anchors or aliases; a key written twice; malformed YAML; a
    frontmatter that is not a mapping.
    """
    check_size(text, file)
    if text.startswith("\ufeff"):
        text = text[1:]
    fast = _parse_fast(text)  # the fast subset has no anchors, aliases or repeated keys
    if fast is not None:
        return fast
    return _parse_yaml(text, file)


_OPENING = re.compile(r"-{3}[ \t]*\Z")
_CLOSING = re.compile(r"(?:-{3}|\.{3})[ \t]*\Z")
_FIX_BLOCK = "start the file with a '---' line, then YAML 'key: value' lines, then a '---' line"


def _split(text: str, file: str) -> tuple[str, str, int] | None:
    """The YAML between the opening and the closing ``---`` lines, the text after them and
    the file's line number of the YAML's first line; None when the file has no frontmatter
    at all. BadInput for a block gitpar cannot read."""
    lines = text.splitlines(keepends=True)
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1  # blank lines before the block are nothing
    if first == len(lines):
        return None
    head = lines[first].rstrip("\r\n")
    if head.startswith("+++"):
        raise bad(file, "frontmatter", "is TOML ('+++'), which gitpar does not read", _FIX_BLOCK)
    if head.startswith("{"):
        raise bad(file, "frontmatter", "is JSON, which gitpar does not read", _FIX_BLOCK)
    if not _OPENING.match(head):
        if any(_OPENING.match(x.rstrip("\r\n")) for x in lines[first + 1:]):
            raise bad(file, "frontmatter", f"text before the opening '---' (line {first + 1}: "
                      f"{head[:40]!r})", "remove what comes before the '---' line: it must be the "
                      "file's first line")
        if _FAST_KEY.match(head) and not head.startswith("#"):
            raise bad(file, "frontmatter", "has no opening '---' line", _FIX_BLOCK)
        return None
    for i in range(first + 1, len(lines)):
        line = lines[i].rstrip("\r\n")
        if _CLOSING.match(line):
            if line.startswith("."):
                raise bad(file, "frontmatter", f"ends with '...' (line {i + 1}), which gitpar "
                          "does not read as the end of the block", "write '---' as its closing line")
            return "".join(lines[first + 1:i]), "".join(lines[i + 1:]), first + 2
    raise bad(file, "frontmatter", "has no closing '---' line (the block is never closed)",
              "add a '---' line after the last 'key: value' line")


def _loader() -> Any:
    import yaml

    global _LOADER
    if _LOADER is None:
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[valid-type,misc]
            """SafeLoader that refuses a mapping key written twice (YAML keeps the last)."""

            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                if isinstance(node, yaml.MappingNode):
                    seen: set[Any] = set()
                    for key_node, _ in node.value:
                        key = self.construct_object(key_node, deep=True)
                        try:
                            repeated = key in seen
                            seen.add(key)
                        except TypeError:
                            continue  # an unhashable key: the constructor says so
                        if repeated:
                            raise _Repeated(key, key_node.start_mark)
                return super().construct_mapping(node, deep)

        _LOADER = Loader
    return _LOADER


_LOADER: Any = None


class _Repeated(Exception):
    def __init__(self, key: Any, mark: Any) -> None:
        self.key, self.mark = key, mark


def _parse_yaml(text: str, file: str) -> tuple[dict[str, Any], str]:
    """:func:`parse` without the fast path: the block split off, then read by PyYAML."""
    import yaml

    split = _split(text, file)
    if split is None:
        return {}, text.strip()
    fm, content, first_line = split
    _refuse_anchors(fm, file, first_line)
    try:
        meta = yaml.load(fm, Loader=_loader())  # noqa: S506 — a SafeLoader subclass
    except _Repeated as exc:
        line = f" (line {exc.mark.line + first_line})" if exc.mark is not None else ""
        raise bad(file, "frontmatter", f"the key {exc.key!r} is written twice{line}",
                  "keep one line for each key") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + first_line})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise bad(file, "frontmatter", f"malformed YAML{where}: {problem}",
                  "fix the YAML between the two '---' lines") from None
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise bad(file, "frontmatter", f"unreadable: {exc}", _FIX_BLOCK) from None
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


def _refuse_anchors(frontmatter_text: str, file: str, first_line: int) -> None:
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
                line = f" (line {mark.line + first_line})" if mark is not None else ""
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


def plain(value: str) -> str:
    """``value`` as literal text in markdown (a table cell too): HTML and markdown syntax,
    mentions and line breaks neutralised."""
    import html

    text = html.escape(" ".join(str(value).split()), quote=False)
    out = []
    for ch in text:
        if ch in "\\`*_[]#!|~<>@":
            out.append("&#" + str(ord(ch)) + ";")
        else:
            out.append(ch)
    return "".join(out)
