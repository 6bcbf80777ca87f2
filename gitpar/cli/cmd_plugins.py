"""Commands: gitpar plugins, gitpar suggest; and the commands plugins add.

Plugin commands are loaded by :func:`add_plugin_commands`, which ``main()`` calls before
parsing: it loads the plugins only when the command typed is not one of gitpar's own, so
``gitpar --help`` and every built-in command start without them.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gitpar.cli import output as o
from gitpar.cli.app import JsonOpt, app, pending_warnings

_added: list[Any] = []  # the CommandInfo / TyperInfo objects plugins added to ``app``


@app.command("plugins")
def plugins_cmd(json_: JsonOpt = False) -> None:
    """List the plugins (gitpar's own defaults included), the hooks and strategies of each."""
    from gitpar.plugins import manager

    # no repository needed: outside one, the installed plugins are still listed; inside,
    # the manager finds the repository's own plugins (when its plan opts in) from here
    infos = manager.plugin_list()
    if json_:  # the warnings are printed with every command's, when it ends
        o.emit_json({"version": 1, "plugins": [i.to_dict() for i in infos],
                     "disabled": manager.blocked_names(), "warnings": pending_warnings()})
    else:
        rows = []
        for i in infos:
            hooks = ", ".join(h.removeprefix("gitpar_") for h in i.hooks)
            if i.strategies:
                hooks += f" ({', '.join(i.strategies)})"
            rows.append([i.name, i.source, i.version or "", "disabled" if i.blocked else hooks])
        o.table(["plugin", "source", "version", "hooks"], rows)


@app.command()
def suggest(json_: JsonOpt = False,
            write: Annotated[bool, typer.Option("--write", help="Write the proposed streams as .gitpar/streams/<name>.md.")] = False,
            max_streams: Annotated[int | None, typer.Option("--max-streams", min=1, help="Propose at most about this many streams.")] = None) -> None:
    """Propose streams and their dependencies for this codebase (from the installed plugins)."""
    from gitpar.cli.app import _repo
    from gitpar.errors import bad
    from gitpar.plugins import manager
    from gitpar.store.repo import require_main_root

    repo = _repo()
    root = require_main_root(repo)
    files = repo.tracked_files()
    proposals = manager.propose_streams(root, files, max_streams)
    if not proposals:
        raise bad(None, None, "no installed plugin proposes streams for this codebase",
                  "install one for its language, e.g. 'pip install gitpar-python' "
                  "(gitpar's repository, plugins/gitpar-python); 'gitpar plugins' lists what is installed")
    written = _write_proposals(repo, [p for _, p in proposals]) if write else []
    if json_:
        o.emit_json({"version": 1, "streams": [dict(p.to_dict(), plugin=plugin) for plugin, p in proposals],
                     "written": written})
        return
    for plugin, p in proposals:
        o.out(f"{p.name}" + (f"  (after {', '.join(p.depends_on)})" if p.depends_on else "")
              + f"  [{plugin}]")
        if p.description:
            o.out(f"  {p.description}")
        for pattern in p.owns:
            o.out(f"  owns {pattern}")
        if p.why:
            o.out(f"  why: {p.why}")
    if write:
        o.err(f"wrote {len(written)} stream files; review and commit them to the base branch")
    else:
        o.err("nothing written; --write writes these as stream files")


def _write_proposals(repo: Any, proposals: list[Any]) -> list[str]:
    """Write proposals as stream files, dependencies first; existing streams are kept."""
    import graphlib

    from gitpar.core import streams

    plan_names = set(repo.load_plan().streams)
    by_name = {p.name: p for p in proposals}
    order = graphlib.TopologicalSorter(
        {p.name: [d for d in p.depends_on if d in by_name] for p in proposals}).static_order()
    written = []
    for name in order:
        p = by_name[name]
        if name in plan_names:
            repo.warn(f"stream {name!r} already exists; its proposal is not written")
            continue
        stream, _ = streams.stream_add(repo, name, owns=p.owns, depends_on=p.depends_on,
                                       description=p.description, brief=p.why)
        written.append(stream.file)
    return written


# -- plugin commands ---------------------------------------------------------------------------


def builtin_command_names() -> set[str]:
    """The names of gitpar's own commands and command groups."""
    from typer.main import get_command_name

    names = {c.name or get_command_name(c.callback.__name__) for c in app.registered_commands
             if c not in _added and c.callback is not None}
    names |= {g.name for g in app.registered_groups if g not in _added and g.name}
    return names


def add_plugin_commands(argv: list[str] | None = None) -> None:
    """Add the plugins' commands to the app when the command typed is not a built-in one.

    ``main()`` calls this before parsing; for ``gitpar --help`` and every built-in command
    it returns at once, without loading a plugin.
    """
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    if first is None:
        return
    builtin = builtin_command_names()
    if first in builtin:
        return
    from gitpar.plugins import manager

    remove_plugin_commands()
    commands, groups = list(app.registered_commands), list(app.registered_groups)
    manager.register_commands(app)
    from typer.main import get_command_name

    for c in app.registered_commands[len(commands):]:
        name = c.name or (get_command_name(c.callback.__name__) if c.callback else "")
        if name in builtin:
            manager.warn(f"a plugin's command {name!r} is ignored: gitpar has a command of that name")
            app.registered_commands.remove(c)
        else:
            _added.append(c)
    for g in app.registered_groups[len(groups):]:
        if g.name in builtin:
            manager.warn(f"a plugin's command group {g.name!r} is ignored: gitpar has a command of that name")
            app.registered_groups.remove(g)
        else:
            _added.append(g)


def remove_plugin_commands() -> None:
    """Take the plugins' commands off the app again (tests, and before adding them anew)."""
    for item in _added:
        for registry in (app.registered_commands, app.registered_groups):
            if item in registry:
                registry.remove(item)
    _added.clear()
