"""Coordination across machines through a git remote: clones of one origin as machines.

Every transport is a real server on this machine: a bare repository over ``file://``,
``git daemon`` on 127.0.0.1, and ``git http-backend`` behind nginx + fcgiwrap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import git, worktree_of, write
from servers import available, serve

STATE = "refs/heads/gitpar/_state"


def _origin_repo(tmp: Path, url: str, run) -> Path:  # type: ignore[no-untyped-def]
    """alice: a repository with two streams sharing src/config.py, published to ``url``."""
    a = tmp / "alice"
    a.mkdir()
    git(a, "init", "-q", "-b", "main")
    write(a / "src/api/a.py", "a = 1\n")
    write(a / "src/ui/b.py", "b = 1\n")
    write(a / "src/config.py", "x = 1\n")
    git(a, "add", "-A")
    git(a, "commit", "-qm", "init")
    git(a, "remote", "add", "origin", url)
    git(a, "push", "-q", "origin", "main")
    assert run(a, "init", "--remote", "origin", "--no-hooks").code == 0
    assert "remote: origin" in (a / ".gitpar/plan.md").read_text()
    for name in ("api", "ui"):
        assert run(a, "stream", "add", name, "--owns", f"src/{name}/**", "--shares", "src/config.py").code == 0
    git(a, "add", "-A")
    git(a, "commit", "-qm", "plan")
    git(a, "push", "-q", "origin", "main")
    return a


def _clone(tmp: Path, url: str, name: str, run) -> Path:  # type: ignore[no-untyped-def]
    d = tmp / name
    git(tmp, "clone", "-q", url, str(d))
    res = run(d, "init", "--no-hooks")
    assert res.code == 0, res.text
    return d


def _remote_tip(repo: Path) -> str:
    out = git(repo, "ls-remote", "origin", STATE).split()
    return out[0] if out else ""


@pytest.mark.parametrize("transport", ["file", "daemon", "http"])
def test_two_machines_share_state_through_the_remote(tmp_path: Path, run, transport: str) -> None:  # type: ignore[no-untyped-def]
    if not available(transport):
        pytest.skip(f"{transport} server not available here")
    with serve(transport, tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        assert _remote_tip(a) == git(a, "rev-parse", "gitpar/_state").strip(), "state not published"
        assert run(a, "start", "api").code == 0
        aw = worktree_of(a, "api")
        assert run(aw, "progress", "--completion", "30", "--done", "alpha").code == 0
        assert run(aw, "lock", "src/config.py").code == 0

        b = _clone(tmp_path, url, "bob", run)
        root_a = git(a, "rev-list", "--max-parents=0", "gitpar/_state").split()
        root_b = git(b, "rev-list", "--max-parents=0", "gitpar/_state").split()
        assert root_a == root_b, "a second state root"
        status = json.loads(run(b, "status", "--json").out)
        api = next(s for s in status["streams"] if s["stream"] == "api")
        assert api["completion"] == 30

        claimed = run(b, "start", "api")
        assert claimed.code == 1 and "--take-over" in claimed.err and "in progress" in claimed.err
        assert run(b, "start", "ui").code == 0
        bw = worktree_of(b, "ui")
        refused = run(bw, "lock", "src/config.py")
        assert refused.code == 1 and "api" in refused.err, refused.text
        assert run(aw, "unlock", "src/config.py").code == 0
        assert run(bw, "lock", "src/config.py").code == 0
        who = run(a, "who", "src/config.py")
        assert who.code == 0 and "state from origin as fetched" in who.err, who.text
        locks = json.loads(run(a, "locks", "--json").out)["locks"]
        assert [lk["stream"] for lk in locks] == ["ui"], "alice does not see bob's lock"
        assert _remote_tip(a) == git(b, "rev-parse", "gitpar/_state").strip()


def test_unreachable_remote_changes_nothing(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        assert run(a, "start", "api").code == 0
        aw = worktree_of(a, "api")
        before = git(a, "rev-parse", "gitpar/_state").strip()
        git(a, "remote", "set-url", "origin", str(tmp_path / "nowhere.git"))
        for args in (("progress", "--completion", "50"), ("lock", "src/config.py"), ("status",)):
            res = run(aw, *args)
            assert res.code == 1, (args, res.text)
            assert "origin" in res.err and "Traceback" not in res.text
        assert git(a, "rev-parse", "gitpar/_state").strip() == before
        offline = run(aw, "status", "--offline")
        assert offline.code == 0 and "--offline" in offline.err


def test_a_lost_push_reapplies_the_change_on_the_new_tip(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """Two machines progress the same stream file in turn: nothing is lost, history is linear."""
    with serve("file", tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        assert run(a, "start", "api").code == 0
        aw = worktree_of(a, "api")
        b = _clone(tmp_path, url, "bob", run)
        assert run(b, "start", "ui").code == 0
        bw = worktree_of(b, "ui")
        for i in range(3):
            assert run(aw, "progress", "--done", f"a{i}").code == 0
            assert run(bw, "progress", "--done", f"b{i}").code == 0
        git(a, "fetch", "-q", "origin")
        log = git(a, "log", "--format=%s", "origin/gitpar/_state")
        assert log.count("progress api") == 3 and log.count("progress ui") == 3
        assert git(a, "rev-list", "--merges", "origin/gitpar/_state").strip() == ""


def test_bad_remotes(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        before = git(a, "rev-parse", "gitpar/_state").strip()
        unknown = run(a, "init", "--remote", "nosuch")
        assert unknown.code == 2 and "nosuch" in unknown.err and "git remote add" in unknown.err
        # a state ref on the remote that is not a state branch
        git(a, "push", "-q", "-f", "origin", "main:refs/heads/gitpar/_state")
        res = run(a, "status")
        assert res.code == 2 and "not a gitpar state branch" in res.err
        assert git(a, "rev-parse", "gitpar/_state").strip() == before
        git(a, "push", "-q", "-f", "origin", f"{before}:refs/heads/gitpar/_state")
        # a push the server refuses for another reason than a lost race
        hook = Path(url.removeprefix("file://")) / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'no pushes today' >&2\nexit 1\n")
        hook.chmod(0o755)
        res = run(a, "start", "api")
        assert res.code == 1 and "refused" in res.err and "origin" in res.err
        assert git(a, "rev-parse", "gitpar/_state").strip() == before


def test_diverged_local_state_is_reported_not_merged(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        assert run(a, "start", "api").code == 0  # the remote's state: more than a new root
        b = tmp_path / "bob"
        git(tmp_path, "clone", "-q", url, str(b))
        # a state branch made in this clone before it knew of the remote
        git(b, "branch", "-D", "gitpar/_state", check=False)
        plan = b / ".gitpar/plan.md"
        plan.write_text(plan.read_text().replace("remote: origin", "remote: null"))
        assert run(b, "init", "--no-hooks").code == 0
        local = git(b, "rev-parse", "gitpar/_state").strip()
        git(b, "checkout", "-q", "--", ".gitpar/plan.md")
        res = run(b, "status")
        assert res.code == 2 and "diverged" in res.err and "gitpar/_state-local" in res.err
        assert git(b, "rev-parse", "gitpar/_state").strip() == local


def test_ci_clone_sees_remote_streams_and_lock_proof(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        assert run(a, "start", "api").code == 0
        aw = worktree_of(a, "api")
        assert run(aw, "lock", "src/config.py").code == 0
        write(aw / "src/config.py", "x = 2\n")
        git(aw, "commit", "-qam", "config under the lock", "--no-verify")
        git(aw, "push", "-q", "origin", "gitpar/api")
        c = tmp_path / "ci"
        git(tmp_path, "clone", "-q", url, str(c))
        assert git(c, "branch", "--list", "gitpar/_state").strip() == ""
        ok = run(c, "check", "--base", "origin/main", "--head", "origin/gitpar/api")
        assert ok.code == 0, ok.text
        status = json.loads(run(c, "status", "--json").out)
        api = next(s for s in status["streams"] if s["stream"] == "api")
        assert api["status"] == "in_progress"
        # the stream's branch exists only as origin/gitpar/api here: status still sees its work
        assert api["git"]["ahead"] == 1 and api["git"]["branch_exists"], api["git"]


def test_take_over_continues_the_remote_branch(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = _origin_repo(tmp_path, url, run)
        assert run(a, "start", "api").code == 0
        aw = worktree_of(a, "api")
        write(aw / "src/api/a.py", "a = 2\n")
        git(aw, "commit", "-qam", "api work")
        git(aw, "push", "-q", "origin", "gitpar/api")
        b = _clone(tmp_path, url, "bob", run)
        res = run(b, "start", "api", "--take-over")
        assert res.code == 0, res.text
        bw = worktree_of(b, "api")
        assert (bw / "src/api/a.py").read_text() == "a = 2\n", "take-over started afresh from main"


RACER = textwrap.dedent("""
    import os, random, sys, time
    from pathlib import Path
    from gitpar.core.repo import open_repo
    from gitpar.core import locks
    wt, who, rounds, markers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    paths = ["shared/p0.txt", "shared/p1.txt"]
    for i in range(rounds):
        path = random.choice(paths)
        repo = open_repo(wt)
        stream = repo.current_stream()
        locks.lock(repo, stream, [path], ttl=600, wait=300, reason=who)
        with open(markers, "a") as f:
            f.write(f"enter {path} {who}\\n")
        time.sleep(0.01)
        with open(markers, "a") as f:
            f.write(f"leave {path} {who}\\n")
        locks.unlock(open_repo(wt), stream, [path])
""")


def race(tmp_path: Path, run, clones: int, procs: int, rounds: int) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = tmp_path / "alice"
        a.mkdir()
        git(a, "init", "-q", "-b", "main")
        write(a / "shared/p0.txt", "0\n")
        write(a / "shared/p1.txt", "0\n")
        git(a, "add", "-A")
        git(a, "commit", "-qm", "init")
        git(a, "remote", "add", "origin", url)
        assert run(a, "init", "--remote", "origin", "--no-hooks").code == 0
        for c in range(clones):
            for p in range(procs):
                write(a / f"src/m{c}p{p}/f", "x\n")
                assert run(a, "stream", "add", f"m{c}p{p}", "--owns", f"src/m{c}p{p}/**",
                           "--shares", "shared/**").code == 0
        git(a, "add", "-A")
        git(a, "commit", "-qm", "plan")
        git(a, "push", "-q", "origin", "main")
        markers = tmp_path / "markers"
        markers.write_text("")
        racers = []
        for c in range(clones):
            d = _clone(tmp_path, url, f"m{c}", run)
            for p in range(procs):
                assert run(d, "start", f"m{c}p{p}").code == 0
                wt = worktree_of(d, f"m{c}p{p}")
                racers.append((wt, f"m{c}p{p}"))
        started = [subprocess.Popen([sys.executable, "-c", RACER, str(wt), who, str(rounds), str(markers)],
                                    stderr=subprocess.PIPE, text=True) for wt, who in racers]
        for proc in started:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-2000:]
        holder: dict[str, str | None] = {"shared/p0.txt": None, "shared/p1.txt": None}
        grants = 0
        for line in markers.read_text().splitlines():
            kind, path, who = line.split()
            if kind == "enter":
                assert holder[path] is None, f"double grant: {who} entered {path} held by {holder[path]}"
                holder[path] = who
                grants += 1
            else:
                assert holder[path] == who
                holder[path] = None
        assert grants == clones * procs * rounds
        git(a, "fetch", "-q", "origin")
        taken = git(a, "log", "--format=%s", "origin/gitpar/_state").count("lock ")
        assert taken >= grants, "a grant is missing from the remote's state branch"


@pytest.mark.slow
def test_race_across_clones(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """6 clones x 3 processes x 2 contested paths (rounds kept short here; bench_remote.py --race runs 30)."""
    race(tmp_path, run, clones=6, procs=3, rounds=int(os.environ.get("GITPAR_RACE_ROUNDS", "2")))


def test_stream_tips_in_one_listing_agree_with_asking_each_stream(tmp_path: Path) -> None:
    # status reads every stream's tip from one listing of the refs: local branches first,
    # else the remote's copy, as stream_tip answers for one stream
    from gitpar.store.repo import open_repo

    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "commit", "-q", "--allow-empty", "-m", "one")
    one = git(r, "rev-parse", "HEAD").strip()
    git(r, "commit", "-q", "--allow-empty", "-m", "two")
    two = git(r, "rev-parse", "HEAD").strip()
    git(r, "branch", "gitpar/local", two)
    git(r, "update-ref", "refs/remotes/origin/gitpar/local", one)  # the local branch is ahead: it wins
    git(r, "branch", "gitpar/older", one)
    git(r, "update-ref", "refs/remotes/origin/gitpar/older", two)  # pushed from another clone: newer
    git(r, "update-ref", "refs/remotes/origin/gitpar/remote-only", two)
    git(r, "update-ref", "refs/remotes/other/gitpar/elsewhere", two)  # not a remote gitpar reads
    repo = open_repo(r)
    tips = repo.stream_tips()
    assert {n: str(t) for n, t in tips.items()} == {"local": two, "older": two, "remote-only": two}
    for name in ("local", "older", "remote-only", "elsewhere", "missing"):
        assert tips.get(name) == repo.stream_tip(name)
