"""The plan: settings (``.gitpar/plan.md``) and stream definitions (``.gitpar/streams/*.md``).

Every read validates: names, field types, durations, patterns, dependencies (unknown,
self, cycles). Problems are BadInput naming the file, the field and the fix; unknown fields
are warnings, so a newer plan still reads with an older gitpar.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gitpar.core import markdown
from gitpar.core.ownership import PatternError, literal_dir, validate_pattern
from gitpar.core.plan_patterns import owns_that_meet, patterns_and_dirs
from gitpar.errors import bad
from gitpar.model.durations import format_duration, parse_duration

# the value types live in gitpar.model; re-exported here while other modules still import them from here
from gitpar.model.plan import DEFAULT_INTEGRATION_BRANCH as DEFAULT_INTEGRATION_BRANCH
from gitpar.model.plan import PLAN_DIR as PLAN_DIR
from gitpar.model.plan import PLAN_FILE as PLAN_FILE
from gitpar.model.plan import STREAMS_DIR as STREAMS_DIR
from gitpar.model.plan import Plan as Plan
from gitpar.model.plan import Settings as Settings
from gitpar.model.plan import Stream as Stream
from gitpar.model.plan import stream_file as stream_file

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
MAX_NAME = 64
_REMOTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
UNOWNED_MODES = ("deny", "lock", "allow")

SETTING_DEFAULTS: dict[str, Any] = {
    "base": "main",
    "worktrees": "../{repo}.gitpar/{stream}",
    "lock_ttl": "2h",
    "lock_chain": True,
    "stale_after": "4h",
    "unowned": "lock",
    "other_branches": "strict",
    "setup": [],
    "copy": [],
    "port_base": 20000,
    "remote": None,
    "test": None,
}
SETTING_COMMENTS = {
    "base": "the branch streams start from and the plan is read from",
    "worktrees": "where stream worktrees go ({repo}, {stream})",
    "lock_ttl": "how long a lock lasts unless renewed",
    "lock_chain": "a lock first merges in the last holder's version: edits in turns build on each other",
    "stale_after": "no commit and no progress for this long: needs attention",
    "unowned": "files no stream owns: deny | lock | allow",
    "other_branches": "branches that are no stream's: strict (only .gitpar/ and unowned: allow) | active",
    "setup": "commands run in a new worktree",
    "copy": "untracked files copied into a new worktree",
    "port_base": "GITPAR_PORT of the first stream; each stream gets its own",
    "remote": "a remote name: coordinate across machines through it",
    "test": "integrate's test gate, run in each merged tree ({worktree}); --test overrides",
}
# Settings read by later features; known so they are not warned about.
EXTRA_SETTINGS = {"main_worktree", "plugins", "integration_branch", "lock_heartbeat"}
STREAM_FIELDS = ("description", "owns", "shares", "depends_on", "agent", "priority", "estimate", "resources")
RESOURCE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@+=-")
RESOURCE_NAME_FIX = ("name it with letters, digits and . _ : @ + = -, like gpu:0, db:dev or port:8080 "
                     "(no '/', no '..', at most 100 characters)")


def resource_name_problem(name: object) -> str | None:
    """What is wrong with ``name`` as a resource's name (``resources:``, ``--resource``); None: nothing."""
    if not isinstance(name, str):
        return f"{name!r} is not a name"
    if not name:
        return "the resource name is empty"
    if "/" in name or "\\" in name or ".." in name:
        return f"{name!r} holds '/' or '..': a resource is a name, not a path"
    if len(name) > 100 or name[0] in ".-" or any(c not in RESOURCE_NAME_CHARS for c in name):
        return f"{name!r} is not a resource name"
    return None


def check_name(name: str, file: str | None = None) -> str:
    """``name`` if it is a valid stream name; BadInput saying why not otherwise."""
    where = file
    field_ = "stream name" if file is None else "file name"
    fix = "use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. 'api-v2')"
    if not isinstance(name, str) or not name:
        raise bad(where, field_, "the name is empty", fix)
    if name.startswith("_"):
        raise bad(where, field_, f"{name!r} starts with '_', which gitpar reserves for itself "
                  "(its state branch is gitpar/_state)", "choose a name starting with a letter or digit")
    if len(name) > MAX_NAME:
        raise bad(where, field_, f"{name[:20]!r}... is {len(name)} characters, more than {MAX_NAME}",
                  "choose a shorter name")
    if not _NAME.match(name):
        raise bad(where, field_, f"{name!r} is not a valid stream name", fix)
    if ".." in name or name.endswith(".lock") or name.endswith("."):
        raise bad(where, field_, f"{name!r} is not a valid git branch name component "
                  "(no '..', no trailing '.' or '.lock')", fix)
    return name


def _str_list(value: Any, file: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(file, key, f"must be a list of strings, got {value!r}",
                  f'write it like {key}: ["first", "second"]')
    return tuple(value)


MERGE_KINDS = ("union",)  # a shares entry's ``merge:``


def _shares(value: Any, file: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``shares``: patterns, each a string or ``{path: PATTERN, merge: union}``; returns
    (every pattern, those merged with git's union merge)."""
    entry = "{path: CHANGES.rst, merge: union}"
    if value is None:
        return (), ()
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise bad(file, "shares", f"must be a list, got {value!r}",
                  f'write it like shares: ["src/config.py", {entry}]')
    patterns: list[str] = []
    union: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            patterns.append(item)
            continue
        where = f"shares[{i}]"
        if not isinstance(item, dict):
            raise bad(file, where, f"must be a path or {entry}, got {item!r}",
                      f'write it like shares: ["src/config.py", {entry}]')
        unknown = sorted(str(k) for k in item if k not in ("path", "merge"))
        if unknown:
            raise bad(file, where, f"unknown key {unknown[0]!r} (known: path, merge)",
                      f"write it like {entry}")
        path = item.get("path")
        if not isinstance(path, str) or not path:
            raise bad(file, f"{where}.path", f"must be a path or pattern, got {path!r}",
                      f"write it like {entry}")
        merge = item.get("merge")
        if merge is not None and merge not in MERGE_KINDS:
            raise bad(file, f"{where}.merge", f"{merge!r} is not a merge git knows for {path} "
                      f"(known: {', '.join(MERGE_KINDS)})",
                      "write merge: union (both sides' lines are kept), or leave merge out for "
                      "git's usual merge")
        patterns.append(path)
        if merge == "union":
            union.append(path)
    return tuple(patterns), tuple(union)


def _duration(value: Any, file: str, key: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise bad(file, key, str(exc), f"write {key} like 90s, 45m, 2h or 1d") from None


def parse_settings(text: str | None, file: str = PLAN_FILE) -> tuple[Settings, list[str]]:
    """Settings from the text of plan.md (None: all defaults) and warnings."""
    if text is None:
        return Settings(), []
    settings, warnings = _parse_settings(text, file)
    return settings, list(warnings)


@functools.lru_cache(maxsize=16)
def _parse_settings(text: str, file: str) -> tuple[Settings, tuple[str, ...]]:
    """:func:`parse_settings`, kept by text: a state change reads plan.md's settings a few
    times (the base, the remote, the lock settings), each from the same text."""
    meta, body = markdown.parse(text, file)
    warnings = []
    for key in meta:
        if key not in SETTING_DEFAULTS and key not in EXTRA_SETTINGS:
            warnings.append(f"{file}: unknown setting {key!r} is ignored "
                            f"(known: {', '.join(SETTING_DEFAULTS)})")
    base = meta.get("base", "main")
    if not isinstance(base, str) or not base or base.startswith("-") or ".." in base:
        raise bad(file, "base", f"{base!r} is not a branch name", "write the base branch, e.g. base: main")
    worktrees = meta.get("worktrees") or SETTING_DEFAULTS["worktrees"]
    if not isinstance(worktrees, str) or "{stream}" not in worktrees:
        raise bad(file, "worktrees", f"{worktrees!r} must be a path containing {{stream}}",
                  "write it like worktrees: ../{repo}.gitpar/{stream}")
    unowned = meta.get("unowned", "lock")
    if unowned not in UNOWNED_MODES:
        raise bad(file, "unowned", f"{unowned!r} is not one of {', '.join(UNOWNED_MODES)}",
                  "write unowned: lock (or deny, or allow)")
    other_branches = meta.get("other_branches", "strict")
    if other_branches not in ("strict", "active"):
        raise bad(file, "other_branches", f"{other_branches!r} is not one of strict, active",
                  "write other_branches: strict (a branch that is no stream's may change only .gitpar/ and "
                  "files left 'unowned: allow') or active (only active streams' files and locked files are refused)")
    port_base = meta.get("port_base", 20000)
    if isinstance(port_base, bool) or not isinstance(port_base, int) or not 1024 <= port_base <= 65000:
        raise bad(file, "port_base", f"{port_base!r} is not a port number between 1024 and 65000",
                  "write it like port_base: 20000")
    remote = meta.get("remote")
    if remote is not None and (not isinstance(remote, str) or not _REMOTE.match(remote)):
        raise bad(file, "remote", f"{remote!r} is not a remote name",
                  "write the name of a git remote (e.g. remote: origin), or null")
    lock_chain = meta.get("lock_chain", True)
    if not isinstance(lock_chain, bool):
        raise bad(file, "lock_chain", f"{lock_chain!r} is not true or false",
                  "write lock_chain: true (a lock brings in the previous holder's version) or false")
    test = meta.get("test")
    if test is not None and (not isinstance(test, str) or not test.strip()):
        raise bad(file, "test", f"{test!r} is not a command",
                  'write the shell command of the test gate, e.g. test: "pytest -q", or null')
    settings = Settings(
        base=base,
        worktrees=worktrees,
        lock_ttl=_duration(meta.get("lock_ttl", "2h"), file, "lock_ttl"),
        lock_chain=lock_chain,
        stale_after=_duration(meta.get("stale_after", "4h"), file, "stale_after"),
        unowned=unowned,
        other_branches=other_branches,
        setup=_str_list(meta.get("setup"), file, "setup"),
        copy=_str_list(meta.get("copy"), file, "copy"),
        port_base=port_base,
        remote=remote,
        test=test,
        lock_heartbeat=None if meta.get("lock_heartbeat") is None
        else _duration(meta["lock_heartbeat"], file, "lock_heartbeat"),
        goal=body.strip(),
        extra={k: v for k, v in meta.items() if k in EXTRA_SETTINGS},
    )
    for path in settings.copy:
        if path.startswith("/") or ".." in path.split("/"):
            raise bad(file, "copy", f"{path!r} is outside the repository",
                      "list paths relative to the repository root, like .env")
    return settings, tuple(warnings)


def parse_stream(name: str, text: str, file: str | None = None) -> tuple[Stream, list[str]]:
    """A stream definition from its file's text; BadInput naming the file and field."""
    file = file or stream_file(name)
    check_name(name, file)
    meta, body = markdown.parse(text, file)
    warnings = [f"{file}: unknown field {key!r} is ignored (known: {', '.join(STREAM_FIELDS)})"
                for key in meta if key not in STREAM_FIELDS]
    description = meta.get("description") or ""
    agent = meta.get("agent") or ""
    for key, value in (("description", description), ("agent", agent)):
        if not isinstance(value, str):
            raise bad(file, key, f"must be text, got {value!r}", f'write it like {key}: "..."')
    priority = meta.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise bad(file, "priority", f"must be a whole number, got {priority!r}", "write it like priority: 1")
    estimate = meta.get("estimate")
    owns = _str_list(meta.get("owns"), file, "owns")
    shares, union = _shares(meta.get("shares"), file)
    for key, patterns in (("owns", owns), ("shares", shares)):
        for pattern in patterns:
            check_pattern(pattern, file, key)
    resources = meta.get("resources")
    if resources is not None and not (isinstance(resources, list) and all(isinstance(r, str) for r in resources)):
        raise bad(file, "resources", f"must be a list of resource names, got {resources!r}",
                  'write it like resources: ["gpu:0", "db:dev"]')
    for res in resources or []:
        problem = resource_name_problem(res)
        if problem:
            raise bad(file, "resources", problem, RESOURCE_NAME_FIX)
    depends_on = _str_list(meta.get("depends_on"), file, "depends_on")
    for dep in depends_on:
        if dep == name:
            raise bad(file, "depends_on", f"stream {name!r} depends on itself",
                      f"remove {name!r} from depends_on")
        try:
            check_name(dep)
        except Exception:
            raise bad(file, "depends_on", f"{dep!r} is not a valid stream name",
                      "list the names of other streams") from None
    stream = Stream(
        name=name,
        description=description,
        owns=owns,
        shares=shares,
        union=union,
        depends_on=tuple(dict.fromkeys(depends_on)),
        agent=agent,
        priority=priority,
        estimate=None if estimate is None else _duration(estimate, file, "estimate"),
        brief=body.strip(),
        resources=tuple(dict.fromkeys(resources or [])),
    )
    return stream, warnings


def check_pattern(pattern: str, file: str, key: str) -> None:
    """BadInput naming file and field when ``pattern`` is not a valid ownership pattern."""
    try:
        validate_pattern(pattern)
    except PatternError as exc:
        raise bad(file, key, f"pattern {pattern!r}: {exc.problem}", exc.fix) from None


def render_stream(stream: Stream) -> str:
    """The text of a stream's file, as ``gitpar stream add`` writes it."""
    meta: dict[str, Any] = {}
    if stream.description:
        meta["description"] = stream.description
    meta["owns"] = list(stream.owns)
    if stream.shares:
        meta["shares"] = [{"path": p, "merge": "union"} if p in stream.union else p for p in stream.shares]
    meta["depends_on"] = list(stream.depends_on)
    if stream.agent:
        meta["agent"] = stream.agent
    if stream.priority:
        meta["priority"] = stream.priority
    if stream.estimate is not None:
        meta["estimate"] = format_duration(stream.estimate)
    if stream.resources:
        meta["resources"] = list(stream.resources)
    return markdown.render(meta, stream.brief)


def render_settings(base: str, remote: str | None = None) -> str:
    """The text of a new plan.md, every setting written out with its default."""
    meta = dict(SETTING_DEFAULTS)
    meta["base"] = base
    meta["remote"] = remote
    return markdown.render(meta, "What this plan is for, in prose.", SETTING_COMMENTS)


def load_plan(files: Mapping[str, str]) -> Plan:
    """A validated Plan from plan files by repository path (``.gitpar/...``) to text."""
    settings, warnings = parse_settings(files.get(PLAN_FILE))
    streams: dict[str, Stream] = {}
    for path in sorted(files):
        if not path.startswith(STREAMS_DIR + "/"):
            continue
        rest = path[len(STREAMS_DIR) + 1:]
        if "/" in rest or not rest.endswith(".md"):
            warnings.append(f"{path}: not a stream file (streams are .gitpar/streams/<name>.md); ignored")
            continue
        stream, stream_warnings = parse_stream(rest[:-3], files[path], path)
        streams[stream.name] = stream
        warnings.extend(stream_warnings)
    check_graph(streams)

    dirs = {p: literal_dir(p) for s in streams.values() for p in (*s.owns, *s.shares)}
    plan = Plan(settings=settings, streams=streams, warnings=warnings, pattern_dirs=dirs)
    plan.owns_that_meet = owns_that_meet(plan)
    patterns_and_dirs(plan)  # cached with the plan
    return plan


def check_graph(streams: Mapping[str, Stream]) -> None:
    """BadInput for a dependency on an unknown stream, or a cycle (the message shows it)."""
    import graphlib

    for stream in streams.values():
        for dep in stream.depends_on:
            if dep not in streams:
                raise bad(stream.file, "depends_on", f"unknown stream {dep!r}",
                          f"add a stream named {dep!r}, or remove it from depends_on")
    sorter = graphlib.TopologicalSorter({s.name: s.depends_on for s in streams.values()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))
        # present the cycle starting from its smallest name, in dependency order
        start = cycle[:-1].index(min(cycle[:-1]))
        ring = cycle[start:-1] + cycle[:start]
        ring.append(ring[0])
        shown = " -> ".join(ring)
        raise bad(stream_file(ring[0]), "depends_on", f"dependency cycle: {shown} "
                  "(each stream depends on the next)",
                  "remove one of these dependencies to break the cycle") from None


def topological_order(streams: Mapping[str, Stream]) -> list[str]:
    """Names with every dependency before its dependents (ties by name)."""
    import graphlib

    sorter = graphlib.TopologicalSorter({n: streams[n].depends_on for n in sorted(streams)})
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def ancestors(streams: Mapping[str, Stream], name: str) -> set[str]:
    """Every stream ``name`` depends on, directly or not."""
    seen: set[str] = set()
    todo = list(streams[name].depends_on)
    while todo:
        dep = todo.pop()
        if dep not in seen and dep in streams:
            seen.add(dep)
            todo.extend(streams[dep].depends_on)
    return seen


def iter_patterns(stream: Stream) -> Iterable[tuple[str, str]]:
    for pattern in stream.owns:
        yield "owns", pattern
    for pattern in stream.shares:
        yield "shares", pattern
