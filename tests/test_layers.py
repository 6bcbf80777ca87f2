"""The layers of DESIGN.md hold in the code: imports point down only, and no module imports
itself back through others.

Read from the source (the AST), never by importing it: every import counts, at the top of a
module, inside a function, or under ``TYPE_CHECKING`` — a lazy import is still a dependency.
``../shared/acceptance/layers`` checks the first rules; these are a superset of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "gitpar"

# layer (a folder or a module of gitpar) -> what no file in it may import
BANNED: dict[str, tuple[str, ...]] = {
    "gitpar/model": (),  # see test_the_model_imports_nothing_of_gitpar_but_errors
    "gitpar/store": ("gitpar.core", "gitpar.cli", "gitpar.plugins", "gitpar.hookentry", "gitpar.launch"),
    "gitpar/core": ("gitpar.cli", "gitpar.hookentry", "gitpar.launch", "pygit2", "typer", "rich"),
    "gitpar/plugins": ("gitpar.core", "gitpar.cli", "gitpar.hookentry", "gitpar.launch"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imported(path: Path, here: str | None = None) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every import in ``path`` (the module ``here``, by default
    its name in the tree), relative ones made absolute; ``from a import b`` names ``a.b``
    when that is a module of gitpar, else ``a``."""
    here = here or module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                yield (full if full in MODULES else module), node.lineno


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def in_layer(layer: str) -> list[Path]:
    target = ROOT / layer
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


@pytest.mark.parametrize("layer", sorted(BANNED))
def test_imports_point_down(layer: str) -> None:
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in in_layer(layer)
           for m, line in imported(p) if any(within(m, b) for b in BANNED[layer])]
    assert bad == [], f"{layer} may not import {', '.join(BANNED[layer])}"


def test_the_model_imports_nothing_of_gitpar_but_errors() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in in_layer("gitpar/model")
           for m, line in imported(p)
           if within(m, "gitpar") and not within(m, "gitpar.model") and m != "gitpar.errors"]
    assert bad == [], "gitpar/model is the bottom layer: it imports only itself and gitpar.errors"


def test_the_plugins_reach_the_store_only_to_open_a_repository() -> None:
    """A plugin is handed the repository; ``store.repo`` (``repo_around``, the ``Oid`` type)
    is the one store module the plugins layer names, to open the repository around a folder
    as the core's class when a caller gives none."""
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in in_layer("gitpar/plugins")
           for m, line in imported(p) if within(m, "gitpar.store") and m != "gitpar.store.repo"]
    assert bad == []


def test_only_the_manager_is_the_cores_door_to_the_plugins() -> None:
    """Core calls plugins through one facade: ``gitpar.plugins.manager``, nothing else."""
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in in_layer("gitpar/core")
           for m, line in imported(p)
           if within(m, "gitpar.plugins") and m != "gitpar.plugins.manager"]
    assert bad == [], "the core imports gitpar.plugins.manager only (the types are in gitpar.model)"


def test_the_hook_entry_counts_as_the_cli_layer() -> None:
    """hookentry.py is the hook shims' command line: nothing below the CLI imports it, and
    like every CLI module but the entry point it does not import ``gitpar.cli.main``."""
    below = [p for layer in ("gitpar/model", "gitpar/store", "gitpar/core", "gitpar/plugins")
             for p in in_layer(layer)]
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in below for m, line in imported(p)
           if within(m, "gitpar.hookentry")]
    main = PKG / "cli" / "main.py"
    cli = [*sorted((PKG / "cli").glob("*.py")), PKG / "hookentry.py"]
    bad += [f"{p.relative_to(ROOT)}:{line} imports gitpar.cli.main (a circle with the entry point)"
            for p in cli if p != main for m, line in imported(p) if m == "gitpar.cli.main"]
    assert bad == []


def graph() -> dict[str, set[str]]:
    """Module -> the modules of gitpar it imports (anywhere in the file)."""
    out: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        found = set()
        for m, _line in imported(path):
            while m and m not in MODULES:  # an attribute of a module: that module
                m = m.rpartition(".")[0]
            if m and m != name:
                found.add(m)
        out[name] = found
    return out


def circles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.add(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def describe(circle: frozenset[str], edges: dict[str, set[str]]) -> str:
    arrows = [f"{a} -> {b}" for a in sorted(circle) for b in sorted(edges[a] & circle)]
    return f"{len(circle)} modules: " + "; ".join(arrows)


def test_no_import_circles() -> None:
    edges = graph()
    found = circles(edges)
    assert found == [], "import circles (move the shared piece down a layer, or let one side " \
                        "stop importing the other):\n" + "\n".join(describe(c, edges) for c in found)


def test_the_circle_finder_finds_circles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert circles(edges) == [frozenset({"a", "b", "c"})]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_lazy_relative_and_type_checking_imports_count(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gitpar.core.plan import Plan\n"
                    "def f():\n    from gitpar.cli import output\n    import gitpar.store.repo\n"
                    "    from .rules import Rules\n    from ..model import lock\n", encoding="utf-8")
    assert {m for m, _ in imported(path, "gitpar.core.probe")} == {
        "typing", "gitpar.core.plan", "gitpar.cli.output", "gitpar.store.repo", "gitpar.core.rules",
        "gitpar.model.lock"}
