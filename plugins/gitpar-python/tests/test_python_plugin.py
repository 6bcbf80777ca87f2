"""gitpar-python on small real codebases."""

from __future__ import annotations

import json
from pathlib import Path

import gitpar_python
import pytest
from gitpar_python.graph import read_modules

from gitpar.plugins import manager
from gitpar.testing import make_repo, plugin_registered, run


def codebase(tmp_path: Path, files: dict[str, str]) -> tuple[Path, list[str]]:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path, sorted(files)


def by_name(proposals):  # type: ignore[no-untyped-def]
    return {p.name: p for p in proposals}


def test_imports_give_the_order_and_tests_follow(tmp_path: Path) -> None:
    root, files = codebase(tmp_path, {
        "pkg/__init__.py": "", "pkg/core.py": "X = 1\n", "pkg/api.py": "from pkg.core import X\n",
        "pkg/cli.py": "from pkg import api\n", "tests/test_core.py": "from pkg.core import X\n",
        "tests/test_cli.py": "import pkg.cli\nimport pkg.core\n", "README.md": "hi\n"})
    p = by_name(gitpar_python.propose(root, files))
    assert set(p) == {"core", "api", "cli"}
    assert p["api"].depends_on == ("core",) and p["cli"].depends_on == ("api",)  # not core: api implies it
    assert p["core"].owns == ("pkg/__init__.py", "pkg/core.py", "tests/test_core.py")
    assert p["cli"].owns == ("pkg/cli.py", "tests/test_cli.py")
    assert "imports core" in p["api"].why


def test_modules_that_import_each_other_go_together(tmp_path: Path) -> None:
    root, files = codebase(tmp_path, {
        "app/__init__.py": "", "app/a.py": "from . import b\n", "app/b.py": "from .a import thing\n",
        "app/c.py": "from app.b import x\n"})
    p = by_name(gitpar_python.propose(root, files))
    assert set(p) == {"a-b", "c"}
    assert p["c"].depends_on == ("a-b",)
    assert "import each other" in p["a-b"].why


def test_src_layout_and_relative_imports(tmp_path: Path) -> None:
    root, files = codebase(tmp_path, {
        "src/lib/__init__.py": "from .models import Model\n", "src/lib/models.py": "class Model: ...\n",
        "src/lib/views/__init__.py": "", "src/lib/views/page.py": "from ..models import Model\n"})
    modules, notes = read_modules(root, files)
    assert notes == []
    assert modules["lib.views.page"].imports == {"lib.models"}
    assert modules["lib"].imports == {"lib.models"}


def test_many_modules_are_grouped_by_package(tmp_path: Path) -> None:
    files = {"a/__init__.py": "", "b/__init__.py": ""}
    for i in range(5):
        files[f"a/m{i}.py"] = "X = 1\n"
        files[f"b/n{i}.py"] = f"from a.m{i} import X\n"
    root, names = codebase(tmp_path, files)
    p = by_name(gitpar_python.propose(root, names, max_streams=4))
    assert set(p) == {"a", "b"}
    assert p["a"].owns == ("a/**",) and p["b"].depends_on == ("a",)


def test_no_python_no_proposal(tmp_path: Path) -> None:
    root, files = codebase(tmp_path, {"README.md": "x\n", "main.go": "package main\n"})
    assert gitpar_python.propose(root, files) == []


def test_unreadable_files_are_noted(tmp_path: Path) -> None:
    root, files = codebase(tmp_path, {"ok.py": "import bad\n", "bad.py": "def (:\n"})
    modules, notes = read_modules(root, files)
    assert notes == ["bad.py: not read (SyntaxError); it follows no import"]
    assert modules["ok"].imports == {"bad"}


def test_suggest_end_to_end(hermetic_git: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", files={
        "pkg/__init__.py": "", "pkg/core.py": "X = 1\n", "pkg/api.py": "from pkg.core import X\n",
        "pkg/cli.py": "from pkg import api\n"})
    manager.reset()
    with plugin_registered(gitpar_python, "gitpar-python"):
        r = run(repo, "suggest", "--json")
        assert r.code == 0, r
        streams = {s["name"]: s for s in json.loads(r.out)["streams"]}
        assert streams["api"]["depends_on"] == ["core"] and streams["api"]["plugin"] == "gitpar-python"
        r = run(repo, "suggest", "--write")
        assert r.code == 0, r
    assert run(repo, "plan", "--json").code == 0  # what was written is a valid plan
    assert (repo / ".gitpar/streams/cli.md").is_file()


@pytest.mark.parametrize("layout", ["flat", "namespace"])
def test_folders_without_init_still_resolve(tmp_path: Path, layout: str) -> None:
    init = {"svc/__init__.py": ""} if layout == "flat" else {}
    root, files = codebase(tmp_path, {**init, "svc/db.py": "X = 1\n", "svc/web.py": "from svc.db import X\n"})
    p = by_name(gitpar_python.propose(root, files))
    assert p["web"].depends_on == ("db",)
