"""Parsed plans kept by the ``.gitpar`` tree they were parsed from, in memory and on disk.

A plan of thousands of streams takes hundreds of milliseconds to parse and validate; a
state change or a hook must not pay that each time. A committed plan is keyed by its
``.gitpar`` tree id (it can never change); so is the main worktree's copy when git says the
folder is clean (:func:`worktree_key`); an edited one is parsed each time, never cached.

One entry per tree, ``<git dir>/gitpar/cache/plans/tree-<id>.marshal``: the plan as plain
data (:func:`plan_to_plain`, :func:`plan_from_plain`; no class instance is stored) and,
once ``gitpar who`` has worked them out, the ownership rules derived from it
(:meth:`gitpar.core.rules.Rules.to_json`), which ``gitpar who``'s fast path reads without
importing the plan's classes (:mod:`gitpar.cli.quick`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from gitpar.store import cache as cache_file
from gitpar.store.quickgit import clean_tree

PLAN_DIR = ".gitpar"  # core.plan's, which this module does not import (the who fast path)

KEEP = 8  # plan entries kept on disk
_memory: dict[str, Any] = {}


def worktree_key(root: str) -> str | None:
    """The key of the plan in the worktree at ``root``: ``tree-<id>`` of its committed
    ``.gitpar`` tree when git says the folder holds exactly that tree (``git status``, which
    handles racy timestamps, so an edit that keeps a file's size and time is seen); None when
    the folder differs from it in any way: such a plan is parsed, never cached."""
    tree = clean_tree(root, PLAN_DIR)
    return None if tree is None else f"tree-{tree}"


# -- the plan as plain data ------------------------------------------------------------

def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def plan_to_plain(plan: Any) -> dict[str, Any]:
    """``plan`` (a :class:`gitpar.core.plan.Plan`) as marshal-able data: dicts, lists,
    tuples, strings and numbers only. The field names are kept with it, so a plan type
    with other fields reads as nothing (:func:`plan_from_plain`)."""
    from gitpar.core.plan import Settings, Stream

    settings = plan.settings
    stream_names = _names(Stream)
    return {
        "settings_fields": _names(Settings),
        "settings": tuple(dict(settings.extra) if n == "extra" else getattr(settings, n)
                          for n in _names(Settings)),
        "stream_fields": stream_names,
        "streams": [tuple(getattr(s, n) for n in stream_names) for s in plan.streams.values()],
        "warnings": list(plan.warnings),
        "pattern_dirs": plan.pattern_dirs,
        "owns_that_meet": plan.owns_that_meet,
        "rule_patterns": plan.rule_patterns,
    }


def plan_from_plain(data: Any) -> Any:
    """The :class:`gitpar.core.plan.Plan` that :func:`plan_to_plain` made ``data`` of;
    None when ``data`` is not such data for the plan types of this code."""
    from gitpar.core.plan import Plan, Settings, Stream

    try:
        if data["settings_fields"] != _names(Settings) or data["stream_fields"] != _names(Stream):
            return None
        names = data["stream_fields"]
        streams = {}
        new = object.__new__
        for values in data["streams"]:  # in the fields' order, checked above
            if len(values) != len(names):
                return None
            # as pickle does: the fields set without __init__ (a frozen dataclass's sets
            # each through object.__setattr__, twice the cost at thousands of streams)
            stream = new(Stream)
            stream.__dict__.update(zip(names, values, strict=True))
            streams[stream.name] = stream
        return Plan(settings=Settings(**dict(zip(data["settings_fields"], data["settings"], strict=True))),
                    streams=streams, warnings=list(data["warnings"]), pattern_dirs=data["pattern_dirs"],
                    owns_that_meet=data["owns_that_meet"], rule_patterns=data["rule_patterns"])
    except (KeyError, TypeError, ValueError):
        return None


# -- the entry on disk -----------------------------------------------------------------

def _entry_file(gitpar_dir: Path | str, key: str) -> Path:
    return Path(gitpar_dir) / "cache" / "plans" / f"{key}.marshal"


def _read_entry(gitpar_dir: Path | str, key: str) -> dict[str, Any] | None:
    data = cache_file.read_marshal(_entry_file(gitpar_dir, key))
    return data if isinstance(data, dict) and "plan" in data else None


def get(repo: Any, key: str, build: Callable[[], Any]) -> Any:
    """The plan cached under ``key``, else ``build()`` (BadInput from it is not cached)."""
    if key in _memory:
        return _memory[key]
    entry = _read_entry(repo.gitpar_dir, key)
    plan = plan_from_plain(entry["plan"]) if entry is not None and entry["plan"] is not None else None
    if plan is None:
        plan = build()
        if plan is not None:
            cache_file.write_marshal(_entry_file(repo.gitpar_dir, key), {"plan": plan_to_plain(plan)}, keep=KEEP)
    _memory[key] = plan
    return plan


def read_rules(gitpar_dir: Path, key: str) -> dict[str, Any] | None:
    """The rules JSON :func:`write_rules` kept with the plan ``key``, or None."""
    entry = _read_entry(gitpar_dir, key)
    rules = entry.get("rules") if entry is not None else None
    return rules if isinstance(rules, dict) and "patterns" in rules else None


def write_rules(gitpar_dir: Path, key: str, rules: dict[str, Any]) -> None:
    """Keep ``rules`` (``Rules.to_json()`` of the plan ``key``) in that plan's entry."""
    entry = _read_entry(gitpar_dir, key)
    if entry is None or entry.get("rules") == rules:
        return  # the plan is read (and its entry written) before its rules are worked out
    entry["rules"] = rules
    cache_file.write_marshal(_entry_file(gitpar_dir, key), entry, keep=KEEP)
