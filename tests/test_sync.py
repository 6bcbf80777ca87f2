"""gitpar sync: up to date with the base, or stopped with the worktree exactly as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import commit_plan, git, worktree_of, write


@pytest.fixture
def streams(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """Streams w and v started (real worktrees); each has one commit of its own."""
    assert run(repo, "init", "--no-hooks").code == 0
    for name in ("w", "v"):
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**", "--shares", "src/config.py").code == 0
    commit_plan(repo)
    for name in ("w", "v"):
        assert run(repo, "start", name).code == 0
        wt = worktree_of(repo, name)
        write(wt / f"{name}/f.txt", f"{name}\n")
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", f"{name}: first")
    return repo


def snapshot(wt: Path) -> tuple[str, str, str, str]:
    """HEAD, status, index bytes and every file's bytes: what 'left exactly as it was' means."""
    gitdir = Path(git(wt, "rev-parse", "--absolute-git-dir").strip())
    files = hashlib.sha1()
    for path in sorted(p for p in wt.rglob("*") if p.is_file() and ".git" not in p.parts):
        files.update(str(path.relative_to(wt)).encode() + b"\0" + path.read_bytes())
    return (git(wt, "rev-parse", "HEAD"), git(wt, "status", "--porcelain", "--untracked-files=all"),
            hashlib.sha1((gitdir / "index").read_bytes()).hexdigest(), files.hexdigest())


def edit_line(where: Path, line: int, text: str, who: str) -> None:
    config = where / "src/config.py"
    lines = config.read_text().splitlines()
    lines[line - 1] = text
    config.write_text("\n".join(lines) + "\n")
    git(where, "commit", "-qam", f"{who} edits line {line}")


def main_edits(repo: Path, line: int, text: str) -> None:
    edit_line(repo, line, text, "main")


def stream_edits(wt: Path, line: int, text: str) -> None:
    edit_line(wt, line, text, "stream")


def test_merge_brings_the_base_in(streams: Path, run) -> None:
    wt = worktree_of(streams, "w")
    old = git(wt, "rev-parse", "HEAD").strip()
    main_edits(streams, 2, "MAIN2")
    res = run(streams, "sync", "w")
    assert res.code == 0, res
    assert "w: merged" in res.out
    assert git(wt, "rev-parse", "HEAD^1").strip() == old
    assert git(wt, "rev-parse", "HEAD^2").strip() == git(streams, "rev-parse", "main").strip()
    assert "MAIN2" in (wt / "src/config.py").read_text()
    assert git(wt, "status", "--porcelain") == ""
    res = run(streams, "sync", "w")
    assert res.code == 0 and "up to date" in res.out


def test_rebase_replays_the_stream_onto_the_base(streams: Path, run) -> None:
    wt = worktree_of(streams, "w")
    stream_edits(wt, 8, "W8")
    main_edits(streams, 2, "MAIN2")
    res = run(streams, "sync", "w", "--rebase")
    assert res.code == 0, res
    assert "rebased 2 commits" in res.out
    assert git(wt, "rev-parse", "HEAD~2").strip() == git(streams, "rev-parse", "main").strip()
    assert git(wt, "log", "--format=%s", "-2").splitlines() == ["stream edits line 8", "w: first"]
    text = (wt / "src/config.py").read_text()
    assert "MAIN2" in text and "W8" in text
    assert git(wt, "status", "--porcelain") == ""


@pytest.mark.parametrize("mode", ["--merge", "--rebase"])
def test_a_conflict_leaves_the_worktree_exactly_as_it_was(streams: Path, run, mode: str) -> None:
    wt = worktree_of(streams, "w")
    stream_edits(wt, 7, "WW")
    main_edits(streams, 7, "MAIN7")
    before = snapshot(wt)
    branch_before = git(streams, "rev-parse", "gitpar/w")
    res = run(streams, "sync", "w", mode)
    assert res.code == 1, res
    assert "src/config.py" in res.err and "conflict" in res.err
    assert "main edits line 7" in res.err and "stream edits line 7" in res.err  # both sides' commits
    assert snapshot(wt) == before
    assert git(streams, "rev-parse", "gitpar/w") == branch_before
    status = git(wt, "status")
    assert "rebase" not in status.lower() and "merging" not in status.lower()
    gitdir = Path(git(wt, "rev-parse", "--absolute-git-dir").strip())
    assert not any((gitdir / n).exists() for n in ("MERGE_HEAD", "rebase-merge", "rebase-apply"))


def test_conflict_report_names_the_commits_on_both_sides(streams: Path, run) -> None:
    wt = worktree_of(streams, "w")
    stream_edits(wt, 7, "WW")
    main_edits(streams, 7, "MAIN7")
    res = run(streams, "sync", "w", "--json")
    assert res.code == 1
    result = json.loads(res.out)["results"][0]
    assert result["outcome"] == "conflict"
    sides = result["sides"]["src/config.py"]
    assert any("main edits line 7" in c for c in sides["base"])
    assert any("stream edits line 7" in c for c in sides["stream"])
    assert [c["path"] for c in result["conflicts"]] == ["src/config.py"]


def test_keep_conflict_leaves_it_to_resolve(streams: Path, run) -> None:
    wt = worktree_of(streams, "w")
    stream_edits(wt, 7, "WW")
    main_edits(streams, 7, "MAIN7")
    res = run(streams, "sync", "w", "--keep-conflict")
    assert res.code == 1
    assert "left for you to resolve" in res.err
    gitdir = Path(git(wt, "rev-parse", "--absolute-git-dir").strip())
    assert (gitdir / "MERGE_HEAD").exists()
    assert "<<<<<<<" in (wt / "src/config.py").read_text()
    # a stream in the middle of a merge is not synced again behind the user's back
    res = run(streams, "sync", "w")
    assert res.code == 1 and "a merge is in progress" in res.err


@pytest.mark.parametrize("dirt", ["modified", "untracked", "staged"])
def test_uncommitted_changes_are_skipped_not_stashed(streams: Path, run, dirt: str) -> None:
    wt = worktree_of(streams, "w")
    main_edits(streams, 2, "MAIN2")
    if dirt == "modified":
        (wt / "w/f.txt").write_text("changed, not committed\n")
    elif dirt == "untracked":
        (wt / "w/new.txt").write_text("new\n")
    else:
        (wt / "w/f.txt").write_text("staged\n")
        git(wt, "add", "w/f.txt")
    before = snapshot(wt)
    res = run(streams, "sync", "w")
    assert res.code == 1, res
    assert "skipped" in res.err and "uncommitted changes" in res.err
    assert snapshot(wt) == before
    assert git(streams, "stash", "list") == ""


def test_all_syncs_every_active_stream(streams: Path, run) -> None:
    main_edits(streams, 2, "MAIN2")
    res = run(streams, "sync", "--all")
    assert res.code == 0, res
    assert "w: merged" in res.out and "v: merged" in res.out
    for name in ("w", "v"):
        assert "MAIN2" in (worktree_of(streams, name) / "src/config.py").read_text()


def test_a_stream_without_commits_fast_forwards(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "s", "--owns", "s/**").code == 0
    commit_plan(repo)
    assert run(repo, "start", "s").code == 0
    main_edits(repo, 2, "MAIN2")
    res = run(worktree_of(repo, "s"), "sync")  # this worktree's stream
    assert res.code == 0, res
    assert "fast-forwarded" in res.out
    assert git(repo, "rev-parse", "gitpar/s") == git(repo, "rev-parse", "main")


def test_bad_input(streams: Path, run) -> None:
    res = run(streams, "sync")
    assert res.code == 2 and "--all" in res.err
    res = run(streams, "sync", "nosuch")
    assert res.code == 2 and "no stream named 'nosuch'" in res.err
    res = run(streams, "sync", "w", "--rebase", "--merge")
    assert res.code == 2
    git(streams, "worktree", "remove", "--force", str(worktree_of(streams, "v")))
    git(streams, "branch", "-D", "gitpar/v")
    res = run(streams, "sync", "v")
    assert res.code == 1 and "does not exist" in res.err
