"""The state branch is recognisable: gitpar never reads or writes a ref that is not one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import git, worktree_of


def test_a_replaced_state_branch_stops_every_command(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    git(planned, "update-ref", "refs/heads/gitpar/_state", "main")
    main = git(planned, "rev-parse", "main").strip()
    for cwd, args in ((planned, ("status",)), (wt, ("progress", "--completion", "20")),
                      (wt, ("lock", "src/config.py")), (planned, ("locks",))):
        res = run(cwd, *args)
        assert res.code == 2, (args, res.text)
        assert "not a gitpar state branch" in res.err and "git reflog" in res.err
        assert "Traceback" not in res.text
    assert git(planned, "rev-parse", "gitpar/_state").strip() == main, "something was committed on main's tree"
    # the way out the message gives: the reflog's previous value
    git(planned, "update-ref", "refs/heads/gitpar/_state", "gitpar/_state@{1}")
    assert run(wt, "progress", "--completion", "20").code == 0


def test_every_state_commit_carries_the_marker(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert ".gitpar-state" in git(planned, "ls-tree", "--name-only", "gitpar/_state").split()


def test_a_state_branch_from_before_the_marker_is_still_read_and_gets_it(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    # the tree an older gitpar wrote: README.md (and progress/), no marker
    blob = git(planned, "rev-parse", "gitpar/_state:README.md").strip()
    tree = subprocess.run(["git", "mktree"], cwd=planned, input=f"100644 blob {blob}\tREADME.md\n",
                          capture_output=True, text=True, check=True).stdout.strip()
    old = subprocess.run(["git", "commit-tree", tree, "-m", "init: create the state branch"], cwd=planned,
                         capture_output=True, text=True, check=True).stdout.strip()
    git(planned, "update-ref", "refs/heads/gitpar/_state", old)
    assert run(planned, "status").code == 0
    assert run(planned, "start", "api").code == 0
    assert ".gitpar-state" in git(planned, "ls-tree", "--name-only", "gitpar/_state").split()
