"""The lock proof holds against the people it exists to stop (issue 26): a backdated author
date, committer dates out of order, forged state commits, GITPAR_NOW on a write, another
stream's name, a repointed base. Every route through real git: hooks fired by a real
``git commit``/``git push`` to a bare remote, state commits forged with plumbing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import git, worktree_of

LOCK_TEXT = ("---\npath: src/config.py\nstream: {stream}\nagent: \"\"\nacquired: {acquired}\n"
             "expires: {expires}\nreason: forged\n---\n")


def push(wt: Path, ref: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "-q", *extra, "origin", f"HEAD:refs/heads/{ref}"], cwd=wt,
                          capture_output=True, text=True)


@pytest.fixture
def remote(started: Path, tmp_path: Path) -> Path:
    """``started`` with a bare remote (origin) holding main: pre-push hooks have somewhere to push."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(started, "remote", "add", "origin", str(bare))
    git(started, "push", "-q", "--no-verify", "origin", "main")
    return started


def commit(wt: Path, line: str, *, env: dict[str, str] | None = None, verify: bool = False) -> None:
    with (wt / "src/config.py").open("a") as f:
        f.write(line + "\n")
    args = ["git", "commit", "-q", "-am", line] + ([] if verify else ["--no-verify"])
    subprocess.run(args, cwd=wt, check=True, capture_output=True, env={**os.environ, **(env or {})})


def forge(repo: Path, text: str | None, date: int, message: str) -> str:
    """A state commit on top of gitpar/_state putting ``text`` at locks/src/config.py.lock
    (None: removing it), dated ``date``, made with plumbing as a hand could; moves the branch."""
    index = repo / ".git" / "forge-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    run = lambda *a, inp=None: subprocess.run(["git", *a], cwd=repo, env=env, input=inp,  # noqa: E731
                                              check=True, capture_output=True, text=True).stdout.strip()
    run("read-tree", "gitpar/_state")
    if text is None:
        run("update-index", "--force-remove", "locks/src/config.py.lock")
    else:
        oid = run("hash-object", "-w", "--stdin", inp=text)
        run("update-index", "--add", "--cacheinfo", f"100644,{oid},locks/src/config.py.lock")
    tree = run("write-tree")
    index.unlink()
    stamp = {"GIT_AUTHOR_DATE": f"@{date} +0000", "GIT_COMMITTER_DATE": f"@{date} +0000"}
    env.update(stamp)
    sha = run("commit-tree", tree, "-p", "gitpar/_state", "-m", message)
    git(repo, "update-ref", "refs/heads/gitpar/_state", sha)
    return sha


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_a_backdated_author_date_proves_no_hold(remote: Path, run) -> None:
    """api held the lock, released it, ui took it; api's commit with its author date inside
    api's earlier hold is refused by pre-push and by check --range (committer dates only)."""
    api, ui = worktree_of(remote, "api"), worktree_of(remote, "ui")
    assert run(api, "lock", "src/config.py").code == 0
    inside = int(time.time())
    time.sleep(2)
    assert run(api, "unlock", "src/config.py").code == 0
    assert run(ui, "lock", "src/config.py").code == 0
    time.sleep(1)  # the commit's second is after ui's lock commit
    commit(api, "x = 1", env={"GIT_AUTHOR_DATE": f"@{inside} +0000"})
    pushed = push(api, "gitpar/api")
    assert pushed.returncode != 0 and "locked by stream ui" in pushed.stderr, pushed.stderr
    res = run(remote, "check", "--range", "main..gitpar/api")
    assert res.code == 1 and "locked by stream ui" in res.out + res.err


def test_a_change_made_under_the_lock_still_passes(remote: Path, run) -> None:
    api = worktree_of(remote, "api")
    assert run(api, "lock", "src/config.py").code == 0
    commit(api, "y = 2", verify=True)
    assert run(api, "unlock", "src/config.py").code == 0
    pushed = push(api, "gitpar/api")
    assert pushed.returncode == 0, pushed.stderr
    assert run(remote, "check", "--range", "main..gitpar/api").code == 0


@pytest.mark.parametrize("shift, words", [(-3600, "goes backwards"), (86400 * 365, "in the future")])
def test_committer_dates_out_of_order_prove_no_hold(remote: Path, run, shift: int, words: str) -> None:
    """A committer date an hour before its parent's, or a year ahead of the real clock, cannot
    date a change into a hold — here the stream's own live lock covers the real time."""
    api = worktree_of(remote, "api")
    assert run(api, "lock", "src/config.py", "--ttl", "30d").code == 0
    parent = int(git(api, "log", "-1", "--format=%ct"))
    when = parent + shift if shift < 0 else int(time.time()) + shift
    commit(api, "z = 3", env={"GIT_COMMITTER_DATE": f"@{when} +0000"})
    res = run(api, "check", "--range", "main..HEAD")
    assert res.code == 1 and words in res.out + res.err, res
    assert "needs" in res.out + res.err or "must hold its lock" in res.out + res.err


def test_forged_state_commits_dated_2000_and_2099_prove_nothing(remote: Path, run) -> None:
    """Two plumbing commits give api a hold from 2000 to 2099 and leave the state as it was:
    the check refuses api's change, naming the state commit; doctor and status report it."""
    api = worktree_of(remote, "api")
    text = LOCK_TEXT.format(stream="api", acquired="2000-01-01T00:00:00Z", expires="2100-01-01T00:00:00Z")
    first = forge(remote, text, 946684801, "lock src/config.py for api")
    second = forge(remote, None, 4070908800, "unlock src/config.py for api")
    commit(api, "w = 4")
    res = run(remote, "check", "--range", "main..gitpar/api")
    out = res.out + res.err
    assert res.code == 1 and first[:10] in out and "backwards" in out, out
    doctor = run(remote, "doctor", "--json")
    found = [f["problem"] for f in json.loads(doctor.out)["findings"] if f["check"] == "state-history"]
    assert any(first[:10] in p and "backwards" in p for p in found), found
    assert any(second[:10] in p and "future" in p for p in found), found
    text_doctor = run(remote, "doctor")
    assert "date" in text_doctor.out + text_doctor.err
    attention = json.loads(run(remote, "status", "--json", "--offline").out)["attention"]
    assert any(a["kind"] == "suspect-state" and first[:10] in a["message"] for a in attention), attention


def test_a_lock_whose_acquired_disagrees_with_its_commit_is_suspect(remote: Path, run) -> None:
    """A state commit made now writing a lock that claims it was acquired a day ago (to be
    read back as a hold since then): the hold starts at the commit, and the commit is suspect."""
    api = worktree_of(remote, "api")
    now = int(time.time())
    text = LOCK_TEXT.format(stream="api", acquired=iso(now - 86400), expires=iso(now + 3600))
    sha = forge(remote, text, now, "lock src/config.py for api")
    doctor = json.loads(run(remote, "doctor", "--json").out)
    found = [f["problem"] for f in doctor["findings"] if f["check"] == "state-history"]
    assert any(sha[:10] in p and "acquired" in p for p in found), found
    commit(api, "v = 5")
    res = run(api, "check", "--range", "main..HEAD")
    assert res.code == 1 and sha[:10] in res.out + res.err


def test_gitpar_now_never_moves_a_write(remote: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """GITPAR_NOW=2099 does not make ui's live lock stale for api, nor stamp a lock in 2099;
    a date in the past with a long --ttl does not write a retroactive hold either."""
    api, ui = worktree_of(remote, "api"), worktree_of(remote, "ui")
    assert run(ui, "lock", "src/config.py").code == 0
    monkeypatch.setenv("GITPAR_NOW", "2099-01-01T00:00:00Z")
    res = run(api, "lock", "src/config.py", "--reason", "steal")
    assert res.code == 1 and "locked by stream ui" in res.err, res
    assert json.loads(run(remote, "locks", "--json").out)["locks"][0]["stream"] == "ui"
    monkeypatch.setenv("GITPAR_NOW", "2000-01-01T00:00:00Z")
    assert run(ui, "unlock", "src/config.py").code == 0
    assert run(api, "lock", "src/config.py", "--ttl", "30d").code == 0
    text = git(remote, "show", "gitpar/_state:locks/src/config.py.lock")
    assert "2000-" not in text and "2099-" not in text, text
    monkeypatch.setenv("GITPAR_NOW", "2099-01-01T00:00:00Z")
    assert run(api, "progress", "--completion", "20").code == 0  # progress is stamped by the real clock too
    assert "2099-" not in git(remote, "show", "gitpar/_state:progress/api.md")


def test_another_streams_name_is_refused_from_a_streams_worktree(remote: Path, run) -> None:
    api, ui = worktree_of(remote, "api"), worktree_of(remote, "ui")
    assert run(ui, "lock", "src/config.py").code == 0
    before = git(remote, "rev-parse", "gitpar/_state")
    for args in (["unlock", "--stream", "ui", "src/config.py"], ["lock", "--stream", "ui", "src/config.py"],
                 ["progress", "--stream", "ui", "--completion", "99"], ["finish", "ui"]):
        res = run(api, *args)
        assert res.code == 2 and "stream api's worktree" in res.err and "Traceback" not in res.err, (args, res)
    assert git(remote, "rev-parse", "gitpar/_state") == before  # nothing written
    assert run(api, "progress", "--stream", "api", "--completion", "10").code == 0  # its own name is fine


def test_the_orchestrators_override_is_recorded(remote: Path, run) -> None:
    ui = worktree_of(remote, "ui")
    assert run(ui, "lock", "src/config.py").code == 0
    assert run(remote, "unlock", "--stream", "ui", "src/config.py").code == 0
    body = git(remote, "log", "-1", "--format=%B", "gitpar/_state")
    assert "released ui's lock, by the orchestrator in" in body, body
    assert run(remote, "progress", "--stream", "ui", "--completion", "5").code == 0
    assert "by the orchestrator in" in git(remote, "log", "-1", "--format=%B", "gitpar/_state")
    assert run(ui, "unlock", "src/config.py").code == 0  # no lock left: nothing to release
    assert run(ui, "lock", "src/config.py").code == 0
    assert "orchestrator" not in git(remote, "log", "-1", "--format=%B", "gitpar/_state")


def test_init_records_the_base_and_the_worktree_plan_cannot_move_it(started: Path, run) -> None:
    assert git(started, "config", "gitpar.base").strip() == "main"
    api = worktree_of(started, "api")
    plan = started / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("base: main", "base: gitpar/api"))  # uncommitted
    (api / "src/ui/b.py").write_text("b = 9\n")
    git(api, "add", "-A")
    done = subprocess.run(["git", "commit", "-qm", "reach"], cwd=api, capture_output=True, text=True)
    assert done.returncode != 0 and "owned by stream ui" in done.stdout + done.stderr


@pytest.mark.parametrize("base", ["nosuch", "gitpar/api"])
def test_a_committed_base_naming_no_branch_fails_closed(started: Path, run, base: str) -> None:
    api = worktree_of(started, "api")
    plan = started / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("base: main", f"base: {base}"))
    git(started, "commit", "-qam", f"base: {base}", "--no-verify")
    res = run(started, "status")
    assert res.code == 2 and base in res.err and "base" in res.err and "Traceback" not in res.err, res
    (api / "src/ui/b.py").write_text("b = 9\n")
    git(api, "add", "-A")
    done = subprocess.run(["git", "commit", "-qm", "reach"], cwd=api, capture_output=True, text=True)
    assert done.returncode != 0 and base in done.stdout + done.stderr
    guard = subprocess.run(["gitpar", "guard", "src/ui/b.py"], cwd=api, capture_output=True, text=True)
    assert guard.returncode != 0
    git(api, "commit", "-qm", "reach", "--no-verify")
    res = run(api, "check", "--range", "main..HEAD")
    assert res.code == 2 and base in res.err, res
    bare = started.parent / "origin.git"
    git(started.parent, "init", "-q", "--bare", str(bare))
    git(started, "remote", "add", "origin", str(bare))
    pushed = push(api, "gitpar/api")
    assert pushed.returncode != 0 and base in pushed.stderr, pushed.stderr


def test_a_clone_without_the_record_reads_origins_default_branch(started: Path, run, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(started), str(clone))
    assert git(clone, "config", "--get", "gitpar.base", check=False).strip() == ""
    from gitpar.core.repo import open_repo

    assert open_repo(clone).configured_base() == "main"
    git(clone, "config", "gitpar.base", "gone")
    res = run(clone, "status", "--offline")
    assert res.code == 2 and "gitpar.base" in res.err and "gone" in res.err, res
