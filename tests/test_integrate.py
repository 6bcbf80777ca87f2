"""gitpar integrate: dependency order, stop at a conflict or a failing test, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import commit_plan, edit_config, git, work, worktree_of

from gitpar.testing import sigint_default

T = "gitpar/_integration"


@pytest.fixture
def xyz(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """The acceptance scenario: x and y change line 5 of src/config.py; z depends on x.
    Without the lock chain (the default since issue 24), so that x and y conflict."""
    assert run(repo, "init", "--no-hooks").code == 0
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("lock_chain: true", "lock_chain: false", 1))
    assert run(repo, "stream", "add", "x", "--owns", "x/**", "--shares", "src/config.py").code == 0
    assert run(repo, "stream", "add", "y", "--owns", "y/**", "--shares", "src/config.py").code == 0
    assert run(repo, "stream", "add", "z", "--owns", "z/**", "--depends-on", "x").code == 0
    commit_plan(repo)
    work(repo, run, "x", {"x/f.txt": "x\n"}, (5, "XX"))
    work(repo, run, "y", {"y/f.txt": "y\n"}, (5, "YY"))
    work(repo, run, "z", {"z/bad": "z\n"})
    return repo


def state_progress(repo: Path, name: str) -> str:
    return git(repo, "show", f"gitpar/_state:progress/{name}.md")


def worktree_count(repo: Path) -> int:
    return git(repo, "worktree", "list", "--porcelain").count("worktree ")


def test_ejects_the_conflict_naming_file_and_the_other_side_and_goes_on(xyz: Path, run) -> None:
    main_before = git(xyz, "rev-parse", "main")
    y_before = git(xyz, "rev-parse", "gitpar/y")
    res = run(xyz, "integrate")
    assert res.code == 1, res
    assert "src/config.py" in res.err and "stream x" in res.err
    rows = {line.split()[0]: line for line in res.out.splitlines()[2:]}
    # y is ejected; z, which depends on x and not on y, lands after it
    assert "merged" in rows["x"] and "conflicted" in rows["y"] and "merged" in rows["z"]
    assert "ejected 1 of 3: y (conflicted)" in res.err
    assert git(xyz, "rev-parse", "main") == main_before
    assert git(xyz, "rev-parse", "gitpar/y") == y_before
    config = git(xyz, "show", f"{T}:src/config.py")
    assert "XX" in config and "YY" not in config and "<<<<<<<" not in config
    assert git(xyz, "rev-parse", f"{T}^1^2").strip() == git(xyz, "rev-parse", "gitpar/x").strip()
    assert git(xyz, "rev-parse", f"{T}^2").strip() == git(xyz, "rev-parse", "gitpar/z").strip()
    marked = next(line for line in state_progress(xyz, "x").splitlines() if line.startswith("integrated:"))
    assert f"{T}@{git(xyz, 'rev-parse', T + '^1').strip()}" in marked
    assert "integrated" not in state_progress(xyz, "y")
    # x and z landed together (no gate): one state commit records both (their landed work: at finish)
    last = git(xyz, "log", "-1", "--format=%s", "gitpar/_state").strip()
    assert last.startswith("integrate 2 streams into gitpar/_integration: x at "), last
    changed = git(xyz, "show", "--name-only", "--format=", "gitpar/_state").split()
    assert {"progress/x.md", "progress/z.md"} <= set(changed), changed
    for name in ("x", "y", "z"):
        assert git(worktree_of(xyz, name), "status", "--porcelain") == ""


def test_continue_after_the_fix(xyz: Path, run) -> None:
    assert run(xyz, "integrate").code == 1
    # the fix: y takes the integration branch in and keeps both lines' intent
    wy = worktree_of(xyz, "y")
    proc = subprocess.run(["git", "merge", T], cwd=wy, capture_output=True, text=True)
    assert proc.returncode == 1
    assert run(wy, "lock", "src/config.py").code == 0  # the resolution changes a shared file
    edit_config(wy, 5, "XX")
    config = (wy / "src/config.py").read_text()
    (wy / "src/config.py").write_text(
        "\n".join(line for line in config.splitlines() if not line.startswith(("<<<<<<<", "=======", ">>>>>>>", "YY")))
        + "\nYY-after\n")
    git(wy, "commit", "-qam", "y: take x in")
    res = run(xyz, "integrate", "--continue")
    assert res.code == 0, res
    rows = {line.split()[0]: line for line in res.out.splitlines()[2:]}
    assert "already merged" in rows["x"] and "merged" in rows["y"] and "merged" in rows["z"]
    assert git(xyz, "show", f"{T}:z/bad") == "z\n"
    assert not (xyz / ".git/gitpar/integrate.json").exists()
    res = run(xyz, "integrate", "--continue")
    assert res.code == 2 and "no stopped integration" in res.err


def test_the_test_gate_names_the_stream_that_breaks_it(xyz: Path, run) -> None:
    count = worktree_count(xyz)
    res = run(xyz, "integrate", "--streams", "x,z", "--into", "gate", "--test", "test ! -f z/bad")
    assert res.code == 1, res
    rows = {line.split()[0]: line for line in res.out.splitlines()[2:]}
    assert "merged" in rows["x"] and "broke the tests" in rows["z"]
    assert "merging z makes 'test ! -f z/bad' exit 1" in res.err
    assert git(xyz, "rev-parse", "gate^2").strip() == git(xyz, "rev-parse", "gitpar/x").strip()
    assert subprocess.run(["git", "cat-file", "-e", "gate:z/bad"], cwd=xyz).returncode != 0
    assert worktree_count(xyz) == count  # the temporary worktrees are gone
    assert "integrated" not in state_progress(xyz, "z")


def test_into_a_checked_out_branch_updates_its_files(xyz: Path, run) -> None:
    res = run(xyz, "integrate", "--streams", "x", "--into", "main")
    assert res.code == 0, res
    assert git(xyz, "rev-parse", "HEAD^2").strip() == git(xyz, "rev-parse", "gitpar/x").strip()
    assert "XX" in (xyz / "src/config.py").read_text()
    assert (xyz / "x/f.txt").is_file()
    assert git(xyz, "status", "--porcelain") == ""


def test_refusals_change_nothing(xyz: Path, run) -> None:
    # a target checked out with local changes
    (xyz / "docs/x.md").write_text("local change\n")
    res = run(xyz, "integrate", "--streams", "x", "--into", "main")
    assert res.code == 1 and "local changes" in res.err and "docs/x.md" in res.err
    assert (xyz / "docs/x.md").read_text() == "local change\n"
    git(xyz, "checkout", "--", "docs/x.md")
    # a stream that is not completed
    assert run(xyz, "progress", "-s", "y", "--status", "in_progress").code == 0
    refs = git(xyz, "for-each-ref", "refs/heads/main", "refs/heads/gitpar/[a-z]*")
    res = run(xyz, "integrate", "--streams", "x,y")
    assert res.code == 1 and "not completed: y (in_progress)" in res.err
    # a test command that does not exist
    res = run(xyz, "integrate", "--streams", "x", "--test", "no-such-tool --all")
    assert res.code == 2 and "'no-such-tool' is not a command" in res.err
    # a dependency left out
    res = run(xyz, "integrate", "--streams", "z")
    assert res.code == 1 and "z depends on x" in res.err
    # an unknown stream, a bad target
    assert run(xyz, "integrate", "--streams", "nosuch").code == 2
    assert run(xyz, "integrate", "--into", "gitpar/x").code == 2
    assert run(xyz, "integrate", "--into", "bad..name").code == 2
    assert git(xyz, "for-each-ref", "refs/heads/main", "refs/heads/gitpar/[a-z]*") == refs
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", T], cwd=xyz).returncode != 0
    # a stream whose branch is gone
    git(xyz, "worktree", "remove", "--force", str(worktree_of(xyz, "z")))
    git(xyz, "branch", "-D", "gitpar/z")
    res = run(xyz, "integrate", "--streams", "x,z")
    assert res.code == 1 and "gitpar/z does not exist" in res.err
    assert "Traceback" not in res.text


def test_dry_run_moves_nothing(xyz: Path, run) -> None:
    refs = git(xyz, "for-each-ref")
    res = run(xyz, "integrate", "--dry-run")
    assert res.code == 1, res
    assert "would merge" in res.out and "conflicted" in res.out
    assert git(xyz, "for-each-ref") == refs


def test_order_follows_dependencies_then_priority_then_name() -> None:
    from gitpar.core.integrate import dependency_order
    from gitpar.core.plan import Plan, Settings, Stream

    streams = {s.name: s for s in [Stream("b"), Stream("a"), Stream("c", priority=5),
                                   Stream("d", depends_on=("c",)), Stream("e", depends_on=("a",), priority=9)]}
    plan = Plan(Settings(), streams)
    assert dependency_order(plan, list(streams)) == ["c", "a", "e", "b", "d"]


def test_cleanup_removes_integrated_worktrees_safely(xyz: Path, run) -> None:
    wz = worktree_of(xyz, "z")
    (wz / "notes.txt").write_text("uncommitted\n")  # z's worktree must be kept
    res = run(xyz, "integrate", "--streams", "x,z", "--cleanup")
    assert res.code == 0, res
    assert not (xyz.parent / "repo.gitpar/x").exists()
    assert wz.is_dir() and (wz / "notes.txt").is_file()
    assert "kept" in res.out and "removed" in res.out


def test_ctrl_c_keeps_the_last_good_merge_and_continue_works(repo: Path, run, tmp_path: Path) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    for name in ("a", "b"):
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**").code == 0
    commit_plan(repo)
    work(repo, run, "a", {"a/f.txt": "a\n"})
    work(repo, run, "b", {"b/f.txt": "b\n"})
    hang, started = tmp_path / "hang", tmp_path / "started"
    hang.write_text("")
    test = f'if [ -f b/f.txt ] && [ -f {hang} ]; then touch {started}; sleep 120; fi'
    proc = subprocess.Popen([sys.executable, "-m", "gitpar", "integrate", "--test", test], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 120
    while not started.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the test command never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "--continue" in err
    assert git(repo, "rev-parse", f"{T}^2").strip() == git(repo, "rev-parse", "gitpar/a").strip()
    assert worktree_count(repo) == 3  # main, a, b: no temporary worktree left
    hang.unlink()
    res = run(repo, "integrate", "--continue")
    assert res.code == 0, res
    assert git(repo, "rev-parse", f"{T}^2").strip() == git(repo, "rev-parse", "gitpar/b").strip()


def test_json_output(xyz: Path, run) -> None:
    res = run(xyz, "integrate", "--json")
    assert res.code == 1
    data = json.loads(res.out)
    assert data["target"] == T and data["created"] is True and data["ok"] is False
    assert [(s["stream"], s["outcome"]) for s in data["steps"]] == [
        ("x", "merged"), ("y", "conflicted"), ("z", "merged")]
    assert [e["stream"] for e in data["ejected"]] == ["y"] and data["steps"][1]["ejected"] is True
    assert data["steps"][1]["conflicts"][0]["path"] == "src/config.py"
    assert any("stream x" in w for w in data["steps"][1]["other_side"]["src/config.py"])
    assert os.path.exists(xyz / ".git/gitpar/integrate.json")


def test_nothing_to_integrate_creates_nothing(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "a", "--owns", "a/**").code == 0
    commit_plan(repo)
    work(repo, run, "a", {"a/f.txt": "a\n"}, finish=False)
    res = run(repo, "integrate")
    assert res.code == 0, res
    assert "nothing to integrate" in res.err
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", T], cwd=repo).returncode != 0
