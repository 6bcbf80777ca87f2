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


def test_a_ref_lock_left_by_a_killed_process_is_broken_and_a_live_one_respected(planned: Path, run) -> None:
    # a process killed inside the ref's compare-and-swap leaves refs/heads/gitpar/_state.lock
    # (git asks for it to be removed by hand); gitpar removes one that is clearly stale
    import os
    import time

    from gitpar.store.repo import STATE_REF, open_repo, swap_ref

    lock = planned / ".git" / f"{STATE_REF}.lock"
    lock.write_text("0" * 40 + "\n")
    old = time.time() - 60
    os.utime(lock, (old, old))
    res = run(planned, "lock", "src/config.py", "--stream", "api")
    assert res.code == 0, res
    assert not lock.exists() and "left 60s ago by a process that stopped" in res.err
    # a lock held right now (younger than the threshold) is left alone: the swap waits its turn
    repo = open_repo(planned)
    tip = repo.tip(STATE_REF)
    lock.write_text("0" * 40 + "\n")
    assert tip is not None and not swap_ref(repo, STATE_REF, tip, tip, "test")
    assert lock.exists() and repo.tip(STATE_REF) == tip
    lock.unlink()
