"""Identity beyond stream branches (issue 29), through real git and the CI check's own form.

A branch that is no stream's, or a ``gitpar/<name>`` branch of a stream with no claim on the
state branch, is judged by the plan's ``other_branches:`` (strict by default); a completed
stream's branch keeps its identity until it is integrated; the check warns on a head that
changes the workflows or the plan; a sync killed between the branch move and the worktree
update is finished by the next sync or ``doctor --fix``, and reported by ``doctor``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import git, gitpar, worktree_of, write


@pytest.fixture
def origin(repo: Path, run, tmp_path: Path) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A repository with a bare origin: streams a, b (started) and c (pending), each owning its
    folder and sharing src/shared.py; the plan and the state branch pushed."""
    for path, text in {"src/shared.py": "0\n", "src/a/x.py": "a\n", "src/b/y.py": "b\n",
                       "src/c/z.py": "c\n", "README": "readme\n"}.items():
        write(repo / path, text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "files")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    assert run(repo, "init").code == 0
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("unowned: lock", "unowned: deny"))
    for s in "abc":
        assert run(repo, "stream", "add", s, "--owns", f"src/{s}/**", "--shares", "src/shared.py").code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan")
    git(repo, "push", "-q", "origin", "main")
    assert run(repo, "start", "a").code == 0 and run(repo, "start", "b").code == 0
    push_state(repo)
    return repo, bare


def push_state(repo: Path) -> None:
    git(repo, "push", "-q", "-f", "--no-verify", "origin", "gitpar/_state")


def branch_with(repo: Path, branch: str, path: str, text: str = "x\n") -> None:
    """A branch from main that changes ``path``, pushed around the hooks."""
    git(repo, "checkout", "-q", "-B", branch, "main")
    write(repo / path, text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", f"{branch}: {path}")
    git(repo, "push", "-q", "-f", "--no-verify", "origin", f"HEAD:refs/heads/{branch}")
    git(repo, "checkout", "-q", "main")


def ci(bare: Path, tmp_path: Path, branch: str):  # type: ignore[no-untyped-def]
    """The reusable workflow's form of the check, in a fresh clone of the bare origin."""
    clone = tmp_path / f"ci-{branch.replace('/', '-')}-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    git(clone, "checkout", "-q", "--detach", f"origin/{branch}")
    git(clone, "fetch", "-q", "--no-tags", "origin",
        "+refs/heads/gitpar/_state:refs/remotes/origin/gitpar/_state")
    return gitpar(clone, "check", "--base", "origin/main", "--head", "HEAD", "--format", "github",
                  env={"GITHUB_HEAD_REF": branch})


@pytest.mark.parametrize(("branch", "path", "rule"), [
    ("feature", "src/shared.py", "shared-by-others"),
    ("feature", "src/c/z.py", "owned"),
    ("feature", "src/a/x.py", "owned"),
    ("feature", "README", "unowned"),
    ("gitpar/_x", "src/shared.py", "shared-by-others"),
    ("gitpar/c", "src/c/z.py", "owned"),
])
def test_a_branch_that_is_no_streams_is_judged_strictly(origin: tuple[Path, Path], tmp_path: Path,
                                                        branch: str, path: str, rule: str) -> None:
    repo, bare = origin
    branch_with(repo, branch, path)
    res = ci(bare, tmp_path, branch)
    assert res.code == 1, res
    assert f"::error file={path},title=gitpar%3A {rule}::" in res.out
    assert "no stream" in res.out
    if branch == "gitpar/c":
        assert "stream c has no claim on the state branch (it was never started)" in res.out
    if branch == "gitpar/_x":
        assert "gitpar's own namespace" in res.out


def test_a_plan_pull_request_passes_with_a_review_warning(origin: tuple[Path, Path], tmp_path: Path) -> None:
    repo, bare = origin
    branch_with(repo, "plan-pr", ".gitpar/streams/c.md", "---\nowns: ['src/c/**']\n---\nNew brief.\n")
    res = ci(bare, tmp_path, "plan-pr")
    assert res.code == 0, res
    assert "::warning title=gitpar::this change edits the plan (.gitpar/streams/c.md)" in res.out
    branch_with(repo, "ci-pr", ".github/workflows/gitpar.yml", "name: off\n")
    res = ci(bare, tmp_path, "ci-pr")
    assert "::warning title=gitpar::this change edits the CI workflows (.github/workflows/gitpar.yml)" in res.out
    assert "switch this check off" in res.out


def test_a_started_stream_keeps_its_identity_until_integrated(origin: tuple[Path, Path], run,
                                                              tmp_path: Path) -> None:
    repo, bare = origin
    a = worktree_of(repo, "a")
    write(a / "src/a/x.py", "a1\n")
    git(a, "commit", "-qam", "a1")
    git(a, "push", "-q", "--no-verify", "origin", "gitpar/a")
    assert ci(bare, tmp_path, "gitpar/a").code == 0  # in progress: its own
    assert run(a, "finish").code == 0
    push_state(repo)
    res = ci(bare, tmp_path, "gitpar/a")
    assert res.code == 0, res  # completed, not yet integrated (finish comes before the PR): still its own
    git(repo, "merge", "-q", "--no-ff", "--no-verify", "gitpar/a", "-m", "land a")
    # the state branch records a as integrated: its branch claims nothing any more
    from gitpar.core.integrate.stream import mark
    from gitpar.core.repo import open_repo

    mark(open_repo(repo), "a", "main", open_repo(repo).tip("refs/heads/main"))
    push_state(repo)
    git(repo, "push", "-q", "--no-verify", "origin", "main")
    write(a / "src/a/x.py", "after integration\n")
    git(a, "commit", "-q", "--no-verify", "-am", "late")
    git(a, "push", "-q", "-f", "--no-verify", "origin", "gitpar/a")
    res = ci(bare, tmp_path, "gitpar/a")
    assert res.code == 1 and "it was completed and integrated" in res.out, res


def test_the_looser_mode_is_the_plans_explicit_choice(origin: tuple[Path, Path], tmp_path: Path) -> None:
    repo, bare = origin
    plan = repo / ".gitpar/plan.md"
    assert "other_branches: strict" in plan.read_text()  # written by init, documented there
    plan.write_text(plan.read_text().replace("other_branches: strict", "other_branches: active"))
    git(repo, "commit", "-q", "--no-verify", "-am", "looser")
    git(repo, "push", "-q", "--no-verify", "origin", "main")
    branch_with(repo, "feature", "src/c/z.py")  # a pending stream's file: fine under 'active'
    assert ci(bare, tmp_path, "feature").code == 0
    branch_with(repo, "feature2", "src/a/x.py")  # an active stream's file: refused
    res = ci(bare, tmp_path, "feature2")
    assert res.code == 1 and "title=gitpar%3A protected" in res.out


def test_the_main_worktree_on_the_base_keeps_its_rule(origin: tuple[Path, Path]) -> None:
    """The orchestrator's commits on the base are judged by main_worktree:, not other_branches:."""
    repo, _ = origin
    write(repo / "src/c/z.py", "orchestrator\n")  # pending c's file: allowed on the base
    git(repo, "add", "-A")
    res = subprocess.run(["git", "commit", "-qm", "on main"], cwd=repo, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    git(repo, "checkout", "-q", "-b", "topic")
    write(repo / "src/c/z.py", "from topic\n")
    git(repo, "add", "-A")
    res = subprocess.run(["git", "commit", "-qm", "on topic"], cwd=repo, capture_output=True, text=True)
    assert res.returncode != 0 and "src/c/z.py is owned by stream c" in res.stderr


# -- a move that finishes itself ---------------------------------------------------------------

KILLER = '#!/bin/sh\nfor a in "$@"; do [ "$a" = read-tree ] && [ -n "$KILL_AT_READTREE" ] && ' \
         '{ kill -9 $PPID; exit 1; }; done\nexec %s "$@"\n'


def killed_sync(repo: Path, run, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Start c, move main on, and run 'gitpar sync c' with a git that kills gitpar at read-tree."""
    import shutil
    import sys

    assert run(repo, "start", "c").code == 0
    cw = worktree_of(repo, "c")
    write(repo / "README", "moved on\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "base")
    write(cw / "src/c/z.py", "c1\n")
    git(cw, "commit", "-qam", "c1")
    fake = tmp_path / "fakegit"
    fake.mkdir()
    (fake / "git").write_text(KILLER % shutil.which("git"))
    (fake / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "KILL_AT_READTREE": "1"}
    proc = subprocess.run([sys.executable, "-m", "gitpar", "sync", "c"], cwd=repo, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == -9, proc  # killed between the ref's move and the worktree update
    assert git(cw, "status", "--porcelain", "--untracked-files=no").strip() == "M  README"
    return cw


def test_the_next_sync_finishes_a_killed_move(origin: tuple[Path, Path], run, tmp_path: Path) -> None:
    repo, _ = origin
    cw = killed_sync(repo, run, tmp_path)
    doctor = gitpar(repo, "doctor", "--offline")
    assert doctor.code != 0 and "was not updated" in doctor.text, doctor
    res = gitpar(repo, "sync", "c")
    assert res.code == 0, res
    assert git(cw, "status", "--porcelain", "--untracked-files=no").strip() == ""
    assert (cw / "README").read_text() == "moved on\n" and (cw / "src/c/z.py").read_text() == "c1\n"
    import json

    findings = json.loads(gitpar(repo, "doctor", "--offline", "--json").out)["findings"]
    assert [f for f in findings if f["check"] == "half-moved"] == []


def test_finish_after_a_killed_move_finishes_the_move_first(origin: tuple[Path, Path], run,
                                                           tmp_path: Path) -> None:
    # the next command touching the stream completes the worktree update: finish is not
    # refused for the staged revert the killed sync left, and nothing reverts main's change
    repo, _ = origin
    cw = killed_sync(repo, run, tmp_path)
    res = gitpar(cw, "finish")
    assert res.code == 0, res
    assert git(cw, "status", "--porcelain", "--untracked-files=no").strip() == ""
    assert (cw / "README").read_text() == "moved on\n" and (cw / "src/c/z.py").read_text() == "c1\n"


def test_doctor_fix_finishes_a_killed_move(origin: tuple[Path, Path], run, tmp_path: Path) -> None:
    repo, _ = origin
    cw = killed_sync(repo, run, tmp_path)
    res = gitpar(repo, "doctor", "--fix", "--offline")
    assert "half-moved" in res.text or "stopped half-way" in res.text, res
    assert git(cw, "status", "--porcelain", "--untracked-files=no").strip() == ""


def test_doctor_reports_an_unrecorded_half_moved_worktree(origin: tuple[Path, Path], run,
                                                         tmp_path: Path) -> None:
    """Without the record (a gitpar before it, or the record lost), the index at a parent of
    HEAD's merge is still reported, with the command that mends it."""
    repo, _ = origin
    killed_sync(repo, run, tmp_path)
    common = Path(git(repo, "rev-parse", "--git-common-dir").strip())
    common = common if common.is_absolute() else repo / common
    records = list((common / "gitpar/pending-moves").glob("*.json"))
    assert records
    for f in records:
        f.unlink()
    res = gitpar(repo, "doctor", "--offline")
    assert res.code != 0 and "a parent of its last merge" in res.text and "read-tree -m -u" in res.text, res


def test_a_changed_index_is_left_alone_with_the_reason(origin: tuple[Path, Path], run, tmp_path: Path) -> None:
    repo, _ = origin
    cw = killed_sync(repo, run, tmp_path)
    write(cw / "src/c/z.py", "worked on since\n")
    git(cw, "add", "-A")
    res = gitpar(repo, "sync", "c")
    assert res.code != 0 and "its index has changed since" in res.text and "revert the base's changes" in res.text
    assert (cw / "src/c/z.py").read_text() == "worked on since\n"  # nothing lost
