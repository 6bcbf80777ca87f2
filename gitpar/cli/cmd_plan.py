"""Commands: gitpar plan, gitpar graph."""

from __future__ import annotations

from typing import Annotated

import typer

from gitpar.cli import output as o
from gitpar.cli.app import JsonOpt, _repo, app


@app.command()
def plan(workers: Annotated[str | None, typer.Option(
             "--workers", "-w", metavar="N", help="Workers to schedule for (default: CPUs, as gitpar run -j).")] = None,
         json_: JsonOpt = False) -> None:
    """Validate the plan; waves, critical path, schedule for N workers, ETA and bottleneck."""
    from gitpar.cli import plan_view

    plan_view.run(workers, json_)


@app.command()
def graph(fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid | dot")] = "mermaid") -> None:
    """The dependency graph, coloured by status, the critical path highlighted."""
    from gitpar.core.analysis import analyse_repo, render_dot, render_mermaid
    from gitpar.errors import bad

    renderers = {"mermaid": render_mermaid, "dot": render_dot}
    if fmt not in renderers:
        raise bad(None, "--format", f"{fmt!r} is not a graph format", "use --format mermaid or --format dot")
    a = analyse_repo(_repo(), workers=1)
    o.out(renderers[fmt](a).rstrip("\n"))

