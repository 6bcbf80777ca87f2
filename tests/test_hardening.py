"""Hardening: work git keeps no copy of (ignored files) is not lost by remove, sync or integrate."""

from __future__ import annotations

from pathlib import Path

from conftest import git, worktree_of, write


def _ignoring(planned: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """``planned`` with .env, *.local and .venv/ ignored, api started: its worktree."""
    write(planned / ".gitignore", ".env\n*.local\n.venv/\n")
    git(planned, "add", ".gitignore")
    git(planned, "commit", "-qm", "ignore local files")
    assert run(planned, "start", "api").code == 0
    return worktree_of(planned, "api")


def test_remove_refuses_naming_ignored_files_and_force_deletes_them(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    wt = _ignoring(planned, run)
    write(wt / ".env", "SECRET=1\n")
    write(wt / "conf/db.local", "port=1\n")
    write(wt / ".venv/lib/x.py", "built\n")  # an ignored folder: what setup makes again
    res = run(planned, "remove", "api", "--dry-run")
    assert res.code == 1 and "would refuse" in res.out, res
    assert ".env" in res.out and "conf/db.local" in res.out and "--force" in res.out, res
    assert ".venv" not in res.out, res
    res = run(planned, "remove", "api")
    assert res.code == 1 and ".env" in res.err and "conf/db.local" in res.err and "--force" in res.err, res
    assert (wt / ".env").read_text() == "SECRET=1\n"
    # moved out: nothing left to lose
    (wt / ".env").unlink()
    (wt / "conf/db.local").unlink()
    assert run(planned, "remove", "api").code == 0
    assert not wt.exists()


def test_remove_force_deletes_ignored_files_and_copies_are_not_work(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    wt = _ignoring(planned, run)
    write(planned / ".env", "SHARED=1\n")
    write(wt / ".env", "SHARED=1\n")  # what 'copy: [.env]' put there: the main worktree has it
    res = run(planned, "remove", "api", "--dry-run")
    assert res.code == 0 and "ignored" not in res.out, res
    write(wt / ".env", "CHANGED=1\n")
    assert run(planned, "remove", "api").code == 1
    assert run(planned, "remove", "api", "--force").code == 0
    assert not wt.exists() and (planned / ".env").read_text() == "SHARED=1\n"


def test_sync_does_not_overwrite_an_ignored_file(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    """The base gains a tracked file where a stream's worktree has an ignored one: sync refuses."""
    wt = _ignoring(planned, run)
    write(wt / "conf/app.local", "my settings\n")
    write(planned / "conf/app.local", "the team's settings\n")
    git(planned, "add", "-f", "conf/app.local")
    git(planned, "commit", "-qm", "a default app.local, tracked", "--no-verify")
    res = run(planned, "sync", "api")
    assert res.code != 0 or "skipped" in res.out + res.err, res
    assert "conf/app.local" in res.out + res.err, res
    assert (wt / "conf/app.local").read_text() == "my settings\n"
