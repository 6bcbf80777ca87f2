"""The last mile across machines: clones of one origin (a bare repository over file://, and
a real ``git daemon``) as machines, the real pre-commit and pre-push hooks fired by real
``git commit`` and ``git push``, and the CI check run as the workflow runs it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import git, worktree_of, write
from servers import available, serve

TRANSPORTS = [pytest.param("file"), pytest.param("daemon", marks=pytest.mark.skipif(
    not available("daemon"), reason="git daemon not available here"))]


def _alice(tmp: Path, url: str, run, *, chain: bool = True) -> Path:  # type: ignore[no-untyped-def]
    """alice: a repository with api and ui sharing CHANGES.md, docs after api; published to
    ``url`` with gitpar's hooks installed and ``remote: origin``."""
    a = tmp / "alice"
    a.mkdir()
    git(a, "init", "-q", "-b", "main")
    write(a / "src/api/a.py", "a = 1\n")
    write(a / "src/ui/b.py", "b = 1\n")
    write(a / "docs/x.md", "doc\n")
    write(a / "CHANGES.md", "# changes\n\n")
    git(a, "add", "-A")
    git(a, "commit", "-qm", "init")
    git(a, "remote", "add", "origin", url)
    git(a, "push", "-q", "origin", "main")
    res = run(a, "init", "--remote", "origin")
    assert res.code == 0, res.text
    if chain:  # edits of CHANGES.md in turns build on each other
        plan = a / ".gitpar/plan.md"
        plan.write_text(plan.read_text().replace("lock_chain: false", "lock_chain: true"))
    for args in (["api", "--owns", "src/api/**", "--shares", "CHANGES.md"],
                 ["ui", "--owns", "src/ui/**", "--shares", "CHANGES.md"],
                 ["docs", "--owns", "docs/**", "--depends-on", "api"]):
        assert run(a, "stream", "add", *args).code == 0
    git(a, "add", "-A")
    git(a, "commit", "-qm", "plan")
    git(a, "push", "-q", "origin", "main")
    return a


def _clone(tmp: Path, url: str, name: str, run) -> Path:  # type: ignore[no-untyped-def]
    d = tmp / name
    git(tmp, "clone", "-q", url, str(d))
    res = run(d, "init")
    assert res.code == 0, res.text
    return d


def _push(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real ``git push`` (gitpar's pre-push hook runs)."""
    return subprocess.run(["git", "push", "-q", *args], cwd=cwd, capture_output=True, text=True)


def _commit(wt: Path, path: str, text: str, message: str) -> None:
    with (wt / path).open("a") as f:
        f.write(text)
    git(wt, "commit", "-qam", message)  # the pre-commit hook runs


def _locked_edit(run, wt: Path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    """Change the shared CHANGES.md under its lock, commit, unlock."""
    res = run(wt, "lock", "CHANGES.md", "--wait", "30")
    assert res.code == 0, res.text
    _commit(wt, "CHANGES.md", text, message)
    assert run(wt, "unlock", "CHANGES.md").code == 0


def _ls_remote(repo: Path, ref: str) -> str:
    out = git(repo, "ls-remote", "origin", ref).split()
    return out[0] if out else ""


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_clone_that_had_not_fetched_sees_the_other_clones_claim_and_branch(
        tmp_path: Path, run, transport: str) -> None:  # type: ignore[no-untyped-def]
    with serve(transport, tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        k = _clone(tmp_path, url, "carol", run)
        assert run(b, "start", "api").code == 0
        # carol's clone last fetched before bob started: start fetches, and refuses
        claimed = run(k, "start", "api")
        assert claimed.code == 1, claimed.text
        assert "in progress" in claimed.err and "--take-over" in claimed.err
        assert git(k, "branch", "--list", "gitpar/api").strip() == "", "carol got a branch of api"
        # alice sees bob's stream as started elsewhere, its branch not pushed yet: not missing
        status = run(a, "status")
        assert status.code == 0 and "does not exist" not in status.text, status.text
        shown = json.loads(run(a, "status", "--json").out)
        said = [x["message"] for x in shown["attention"] if x["stream"] == "api"]
        assert any("started on" in m and "not on origin yet" in m for m in said), said
        # bob pushes: alice's conflicts sees the branch with no manual fetch; --offline does not
        bw = worktree_of(b, "api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: work")
        assert _push(bw, "-u", "origin", "gitpar/api").returncode == 0
        offline = run(a, "conflicts", "--offline")
        assert "skipped api" in offline.err and "(--offline)" in offline.err, offline.text
        fresh = run(a, "conflicts")
        assert "skipped api" not in fresh.err and "fetched just now" in fresh.err, fresh.text
        assert git(a, "rev-parse", "refs/remotes/origin/gitpar/api").strip() == git(b, "rev-parse", "gitpar/api").strip()


def test_one_fetch_per_command(tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from gitpar.store import state

    with serve("file", tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        calls: list[list[str]] = []
        real = state.git

        def counting(args, cwd, **kw):  # type: ignore[no-untyped-def]
            calls.append(list(args))
            return real(args, cwd, **kw)

        monkeypatch.setattr(state, "git", counting)
        assert run(a, "status").code == 0
        fetches = [c for c in calls if c[0] == "fetch"]
        assert len(fetches) == 1, fetches
        refspecs = " ".join(fetches[0])
        assert "refs/heads/main:refs/remotes/origin/main" in refspecs
        assert "refs/heads/gitpar/*:refs/remotes/origin/gitpar/*" in refspecs
        calls.clear()
        assert run(a, "status", "--offline").code == 0
        assert not [c for c in calls if c[0] == "fetch"]


def test_offline_with_publish_is_bad_input(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        before = git(a, "rev-parse", "gitpar/_state")
        res = run(a, "status", "--offline", "--publish")
        assert res.code == 2 and "--offline" in res.err and "Traceback" not in res.text
        assert git(a, "rev-parse", "gitpar/_state") == before


def test_a_shared_file_changed_under_a_lock_stays_valid_in_later_pushes(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "api").code == 0
        bw = worktree_of(b, "api")
        _locked_edit(run, bw, "- api entry\n", "changes: api")
        first = _push(bw, "-u", "origin", "gitpar/api")
        assert first.returncode == 0, first.stderr
        time.sleep(2.1)  # the next commit is made well after the lock was released
        _commit(bw, "src/api/a.py", "a = 2\n", "api: more")
        second = _push(bw, "origin", "gitpar/api")
        assert second.returncode == 0, second.stderr  # the hook dates CHANGES.md by its own commit
        assert run(bw, "check", "--range", "origin/main..HEAD").code == 0
        # a later change to the shared file without the lock is still refused
        _commit(bw, "src/api/a.py", "a = 3\n", "api: again")
        write(bw / "CHANGES.md", (bw / "CHANGES.md").read_text() + "- unlocked\n")
        git(bw, "commit", "-qam", "changes without the lock", "--no-verify")
        third = _push(bw, "origin", "gitpar/api")
        assert third.returncode != 0 and "CHANGES.md" in third.stderr, third.stderr


def test_finish_pushes_the_stream_branch(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "api").code == 0
        bw = worktree_of(b, "api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: only here")
        res = run(bw, "finish")
        assert res.code == 0, res.text
        tip = git(b, "rev-parse", "gitpar/api").strip()
        assert _ls_remote(b, "refs/heads/gitpar/api") == tip
        landed = git(b, "show", "gitpar/_state:landed/api.txt")
        assert landed.split()[0] == tip


def test_finish_refuses_while_the_remote_refuses_the_branch(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        hook = tmp_path / "server/origin.git/hooks/pre-receive"
        hook.write_text("#!/bin/sh\nwhile read old new ref; do\n  [ \"$ref\" = refs/heads/gitpar/api ] "
                        "&& { echo 'no stream pushes today' >&2; exit 1; }\ndone\nexit 0\n")
        hook.chmod(0o755)
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "api").code == 0
        bw = worktree_of(b, "api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: only here")
        res = run(bw, "finish")
        assert res.code == 1, res.text
        short = git(b, "rev-parse", "--short=10", "gitpar/api").strip()
        assert short in res.err and "git push origin gitpar/api" in res.err, res.err
        shown = json.loads(run(b, "status", "--json").out)
        api = next(s for s in shown["streams"] if s["stream"] == "api")
        assert api["status"] == "in_progress"
        assert _ls_remote(b, "refs/heads/gitpar/api") == ""


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_integrated_streams_land_on_main_through_the_ci_check_and_the_pre_push_hook(
        tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch, transport: str) -> None:  # type: ignore[no-untyped-def]
    with serve(transport, tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "api").code == 0
        assert run(a, "start", "ui").code == 0
        bw, aw = worktree_of(b, "api"), worktree_of(a, "ui")
        _locked_edit(run, bw, "- api entry\n", "changes: api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: more")
        assert run(bw, "finish").code == 0
        _locked_edit(run, aw, "- ui entry\n", "changes: ui")
        _commit(aw, "src/ui/b.py", "b = 2\n", "ui: more")
        assert run(aw, "finish").code == 0
        res = run(a, "integrate", "--test", "true")
        assert res.code == 0, res.text
        assert "api entry" in git(a, "show", "gitpar/_integration:CHANGES.md")
        assert _push(a, "origin", "gitpar/_integration").returncode == 0
        # the CI check of a pull request of the integration into main, in a fresh clone
        c = tmp_path / "ci"
        git(tmp_path, "clone", "-q", url, str(c))
        git(c, "checkout", "-q", "--detach", "origin/gitpar/_integration")
        git(c, "fetch", "-q", "--no-tags", "origin", "+refs/heads/gitpar/_state:refs/remotes/origin/gitpar/_state")
        monkeypatch.setenv("GITHUB_HEAD_REF", "gitpar/_integration")
        ci = run(c, "check", "--base", "origin/main", "--head", "HEAD", "--format", "github")
        assert ci.code == 0, ci.text
        monkeypatch.delenv("GITHUB_HEAD_REF")
        # and the push to main passes gitpar's own pre-push hook
        landed = _push(a, "origin", "gitpar/_integration:main")
        assert landed.returncode == 0, landed.stderr
        # a commit that was never on a stream branch is judged as before: by the branch it is on
        assert run(a, "start", "docs").code == 0
        git(a, "branch", "hotfix", "origin/main")
        git(a, "checkout", "-q", "hotfix")
        write(a / "docs/x.md", "doc, changed from main\n")
        git(a, "commit", "-qam", "hotfix docs from main", "--no-verify")
        refused = _push(a, "origin", "hotfix:main")
        assert refused.returncode != 0 and "docs/x.md" in refused.stderr, refused.stderr


def test_next_start_and_sync_follow_work_landed_from_another_clone(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        k = _clone(tmp_path, url, "carol", run)
        assert run(b, "start", "api").code == 0
        bw = worktree_of(b, "api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: done")
        assert run(bw, "finish").code == 0
        # carol never fetched: next and start see api completed in bob's clone
        ready = run(k, "next")
        assert "docs" in ready.out.split(), ready.text
        assert run(k, "start", "docs").code == 0
        # main moves on origin (a plain clone, no gitpar); sync follows origin's main
        p = tmp_path / "plain"
        git(tmp_path, "clone", "-q", url, str(p))
        write(p / "NOTES.txt", "landed elsewhere\n")
        git(p, "add", "-A")
        git(p, "commit", "-qm", "notes")
        git(p, "push", "-q", "origin", "main")
        moved = git(p, "rev-parse", "HEAD").strip()
        res = run(k, "sync", "docs")
        assert res.code == 0, res.text
        assert subprocess.run(["git", "merge-base", "--is-ancestor", moved, "gitpar/docs"], cwd=k).returncode == 0
        assert "origin/main" in res.text
        # a new stream starts from origin's main, not the clone's stale main
        assert git(b, "rev-parse", "main").strip() != moved
        assert run(b, "start", "ui").code == 0
        assert git(b, "rev-parse", "gitpar/ui").strip() == moved


def test_take_over_fences_off_the_old_worker(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        k = _clone(tmp_path, url, "carol", run)
        assert run(b, "start", "api").code == 0
        bw = worktree_of(b, "api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: bob's work")
        assert _push(bw, "-u", "origin", "gitpar/api").returncode == 0
        took = run(k, "start", "api", "--take-over")
        assert took.code == 0, took.text
        kw = worktree_of(k, "api")
        assert (kw / "src/api/a.py").read_text() == "a = 1\na = 2\n"
        # bob's progress, push and (once his clone has seen the state) commits are refused
        said = run(bw, "progress", "--completion", "50")
        assert said.code == 1 and "taken over" in said.err and "--take-over" in said.err, said.text
        write(bw / "src/api/a.py", "a = 3\n")
        commit = subprocess.run(["git", "commit", "-qam", "bob goes on"], cwd=bw, capture_output=True, text=True)
        assert commit.returncode != 0 and "taken over" in commit.stderr, commit.stderr
        git(bw, "commit", "-qam", "bob goes on anyway", "--no-verify")
        pushed = _push(bw, "origin", "gitpar/api")
        assert pushed.returncode != 0 and "taken over" in pushed.stderr, pushed.stderr
        # carol, the new worker, carries on
        assert run(kw, "progress", "--completion", "60").code == 0
        _commit(kw, "src/api/a.py", "a = 4\n", "api: carol's work")
        assert _push(kw, "origin", "gitpar/api").returncode == 0
        shown = json.loads(run(k, "status", "--json").out)
        assert next(s for s in shown["streams"] if s["stream"] == "api")["completion"] == 60


def test_pre_push_judges_against_the_remotes_base_plan(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "api").code == 0
        # the plan on origin's main gives api a new folder; bob's clone has not fetched it
        p = tmp_path / "plain"
        git(tmp_path, "clone", "-q", url, str(p))
        spec = p / ".gitpar/streams/api.md"
        spec.write_text(spec.read_text().replace('"src/api/**"', '"src/api/**", "src/new/**"'))
        git(p, "commit", "-qam", "plan: api owns src/new")
        git(p, "push", "-q", "origin", "main")
        bw = worktree_of(b, "api")
        write(bw / "src/new/n.py", "n = 1\n")
        git(bw, "add", "-A")
        git(bw, "commit", "-qm", "api: src/new", "--no-verify")  # bob's local plan does not know it yet
        pushed = _push(bw, "-u", "origin", "gitpar/api")
        assert pushed.returncode == 0, pushed.stderr
        # and a file the remote's plan gives no one is still refused
        write(bw / "src/other/o.py", "o = 1\n")
        git(bw, "add", "-A")
        git(bw, "commit", "-qm", "api: src/other", "--no-verify")
        refused = _push(bw, "origin", "gitpar/api")
        assert refused.returncode != 0 and "src/other/o.py" in refused.stderr, refused.stderr


def test_record_landed_makes_a_streams_commits_its_own_on_any_branch(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    from gitpar.core.landed import record_landed
    from gitpar.core.repo import open_repo

    with serve("file", tmp_path / "server") as url:
        a = _alice(tmp_path, url, run)
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "api").code == 0
        bw = worktree_of(b, "api")
        _locked_edit(run, bw, "- api entry\n", "changes: api")
        _commit(bw, "src/api/a.py", "a = 2\n", "api: work")
        assert _push(bw, "-u", "origin", "gitpar/api").returncode == 0
        assert run(a, "status").code == 0  # check reads the state last fetched: api in progress
        git(a, "branch", "elsewhere", "origin/gitpar/api")  # api's commits on a branch that is no stream
        before = run(a, "check", "--base", "main", "--head", "elsewhere")
        assert before.code == 1 and "src/api/a.py" in before.out, before.text
        tip = git(a, "rev-parse", "origin/gitpar/api").strip()
        record_landed(open_repo(a), "api", tip, git(a, "rev-parse", "main").strip())
        assert git(a, "show", "gitpar/_state:landed/api.txt").split()[0] == tip
        after = run(a, "check", "--base", "main", "--head", "elsewhere")
        assert after.code == 0, after.text
        # a commit made on top of it, never on api's branch, is still judged by its branch
        git(a, "checkout", "-q", "elsewhere")
        write(a / "src/api/a.py", "a = 3\n")
        git(a, "commit", "-qam", "not api's", "--no-verify")
        again = run(a, "check", "--base", "main", "--head", "elsewhere")
        assert again.code == 1 and "src/api/a.py" in again.out, again.text
