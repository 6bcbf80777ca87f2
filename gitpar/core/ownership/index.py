"""The ownership index: which rules own which paths, for many rules and many paths at once.

How it stays fast is in the package's docstring (``Speed``)."""

from __future__ import annotations

from gitpar.core.ownership.patterns import (
    Rule,
    _compile_full,
    _compile_segment,
    _is_literal,
    _parse,
    _unescape,
)

# typing costs import time in a git hook; mypy treats this name like typing's
TYPE_CHECKING = False

if TYPE_CHECKING:  # annotations are strings anyway
    from collections.abc import Iterable

    from gitpar.core.ownership.patterns import _Matcher

    # (group, segment matcher, dir_only, lone_star): see _Node.child_globs / deep_globs
    _Glob = tuple[int, _Matcher, bool, bool]

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
