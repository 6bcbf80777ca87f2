"""The pre-commit hook's rules cache survives what its verdict does not depend on."""

from __future__ import annotations

from pathlib import Path

from conftest import git, worktree_of, write

from gitpar.store import cache as cache_file


def _cache(repo: Path) -> Path:
    return repo / ".git" / "gitpar" / "cache" / "hook-rules.marshal"


def _mark(repo: Path) -> None:
    data = cache_file.read_marshal(_cache(repo))
    data["sentinel"] = 1
    cache_file.write_marshal(_cache(repo), data)


def _marked(repo: Path) -> bool:
    return "sentinel" in cache_file.read_marshal(_cache(repo))


def _commit(wt: Path, path: str, text: str) -> None:
    write(wt / path, text)
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", f"change {path}")


def test_another_streams_progress_keeps_the_cache_a_status_change_does_not(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    assert run(planned, "start", "ui", "--force").code == 0
    aw, uw = worktree_of(planned, "api"), worktree_of(planned, "ui")
    _commit(aw, "src/api/a.py", "a = 2\n")  # builds the cache
    _mark(planned)
    assert run(uw, "progress", "--completion", "30", "--done", "x").code == 0
    _commit(aw, "src/api/a.py", "a = 3\n")
    assert _marked(planned), "a progress report that changed no status emptied the hook's cache"
    assert run(uw, "progress", "--blocked", "waiting").code == 0  # a status change: rebuilt
    _commit(aw, "src/api/a.py", "a = 4\n")
    assert not _marked(planned)


def test_the_verdict_follows_a_status_change_after_the_cache_was_kept(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    """A non-stream branch may not change files of a stream in progress: the cache must see
    the stream start even though the plan and the locks did not change. (Under the default
    ``other_branches: strict`` a pending stream's file is refused too; ``active`` is the rule
    that follows the statuses.)"""
    plan = planned / ".gitpar/plan.md"
    text = plan.read_text()
    assert "other_branches: strict" in text
    plan.write_text(text.replace("other_branches: strict", "other_branches: active", 1))
    git(planned, "commit", "-qam", "other branches: active")
    git(planned, "checkout", "-q", "-b", "feature")
    _commit(planned, "src/ui/b.py", "b = 2\n")  # ui pending: allowed, the cache built
    git(planned, "checkout", "-q", "main")
    assert run(planned, "start", "ui", "--force").code == 0
    git(planned, "checkout", "-q", "feature")
    write(planned / "src/ui/b.py", "b = 3\n")
    git(planned, "add", "-A")
    refused = git(planned, "commit", "-qm", "reach into ui", check=False)
    del refused
    assert git(planned, "log", "-1", "--format=%s").strip() != "reach into ui"
