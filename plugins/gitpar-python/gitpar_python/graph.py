"""A Python codebase's import graph, cut into streams.

Modules that import each other (a cycle) go into one stream; a module that imports
another comes after it (``depends_on``); tests follow the module they test. When that
gives more streams than wanted, modules are grouped by package, then by top-level
package.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

DEFAULT_MAX_STREAMS = 12
SKIP_DIRS = {".gitpar", "docs", "doc", "build", "dist", ".git", "node_modules", "venv", ".venv"}


@dataclass
class Module:
    name: str  # dotted
    path: str  # repository-relative
    is_test: bool = False
    is_init: bool = False
    imports: set[str] = field(default_factory=set)  # names of modules of this codebase
    empty: bool = False  # no import statement and no code (an __init__.py that only marks a package)


@dataclass
class Unit:
    """A proposed stream: modules (and their tests), in dependency order after ``after``."""

    modules: list[Module]
    tests: list[Module] = field(default_factory=list)
    after: set[int] = field(default_factory=set)  # indexes of the units this one imports
    name: str = ""


def is_test_path(path: str) -> bool:
    p = PurePosixPath(path)
    return (p.name.startswith("test_") or p.name.endswith("_test.py") or p.name == "conftest.py"
            or any(part in ("tests", "test", "testing") for part in p.parts[:-1]))


def module_name(path: str, files: set[str]) -> str:
    """The dotted module name: packages are the folders with an ``__init__.py``."""
    p = PurePosixPath(path)
    parts = [p.stem] if p.name != "__init__.py" else []
    folder = p.parent
    while str(folder) not in ("", ".") and f"{folder}/__init__.py" in files:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or p.parent.name


def read_modules(root: Path, files: Iterable[str]) -> tuple[dict[str, Module], list[str]]:
    """The codebase's modules by dotted name (their imports resolved), and notes."""
    py = sorted(f for f in files if f.endswith(".py") and not (set(PurePosixPath(f).parts[:-1]) & SKIP_DIRS))
    fileset = set(py)
    modules: dict[str, Module] = {}
    aliases: dict[str, str] = {}  # other names a module is imported by (folders without __init__.py)
    notes: list[str] = []
    for path in py:
        name = module_name(path, fileset)
        if name in modules:  # two scripts of one name in different folders: keep them apart
            name = path[:-3].replace("/", ".")
        modules[name] = Module(name, path, is_test=is_test_path(path), is_init=path.endswith("__init__.py"))
        dotted = path[:-3].removesuffix("/__init__").replace("/", ".")
        for alias in (dotted, dotted.removeprefix("src."), dotted.removeprefix("lib.")):
            aliases.setdefault(alias, name)
    trees: dict[str, ast.Module] = {}
    for name, m in modules.items():
        try:
            source = (root / m.path).read_text(encoding="utf-8")
            trees[name] = ast.parse(source, m.path)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as exc:
            notes.append(f"{m.path}: not read ({type(exc).__name__}); it follows no import")
            continue
        m.empty = not trees[name].body or all(isinstance(s, ast.Expr) for s in trees[name].body)

    def known(dotted: str) -> str | None:
        return dotted if dotted in modules else aliases.get(dotted)

    for name, tree in trees.items():
        m = modules[name]
        package = name if m.is_init else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".") if package else []
                    base_parts = base_parts[:len(base_parts) - (node.level - 1)] if node.level > 1 else base_parts
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if base else a.name for a in node.names] + [base]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                for i in range(len(parts), 0, -1):  # the longest prefix that is a module here
                    found = known(".".join(parts[:i]))
                    if found is not None:
                        if found != name:
                            m.imports.add(found)
                        break
    return modules, notes


def _sccs(nodes: Sequence[str], edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), iteratively; each in dependency order of discovery."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out  # Tarjan emits a component after everything it reaches: dependencies first


def _condense(groups: Mapping[str, str], modules: Mapping[str, Module]) -> list[list[str]]:
    """Units of modules: the groups (module -> group key), merged where they import each other."""
    members: dict[str, list[str]] = {}
    for name, key in groups.items():
        members.setdefault(key, []).append(name)
    edges = {key: {groups[i] for n in names for i in modules[n].imports if i in groups} - {key}
             for key, names in members.items()}
    return [sorted(n for key in comp for n in members[key]) for comp in _sccs(sorted(members), edges)]


def cut(modules: Mapping[str, Module], max_streams: int = DEFAULT_MAX_STREAMS) -> list[Unit]:
    """The units (streams to be), dependencies first."""
    code = {n: m for n, m in modules.items() if not m.is_test and not (m.is_init and m.empty)}
    levels = [lambda n: n, lambda n: code[n].name.rpartition(".")[0] or n, lambda n: n.split(".")[0]]
    comps: list[list[str]] = []
    for level in levels:
        comps = _condense({n: level(n) for n in code}, code)
        if len(comps) <= max_streams:
            break
    units = [Unit([code[n] for n in comp]) for comp in comps]
    where = {m.name: i for i, u in enumerate(units) for m in u.modules}
    for i, u in enumerate(units):
        u.after = {where[t] for m in u.modules for t in m.imports if t in where} - {i}
    _place_inits(units, modules, where)
    _place_tests(units, modules, where)
    _reduce(units)
    _name(units, code)
    return units


def _place_inits(units: list[Unit], modules: Mapping[str, Module], where: dict[str, int]) -> None:
    """An ``__init__.py`` that only marks a package goes with the package's first unit."""
    for m in modules.values():
        if not (m.is_init and m.empty) or m.is_test:
            continue
        inside = [where[n] for n in where if n.startswith(m.name + ".") or n == m.name]
        if inside:
            i = min(inside)
            units[i].modules.append(m)
            where[m.name] = i


def _place_tests(units: list[Unit], modules: Mapping[str, Module], where: dict[str, int]) -> None:
    """A test goes with the module it is named after, else with the latest unit it imports."""
    by_stem: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        for m in u.modules:
            by_stem.setdefault(m.name.rpartition(".")[2], []).append(i)
    for m in modules.values():
        if not m.is_test or PurePosixPath(m.path).name == "conftest.py":
            continue
        stem = re.sub(r"^test_|_test$", "", PurePosixPath(m.path).stem)
        imported = sorted({where[t] for t in m.imports if t in where})
        named = [i for i in by_stem.get(stem, []) if not imported or i in imported] or by_stem.get(stem, [])
        if len(named) == 1:
            units[named[0]].tests.append(m)
        elif imported:
            units[max(imported)].tests.append(m)  # units are in dependency order: the latest one


def _reduce(units: list[Unit]) -> None:
    """Drop a dependency another dependency already implies (a transitive reduction)."""
    reach: list[set[int]] = []
    for u in units:  # dependencies first, so every unit's reach is known before its dependents'
        r: set[int] = set()
        for a in u.after:
            r |= reach[a] | {a}
        reach.append(r)
    for u in units:
        u.after = {a for a in u.after if not any(a in reach[b] for b in u.after if b != a)}


def _package(m: Module) -> str:
    return m.name if m.is_init else m.name.rpartition(".")[0]


def _name(units: list[Unit], all_code: Mapping[str, Module]) -> None:
    """A unit is named after its module, or its package when it holds all of it, else two modules."""
    used: set[str] = set()
    for u in units:
        code = [m for m in u.modules if not (m.is_init and m.empty)] or u.modules
        packages = {_package(m) for m in code}
        whole = (len(packages) == 1 and "" not in packages
                 and {n for n, m in all_code.items() if _package(m) == next(iter(packages))} <= {m.name for m in code})
        if len(code) == 1:
            base = code[0].name.rpartition(".")[2]
        elif whole:
            base = next(iter(packages)).rpartition(".")[2]
        else:
            base = "-".join(sorted(m.name.rpartition(".")[2] for m in code)[:2])
        name = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._") or "code"
        if not name[0].isalnum():
            name = "m" + name
        name = name[:60]
        candidate, n = name, 2
        while candidate in used:
            candidate, n = f"{name}-{n}", n + 1
        used.add(candidate)
        u.name = candidate


def patterns(unit: Unit, all_files: Iterable[str]) -> list[str]:
    """The unit's files as ownership patterns: ``dir/**`` where it has a whole folder's Python files."""
    mine = sorted({m.path for m in unit.modules + unit.tests})
    py_by_dir: dict[str, set[str]] = {}
    for f in all_files:
        if f.endswith(".py"):
            py_by_dir.setdefault(str(PurePosixPath(f).parent), set()).add(f)
    out: list[str] = []
    covered: set[str] = set()
    for folder, files in sorted(py_by_dir.items()):
        if folder not in ("", ".") and len(files) > 1 and files <= set(mine):
            sub = {f for d, fs in py_by_dir.items() if d == folder or d.startswith(folder + "/") for f in fs}
            if sub <= set(mine) and not any(folder.startswith(c + "/") for c in covered):
                out.append(f"{folder}/**")
                covered.add(folder)
    for path in mine:
        if not any(path.startswith(c + "/") for c in covered):
            out.append(path)
    return out
