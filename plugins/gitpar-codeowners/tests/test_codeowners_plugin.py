"""gitpar-codeowners against real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import gitpar_codeowners
import pytest
from gitpar_codeowners import codeowners

from gitpar.plugins import manager
from gitpar.testing import git, make_repo, plugin_registered, run


@pytest.fixture(autouse=True)
def plugin():  # type: ignore[no-untyped-def]
    manager.reset()
    with plugin_registered(gitpar_codeowners, "gitpar-codeowners"):
        yield
    manager.reset()


def settings(repo: Path, yaml_block: str) -> None:
    plan = repo / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\n" + yaml_block + text[end:])


def test_export_prints_the_section(gitpar_repo: Path) -> None:
    settings(gitpar_repo, 'plugins: {codeowners: {owners: {api: "@org/backend"}, default: "@org/leads"}}')
    r = run(gitpar_repo, "codeowners", "export")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0].startswith("# BEGIN gitpar") and lines[-1] == "# END gitpar"
    assert "src/config.py @org/backend @org/leads" in lines  # shared: both streams' owners
    assert "src/api/** @org/backend" in lines and "src/ui/** @org/leads" in lines
    # shared lines come first, so in CODEOWNERS (last match wins) owners decide their files
    assert lines.index("src/config.py @org/backend @org/leads") < lines.index("src/api/** @org/backend")


def test_streams_without_owner_are_comments_and_warned(gitpar_repo: Path) -> None:
    r = run(gitpar_repo, "codeowners", "export")
    assert r.code == 0, r
    assert "# src/api/**  (no owner known for api)" in r.out
    assert "stream api has no owner" in r.err


def test_an_agent_that_is_an_owner_is_used(hermetic_git: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", files={"pkg/core.py": "X = 1\n"},
                     streams={"core": {"owns": ["pkg/core.py"], "agent": "@alice"}})
    r = run(repo, "codeowners", "export")
    assert "pkg/core.py @alice" in r.out.splitlines()


def test_export_write_replaces_only_its_section(gitpar_repo: Path) -> None:
    settings(gitpar_repo, 'plugins: {codeowners: {default: "@org/leads"}}')
    (gitpar_repo / "CODEOWNERS").write_text("* @org/everyone\n/docs/ @org/writers\n")
    assert run(gitpar_repo, "codeowners", "export", "--write").code == 0
    first = (gitpar_repo / "CODEOWNERS").read_text()
    assert first.startswith("* @org/everyone\n/docs/ @org/writers\n\n# BEGIN gitpar")
    assert run(gitpar_repo, "codeowners", "export", "--write").code == 0
    assert (gitpar_repo / "CODEOWNERS").read_text() == first
    assert not (gitpar_repo / ".github").exists()


def test_export_write_creates_the_github_file(gitpar_repo: Path) -> None:
    assert run(gitpar_repo, "codeowners", "export", "--write").code == 0
    assert "# END gitpar" in (gitpar_repo / ".github/CODEOWNERS").read_text()


def test_import_makes_a_stream_per_owner(hermetic_git: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", files={"src/api/a.py": "a\n", "src/ui/b.py": "b\n", "docs/x.md": "d\n"})
    (repo / ".github").mkdir()
    (repo / ".github/CODEOWNERS").write_text(
        "# teams\n* @org/everyone\n/src/api/ @org/backend\n/src/ui/ @org/frontend @bob\n"
        "docs/** writer@example.com\n/src/api/ @org/backend  # again, same owner\n")
    r = run(repo, "codeowners", "import", "--json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["streams"] == [
        {"name": "frontend", "owns": ["/src/ui/"], "agent": "@org/frontend @bob"},
        {"name": "writer", "owns": ["docs/**"], "agent": "writer@example.com"},
        {"name": "backend", "owns": ["/src/api/"], "agent": "@org/backend"},
    ]
    assert "the catch-all '*' (@org/everyone) is left out" in r.err
    r = run(repo, "codeowners", "import", "--write")
    assert r.code == 0, r
    text = (repo / ".gitpar/streams/frontend.md").read_text()
    assert "/src/ui/" in text and "@org/frontend @bob" in text
    # and back: the exported section names the same owners
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "streams")
    out = run(repo, "codeowners", "export").out.splitlines()
    assert "/src/ui/ @org/frontend @bob" in out and "docs/** writer@example.com" in out


def test_import_skips_gitpars_own_section() -> None:
    text = "/a/ @x\n# BEGIN gitpar: ...\n/b/ @y\n# END gitpar\n"
    assert [e.pattern for e in codeowners.parse(text)] == ["/a/"]


def test_bad_owner_names_the_line(gitpar_repo: Path) -> None:
    (gitpar_repo / "CODEOWNERS").write_text("/src/ @ok\n/docs/ not-an-owner\n")
    r = run(gitpar_repo, "codeowners", "import")
    assert r.code == 2 and "CODEOWNERS:2: owner: 'not-an-owner' is not @user" in r.err


def test_no_codeowners_file(gitpar_repo: Path) -> None:
    r = run(gitpar_repo, "codeowners", "import")
    assert r.code == 2 and "no CODEOWNERS file found" in r.err


@pytest.mark.parametrize("owner,name", [("@org/Back_End", "back_end"), ("@alice", "alice"),
                                        ("bob.smith@example.com", "bob.smith")])
def test_stream_names_from_owners(owner: str, name: str) -> None:
    assert codeowners.stream_name(owner) == name
