"""The hook's cache of the rules: what a staged change is judged by, without pygit2.

Start-up is the cost of every commit, so this module imports only the standard library
and the rule matcher. The rules (the plan on the base branch, the live locks, the active
streams) are cached in ``<git dir>/gitpar/cache/hook-rules.marshal``, keyed by the object
ids of the base branch's ``.gitpar`` tree, of the repository plugins' files there, and of
the state branch's ``locks`` and ``progress`` trees — read with one ``git cat-file`` — and
on the installed and disabled plugins (``GITPAR_DISABLED_PLUGINS`` and the distributions
with a ``gitpar`` entry point, :func:`_plugin_set`), so the cache is exact: any change to the plan, a
plugin, a lock or a stream's status makes the next reader rebuild it with the full
(pygit2) code; a progress report that leaves every status as it was does not.

:func:`judge_staged` is the one verdict on a staged change: the pre-commit hook, ``gitpar
check --staged`` and its fast path all call it. The cache is written with ``marshal`` (no
import cost; a cache from another interpreter version simply fails to load and is rebuilt).
"""

from __future__ import annotations

import os
import sys

from gitpar.store.quickgit import common_dir

STATE = "refs/heads/gitpar/_state"
TYPE_CHECKING = False  # typing costs import time here; mypy treats this name like typing's
if TYPE_CHECKING:
    from typing import Any


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def branch_of(gitdir: str) -> str | None:
    try:
        head = _read(os.path.join(gitdir, "HEAD"))
    except OSError:
        return None
    return head[len("ref: refs/heads/"):] if head.startswith("ref: refs/heads/") else None


ENTRY_POINT_HEADER = "[gitpar]"  # plugins.discovery's group, which this module does not import


def _plugin_set() -> list[Any]:
    """Which plugins are installed and enabled: ``GITPAR_DISABLED_PLUGINS`` and every
    distribution with a ``gitpar`` entry point — its name and version (its ``dist-info``
    folder's name) and its ``entry_points.txt`` — read with plain file reads, no import.

    An installed, removed, upgraded or re-declared plugin changes it; nothing else does
    (not a folder's modification time, which any unrelated install moves). Only the
    ``site-packages`` folders on ``sys.path`` are read, sorted: the commit hook (``python -S``
    with the paths recorded at install) and the ``gitpar`` command see the same ones, while
    the rest of their ``sys.path`` differs. An editable plugin's distribution is there too
    (its ``.pth`` file, which ``-S`` skips, only adds its source folder to the path).
    Repository plugins are keyed by their blob ids on the base branch (:func:`_tree_ids`).
    """
    marks: list[Any] = [os.environ.get("GITPAR_DISABLED_PLUGINS", "")]
    for folder in sorted({f for f in sys.path if os.path.basename(f) in ("site-packages", "dist-packages")}):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            marks.append((folder, None))
            continue
        for name in names:
            if name.endswith(".egg-link"):  # a legacy editable install: its metadata lives elsewhere
                marks.append((folder, name))
                continue
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            if ENTRY_POINT_HEADER in text:
                marks.append((folder, name, text))
    return marks


def _tree_ids(cwd: str, base: str, plugin_files: list[str]) -> list[str]:
    from gitpar.store.quickgit import git_output

    specs = [f"refs/heads/{base}:.gitpar", f"{STATE}:locks", f"{STATE}:progress",
             *(f"refs/heads/{base}:{rel}" for rel in plugin_files)]
    _, out = git_output(["cat-file", "--batch-check=%(objectname)"], cwd,
                        ("\n".join(specs) + "\n").encode())
    lines = out.decode("utf-8", errors="replace").splitlines()
    return [line.split()[0] if line and "missing" not in line else "" for line in lines]


def _progress_entries(cwd: str, tree: str) -> dict[str, str]:
    """The progress files and their blob ids in the state branch's ``progress`` tree ``tree``
    (its id, from :func:`_tree_ids`; "" when there is none): one ``git ls-tree``."""
    from gitpar.store.quickgit import git_output

    if not tree:
        return {}  # no state branch, or no progress yet: nothing to ask git (it would complain)
    code, out = git_output(["ls-tree", "-z", tree], cwd)
    entries = {}
    if code == 0:
        for item in out.split(b"\0"):
            meta, _, name = item.partition(b"\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == b"blob":
                entries[name.decode("utf-8", "replace")] = parts[2].decode()
    return entries


PROGRESS_STATUSES = ("pending", "in_progress", "blocked", "completed", "failed")  # core.progress.STATUSES


def progress_status(name: str, text: str) -> str | None:
    """The claim status (``core.identity.claim_status``: the ``status:``, or ``integrated``)
    of ``progress/<name>`` as :func:`gitpar.core.progress.parse_progress` reads
    it (through the one frontmatter reader, with the same checks), None where that one
    raises: the full rebuild then refuses as a cold hook does. Not parse_progress itself:
    importing it (dataclasses) costs more than the whole hook (tests/test_warm_cold.py holds
    the two together)."""
    from gitpar.core.markdown import parse
    from gitpar.errors import GitparError

    try:
        meta, _ = parse(text, f"gitpar/_state:progress/{name}")
    except GitparError:
        return None
    status, completion = meta.get("status", "pending"), meta.get("completion", 0) or 0
    if not meta or status not in PROGRESS_STATUSES or isinstance(completion, bool) \
            or not isinstance(completion, (int, float)) or not 0 <= completion <= 100:
        return None
    from gitpar.core.identity import claim_status

    return claim_status(str(status), bool(meta.get("integrated")))


def _same_statuses(cwd: str, data: dict[str, Any], trees: list[str]) -> bool:
    """Whether only progress files changed since the cache was written, leaving every
    stream's status as it was: the rules then still hold, and a progress report by another
    stream does not cost the next commit a rebuild. Reads only the files that changed."""
    from gitpar.store.quickgit import git_output

    old = data["trees"]
    if len(trees) != len(old) or trees[:2] != old[:2] or trees[3:] != old[3:]:
        return False  # the plan, the locks or a repository plugin changed
    known: dict[str, list[str]] = data.get("progress") or {}
    entries = {n: b for n, b in _progress_entries(cwd, trees[2]).items() if n.endswith(".md")}
    if set(entries) != set(known):
        return False  # a stream started or its file went
    changed = [name for name, blob in entries.items() if known[name][0] != blob]
    if changed:
        code, out = git_output(["cat-file", "--batch"], cwd, ("\n".join(entries[n] for n in changed) + "\n").encode())
        if code != 0:
            return False
        texts, rest = [], out
        for _ in changed:
            header, _, rest = rest.partition(b"\n")
            parts = header.split()
            if len(parts) != 3:
                return False
            size = int(parts[2])
            try:
                texts.append(rest[:size].decode("utf-8"))
            except UnicodeDecodeError:
                return False  # the full rebuild says what is wrong with it
            rest = rest[size + 1:]
        for name, text in zip(changed, texts, strict=True):
            status = progress_status(name, text)
            if status is None or status != known[name][1]:
                return False
            known[name] = [entries[name], status]
    data["progress"] = known
    return True


def _ref_values(common: str, base: str) -> tuple[str, str] | None:
    """The commits the base branch and the state branch point at, read from the ref files
    (loose or packed: :func:`gitpar.store.quickgit.ref_value`).

    None when either cannot be read so (a symbolic ref, another ref store): the caller
    then compares tree ids through git instead.
    """
    from gitpar.store.quickgit import ref_value

    base_value = ref_value(common, f"refs/heads/{base}")
    state_value = ref_value(common, STATE) if base_value is not None else None
    return None if base_value is None or state_value is None else (base_value, state_value)


def _load_cache(path: str) -> dict[str, Any] | None:
    from gitpar.store.cache import read_marshal

    data = read_marshal(path)
    return data if isinstance(data, dict) and "trees" in data else None  # the store checks the format


def _rebuild(cwd: str) -> dict[str, Any]:
    """The full path: read the plan and locks with pygit2, and cache what the hook needs."""
    from gitpar.core.identity import claim_statuses
    from gitpar.core.locks import LOCKS_DIR, all_locks
    from gitpar.core.repo import open_repo
    from gitpar.core.stream_progress import all_progress
    from gitpar.core.verdict import base_rules
    from gitpar.store.state import StateStore

    repo = open_repo(cwd)
    base = repo.configured_base()
    snap = StateStore(repo).snapshot()
    status = claim_statuses(all_progress(snap)) if snap.commit is not None else {}  # read once: rules and key
    if repo.load_plan_at_base(base) is None:
        # no plan committed yet (this may be the commit adding it): nothing to enforce
        rules_json = None
    else:
        rules, base = base_rules(repo, status=status)
        rules_json = rules.to_json()
    locks = [(p, lk.stream, lk.expires_at()) for p, lk in all_locks(snap.list(LOCKS_DIR)).items()]
    from gitpar.plugins import manager as plugins

    # plugins with path policies are asked on every commit; without any, pluggy stays unloaded
    at = repo.tip(f"refs/heads/{base}")
    policies = plugins.implementers("gitpar_check_paths", repo=repo, at=at)
    plugin_files = plugins.repository_plugin_files(repo, at)
    trees = _tree_ids(cwd, base, plugin_files)
    progress = {name: [blob, status.get(name[:-3], "")]
                for name, blob in _progress_entries(cwd, trees[2]).items() if name.endswith(".md")}
    data = {"base": base, "trees": trees,
            "plugin_files": plugin_files, "plugins": _plugin_set(), "progress": progress,
            "rules": rules_json, "locks": locks, "policies": policies}
    return data


def _save_cache(cache_path: str, data: dict[str, Any]) -> None:
    from gitpar.store.cache import write_marshal

    write_marshal(cache_path, data)


class HandOver(Exception):
    """The answer needs the full interpreter: the cache must be rebuilt (plugins are loaded
    then), or a plugin judges paths. The commit hook's ``python -S`` process (no site, so
    no ``.pth`` file and no editable install is seen) raises it instead of answering, and
    runs itself again in the normal interpreter (:func:`gitpar.hookentry.pre_commit`)."""


def cached_rules(cwd: str, gitdir: str, *, rebuild: bool = True) -> dict[str, Any]:
    """What a check needs (rules, locks, whether plugins have path policies), from the cache
    when it is still exact, else rebuilt (with ``rebuild=False``: :class:`HandOver` instead).
    Shared by pre-commit and ``gitpar guard``."""
    common = common_dir(gitdir)
    cache_path = os.path.join(common, "gitpar", "cache", "hook-rules.marshal")
    data = _load_cache(cache_path)
    if data is not None and data.get("plugins") != _plugin_set():
        data = None  # a plugin was installed, removed or disabled
    # Same commits on the base and state branches as when the cache was written: nothing
    # to ask git. Otherwise the trees the rules come from may still be the same (a commit
    # to the base outside .gitpar/, a progress report): one git cat-file tells.
    refs = _ref_values(common, data["base"]) if data is not None else None
    if data is None or refs is None or refs != data.get("refs"):
        trees = _tree_ids(cwd, data["base"], data["plugin_files"]) if data is not None else None
        changed = data is None or trees is None or trees != data["trees"]
        if data is None or trees is None or (trees != data["trees"] and not _same_statuses(cwd, data, trees)):
            if not rebuild:
                raise HandOver
            data = _rebuild(cwd)
        else:
            data["trees"] = trees  # at most progress reports changed, no stream's status: the rules hold
        # the refs were read before the trees were compared (or the rules rebuilt): should
        # a branch move in between, the next hook finds other refs and compares again
        if refs is not None and refs != data.get("refs"):
            data["refs"] = refs
            changed = True
        if changed:
            _save_cache(cache_path, data)  # once, whatever changed
    return data


def held_now(data: dict[str, Any]) -> dict[str, str]:
    """Path -> the stream holding its lock now (unexpired, by :func:`gitpar.core.clock.now`),
    from the cached locks ``data`` (:func:`cached_rules`)."""
    from gitpar.core.clock import now as clock_now

    now = clock_now()
    return {p: s for p, s, expires in data["locks"] if expires > now}


def live_holders(cwd: str, gitdir: str) -> dict[str, str]:
    """:func:`held_now` for the worktree at ``cwd`` with the git directory ``gitdir``."""
    return held_now(cached_rules(cwd, gitdir))


class StagedJudgement:
    """What :func:`judge_staged` found: the base, the staged paths, the violations."""

    __slots__ = ("base", "paths", "violations", "_rules", "note")

    def __init__(self, base: str, paths: list[str], violations: list[Any], rules: dict[str, Any]) -> None:
        self.base, self.paths, self.violations, self._rules = base, paths, violations, rules
        self.note: str | None = None  # why a stream-named branch is judged as no stream's

    @property
    def streams(self) -> set[str]:
        """The streams the base plan defines."""
        return {p[0] for p in self._rules["patterns"]}


def judge_staged(cwd: str, gitdir: str, stream: str | None, branch: str | None = None,
                 *, by_branch: bool = False, full: bool = True) -> StagedJudgement | None:
    """The verdict on what is staged in the worktree at ``cwd`` when ``stream`` commits it
    (None: a branch of no stream), judged with the cached rules; None when the base branch
    has no plan (nothing to enforce). The one path of pre-commit and ``check --staged``.

    ``full=False`` (the hook's ``python -S``): :class:`HandOver` when the answer needs the
    full interpreter (a rebuild, or a plugin with path policies)."""
    from gitpar.core.rules import Rules
    from gitpar.core.verdict import staged_verdict
    from gitpar.store.staged import staged_paths

    data = cached_rules(cwd, gitdir, rebuild=full)
    if data["rules"] is not None and data.get("policies") and not full:
        raise HandOver
    if data["rules"] is None:
        return None
    paths = staged_paths(cwd)
    if not paths:
        return StagedJudgement(data["base"], paths, [], data["rules"])
    rules = Rules.from_json(data["rules"])
    note = None
    if by_branch:  # identity from the worktree's branch: core.identity decides whose rules
        from gitpar.core.identity import of_branch

        who = of_branch(rules, branch, data["base"])
        stream, rules, note = who.stream, who.rules, who.note
    violations = staged_verdict(cwd, rules, stream, paths, held_now(data).get,
                                data["base"], policies=bool(data.get("policies")))
    found = StagedJudgement(data["base"], paths, violations, data["rules"])
    found.note = note
    return found
