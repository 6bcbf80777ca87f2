"""Repository plugins: the Python files ``plugins: {load: [...]}`` lists in the plan
committed on the base branch (or in the commit ``check --base`` names), run from their
committed blobs, never from a working tree; keyed by the base commit, so a long-lived
process sees a plugin the base plan opts into later.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gitpar.errors import GitparError, bad
from gitpar.model.plan import Plan
from gitpar.plugins.registry import Loaded, PluginInfo, add, unregister_from
from gitpar.store.repo import Oid, repo_around

if TYPE_CHECKING:
    # gitpar.core.repo.Repo, used through its methods only: the plugins never import the core
    Repo = Any

PLAN_FILE = ".gitpar/plan.md"
_repos: dict[str, Repo | None] = {}  # folder -> the repository around it (which one, not its state)
_no_plugins_at: dict[tuple[str, str], bool] = {}  # (repository, base commit) -> no repository plugin


def forget() -> None:
    """Forget the repositories found and what their base commits load (tests, long-lived processes)."""
    _repos.clear()
    _no_plugins_at.clear()


def looks_like_repo_plugin(name: str) -> bool:
    return name.endswith(".py") or "/" in name


def repo_here() -> Repo | None:
    """The repository around the current folder (opened once per folder; its refs and
    therefore its base commit are read anew on each use)."""
    cwd = os.getcwd()
    if cwd not in _repos:
        _repos[cwd] = _repo_around(cwd)
    return _repos[cwd]


def _repo_around(cwd: str) -> Repo | None:
    return repo_around(cwd)  # the core's Repo class (gitpar.core.repo sets it), never imported here


def repo_key(repo: Repo | None, at: Oid | None) -> tuple[str, str] | None:
    """Which repository's plugins, from which commit: ``at``, else the base branch's tip.

    The base is looked up as a branch (``refs/heads/<base>``) only, so a plan naming
    ``HEAD`` or a remote ref as its base cannot make the head of a change trusted.
    """
    if repo is None:
        return None
    if at is None:
        try:
            at = repo.tip(f"refs/heads/{repo.configured_base()}")
        except GitparError:
            at = None
    return None if at is None else (str(repo.common_dir), str(at))


def plugin_settings(plan: Plan) -> Mapping[str, Any]:
    """The ``plugins:`` mapping of plan.md (empty when absent); BadInput when malformed."""
    raw = plan.settings.extra.get("plugins")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise bad(PLAN_FILE, "plugins", f"must be a mapping, got {raw!r}",
                  "write it like plugins: {locks: priority, load: [.gitpar/plugins/team.py]}")
    return raw


def _repo_plugin_paths(repo: Repo, commit: Oid) -> list[str]:
    """The ``plugins.load`` list of the plan committed in ``commit``."""
    settings = repo.settings_at(commit)  # plan.md's settings there, read by the core
    if settings is None:
        return []
    raw = settings.extra.get("plugins")
    load_list = raw.get("load") if isinstance(raw, Mapping) else None
    if load_list is None:
        return []
    if isinstance(load_list, str):
        load_list = [load_list]
    if not isinstance(load_list, list) or not all(isinstance(p, str) for p in load_list):
        raise bad(PLAN_FILE, "plugins.load", f"must be a list of paths, got {load_list!r}",
                  "write it like load: [.gitpar/plugins/team.py]")
    return load_list


def repository_plugin_files(repo: Repo, at: Oid | None) -> list[str]:
    """The files ``plugins.load`` lists in the plan committed at ``at`` (the hook's cache key)."""
    if at is None:
        return []
    try:
        return _repo_plugin_paths(repo, at)
    except GitparError:
        return []


def swap_repo_plugins(state: Loaded, repo: Repo | None, key: tuple[str, str] | None) -> None:
    for name in state.repo_plugins:
        unregister_from(state, name)
    state.repo_plugins = []
    state.repo_key = key
    if repo is None or key is None:
        return
    commit = repo.resolve(key[1])
    where = f"the base branch ({key[1][:10]})"
    for rel in _repo_plugin_paths(repo, commit):
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts or "." in parts or "" in parts:
            raise bad(PLAN_FILE, "plugins.load", f"{rel!r} is outside the repository",
                      "list Python files inside the repository, like .gitpar/plugins/team.py")
        source = repo.blob_at(commit, rel)
        if source is None:
            raise bad(PLAN_FILE, "plugins.load", f"{rel} does not exist in {where}",
                      "commit the plugin to the base branch, fix the path, or remove it from plugins.load")
        info = PluginInfo(name=rel, source="repository", module=rel)
        add(state, info, functools.partial(_import_source, source, rel, key[1]))
        if not info.blocked:
            state.repo_plugins.append(rel)


def _import_source(source: bytes, rel: str, commit: str) -> Any:
    """A module made from a plugin's committed source (never from a file on disk)."""
    import sys
    import types

    module_name = "gitpar_repo_plugin_" + "".join(c if c.isalnum() else "_" for c in rel)
    module = types.ModuleType(module_name)
    module.__file__ = f"{commit[:10]}:{rel}"
    sys.modules[module_name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def no_repository_plugins(repo: Repo | None, at: Oid | None) -> bool:
    """Whether the plan on ``repo``'s base (or in ``at``) loads no repository plugin."""
    key = repo_key(repo, at)
    if repo is None or key is None:
        return True
    found = _no_plugins_at.get(key)
    if found is None:
        try:
            found = not _repo_plugin_paths(repo, repo.resolve(key[1]))
        except GitparError:
            found = False  # a malformed plugins setting: the load says what is wrong with it
        _no_plugins_at[key] = found
    return found
