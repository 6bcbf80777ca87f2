"""Ownership patterns: validation (what gitpar rejects and why), parsing to a normal
form, and matching one pattern against one path (the oracle the index is tested
against). The rules themselves are in the package's docstring."""

from __future__ import annotations

# typing costs import time in a git hook; mypy treats this name like typing's
TYPE_CHECKING = False

if TYPE_CHECKING:  # annotations are strings anyway
    from collections.abc import Callable, Iterable
    from typing import Any

    # A compiled test on one path segment (or one whole path): truthy when it matches.
    _Matcher = Callable[[str], object]


RULE_KINDS = ("owns", "shares")


class PatternError(ValueError):
    """An ownership pattern that gitpar rejects; the message says what is wrong and the fix."""

    def __init__(self, pattern: str, problem: str, fix: str) -> None:
        self.pattern = pattern
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; fix: {fix}")


def _field(index: int, doc: str) -> Any:
    try:
        from _collections import _tuplegetter  # what namedtuple uses, without collections' imports

        return _tuplegetter(index, doc)
    except ImportError:  # another Python: a plain property
        return property(lambda self: self[index], doc=doc)


class Rule(tuple[str, str, str]):
    """One pattern of one stream: ``kind`` is ``"owns"`` or ``"shares"``.

    A tuple ``(stream, kind, pattern)`` with named fields rather than a dataclass: the git
    hook imports this module on every commit, and ``dataclasses`` (with ``inspect``) costs
    more than the whole check; nor a ``collections.namedtuple``, whose import costs about
    2 ms of the guard that runs after every tool call.
    """

    __slots__ = ()

    def __new__(cls, stream: str, kind: str, pattern: str) -> Rule:
        # Catch typos like "own" at construction rather than as silent non-ownership.
        if kind not in RULE_KINDS:
            raise ValueError(f"rule kind must be 'owns' or 'shares', not {kind!r}")
        return tuple.__new__(cls, (stream, kind, pattern))

    # the fields, read as fast as a namedtuple's (its C getters, where CPython has them)
    stream: str = _field(0, "the stream the pattern is of")
    kind: str = _field(1, "'owns' or 'shares'")
    pattern: str = _field(2, "the pattern, as the plan writes it")

    def __getnewargs__(self) -> tuple[str, str, str]:
        return (self[0], self[1], self[2])

    def __repr__(self) -> str:
        return f"Rule(stream={self[0]!r}, kind={self[1]!r}, pattern={self[2]!r})"


# --------------------------------------------------------------------------- validation

# Validation and matching avoid `re` until a pattern needs a regular expression: the
# pre-commit hook imports this module on every commit, and most plans (``src/api/**``)
# are matched by literal prefixes alone.
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


_CONTROL = frozenset(map(chr, (*range(32), 127)))


def _has_control(text: str) -> bool:
    return not _CONTROL.isdisjoint(text)  # in C: a plan of thousands of patterns pays this each


def _is_drive_path(text: str) -> bool:
    """``C:``, ``C:\\x`` or ``C:/x``: a Windows absolute path."""
    return len(text) >= 2 and text[0] in _ASCII_LETTERS and text[1] == ":" and (
        len(text) == 2 or text[2] in "\\/")


def _regex(source: str) -> _Matcher:
    """``fullmatch`` of ``source`` (DOTALL), compiled on first use."""
    compiled: _Matcher | None = None

    def match(text: str) -> object:
        nonlocal compiled
        if compiled is None:
            import re

            # DOTALL: git file names may contain newlines; '.' must still match them.
            compiled = re.compile(source, re.DOTALL).fullmatch
        return compiled(text)

    return match


def validate_pattern(pattern: str) -> None:
    """Raise :class:`PatternError` unless ``pattern`` is a usable CODEOWNERS-style pattern.

    The rules and their sources are in the module docstring. Returns None when valid.
    """
    if not isinstance(pattern, str):  # config files can hand us numbers or lists
        raise PatternError(
            str(pattern), f"a pattern must be a string, not {type(pattern).__name__}",
            "write the pattern as a quoted string, like 'src/api/**'")
    if not pattern.strip():
        raise PatternError(pattern, "the pattern is empty",
                           "remove it, or write what it should own, like 'src/api/**'")
    if _has_control(pattern):
        raise PatternError(pattern, "the pattern contains a control character "
                           "(NUL, newline, tab, ...)",
                           "write one pattern per entry, on one line, without control characters")
    if pattern != pattern.strip():
        raise PatternError(pattern, "the pattern has leading or trailing whitespace, which "
                           "CODEOWNERS would split off", "remove the surrounding spaces")
    if pattern.startswith("!"):
        raise PatternError(pattern, "'!' negation is not supported: CODEOWNERS patterns "
                           "cannot exclude files",
                           "list only what the stream owns (narrower patterns), and give the "
                           "excluded files to another stream")
    if _is_drive_path(pattern):
        raise PatternError(pattern, "this is a Windows absolute path, not a repository path",
                           "write the path relative to the repository root with '/', "
                           "like 'src/api/**'")
    if "\\" in pattern and not _escapes_ok(pattern):
        raise PatternError(pattern, "a backslash may only escape one of # * ? [ ] ! space "
                           "or backslash (as in '\\*' for a literal '*'); git paths use '/'",
                           "use '/' between directories, like 'src/api/**'")
    if pattern.startswith("#"):
        raise PatternError(pattern, "a leading '#' starts a comment in CODEOWNERS",
                           "escape it as '\\#' to match a name starting with '#'")
    if "***" in pattern:
        raise PatternError(pattern, "three or more '*' in a row have no defined meaning",
                           "use '*' within a name or '**' for any number of directories")
    body = pattern[1:] if pattern.startswith("/") else pattern
    if body.endswith("/"):
        body = body[:-1]
    for seg in body.split("/"):
        if seg == "..":
            raise PatternError(pattern, "'..' points outside the repository: patterns are "
                               "relative to the repository root",
                               "remove '..' and write the path from the repository root")
        if seg == ".":
            raise PatternError(pattern, "'.' components never appear in git paths, so the "
                               "pattern would match nothing", "remove the './' parts")
        if seg == "":
            raise PatternError(pattern, "the pattern has an empty path component ('//' or a "
                               "lone '/') and would match nothing",
                               "use single '/' separators; '/**' owns the whole repository")


_ESCAPABLE = frozenset("#*?[]! \\")


def _escapes_ok(pattern: str) -> bool:
    """Every backslash escapes one of :data:`_ESCAPABLE` (and none is the last character)."""
    i = pattern.find("\\")
    while i >= 0:
        if i + 1 >= len(pattern) or pattern[i + 1] not in _ESCAPABLE:
            return False
        i = pattern.find("\\", i + 2)
    return True


# --------------------------------------------------------------------------- parsing

def _is_literal(seg: str) -> bool:
    """No unescaped ``*`` or ``?`` in ``seg``."""
    if "\\" in seg:
        seg = _without_escapes(seg)
    return "*" not in seg and "?" not in seg


def _without_escapes(text: str) -> str:
    """``text`` with every ``\\x`` escape pair removed."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _unescape(text: str) -> str:
    """``text`` with each ``\\x`` escape replaced by ``x``."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _parse(pattern: str) -> tuple[tuple[str, ...], bool]:
    """Validate, then normalise to (anchored segments, dir_only).

    Floating patterns get an explicit leading ``**`` and runs of ``**`` collapse, so
    ``*.js``, ``**/*.js`` and ``**/**/*.js`` all become ``('**', '*.js')``.
    """
    validate_pattern(pattern)
    return _split(pattern)


def _split(pattern: str) -> tuple[tuple[str, ...], bool]:
    """:func:`_parse` without the validation, for patterns already validated."""
    anchored = pattern.startswith("/")
    body = pattern[1:] if anchored else pattern
    dir_only = body.endswith("/")
    if dir_only:
        body = body[:-1]
    raw = body.split("/")
    if not anchored and len(raw) == 1 and raw[0] != "**":
        raw = ["**", raw[0]]
    segs: list[str] = []
    for seg in raw:
        if seg == "**" and segs and segs[-1] == "**":
            continue
        segs.append(seg)
    return tuple(segs), dir_only


def literal_dir(pattern: str) -> str:
    """The directory every path ``pattern`` can own lies in: its literal leading
    components (``src/api`` for ``src/api/**`` and for ``src/api/x.py``; ``""`` for a
    floating pattern such as ``*.md``, which can own paths anywhere).

    The key by which a caller judging a few paths can skip the patterns that cannot
    match them, for an already validated pattern (the same prefix the index's trie uses).
    """
    if "\\" not in pattern:  # the common case, without building the normalised form
        body = pattern[1:] if pattern.startswith("/") else pattern
        if body.endswith("/"):
            body = body[:-1]
        if "/" not in body:  # one component: floating (at any depth), or at the root
            return ""
        out: list[str] = []
        for seg in body.split("/"):
            if "*" in seg or "?" in seg:
                return "/".join(out)
            out.append(seg)
        return "/".join(out[:-1])
    segs, _ = _split(pattern)
    n_lit = 0
    while n_lit < len(segs) and segs[n_lit] != "**" and _is_literal(segs[n_lit]):
        n_lit += 1
    if n_lit == len(segs):  # fully literal: the path itself, or everything under it
        n_lit -= 1
    return "/".join(_unescape(seg) for seg in segs[:n_lit])


def _segment_regex(seg: str) -> str:
    """Regex source for one pattern segment (never ``**``)."""
    if seg == "*":
        return "[^/]+"  # path segments are never empty
    out: list[str] = []
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch == "\\":  # an escape: the next character is literal (validated)
            out.append(_escape(seg[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(_escape(ch))
        i += 1
    return "".join(out)


def _escape(ch: str) -> str:
    """One character as a literal in a regular expression (what ``re.escape`` does)."""
    return "\\" + ch if ch in _REGEX_SPECIAL else ch


_REGEX_SPECIAL = frozenset("()[]{}?*+-|^$\\.&~# \t\n\r\v\f")


def _full_regex(segs: tuple[str, ...], dir_only: bool) -> str:
    """Regex source matching every file path the normalised pattern owns (fullmatch)."""
    parts: list[str] = []
    need_sep = False
    last = len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if last == 0:
                parts.append(".+")
            elif i == 0:
                parts.append("(?:.+/)?")
                need_sep = False
            elif i == last:
                parts.append("/.+")
            else:
                parts.append("(?:/.+)?")
                need_sep = True
        else:
            if need_sep:
                parts.append("/")
            parts.append(_segment_regex(seg))
            need_sep = True
    if dir_only and segs[-1] == "**" and last > 0:
        pass  # a/**/ names a and every directory in it: everything below a
    elif dir_only:
        parts.append("/.+")  # only what is strictly inside a matched directory
    elif segs[-1] == "*":
        pass  # CODEOWNERS: final lone '*' matches files only (docs/* is not recursive)
    elif segs[-1] != "**":
        parts.append("(?:/.+)?")  # the name may be a directory: own everything under it
    return "".join(parts)


_FULL_CACHE: dict[str, _Matcher] = {}
_SEG_CACHE: dict[str, _Matcher] = {}


def _compile_full(pattern: str) -> _Matcher:
    matcher = _FULL_CACHE.get(pattern)
    if matcher is None:
        segs, dir_only = _parse(pattern)
        matcher = _regex(_full_regex(segs, dir_only))
        if len(_FULL_CACHE) < 4096:  # bounded: long-running callers must not grow forever
            _FULL_CACHE[pattern] = matcher
    return matcher


def _compile_segment(seg: str) -> _Matcher:
    """A test of one path segment against one pattern segment (never ``**``)."""
    matcher = _SEG_CACHE.get(seg)
    if matcher is None:
        if _is_literal(seg):
            matcher = _unescape(seg).__eq__
        elif seg == "*":
            matcher = bool  # any non-empty segment
        else:
            matcher = _regex(_segment_regex(seg))
        if len(_SEG_CACHE) < 4096:
            _SEG_CACHE[seg] = matcher
    return matcher


def matches(pattern: str, path: str) -> bool:
    """Whether ``pattern`` owns the file ``path`` (the reference implementation).

    One regular expression per pattern, cached; :class:`OwnershipIndex` must agree
    with this for every pattern and path. Raises :class:`PatternError` for an invalid
    pattern.
    """
    matcher = _compile_full(pattern)  # first, so an invalid pattern raises even for ""
    return bool(path) and bool(matcher(path))


def pattern_matches_nothing(pattern: str, paths: Iterable[str]) -> bool:
    """True when ``pattern`` owns none of ``paths`` (e.g. the base tree): worth a warning.

    Raises :class:`PatternError` for an invalid pattern.
    """
    matcher = _compile_full(pattern)
    return not any(path and matcher(path) for path in paths)
