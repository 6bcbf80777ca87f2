"""Built-in brief rendering: the markdown ``gitpar brief`` prints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitpar.plugins.hookspecs import hookimpl


def render(data: Mapping[str, Any]) -> str:
    """The brief as markdown, from the dict ``gitpar.core.streams.brief`` returns."""
    lines = [f"# Stream {data['stream']}" + (f": {data['description']}" if data.get("description") else ""), ""]
    if data.get("brief"):
        lines += [str(data["brief"]), ""]
    lines.append(f"Branch {data['branch']}" + (f", worktree {data['worktree']}" if data.get("worktree") else "")
                 + (f", GITPAR_PORT={data['port']}" if data.get("port") else ""))
    lines += ["", "## You own (only you may change these)"]
    lines += [f"- {p}" for p in data.get("owns") or ["(nothing)"]]
    lines += ["", "## You share (change only while holding the lock)"]
    lines += [f"- {p}" for p in data.get("shares") or ["(nothing)"]]
    lines += ["", "## Rules",
              "- Change only the files you own; a shared file only under `gitpar lock PATH`.",
              "- Commits touching anything else are refused by the hooks and by CI.",
              "", "## Report progress"]
    lines += [f"- {key}: `{cmd}`" for key, cmd in (data.get("commands") or {}).items()]
    return "\n".join(lines) + "\n"


@hookimpl(trylast=True)
def gitpar_render_brief(brief: Mapping[str, Any]) -> str:
    return render(brief)
