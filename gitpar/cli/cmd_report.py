"""Command: gitpar report — one self-contained HTML page of the whole plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitpar.cli import output as o
from gitpar.cli.app import JsonOpt, _repo, app


@app.command()
def report(html: Annotated[Path | None, typer.Option(
               "--html", metavar="FILE", help="Write the page to FILE (inline SVG and CSS, no script, "
               "nothing fetched from the network).")] = None,
           open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
           workers: Annotated[int | None, typer.Option(
               "--workers", "-w", metavar="N", min=1, help="Workers to schedule for (default: CPUs, as gitpar plan).")] = None,
           json_: JsonOpt = False) -> None:
    """A picture of the work: graph, planned and actual timeline, locks, conflicts, streams."""
    import os

    from gitpar.errors import bad

    if html is None and not json_:
        raise bad(None, "--html", "no output chosen", "give --html FILE (e.g. --html report.html) or --json")
    if html is not None:
        folder = html.parent if str(html.parent) else Path(".")
        if not folder.is_dir():
            raise bad(str(html), "--html", f"the folder {folder} does not exist",
                      "create it first, or write the page into an existing folder")
        if html.is_dir():
            raise bad(str(html), "--html", "is a folder", "name a file, e.g. --html report.html")
    count = workers or os.cpu_count() or 1
    from gitpar.core.report import gather

    repo = _repo()
    from gitpar.core.report_html import HOLDS_SHOWN

    # the page shows each file's newest holds; --json gives them all
    data = gather(repo, workers=count, holds_per_file=None if json_ else HOLDS_SHOWN)
    if json_:
        o.emit_json(data.to_dict())
    if html is None:
        return
    from gitpar.core.report_html import render

    html.write_text(render(data), encoding="utf-8")
    target = html.resolve()
    if not json_:
        o.out(str(target))
    o.err(f"report: {len(data.streams)} streams, {len(data.lock_holds) + data.lock_holds_left_out} lock holds, "
          f"{len(data.conflicts)} conflicts written to {target}")
    if open_:
        import webbrowser

        if not webbrowser.open(target.as_uri()):
            repo.warn(f"no browser could be started; open {target} yourself")
