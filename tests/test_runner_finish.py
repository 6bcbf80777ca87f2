"""gitpar run --finish: the finish's checks gate the dependents, its state commit does not.

Real repositories, real worktrees, real commands; the state branch read with git.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import commit_plan, git, worktree_of, write

from gitpar.core.repo import open_repo
from gitpar.core.streams import FinishChecked, finish_checks, record_finishes
from gitpar.errors import GitparError


def plan(repo: Path, streams: dict[str, list[str]]) -> None:
    for name, deps in streams.items():
        write(repo / f".gitpar/streams/{name}.md",
              f'---\nowns: ["{name}/**"]\ndepends_on: {json.dumps(deps)}\nestimate: 1h\n---\nDo {name}.\n')
    commit_plan(repo)


def state_commits(repo: Path) -> list[str]:
    return git(repo, "log", "--format=%s", "gitpar/_state").splitlines()


def status_of(repo: Path, name: str) -> str:
    text = git(repo, "show", f"gitpar/_state:progress/{name}.md")
    return next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("status:"))


def test_dependents_wait_for_the_checks_and_each_finish_is_recorded(repo: Path, run, tmp_path: Path) -> None:
    """A command that leaves its work uncommitted is refused by the finish's check: its
    dependents never start; the others are completed on the state branch, locks released."""
    assert run(repo, "init", "--no-hooks").code == 0
    plan(repo, {"a": [], "b": ["a"], "c": [], "d": ["c"]})
    log = tmp_path / "started"
    res = run(repo, "run", "-j", "2", "--all", "--finish", "--", "sh", "-c",
              f"echo {{stream}} >> {log}; [ {{stream}} != c ] || {{ mkdir c && echo draft > c/wip.txt; }}; "
              f"[ {{stream}} = c ] || {{ mkdir -p {{stream}} && echo done > {{stream}}/x && git add -A "
              f"&& git commit -qm '{{stream}}: work'; }}")
    assert res.code == 1, res
    assert sorted(log.read_text().split()) == ["a", "b", "c"]
    assert "c: failed" in res.err and "uncommitted changes" in res.err and "wip.txt" in res.err
    assert "d: skipped: dependency c failed" in res.err
    assert status_of(repo, "a") == status_of(repo, "b") == "completed"
    assert status_of(repo, "c") == "in_progress"
    assert "a/x" in git(repo, "ls-tree", "-r", "--name-only", "gitpar/a")


def test_a_finish_that_cannot_be_recorded_after_its_dependents_were_released(repo: Path, run) -> None:
    """a's checks pass, so b and c are released and b starts (one job slot); then a's state
    commit fails: its command left a process that holds the state branch's queue and puts a
    commit that is no state commit on the branch. a is failed, c (not started) is skipped,
    b (running) runs on, and its result says it started before a's finish failed."""
    assert run(repo, "init", "--no-hooks").code == 0
    plan(repo, {"a": [], "b": ["a"], "c": ["a"]})
    for name, force in (("a", []), ("b", ["--force"]), ("c", ["--force"])):
        assert run(repo, "start", name, *force).code == 0
    lock = repo / ".git/gitpar/state.lock"
    spoil = (f"flock {lock} sh -c 'sleep 0.5; git -C {repo} update-ref refs/heads/gitpar/_state main'"
             " >/dev/null 2>&1 </dev/null &")
    res = run(repo, "run", "-j", "1", "--all", "--finish", "--", "sh", "-c",
              f"if [ {{stream}} = a ]; then {spoil} sleep 0.2; else sleep 2; fi")
    assert res.code == 1, res
    lines = res.err.splitlines()
    assert "gitpar: b: started" in lines and "gitpar: c: started" not in lines
    assert lines.index("gitpar: b: started") < next(i for i, line in enumerate(lines)
                                                     if line.startswith("gitpar: a: failed"))
    a_failed = next(line for line in lines if line.startswith("gitpar: a: failed"))
    assert "succeeded, but could not be marked completed" in a_failed and "not a gitpar state branch" in a_failed
    assert "gitpar: c: skipped: dependency a failed: its finish could not be recorded" in lines
    b_row = next(i for i, line in enumerate(lines) if line.startswith("b "))
    assert "(started before a's finish failed to be recorded)" in "\n".join(lines[b_row:b_row + 2])
    # nothing was lost: b ran its one attempt to its end, and the branch it made is there
    assert "b: failed in 2" in res.err and git(repo, "rev-parse", "gitpar/b").strip()


def test_record_finishes_one_commit_for_many_and_a_refusal_of_one(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    plan(repo, {"a": [], "b": [], "c": []})
    for name in "abc":
        assert run(repo, "start", name).code == 0
        wt = worktree_of(repo, name)
        write(wt / f"{name}/x", "x\n")
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", f"{name}: work")
    assert run(worktree_of(repo, "a"), "lock", "a/x").code == 0
    r = open_repo(repo)
    checked = [finish_checks(r, name) for name in "abc"]
    # c leaves the base plan after its checks passed: its record is refused, a's and b's are made
    (repo / ".gitpar/streams/c.md").unlink()
    commit_plan(repo)
    before = len(state_commits(repo))
    out = record_finishes(open_repo(repo), checked)
    assert isinstance(out["c"], GitparError) and "c" in str(out["c"])
    assert not isinstance(out["a"], GitparError) and out["a"].status == "completed"
    assert not isinstance(out["b"], GitparError) and out["b"].status == "completed"
    commits = state_commits(repo)
    assert len(commits) == before + 1
    assert commits[0] == "progress a, b: completed (2 finishes), their locks released"
    assert status_of(repo, "a") == status_of(repo, "b") == "completed" and status_of(repo, "c") == "in_progress"
    assert "locks/a/x.lock" not in git(repo, "ls-tree", "-r", "--name-only", "gitpar/_state", "locks/")  # its .fence stays
    landed = git(repo, "show", "gitpar/_state:landed/a.txt")
    assert landed.split()[0] == git(repo, "rev-parse", "gitpar/a").strip()


def test_finish_checks_refuse_what_finish_refuses(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    plan(repo, {"a": []})
    assert run(repo, "start", "a").code == 0
    wt = worktree_of(repo, "a")
    write(wt / "README.md", "not a's\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "a: outside its files")
    r = open_repo(repo)
    try:
        finish_checks(r, "a")
    except GitparError as exc:
        assert "README.md" in str(exc) and "--force" in str(exc)
    else:
        raise AssertionError("a branch breaking the ownership rules passed the finish's checks")
    forced = finish_checks(r, "a", force=True)
    assert isinstance(forced, FinishChecked) and "forced (--force)" in forced.what
    assert status_of(repo, "a") == "in_progress"  # the checks write nothing


def test_a_dependent_finishes_while_its_dependency_s_record_is_held_up(repo: Path, run) -> None:
    """b starts once a's checks pass and merges a's branch (a's work is committed there); b's
    own finish passes while a's record is still waiting (a's command left a process holding
    the state's queue for 0.8 s): a's commits in b's branch are a's work, as the branch says,
    not b's, whether or not a is recorded completed yet. Both end completed."""
    assert run(repo, "init", "--no-hooks").code == 0
    plan(repo, {"a": [], "b": ["a"]})
    lock = repo / ".git/gitpar/state.lock"
    hold = f"flock {lock} sleep 0.8 >/dev/null 2>&1 </dev/null &"
    res = run(repo, "run", "-j", "2", "--all", "--finish", "--", "sh", "-c",
              f"if [ {{stream}} = a ]; then mkdir a && echo a > a/x && git add -A && git commit -qm 'a: work' "
              f"; {hold} else git merge -q --no-edit gitpar/a && mkdir b && echo b > b/y && git add -A "
              f"&& git commit -qm 'b: work'; fi")
    assert res.code == 0, res.err
    assert status_of(repo, "a") == status_of(repo, "b") == "completed"
    assert "a/x" in git(repo, "ls-tree", "-r", "--name-only", "gitpar/b")
