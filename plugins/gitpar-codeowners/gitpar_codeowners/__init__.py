"""gitpar-codeowners: keep GitHub's review rules and gitpar's streams saying the same thing.

``gitpar codeowners export`` prints the plan's ownership as a CODEOWNERS section (and
``--write`` puts it into the repository's CODEOWNERS file), so a pull request touching a
stream's files asks that stream's owners for review. ``gitpar codeowners import`` turns
the entries of an existing CODEOWNERS file into streams.

Who owns a stream, in ``.gitpar/plan.md``::

    plugins:
      codeowners:
        owners: {api: "@org/backend", ui: ["@org/frontend", "@alice"]}
        default: "@org/leads"          # streams with no owner of their own

A stream whose ``agent`` is an owner (``@user``, ``@org/team``, an email) needs no entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer  # already loaded by gitpar's command line, which is what loads this plugin

from gitpar.plugins import hookimpl

__version__ = "0.1.0"


def _options(plan: Any) -> dict[str, Any]:
    from gitpar.errors import bad

    settings = plan.settings.extra.get("plugins") or {}
    options = settings.get("codeowners") if isinstance(settings, dict) else None
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise bad(".gitpar/plan.md", "plugins.codeowners", f"must be a mapping, got {options!r}",
                  'write it like codeowners: {owners: {api: "@org/backend"}}')
    return options


def export_command(write: bool, file: str | None) -> None:
    from gitpar.cli import output as o
    from gitpar.cli.app import _repo
    from gitpar.store.repo import require_main_root
    from gitpar_codeowners import codeowners

    repo = _repo()
    plan = repo.load_plan()
    result = codeowners.export(plan, _options(plan))
    for name in result.unknown:
        o.warn(f"stream {name} has no owner: its lines are comments; set plugins.codeowners.owners.{name} "
               "in .gitpar/plan.md, or give it an agent like @org/team")
    if not write:
        o.out(result.text.rstrip("\n"))
        return
    root = require_main_root(repo)
    target = root / file if file else (codeowners.find_file(root) or root / codeowners.LOCATIONS[0])
    old = target.read_text(encoding="utf-8") if target.is_file() else ""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(codeowners.replace_section(old, result.text), encoding="utf-8")
    o.err(f"wrote gitpar's section of {target.relative_to(root)}; commit it with the plan")


def import_command(file: str | None, write: bool, json_: bool) -> None:
    from gitpar.cli import output as o
    from gitpar.cli.app import _repo
    from gitpar.errors import bad
    from gitpar.store.repo import require_main_root
    from gitpar_codeowners import codeowners

    repo = _repo()
    root = require_main_root(repo)
    path = Path(file) if file else codeowners.find_file(root)
    if path is None or not path.is_file():
        raise bad(str(path) if path else None, None, "no CODEOWNERS file found" if path is None else "no such file",
                  f"name the file, or create one of {', '.join(codeowners.LOCATIONS)}")
    entries = codeowners.parse(path.read_text(encoding="utf-8"), str(path))
    proposed, notes = codeowners.to_streams(entries)
    for note in notes:
        o.warn(f"{path}: {note}")
    written = []
    if write:
        from gitpar.core import streams

        existing = set(repo.load_plan().streams)
        for s in proposed:
            if s["name"] in existing:
                o.warn(f"stream {s['name']} already exists; not changed")
                continue
            stream, _ = streams.stream_add(repo, s["name"], owns=s["owns"], agent=s["agent"],
                                           description=f"owned by {s['agent']} in CODEOWNERS")
            written.append(stream.file)
    if json_:
        o.emit_json({"version": 1, "file": str(path), "streams": proposed, "written": written})
        return
    for s in proposed:
        o.out(f"{s['name']}  ({s['agent']})")
        for pattern in s["owns"]:
            o.out(f"  owns {pattern}")
    if write:
        o.err(f"wrote {len(written)} stream files; review and commit them")
    else:
        o.err("nothing written; --write adds these streams to the plan")


@hookimpl
def gitpar_register_commands(app: Any) -> None:
    co = typer.Typer(help="CODEOWNERS and the plan's ownership: export and import.",
                     no_args_is_help=True, rich_markup_mode=None, add_completion=False,
                     context_settings={"help_option_names": ["-h", "--help"]})
    app.add_typer(co, name="codeowners")

    @co.command("export")
    def export_(write: Annotated[bool, typer.Option("--write", help="Update gitpar's section of the CODEOWNERS file.")] = False,
                file: Annotated[str | None, typer.Option("--file", help="The CODEOWNERS file (default: the one GitHub uses, else .github/CODEOWNERS).")] = None) -> None:
        """Print the plan's ownership as a CODEOWNERS section."""
        export_command(write, file)

    @co.command("import")
    def import_(file: Annotated[str | None, typer.Argument(help="The CODEOWNERS file (default: the one GitHub uses).")] = None,
                write: Annotated[bool, typer.Option("--write", help="Write the streams as .gitpar/streams/<name>.md.")] = False,
                json_: Annotated[bool, typer.Option("--json", help="Print data as JSON.")] = False) -> None:
        """Turn CODEOWNERS entries into streams (one per set of owners)."""
        import_command(file, write, json_)
