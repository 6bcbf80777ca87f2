"""gitpar-mcp: ``gitpar mcp``, gitpar's operations as MCP tools for agents, over stdio.

The server runs in a stream's worktree (its working directory), so the stream is the
worktree's, as for the command line; every tool is a thin call into gitpar's core with
the same rules and the same errors (a gitpar error becomes an MCP tool error carrying its
message and fix). The tools are in :mod:`gitpar_mcp.server`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitpar.plugins import hookimpl

if TYPE_CHECKING:
    import typer

__version__ = "0.1.0"


@hookimpl
def gitpar_register_commands(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_cmd() -> None:
        """Serve gitpar's operations as MCP tools over stdio (for agents; register it with
        'claude mcp add gitpar -- gitpar mcp')."""
        from gitpar_mcp.server import serve

        serve()
