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


def test_the_job_summary_escapes_file_names_and_stays_under_githubs_limit(planned: Path, run,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    from gitpar.cli.report_check import job_summary
    from gitpar.core.check import check_range
    from gitpar.core.repo import open_repo
    from gitpar.testing import run_process

    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    evil = "src/ui/`<img src=x onerror=alert(1)>` [click](https://evil.example) @team *b*.py"
    write(wt / evil, "x\n")
    for i in range(300):
        write(wt / f"src/ui/many/{'n' * 60}{i}.py", "x\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "api writes ui's files", "--no-verify")
    summary = tmp_path / "summary.md"
    summary.touch()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_BASE_REF": "main",
           "GITHUB_HEAD_REF": "gitpar/api"}
    res = run_process(wt, "check", "--base", "main", "--head", "HEAD", "--format", "github", env=env)
    assert res.code == 1, res
    text = summary.read_text()
    assert "<img" not in text and "[click](" not in text and "@team" not in text and "*b*" not in text
    assert "&lt;img" in text and "&#64;team" in text  # shown as text
    # a summary that would pass GitHub's limit is cut, saying how many rows are left out
    report = check_range(open_repo(wt), "main", "HEAD", branch="gitpar/api")
    assert len(report.violations) == 301
    small = job_summary(report, limit=20_000)
    assert len(small.encode()) <= 20_000
    assert "more violations are not shown here" in small and "--format json" in small
    assert len(job_summary(report).encode()) <= 1024 * 1024


def test_integrate_does_not_overwrite_an_ignored_file_in_the_targets_worktree(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    """main is checked out in the main worktree with an ignored src/api/db.local; api adds a tracked one."""
    wt = _ignoring(planned, run)
    write(planned / "src/api/db.local", "my local settings\n")
    write(wt / "src/api/db.local", "the stream's defaults\n")
    git(wt, "add", "-f", "src/api/db.local")
    git(wt, "commit", "-qm", "api: default db.local")
    assert run(wt, "finish").code == 0
    before = git(planned, "rev-parse", "main").strip()
    res = run(planned, "integrate", "--into", "main")
    assert res.code != 0 and "src/api/db.local" in res.out + res.err, res
    assert (planned / "src/api/db.local").read_text() == "my local settings\n"
    assert git(planned, "rev-parse", "main").strip() == before
