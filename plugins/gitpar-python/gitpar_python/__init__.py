"""gitpar-python: streams for a Python codebase, from its import graph.

``gitpar suggest`` asks every installed plugin to propose streams; this one reads the
Python files of the base branch with ``ast`` (nothing is imported or run) and proposes:

- modules that import each other (a cycle) in one stream;
- a module after the modules it imports (``depends_on``), so work flows in import order;
- tests with the module they are named after (``test_core.py`` -> ``core``), else with
  the last module they import;
- an ``__init__.py`` that only marks a package with the package's first stream.

When that makes more than ``--max-streams`` (default 12) streams, modules are grouped by
package, then by top-level package. ``gitpar suggest --write`` writes the proposals as
stream files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitpar.plugins import Proposal, hookimpl

__version__ = "0.1.0"


def propose(root: Path, files: Sequence[str], max_streams: int | None = None) -> list[Proposal]:
    """Proposals for the Python code among ``files`` (empty when there is none)."""
    from gitpar_python.graph import DEFAULT_MAX_STREAMS, cut, patterns, read_modules

    modules, _notes = read_modules(root, files)
    if not any(not m.is_test for m in modules.values()):
        return []
    units = cut(modules, max_streams or DEFAULT_MAX_STREAMS)
    out = []
    for u in units:
        names = sorted(m.name for m in u.modules if not (m.is_init and m.empty))
        after = sorted(units[a].name for a in u.after)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        why = (("modules that import each other: " if len(names) > 1 and _cyclic(u) else "") + shown
               + (f"; imports {', '.join(after)}" if after else "")
               + (f"; with {len(u.tests)} test file{'s' if len(u.tests) != 1 else ''}" if u.tests else ""))
        out.append(Proposal(name=u.name, owns=tuple(patterns(u, files)), depends_on=tuple(after),
                            description=f"Python: {shown}", why=why))
    return out


def _cyclic(unit: object) -> bool:
    modules = getattr(unit, "modules", [])
    names = {m.name for m in modules}
    return any(m.imports & names for m in modules)


@hookimpl
def gitpar_propose_streams(root: Path, files: Sequence[str], max_streams: int | None) -> list[Proposal] | None:
    return propose(root, files, max_streams) or None
