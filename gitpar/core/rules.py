"""The ownership rules a change is judged by, and the verdict on each changed path.

Kept free of git and YAML so the hook can build it from a cache: ``Rules`` holds the
streams' patterns (from the plan on the base branch), the ``unowned`` setting, and the
streams that are active (whose owned files the main worktree must leave alone).
"""

from __future__ import annotations

from gitpar.core.ownership import OwnershipIndex, Rule, literal_dir
from gitpar.model.statuses import ACTIVE, CLAIMED

# the value type lives in gitpar.model; re-exported here while other modules still import it from here
from gitpar.model.violation import Violation as Violation

# dataclasses and typing cost more import time than a whole pre-commit check: this module
# is imported by the hook, so it uses plain classes; mypy treats this name like typing's
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    HolderAt = Callable[[str], "str | None"]  # path -> the stream holding its lock (when judged)

PLAN_PREFIX = ".gitpar/"
FEW = 16  # paths (or calls) below which Rules.index_for builds a partial index


def fold(path: str) -> str:
    """``path`` as a case-insensitive, normalising file system sees it (NFC, casefolded)."""
    if path.isascii():
        return path.lower()
    import unicodedata

    return unicodedata.normalize("NFC", path).casefold()


class Rules:
    """The streams' patterns, the ``unowned`` and ``main_worktree`` settings, the active streams."""

    def __init__(self, patterns: list[tuple[str, str, str]], unowned: str = "lock",
                 main_worktree: str = "protect", active: frozenset[str] = frozenset(),
                 dirs: list[str] | None = None, *, other_branches: str = "strict",
                 statuses: dict[str, str] | None = None, other: bool = False) -> None:
        self.patterns = patterns  # (stream, kind, pattern)
        self.unowned = unowned
        self.main_worktree = main_worktree  # protect | allow
        self.active = active
        self.other_branches = other_branches  # strict | active: branches that are no stream's
        self.statuses = statuses or {}  # stream -> claim status (core.identity.claim_status)
        self.other = other  # judging a branch that is no stream's (core.identity.of_branch)
        # each pattern's literal leading directory (``literal_dir``), when known: lets
        # ``index_for`` skip the patterns that cannot own the paths judged
        self.dirs = dirs
        self._index: OwnershipIndex | None = None
        self._subsets = 0  # indexes built by index_for
        self._folded: OwnershipIndex | None = None  # the patterns whose folded form differs
        self.ignored_locks: dict[str, str] = {}  # path -> why its lock was ignored (lock_invalid)

    @property
    def streams(self) -> set[str]:
        """The streams the plan defines (those with at least one pattern)."""
        return {s for s, _, _ in self.patterns}

    @property
    def claimed(self) -> set[str]:
        """The streams whose ``gitpar/<name>`` branch counts as theirs (core.identity)."""
        return {n for n, st in self.statuses.items() if st in CLAIMED}

    def as_other_branch(self) -> Rules:
        """These rules for judging a branch that is no stream's (``other_branches:``)."""
        made = Rules(self.patterns, self.unowned, self.main_worktree, self.active, self.dirs,
                     other_branches=self.other_branches, statuses=self.statuses, other=True)
        made._index = self._index
        return made

    @property
    def index(self) -> OwnershipIndex:
        if self._index is None:
            self._index = OwnershipIndex(Rule(s, k, p) for s, k, p in self.patterns)
        return self._index

    def index_for(self, paths: Iterable[str]) -> OwnershipIndex:
        """An index that answers for ``paths`` exactly as :attr:`index` does.

        For a few paths, while the full index is not built, it holds only the patterns
        whose literal directory is one of the paths' directories — no other pattern can
        own them — so judging a commit of a few files costs about the same with 10
        streams as with 5,000 (the hook's cache keeps the directories; otherwise they are
        worked out once). Many paths, or many calls, get the full index.
        """
        if self._index is not None:
            return self._index
        paths = list(paths)
        if self.dirs is None:
            if len(paths) > FEW or len(self.patterns) < 64:
                return self.index
            self.dirs = [literal_dir(p) for _, _, p in self.patterns]
        self._subsets += 1
        if self._subsets > FEW:  # judged many changes apart (a range): one full index pays
            return self.index
        within = {""}
        for path in paths:
            directory, sep, _ = path.rpartition("/")
            while sep and directory not in within:
                within.add(directory)
                directory, sep, _ = directory.rpartition("/")
        keep = [p for p, d in zip(self.patterns, self.dirs, strict=True) if d in within]
        if 2 * len(keep) > len(self.patterns):
            return self.index
        return OwnershipIndex(Rule(s, k, p) for s, k, p in keep)

    def match_many(self, paths: Sequence[str]) -> dict[str, list[Rule]]:
        """The rules matching each of ``paths``, look-alikes included (see :meth:`lookalikes`)."""
        matched = self.index_for(paths).match_many(paths)
        for path, extra in self.lookalikes(paths).items():
            matched[path] = matched[path] + extra
        return matched

    def lookalikes(self, paths: Sequence[str]) -> dict[str, list[Rule]]:
        """The rules that match a path only once case and Unicode normalisation are ignored.

        ``src/B/y.py`` is ``src/b/y.py`` in a macOS or Windows checkout (and ``café`` in NFD
        is ``café`` in NFC on macOS), so a stream writing it overwrites the owner's file: a
        path is judged as every path it folds onto (:func:`fold`). Costs nothing for paths
        and patterns that are already folded (lowercase ASCII, the usual case).
        """
        out: dict[str, list[Rule]] = {}
        folded = {p: fold(p) for p in paths}
        changed = [f for p, f in folded.items() if f != p]
        exact = self.index_for(changed).match_many(changed) if changed else {}
        odd = self._folded_index()
        for path, f in folded.items():
            extra = list(exact.get(f, ())) if f != path else []
            if odd is not None:
                extra += odd.match(f)
            if extra:
                have = {(r.stream, r.kind) for r in self.index_for([path]).match(path)}
                extra = [r for r in dict.fromkeys(extra) if (r.stream, r.kind) not in have]
                if extra:
                    out[path] = extra
        return out

    def _folded_index(self) -> OwnershipIndex | None:
        if self._folded is None:
            odd = [(s, k, p) for s, k, p in self.patterns if fold(p) != p]
            if not odd:
                return None
            self._folded = OwnershipIndex(Rule(s, k, fold(p)) for s, k, p in odd)
        return self._folded

    def lock_invalid(self, stream: str, path: str, found: list[Rule] | None = None) -> str | None:
        """Why a lock ``stream`` holds on ``path`` is no lock at all (None: it may hold it).

        A stream may not lock the plan (``.gitpar/**``) nor a file another stream owns (or a
        look-alike of one): such a lock, planted on the state branch by hand, is ignored
        wherever it is read, so it never refuses the owner. ``found``: the rules matching
        ``path`` when the caller has them (:meth:`match_many`).
        """
        if path == PLAN_PREFIX.rstrip("/") or path.startswith(PLAN_PREFIX):
            return f"the lock on {path} held by {stream} is ignored: the plan (.gitpar/) is no stream's to lock"
        if found is None:
            found = self.match_many([path])[path]
        owners = sorted({r.stream for r in found if r.kind == "owns" and r.stream != stream})
        if owners:
            return (f"the lock on {path} held by {stream} is ignored: the file is owned by stream "
                    f"{owners[0]}, which no other stream may lock ('gitpar unlock --force {path}' "
                    "removes it)")
        return None

    def _holder(self, holder: HolderAt, path: str, found: list[Rule]) -> str | None:
        """``holder(path)``, unless that lock is invalid (:meth:`lock_invalid`): then None,
        the reason kept in :attr:`ignored_locks` for the command line to warn about."""
        held_by = holder(path)
        if held_by is None:
            return None
        why = self.lock_invalid(held_by, path, found)
        if why is None:
            return held_by
        self.ignored_locks[path] = why
        return None

    @classmethod
    def from_plan(cls, plan: Any, statuses: dict[str, str] | None = None) -> Rules:
        from gitpar.core.plan_patterns import patterns_and_dirs

        patterns, dirs = patterns_and_dirs(plan)  # shared, never changed: Rules only reads them
        main_mode = plan.settings.extra.get("main_worktree", "protect")
        active = frozenset(n for n, st in (statuses or {}).items() if st in ACTIVE and n in plan.streams)
        return cls(patterns=patterns, unowned=plan.settings.unowned,
                   main_worktree=main_mode if main_mode in ("protect", "allow") else "protect",
                   active=active, dirs=dirs, other_branches=plan.settings.other_branches,
                   statuses={n: st for n, st in (statuses or {}).items() if n in plan.streams})

    def to_json(self) -> dict[str, Any]:
        dirs = self.dirs if self.dirs is not None else [literal_dir(p) for _, _, p in self.patterns]
        return {"patterns": self.patterns, "unowned": self.unowned, "main_worktree": self.main_worktree,
                "active": sorted(self.active), "dirs": dirs, "other_branches": self.other_branches,
                "statuses": self.statuses}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        return cls(patterns=[(p[0], p[1], p[2]) for p in data["patterns"]],
                   unowned=data["unowned"], main_worktree=data["main_worktree"],
                   active=frozenset(data["active"]), dirs=data.get("dirs"),
                   other_branches=data.get("other_branches", "strict"), statuses=data.get("statuses"))


def judge(rules: Rules, stream: str | None, paths: Iterable[str], holder: HolderAt,
          commit: str | None = None) -> list[Violation]:
    """The violations among ``paths`` changed by ``stream`` (None: not a stream's branch)."""
    out: list[Violation] = []
    paths = list(paths)
    matched = rules.match_many(paths)
    for path, found in matched.items():
        v = (_judge_stream(rules, stream, path, found, holder) if stream is not None
             else _judge_main(rules, path, found, holder))
        if v is not None:
            out.append(Violation(v.path, v.rule, v.message, v.fix, v.owner, commit))
    return out


def _judge_stream(rules: Rules, stream: str, path: str, found: list[Rule], holder: HolderAt) -> Violation | None:
    if path.startswith(PLAN_PREFIX):
        return Violation(path, "plan", f"{path} is part of the plan, which no stream may change",
                         "ask the orchestrator to change the plan on the base branch")
    held_by = rules._holder(holder, path, found)
    if held_by is not None and held_by != stream:
        return Violation(path, "locked", f"{path} is locked by stream {held_by}",
                         f"leave it until {held_by} releases the lock ('gitpar locks' shows until when)",
                         owner=held_by)
    owners = sorted({r.stream for r in found if r.kind == "owns"})
    sharers = sorted({r.stream for r in found if r.kind == "shares"})
    if stream in owners:
        return None
    if owners:
        return Violation(path, "owned", f"{path} is owned by stream {', '.join(owners)}, not {stream}",
                         f"leave it to {owners[0]} (or ask the orchestrator to move it into 'shares')",
                         owner=owners[0])
    if stream in sharers:
        if held_by == stream:
            return None
        return Violation(path, "needs-lock", f"{path} is shared; {stream} must hold its lock to change it",
                         f"run 'gitpar lock {path}' before committing (and 'gitpar unlock {path}' after)")
    if sharers:
        return Violation(path, "shared-by-others", f"{path} is shared by {', '.join(sharers)}, not by {stream}",
                         "ask the orchestrator to add it to this stream's 'shares'", owner=sharers[0])
    if rules.unowned == "allow":
        return None
    if rules.unowned == "lock":
        if held_by == stream:
            return None
        return Violation(path, "unowned", f"{path} is owned by no stream; changing it needs its lock",
                         f"run 'gitpar lock {path}' first (the plan's 'unowned' setting is 'lock')")
    return Violation(path, "unowned", f"{path} is owned by no stream and the plan denies changing such files",
                     "ask the orchestrator to give it to a stream (the plan's 'unowned' setting is 'deny')")


def _judge_main(rules: Rules, path: str, found: list[Rule], holder: HolderAt) -> Violation | None:
    if rules.other and rules.other_branches == "strict":
        return _judge_other(rules, path, found, holder)
    if rules.main_worktree == "allow" or path.startswith(PLAN_PREFIX):
        return None
    held_by = rules._holder(holder, path, found)
    if held_by is not None:
        return Violation(path, "locked", f"{path} is locked by stream {held_by}",
                         f"wait until {held_by} releases it", owner=held_by)
    owners = sorted({r.stream for r in found if r.kind == "owns" and r.stream in rules.active})
    if owners:
        return Violation(path, "protected", f"{path} is owned by stream {owners[0]}, which is in progress",
                         f"make the change in {owners[0]}'s worktree, or wait until it is completed "
                         "(or set main_worktree: allow in .gitpar/plan.md)", owner=owners[0])
    return None


def _judge_other(rules: Rules, path: str, found: list[Rule], holder: HolderAt) -> Violation | None:
    """``other_branches: strict``: a branch that is no stream's may change the plan and what the
    plan leaves ``unowned: allow``; nothing owned, shared, locked or otherwise unowned."""
    if path.startswith(PLAN_PREFIX):
        return None  # a plan pull request: reviewed like code
    fix_mode = "or, if the plan means to allow it, set other_branches: active in .gitpar/plan.md"
    held_by = holder(path)
    if held_by is not None:
        return Violation(path, "locked", f"{path} is locked by stream {held_by}; a branch that is no "
                         "stream's may not change it", f"leave it to {held_by}", owner=held_by)
    owners = sorted({r.stream for r in found if r.kind == "owns"})
    if owners:
        return Violation(path, "owned", f"{path} is owned by stream {', '.join(owners)}; a branch that is "
                         "no stream's may not change it",
                         f"make the change on gitpar/{owners[0]} (gitpar start {owners[0]}), {fix_mode}",
                         owner=owners[0])
    sharers = sorted({r.stream for r in found if r.kind == "shares"})
    if sharers:
        return Violation(path, "shared-by-others", f"{path} is shared by {', '.join(sharers)}; only those "
                         "streams may change it, each holding its lock, not a branch that is no stream's",
                         f"make the change on a sharing stream's branch with the lock held, {fix_mode}",
                         owner=sharers[0])
    if rules.unowned == "allow":
        return None
    return Violation(path, "unowned", f"{path} is owned by no stream and the plan's 'unowned' is "
                     f"{rules.unowned!r}: a branch that is no stream's may change only .gitpar/ and files "
                     "the plan leaves 'unowned: allow'",
                     f"give it to a stream and change it there, {fix_mode}")


def who(rules: Rules, paths: Sequence[str], holders: dict[str, str]) -> list[dict[str, Any]]:
    """Who owns, shares and has locked each of ``paths`` (repository paths): ``gitpar who``."""
    paths = list(paths)
    matched = rules.match_many(paths)
    rows: list[dict[str, Any]] = []
    for path in paths:
        owns = sorted({r.stream for r in matched[path] if r.kind == "owns"})
        shares = sorted({r.stream for r in matched[path] if r.kind == "shares"})
        held_by = rules._holder(holders.get, path, matched[path])
        rows.append({"path": path, "owners": owns, "shares": shares, "locked_by": held_by,
                     "ignored_lock": rules.ignored_locks.get(path),
                     "plan": path.startswith(PLAN_PREFIX)})
    return rows
