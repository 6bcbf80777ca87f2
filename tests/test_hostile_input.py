"""Input hygiene: text cannot forge structure, lock refuses what it must, numbers are checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import git, worktree_of

from gitpar.core.progress import clean_text, parse_progress


def state(repo: Path, path: str) -> str:
    return git(repo, "show", f"gitpar/_state:{path}")


@pytest.fixture
def api(planned: Path, run) -> Path:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    return worktree_of(planned, "api")


def test_clean_text() -> None:
    assert clean_text("x\n## Blocked\n- forged") == "x ## Blocked - forged"
    assert clean_text("a\r\n\tb\x00c\x1b[31m") == "a b c [31m"
    assert clean_text(" plain ") == "plain"


@pytest.mark.parametrize("option", ["--done", "--blocked", "--next", "--need", "--current"])
def test_newline_cannot_forge_a_section(planned: Path, api: Path, run, option: str) -> None:  # type: ignore[no-untyped-def]
    res = run(api, "progress", option, "x\n## Blocked\n- forged\n## Completed\n- also")
    assert res.code == 0, res
    text = state(planned, "progress/api.md")
    assert not [line for line in text.splitlines() if line in ("- forged", "- also")]
    p = parse_progress("api", text)
    assert "forged" not in " ".join(p.blocked if option != "--blocked" else ())
    assert p.completed == (() if option != "--done" else ("x ## Blocked - forged ## Completed - also",))


def test_current_starting_with_a_heading_stays_current(planned: Path, api: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(api, "progress", "--current", "## Blocked").code == 0
    p = parse_progress("api", state(planned, "progress/api.md"))
    assert p.current == "## Blocked" and p.blocked == () and p.status == "in_progress"


def test_lock_reason_and_agent_stay_on_one_line(planned: Path, api: Path, run) -> None:  # type: ignore[no-untyped-def]
    res = run(api, "lock", "src/config.py", "--reason", "r\n---\nstream: ui", "--agent", "a\nb")
    assert res.code == 0, res
    text = state(planned, "locks/src/config.py.lock")
    assert "\nstream: ui" not in text and "stream: api" in text
    assert 'reason: "r --- stream: ui"' in text


def test_overlong_text_refused(planned: Path, api: Path, run) -> None:  # type: ignore[no-untyped-def]
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(api, "progress", "--done", "x" * 5000)
    assert res.code == 2 and "--done" in res.err and "fix:" in res.err
    assert git(planned, "rev-parse", "gitpar/_state") == before


@pytest.mark.parametrize(("path", "message"), [
    (".gitpar/plan.md", "part of the plan"),
    (".gitpar/streams/api.md", "part of the plan"),
    ("../outside.txt", "outside the repository"),
    ("/etc/passwd", "outside the repository"),
    ("linked/config.py", "symlinked directory"),
    ("out/x.txt", "symlinked directory"),
])
def test_lock_refuses_paths(planned: Path, api: Path, run, path: str, message: str) -> None:  # type: ignore[no-untyped-def]
    os.symlink("src", api / "linked")
    os.symlink("..", api / "out")  # a folder outside the worktree
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(api, "lock", path)
    assert res.code == 2, res
    assert message in res.err and "fix:" in res.err and "Traceback" not in res.text
    assert git(planned, "rev-parse", "gitpar/_state") == before


@pytest.mark.parametrize(("args", "option"), [
    (["lock", "src/config.py", "--wait", "nan"], "--wait"),
    (["lock", "src/config.py", "--wait", "-1"], "--wait"),
    (["lock", "src/config.py", "--wait", "inf"], "--wait"),
    (["lock", "src/config.py", "--ttl", "999999999d"], "--ttl"),
    (["lock", "src/config.py", "--ttl", "0s"], "--ttl"),
    (["status", "--watch", "-1"], "--watch"),
    (["status", "--watch", "nan"], "--watch"),
    (["status", "--watch", "0"], "--watch"),
])
def test_bad_numbers_exit_2(planned: Path, api: Path, run, args: list[str], option: str) -> None:  # type: ignore[no-untyped-def]
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(api, *args)
    assert res.code == 2, res
    assert option in res.err and "fix:" in res.err and "Traceback" not in res.text
    assert git(planned, "rev-parse", "gitpar/_state") == before
