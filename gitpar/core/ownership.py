"""Ownership patterns: which stream's ``owns``/``shares`` patterns match which files.

Patterns use GitHub CODEOWNERS pattern syntax. Sources:

* GitHub Docs, "About code owners", section "CODEOWNERS syntax" and its example file
  (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
  patterns "follow most of the same rules used in gitignore files", except that
  escaping a leading ``#`` with ``\\``, ``!`` negation and ``[ ]`` character ranges
  do not work. So ``[`` and ``]`` are ordinary characters: ``app/[slug]/page.tsx`` (the
  Next.js convention) owns exactly that file (GitHub's editor asks for ``\\[``/``\\]``;
  both spellings mean the literal bracket here).
* git's gitignore(5), "PATTERN FORMAT" (https://git-scm.com/docs/gitignore), for
  everything the GitHub page does not spell out.
* Where GitHub's own example contradicts gitignore (``docs/*``), the rule is
  generalised the way hmarr/codeowners (a widely used matcher written to mirror
  GitHub, ``match.go``) does it.

Rules implemented (a *path* is a repo-relative POSIX path of a file, as git prints
it: ``src/api/a.py``; no leading ``/`` or ``./``, no trailing ``/``):

1. ``*`` matches any run of characters except ``/``; ``?`` matches one character
   except ``/``. Matching is case sensitive (GitHub: "CODEOWNERS paths are case
   sensitive").
2. A pattern with no ``/`` except possibly a trailing one (``*.js``, ``docs``,
   ``Makefile``, ``apps/``) matches at any depth, like gitignore: ``*.js`` owns every
   ``.js`` file, ``docs`` owns a file or directory named ``docs`` anywhere.
3. A leading ``/`` anchors the pattern to the repository root (``/docs/`` only the
   top-level ``docs``). A ``/`` in the middle anchors it too: ``docs/build`` is
   ``/docs/build``, never ``src/docs/build`` (gitignore rule; GitHub's ``/build/logs/``).
4. A pattern that matches a directory matches every file under it (gitignore: a
   matched directory excludes its contents; GitHub: ``/build/logs/`` owns "any files
   in the build/logs directory ... and any of its subdirectories").
5. A trailing ``/`` matches directories only, so ``apps/`` owns the files under any
   ``apps`` directory but not a file named ``apps`` (GitHub example ``apps/``).
6. ``**``: a leading ``**/`` matches in every directory (``**/logs`` = ``logs``,
   GitHub example); a trailing ``/**`` matches everything inside (``abc/**``); a
   middle ``/**/`` matches zero or more directories (``a/**/b`` matches ``a/b``,
   ``a/x/y/b``). ``**`` inside a segment (``a**b``) is an ordinary ``*`` (gitignore).
   ``a/**/`` owns everything below ``a``: ``**`` may match zero directories, so it
   names ``a`` itself and every directory inside it (GitHub's meaning; git's own
   check-ignore differs here and wants files two levels down).
7. CODEOWNERS difference from gitignore: a final path segment that is exactly ``*``
   (and no trailing ``/``) matches files only, never directories, so ``docs/*`` owns
   ``docs/getting-started.md`` but NOT ``docs/build-app/troubleshooting.md`` (GitHub's
   example; in a .gitignore ``docs/*`` would match the whole subtree). ``/*`` thus
   owns only files at the root. Other final segments still match directories:
   ``docs/*.md`` owns ``docs/x.md/y`` (gitignore and hmarr/codeowners agree).
   Write ``docs/**`` (or ``/docs/``) for the whole subtree.
8. A backslash escapes the next character: ``\\*``, ``\\?``, ``\\[``, ``\\]``, ``\\!``,
   ``\\ `` and ``\\\\`` match a literal ``*``, ``?``, ``[``, ``]``, ``!``, space and backslash
   (gitignore's escape, which GitHub keeps). ``\\#`` is a literal ``#``. GitHub documents that this escape does NOT work in a
   CODEOWNERS file (there a line starting with ``#`` is always a comment); gitpar
   patterns live in stream files, not CODEOWNERS lines, so it is accepted with its
   gitignore meaning. Caveat: such a pattern cannot be copied verbatim into a GitHub
   CODEOWNERS file. A ``#`` that is not the first character needs no escape.

Rejected by :func:`validate_pattern` (:class:`PatternError`): empty or blank patterns;
leading/trailing whitespace; control characters (NUL, newline, tab...); a leading
``!`` (CODEOWNERS has no negation); a backslash before any other character, or at the
end (``src\\api``: use ``/`` as separator); a leading unescaped ``#``
(a comment in CODEOWNERS/gitignore: write ``\\#``); ``..`` components (escape the
repository); ``.`` components and empty components (``a//b``, lone ``/``), which
can never match a git path; runs of three or more ``*``; Windows drive paths
(``C:\\x``, ``C:/x``). A leading ``/`` is legal anchoring: ``/etc/passwd`` is the
repo file ``etc/passwd``.

Speed: :class:`OwnershipIndex` never loops over every rule for every path. Anchored
patterns hang in a trie keyed by their literal leading directory components
(``pkg/mod/**`` needs no regex at all: it is "under this trie node"); floating names
and extensions sit in dicts; one-segment globs after a literal prefix
(``docs/x/*.md``) test a single path segment. A path only walks its own directories;
each distinct directory is resolved once per call (and trie-node results are memoised
on the index), so most paths cost one ``rpartition`` and one dict lookup. Only
patterns too irregular for those shapes get a full regular expression, tried only on
paths the trie says could match.
"""

from __future__ import annotations

from collections import namedtuple

# typing costs import time in a git hook; mypy treats this name like typing's
TYPE_CHECKING = False

if TYPE_CHECKING:  # annotations are strings anyway
    from collections.abc import Callable, Iterable

    # A compiled test on one path segment (or one whole path): truthy when it matches.
    _Matcher = Callable[[str], object]
    # (group, segment matcher, dir_only, lone_star): see _Node.child_globs / deep_globs
    _Glob = tuple[int, _Matcher, bool, bool]

__all__ = [
    "OwnershipIndex",
    "PatternError",
    "Rule",
    "literal_dir",
    "matches",
    "overlapping",
    "pattern_matches_nothing",
    "validate_pattern",
]

RULE_KINDS = ("owns", "shares")


class PatternError(ValueError):
    """An ownership pattern that gitpar rejects; the message says what is wrong and the fix."""

    def __init__(self, pattern: str, problem: str, fix: str) -> None:
        self.pattern = pattern
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; fix: {fix}")


_RuleFields = namedtuple("_RuleFields", ["stream", "kind", "pattern"])


class Rule(_RuleFields):
    """One pattern of one stream: ``kind`` is ``"owns"`` or ``"shares"``.

    A named tuple rather than a dataclass: the git hook imports this module on every
    commit, and ``dataclasses`` (with ``inspect``) costs more than the whole check.
    """

    __slots__ = ()

    def __new__(cls, stream: str, kind: str, pattern: str) -> Rule:
        # Catch typos like "own" at construction rather than as silent non-ownership.
        if kind not in RULE_KINDS:
            raise ValueError(f"rule kind must be 'owns' or 'shares', not {kind!r}")
        return super().__new__(cls, stream, kind, pattern)


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


# --------------------------------------------------------------------------- the index

class _Node:
    """A trie node for one literal directory prefix of anchored patterns."""

    __slots__ = ("children", "under", "cands", "child_globs", "deep_globs", "state")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        # groups owning everything strictly under this directory (a/b/**, /a/b/, a/b)
        self.under: list[int] = []
        # groups with this literal prefix but an irregular rest: full regex per path
        self.cands: list[int] = []
        # prefix + one wildcard segment (docs/*.md, /*, a/*/): test the next segment
        self.child_globs: list[_Glob] = []
        # prefix + ** + one segment (src/**/*.py, **/logs): test every deeper segment
        self.deep_globs: list[_Glob] = []
        # The state of this directory when no glob or floating name hit on the way down.
        # It depends only on the index, so it is kept across calls (bounded by the trie).
        self.state: _DirState | None = None


class _DirState:
    """What a directory's ancestry decides, computed once per distinct directory."""

    __slots__ = ("node", "dir_groups", "cands", "child_globs", "deep_globs", "file_rules",
                 "file_idx", "base_checks", "simple", "passthrough", "pure", "fast",
                 "detached")

    def __init__(self, node: _Node | None, dir_groups: frozenset[int], cands: tuple[int, ...],
                 child_globs: tuple[_Glob, ...], deep_globs: tuple[_Glob, ...]) -> None:
        self.node = node  # trie node of this directory, None once off the trie
        self.dir_groups = dir_groups  # matched by this directory or an ancestor of it
        self.cands = cands  # groups needing the full regex on each file path
        self.child_globs = child_globs  # to test on the next segment
        self.deep_globs = deep_globs  # to test on every further segment
        # For the files directly in this directory:
        self.file_rules: tuple[Rule, ...] = ()  # owned whatever the basename
        self.file_idx: frozenset[int] = frozenset()  # their rule indices
        self.base_checks: tuple[tuple[int, _Matcher], ...] = ()  # tests on the basename
        self.simple: tuple[Rule, ...] | None = None  # file_rules when nothing else to test
        # Subdirectories cannot add anything: they share this state object.
        self.passthrough = False
        # Reached through trie nodes only, nothing added on the way: depends only on the
        # index, so it (and its ``detached``) may be cached on the trie node across calls.
        self.pure = False
        # Pure, on the trie, and no name test pending: a subdirectory's state is just a
        # child lookup (see _state).
        self.fast = False
        # The state shared by subdirectories that add nothing (off the trie, no glob or
        # name hit), so most directories cost no allocation.
        self.detached: _DirState | None = None


class OwnershipIndex:
    """Answers "which rules own this path" for many rules and many paths, fast.

    Build once from the rules (invalid patterns raise :class:`PatternError`), then call
    :meth:`match` or :meth:`match_many`. The answers never change after the build; the
    index only memoises, on its trie nodes, results that depend on nothing but the rules
    (bounded by the number of distinct literal directory prefixes). Concurrent calls are
    safe: a race at worst computes the same memo twice.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: tuple[Rule, ...] = tuple(rules)
        # Rules sharing a pattern form one group, so each pattern is tested once per path.
        group_of: dict[str, int] = {}
        self._group_rules: list[tuple[int, ...]] = []
        members: list[list[int]] = []
        for idx, rule in enumerate(self._rules):
            group = group_of.get(rule.pattern)
            if group is None:
                group = group_of[rule.pattern] = len(members)
                members.append([])
            members[group].append(idx)
        self._group_rules = [tuple(m) for m in members]
        self._full: list[_Matcher | None] = [None] * len(members)

        self._root = _Node()
        self._exact: dict[str, list[int]] = {}  # literal patterns: the path itself
        # floating literal names (docs, Makefile, apps/): segment -> groups
        self._dir_names: dict[str, list[int]] = {}
        self._file_names: dict[str, list[int]] = {}
        # floating '*<literal with a dot>' (*.js, *.tar.gz): last extension -> (group, suffix)
        self._dir_exts: dict[str, list[tuple[int, str]]] = {}
        self._file_exts: dict[str, list[tuple[int, str]]] = {}
        # irregular patterns without a literal prefix but with a literal segment
        # (**/a/*/b, */build/**): candidate when the path has that segment
        self._name_cands: dict[str, list[int]] = {}

        for pattern, group in group_of.items():
            self._add(pattern, group)

        # Per-path work beyond the per-directory cache is needed only if any of these exist.
        self._per_path = bool(self._exact or self._file_names or self._file_exts
                              or self._name_cands)
        # Floating names can hit any directory segment, so no subtree is ever settled.
        self._dir_floating = bool(self._dir_names or self._dir_exts or self._name_cands)
        self._root_state = self._make_state(
            self._root, frozenset(self._root.under), tuple(self._root.cands),
            tuple(self._root.child_globs), tuple(self._root.deep_globs))
        self._root_state.pure = True
        self._root_state.fast = not (self._root.child_globs or self._root.deep_globs
                                     or self._dir_floating)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in the order given."""
        return self._rules

    def _add(self, pattern: str, group: int) -> None:
        segs, dir_only = _parse(pattern)
        n_lit = 0
        while n_lit < len(segs) and segs[n_lit] != "**" and _is_literal(segs[n_lit]):
            n_lit += 1
        prefix, rest = segs[:n_lit], segs[n_lit:]
        node = self._root
        for seg in prefix:
            key = _unescape(seg)
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = _Node()
            node = child

        if not rest:  # fully literal: /docs/, docs/build, /Makefile
            node.under.append(group)
            if not dir_only:
                self._exact.setdefault(_unescape("/".join(prefix)), []).append(group)
        elif rest == ("**",):
            if dir_only and node is self._root:  # **/ and /**/: files inside any directory
                node.child_globs.append((group, bool, True, True))
            else:  # a/b/**, a/b/**/ and /**: plain prefix test, no regex
                node.under.append(group)
        elif len(rest) == 1:  # docs/*.md, /*, a/*/
            node.child_globs.append(
                (group, _compile_segment(rest[0]), dir_only, rest[0] == "*"))
        elif len(rest) == 2 and rest[0] == "**":  # **/logs, *.js, src/**/*.py
            last = rest[1]
            if node is self._root and _is_literal(last):
                name = _unescape(last)
                self._dir_names.setdefault(name, []).append(group)
                if not dir_only:
                    self._file_names.setdefault(name, []).append(group)
            elif (node is self._root and last.startswith("*") and "." in last
                  and _is_literal(last[1:])):
                suffix = _unescape(last[1:])
                entry = (group, suffix)
                ext = suffix[suffix.rfind("."):]
                self._dir_exts.setdefault(ext, []).append(entry)
                if not dir_only:
                    self._file_exts.setdefault(ext, []).append(entry)
            else:
                node.deep_globs.append((group, _compile_segment(last), dir_only, last == "*"))
        else:  # anything else: full regex, only for paths the index says might match
            self._full[group] = _compile_full(pattern)
            literal = [s for s in rest if s != "**" and _is_literal(s)]
            if node is self._root and literal:
                self._name_cands.setdefault(_unescape(literal[0]), []).append(group)
            else:
                node.cands.append(group)

    def _make_state(self, node: _Node | None, dir_groups: frozenset[int],
                    cands: tuple[int, ...], child_globs: tuple[_Glob, ...],
                    deep_globs: tuple[_Glob, ...]) -> _DirState:
        state = _DirState(node, dir_groups, cands, child_globs, deep_globs)
        # Files directly in this directory: the pending globs apply to their basename.
        file_groups: frozenset[int] | set[int] = dir_groups
        checks: tuple[tuple[int, _Matcher], ...] = ()
        if child_globs or deep_globs:
            file_groups = set(dir_groups)
            pending: list[tuple[int, _Matcher]] = []
            for group, matcher, dir_only, lone_star in child_globs + deep_globs:
                if dir_only:
                    continue
                if lone_star:  # '*' matches every (non-empty) basename
                    file_groups.add(group)
                else:
                    pending.append((group, matcher))
            checks = tuple(pending)
        if file_groups:
            group_rules = self._group_rules
            if len(file_groups) == 1:
                idx = frozenset(group_rules[next(iter(file_groups))])
            else:
                idx = frozenset(i for g in file_groups for i in group_rules[g])
            state.file_idx = idx
            state.file_rules = tuple(map(self._rules.__getitem__, sorted(idx)))
        state.base_checks = checks
        if not cands and not checks:
            state.simple = state.file_rules
        state.passthrough = (node is None and not child_globs and not deep_globs
                             and not self._dir_floating)
        return state

    def _node_state(self, parent: _DirState, node: _Node) -> _DirState:
        """State of trie ``node``, a subdirectory of ``parent`` whose name added nothing."""
        groups = parent.dir_groups.union(node.under) if node.under else parent.dir_groups
        cands = parent.cands
        if node.cands:
            cands = tuple(sorted(set(cands).union(node.cands)))
        deep_globs = parent.deep_globs + tuple(node.deep_globs) if node.deep_globs \
            else parent.deep_globs
        return self._make_state(node, groups, cands, tuple(node.child_globs), deep_globs)

    def _pure_child(self, parent: _DirState, child: _Node) -> _DirState:
        """Create and keep on ``child`` its canonical state (``parent`` is pure)."""
        state = child.state = self._node_state(parent, child)
        state.pure = True
        state.fast = not (state.child_globs or state.deep_globs or self._dir_floating)
        return state

    def _extend(self, parent: _DirState, seg: str) -> _DirState:
        """State of directory ``parent/seg``: ``seg`` is known to be a directory."""
        if parent.passthrough:
            return parent
        node = parent.node
        child = node.children.get(seg) if node is not None else None
        added: list[int] = []
        more: list[int] | None = None
        if parent.child_globs or parent.deep_globs:
            for globs in (parent.child_globs, parent.deep_globs):
                for group, matcher, dir_only, lone_star in globs:
                    # A final lone '*' never matches a directory (CODEOWNERS docs/* rule).
                    if (dir_only or not lone_star) and matcher(seg):
                        added.append(group)
        if self._dir_floating:
            hit = self._dir_names.get(seg)
            if hit:
                added.extend(hit)
            dot = seg.rfind(".")
            if dot >= 0:
                for group, suffix in self._dir_exts.get(seg[dot:], ()):
                    if seg.endswith(suffix):
                        added.append(group)
            more = self._name_cands.get(seg)
        if not added and not more:  # the directory name itself brought nothing
            if child is None:
                return parent.detached or self._detached(parent)
            if parent.pure:
                return child.state or self._pure_child(parent, child)
            return self._node_state(parent, child)
        groups = parent.dir_groups.union(added)
        cands = parent.cands
        if more:
            cands = tuple(sorted(set(cands).union(more)))
        if child is None:
            return self._make_state(None, groups, cands, (), parent.deep_globs)
        if child.under:
            groups = groups.union(child.under)
        if child.cands:
            cands = tuple(sorted(set(cands).union(child.cands)))
        return self._make_state(child, groups, cands, tuple(child.child_globs),
                                parent.deep_globs + tuple(child.deep_globs))

    def _detached(self, parent: _DirState) -> _DirState:
        """The state of a subdirectory of ``parent`` that brings nothing new."""
        if parent.node is None and not parent.child_globs:
            return parent  # identical: share the object
        state = parent.detached
        if state is None:
            state = parent.detached = self._make_state(
                None, parent.dir_groups, parent.cands, (), parent.deep_globs)
        return state

    def _state(self, directory: str, cache: dict[str, _DirState]) -> _DirState:
        """State of ``directory`` (not in ``cache`` yet), which it then caches.

        Walks down from the root; the trie-node states along the way are cached on the
        nodes, so each level usually costs one dict lookup.
        """
        state = self._root_state
        extend = self._extend
        for seg in directory.split("/"):
            if state.passthrough:  # nothing deeper can change the answer
                break
            if state.fast:  # inlined common case of _extend: nothing to test on seg
                child = state.node.children.get(seg)  # type: ignore[union-attr]
                if child is None:
                    state = state.detached or self._detached(state)
                else:
                    state = child.state or self._pure_child(state, child)
                continue
            state = extend(state, seg)
        cache[directory] = state
        return state

    def _match_slow(self, path: str, base: str, state: _DirState) -> list[Rule]:
        """Rules owning ``path`` when its directory alone does not decide."""
        hits: list[int] = []
        full = self._full
        for group in state.cands:
            matcher = full[group]
            if matcher is not None and matcher(path):
                hits.append(group)
        for group, seg_matcher in state.base_checks:
            if seg_matcher(base):
                hits.append(group)
        if self._per_path:
            hits.extend(self._exact.get(path, ()))
            hits.extend(self._file_names.get(base, ()))
            dot = base.rfind(".")
            if dot >= 0:
                for group, suffix in self._file_exts.get(base[dot:], ()):
                    if base.endswith(suffix):
                        hits.append(group)
            for group in self._name_cands.get(base, ()):
                matcher = full[group]
                if matcher is not None and matcher(path):
                    hits.append(group)
        if not hits:
            return list(state.file_rules)
        idx = set(state.file_idx)
        group_rules = self._group_rules
        for group in hits:
            idx.update(group_rules[group])
        rules = self._rules
        return [rules[i] for i in sorted(idx)]

    def match(self, path: str) -> list[Rule]:
        """Every rule whose pattern owns ``path``, in the order the rules were given.

        ``path`` is a repo-relative POSIX file path as git prints it (``src/a.py``).
        """
        return self.match_many((path,))[path]

    def match_many(self, paths: Iterable[str]) -> dict[str, list[Rule]]:
        """``{path: match(path)}`` for every path (unowned paths map to ``[]``).

        Much faster than calling :meth:`match` in a loop: each distinct directory is
        resolved once per call, and most paths then cost one dict lookup.
        """
        out: dict[str, list[Rule]] = {}
        cache: dict[str, _DirState] = {"": self._root_state}
        get = cache.get
        resolve = self._state
        slow = self._match_slow
        if self._per_path:  # literal names / extensions: every basename needs a look
            for path in paths:
                directory, _, base = path.rpartition("/")
                state = get(directory) or resolve(directory, cache)
                out[path] = slow(path, base, state)
        else:
            for path in paths:
                directory, _, base = path.rpartition("/")
                state = get(directory) or resolve(directory, cache)
                simple = state.simple
                if simple is not None:  # the common case: the directory decides
                    out[path] = list(simple)
                else:
                    out[path] = slow(path, base, state)
        if "" in out:  # not a file path; the root state would answer for it
            out[""] = []
        return out


def overlapping(rules_a: list[str], rules_b: list[str], paths: Iterable[str]) -> list[str]:
    """The files in ``paths`` owned by a pattern of ``rules_a`` and by one of ``rules_b``.

    ``rules_a``/``rules_b`` are the owns-patterns of two streams; ``paths`` is e.g. the
    base tree. Result keeps the order of ``paths``, without duplicates. Raises
    :class:`PatternError` for an invalid pattern.
    """
    index = OwnershipIndex([Rule("a", "owns", p) for p in rules_a]
                           + [Rule("b", "owns", p) for p in rules_b])
    result: list[str] = []
    for path, rules in index.match_many(paths).items():  # dict: input order, deduplicated
        streams = {rule.stream for rule in rules}
        if "a" in streams and "b" in streams:
            result.append(path)
    return result
