"""Enforcement end to end: real hooks fired by real git commits and pushes, locks, check."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import commit_plan, git, gitpar, worktree_of, write


def try_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def test_init_installs_hooks_and_chains_the_old_one(repo: Path, run) -> None:
    marker = repo.parent / "legacy-ran"
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    assert run(repo, "init").code == 0
    assert (repo / ".git/hooks/pre-commit.legacy").is_file()
    first = hook.read_text()
    assert run(repo, "hooks", "install").code == 0  # idempotent
    assert hook.read_text() == first
    assert not (repo / ".git/hooks/pre-commit.legacy.legacy").exists()
    status = json.loads(run(repo, "hooks", "status", "--json").out)
    assert {h["hook"]: h["state"] for h in status["hooks"]} == {
        "pre-commit": "installed", "commit-msg": "installed", "pre-push": "installed"}
    write(repo / "docs/y.md", "y\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs")
    assert marker.exists()
    assert run(repo, "hooks", "uninstall").code == 0
    assert hook.read_text() == f"#!/bin/sh\ntouch {marker}\n"
    assert run(repo, "hooks", "status").code == 1


def test_a_failing_legacy_hook_still_stops_the_commit(repo: Path, run) -> None:
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho legacy says no >&2\nexit 3\n")
    hook.chmod(0o755)
    assert run(repo, "init").code == 0
    write(repo / "docs/y.md", "y\n")
    git(repo, "add", "-A")
    res = try_git(repo, "commit", "-qm", "x")
    assert res.returncode != 0 and "legacy says no" in res.stderr


def test_hooks_path_elsewhere_is_refused(repo: Path, run) -> None:
    git(repo, "config", "core.hooksPath", ".husky")
    res = run(repo, "hooks", "install")
    assert res.code == 1 and "core.hooksPath" in res.err and ".husky" in res.err
    assert not (repo / ".husky").exists()


def test_ownership_at_commit_time(started: Path, run) -> None:
    api = worktree_of(started, "api")
    write(api / "src/ui/b.py", "b = 2\n")
    res = try_git(api, "commit", "-qam", "touch ui")
    assert res.returncode == 1
    assert "src/ui/b.py" in res.stderr and "owned by stream ui" in res.stderr
    git(api, "checkout", "-q", "--", "src/ui/b.py")
    write(api / "src/api/a.py", "a = 2\n")
    write(api / "src/api/new.py", "n = 1\n")
    git(api, "add", "-A")
    assert try_git(api, "commit", "-qm", "own").returncode == 0
    msg = git(api, "log", "-1", "--format=%B")
    assert "Gitpar-Stream: api" in msg
    # deleting, renaming, changing the mode of a file it does not own: all refused
    git(api, "mv", "src/ui/b.py", "src/api/b.py")
    res = try_git(api, "commit", "-qm", "rename")
    assert res.returncode == 1 and "src/ui/b.py" in res.stderr
    git(api, "reset", "-q", "--hard")
    git(api, "update-index", "--chmod=+x", "src/ui/b.py")
    assert try_git(api, "commit", "-qm", "mode").returncode == 1
    git(api, "reset", "-q", "--hard")
    (api / "src/ui/link").symlink_to("b.py")
    git(api, "add", "-A")
    assert try_git(api, "commit", "-qm", "symlink").returncode == 1
    git(api, "reset", "-q", "--hard")


def test_the_plan_is_read_from_the_base_branch(started: Path, run) -> None:
    api = worktree_of(started, "api")
    stream_file = api / ".gitpar/streams/api.md"
    stream_file.write_text(stream_file.read_text().replace('owns: ["src/api/**"]', 'owns: ["src/**"]'))
    write(api / "src/ui/b.py", "grabbed\n")
    git(api, "add", "-A")
    res = try_git(api, "commit", "-qm", "grab")
    assert res.returncode == 1
    assert ".gitpar/streams/api.md" in res.stderr and "src/ui/b.py" in res.stderr


def test_shared_files_need_the_lock(started: Path, run) -> None:
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    write(api / "src/config.py", "changed\n")
    res = try_git(api, "commit", "-qam", "no lock")
    assert res.returncode == 1 and "gitpar lock src/config.py" in res.stderr
    assert run(api, "lock", "src/config.py", "--reason", "bump").code == 0
    assert try_git(api, "commit", "-qam", "under lock").returncode == 0
    res = run(ui, "lock", "src/config.py")
    assert res.code == 1 and "locked by stream api" in res.err
    write(ui / "src/config.py", "ui change\n")
    res = try_git(ui, "commit", "-qam", "locked elsewhere")
    assert res.returncode == 1 and "locked by stream api" in res.stderr
    git(ui, "checkout", "-q", "--", "src/config.py")
    assert run(api, "unlock", "src/config.py").code == 0
    assert run(ui, "lock", "src/config.py").code == 0
    log = git(started, "log", "--format=%s", "gitpar/_state")
    assert "lock src/config.py for api: bump" in log and "unlock src/config.py for api" in log


def test_everyday_git_causes_no_false_refusals(started: Path, run) -> None:
    api = worktree_of(started, "api")
    write(api / "src/api/a.py", "a = 2\n")
    assert try_git(api, "commit", "-qam", "commit -a").returncode == 0
    write(api / "src/api/a.py", "a = 3\n")
    git(api, "add", "-A")
    assert try_git(api, "commit", "-q", "--amend", "--no-edit").returncode == 0
    # the base moves on (the orchestrator's commit to a pending stream's files is fine)
    write(started / "docs/x.md", "new docs\n")
    git(started, "commit", "-qam", "docs on main")
    res = try_git(api, "merge", "-q", "--no-edit", "main")
    assert res.returncode == 0, res.stderr
    res = try_git(api, "rebase", "-q", "main")
    assert res.returncode == 0, res.stderr
    write(api / "src/api/a.py", "a = 4\n")
    assert try_git(api, "stash", "-q").returncode == 0
    assert try_git(api, "stash", "pop", "-q").returncode == 0
    assert try_git(api, "commit", "-qam", "after stash").returncode == 0


def test_main_worktree_cannot_touch_active_streams_files(started: Path, run) -> None:
    write(started / "src/api/a.py", "from main\n")
    res = try_git(started, "commit", "-qam", "main edits api")
    assert res.returncode == 1 and "in progress" in res.stderr and "src/api/a.py" in res.stderr
    git(started, "checkout", "-q", "--", "src/api/a.py")
    write(started / ".gitpar/plan.md", (started / ".gitpar/plan.md").read_text() + "\nMore goal.\n")
    assert try_git(started, "commit", "-qam", "plan edit").returncode == 0


def test_pre_push_catches_no_verify(started: Path, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = worktree_of(started, "api")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    # a shared change made under a lock, the lock released afterwards: still valid at push
    assert run(api, "lock", "src/config.py").code == 0
    write(api / "src/config.py", "under lock\n")
    git(api, "commit", "-qam", "shared under lock")
    assert run(api, "unlock", "src/config.py").code == 0
    res = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api")
    assert res.returncode == 0, res.stderr
    write(api / "src/ui/b.py", "sneak\n")
    git(api, "commit", "-q", "--no-verify", "-am", "sneak")
    res = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api")
    assert res.returncode != 0 and "src/ui/b.py" in res.stderr
    git(api, "reset", "-q", "--hard", "HEAD~1")
    # a shared change made without the lock stays a violation, even after a later lock (lock
    # times are whole seconds, compared with a second's slack either side: the commit is
    # dated well before the lock, and the earlier lock, instead of waiting for the clock)
    write(api / "src/config.py", "no lock\n")
    with monkeypatch.context() as m:
        for who in ("AUTHOR", "COMMITTER"):
            m.setenv(f"GIT_{who}_DATE", f"@{int(time.time()) - 30} +0000")
        git(api, "commit", "-q", "--no-verify", "-am", "shared without lock")
    assert run(api, "lock", "src/config.py").code == 0
    res = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api")
    assert res.returncode != 0 and "src/config.py" in res.stderr


def test_check_range_and_staged(started: Path, run) -> None:
    api = worktree_of(started, "api")
    write(api / "src/api/a.py", "ok\n")
    git(api, "commit", "-qam", "ok")
    write(api / "src/ui/b.py", "bad\n")
    git(api, "commit", "-q", "--no-verify", "-am", "bad")
    res = run(api, "check", "--range", "main..HEAD", "--json")
    assert res.code == 1
    d = json.loads(res.out)
    assert d["stream"] == "api" and d["commits_checked"] == 2
    assert [v["path"] for v in d["violations"]] == ["src/ui/b.py"]
    assert d["violations"][0]["owner"] == "ui" and d["violations"][0]["rule"] == "owned"
    res = run(api, "check", "--range", "main..HEAD~1")
    assert res.code == 0
    write(api / "src/ui/b.py", "staged\n")
    git(api, "add", "-A")
    res = run(api, "check", "--staged")
    assert res.code == 1 and "src/ui/b.py" in res.out
    res = run(api, "check", "--range", "nosuch..HEAD")
    assert res.code == 2 and "nosuch" in res.err


@pytest.mark.parametrize("mode,allowed", [("allow", True), ("deny", False), ("lock", False)])
def test_unowned_setting(repo: Path, run, mode: str, allowed: bool) -> None:
    assert run(repo, "init").code == 0
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("unowned: lock", f"unowned: {mode}"))
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    commit_plan(repo)
    assert run(repo, "start", "api").code == 0
    api = worktree_of(repo, "api")
    write(api / "docs/x.md", "changed\n")
    res = try_git(api, "commit", "-qam", "unowned")
    assert (res.returncode == 0) == allowed, res.stderr
    if mode == "lock":
        assert run(api, "lock", "docs/x.md").code == 0
        assert try_git(api, "commit", "-qam", "unowned under lock").returncode == 0


@pytest.mark.parametrize("path", ["../outside", "/etc/passwd", ".git/config", ""])
def test_lock_paths_outside_the_repository(started: Path, run, path: str) -> None:
    before = git(started, "rev-parse", "gitpar/_state")
    res = run(started, "lock", path, "--stream", "api")
    assert res.code == 2 and "Traceback" not in res.text and "fix:" in res.err
    assert git(started, "rev-parse", "gitpar/_state") == before


@pytest.mark.parametrize("ttl", ["-5m", "soon", "0s"])
def test_bad_ttl(started: Path, run, ttl: str) -> None:
    res = run(started, "lock", "src/config.py", "--stream", "api", "--ttl", ttl)
    assert res.code == 2 and "--ttl" in res.err


def test_lock_errors(started: Path, run) -> None:
    res = run(started, "lock", "src/config.py", "--stream", "nosuch")
    assert res.code == 2 and "nosuch" in res.err
    res = run(started, "lock", "src/ui/b.py", "--stream", "api")
    assert res.code == 1 and "owned by stream ui" in res.err
    assert run(started, "lock", "src/config.py", "--stream", "api").code == 0
    before = git(started, "rev-parse", "gitpar/_state")
    res = run(started, "unlock", "src/config.py", "--stream", "ui")
    assert res.code == 2 and "--force" in res.err
    assert git(started, "rev-parse", "gitpar/_state") == before
    res = run(started, "unlock", "src/config.py", "--stream", "ui", "--force")
    assert res.code == 0
    last = git(started, "log", "-1", "--format=%s", "gitpar/_state")
    assert "break lock on src/config.py held by api, by ui" in last and "--force" in last


def test_all_or_none(started: Path, run) -> None:
    assert run(started, "lock", "src/config.py", "--stream", "api").code == 0
    res = run(started, "lock", "docs/x.md", "src/config.py", "--stream", "ui")
    assert res.code == 1
    locks = json.loads(run(started, "locks", "--json").out)["locks"]
    assert [lk["path"] for lk in locks] == ["src/config.py"]


def test_expired_and_stale_locks(started: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(started, "lock", "src/config.py", "--stream", "api", "--ttl", "1s").code == 0
    expires = json.loads(run(started, "locks", "--json").out)["locks"][0]["expires"]
    monkeypatch.setenv("GITPAR_NOW", str(time.time() + 3))  # a read steps past the expiry
    stale = json.loads(run(started, "locks", "--stale", "--json").out)["locks"]
    assert stale and "expired" in stale[0]["stale"]
    res = run(started, "lock", "src/config.py", "--stream", "ui")  # a write judges by the real clock
    assert res.code == 1 and "locked by stream api" in res.err, res
    monkeypatch.delenv("GITPAR_NOW")
    wait_until(expires)
    res = run(started, "lock", "src/config.py", "--stream", "ui")
    assert res.code == 0 and "took over the stale lock" in res.err
    assert "took over the stale lock" in git(started, "log", "-1", "--format=%B", "gitpar/_state")


def test_finish_releases_locks(started: Path, run) -> None:
    api = worktree_of(started, "api")
    assert run(api, "lock", "src/config.py").code == 0
    assert run(api, "finish").code == 0
    assert json.loads(run(started, "locks", "--json").out)["locks"] == []


def test_wait_for_a_lock(started: Path, run) -> None:
    assert run(started, "lock", "src/config.py", "--stream", "api").code == 0
    releaser = subprocess.Popen([sys.executable, "-c", (
        "import time, sys; from gitpar.cli.main import main; time.sleep(1.5); "
        "sys.exit(main(['unlock', 'src/config.py', '--stream', 'api']))")], cwd=started)
    t = time.monotonic()
    res = gitpar(started, "lock", "src/config.py", "--stream", "ui", "--wait", "60")
    assert releaser.wait() == 0
    assert res.code == 0, res
    assert "waiting: src/config.py is locked by api" in res.err
    assert time.monotonic() - t < 30
    res = run(started, "lock", "src/config.py", "--stream", "api", "--wait", "0.5")
    assert res.code == 1 and "locked by stream ui" in res.err


def test_who(started: Path, run) -> None:
    assert run(started, "lock", "src/config.py", "--stream", "api").code == 0
    res = run(started, "who", "src/api/a.py", "src/config.py", "docs/x.md", ".gitpar/plan.md", "--json")
    assert res.code == 0
    rows = {r["path"]: r for r in json.loads(res.out)["paths"]}
    assert rows["src/api/a.py"]["owners"] == ["api"]
    assert rows["src/config.py"]["shares"] == ["api", "ui"] and rows["src/config.py"]["locked_by"] == "api"
    assert rows["docs/x.md"]["owners"] == [] and rows[".gitpar/plan.md"]["plan"] is True
    api = worktree_of(started, "api")
    res = run(api / "src", "who", "api/a.py", "--json")
    assert json.loads(res.out)["paths"][0]["path"] == "src/api/a.py"


@pytest.mark.parametrize("pattern", ["../**", "!src/**", "", "src\\api\\*", "C:\\x"])
def test_bad_patterns(planned: Path, run, pattern: str) -> None:
    res = run(planned, "stream", "add", "neg", "--owns", pattern)
    assert res.code == 2 and "Traceback" not in res.text and "owns" in res.err
    assert not (planned / ".gitpar/streams/neg.md").exists()


def test_overlapping_ownership_is_a_plan_error(planned: Path, run) -> None:
    res = run(planned, "stream", "add", "wide", "--owns", "src/**")
    assert res.code == 2
    assert "src/api/a.py" in res.err and "depends_on" in res.err and "shares" in res.err
    assert run(planned, "stream", "add", "wide", "--owns", "src/**", "--depends-on", "ui").code == 0


RACER = """
import os, sys, time
from gitpar.cli.main import main
me, rounds, markers = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
paths = ["src/config.py", "docs/x.md", "docs/y.md", "docs/z.md"]
for i in range(rounds):
    path = paths[(i + me) % len(paths)]
    while main(["lock", path, "--stream", f"s{me}"]) != 0:
        time.sleep(0.001)
    with open(os.path.join(markers, path.replace("/", "_")), "a") as f:
        f.write(f"enter {me} {i}\\n"); f.flush(); time.sleep(0.002); f.write(f"leave {me} {i}\\n")
    assert main(["unlock", path, "--stream", f"s{me}"]) == 0
"""


def test_racing_lockers_never_share_a_lock(repo: Path, run, tmp_path: Path) -> None:
    """Six streams' processes race for 4 contested paths: never two holders at once."""
    assert run(repo, "init").code == 0
    for w in range(6):
        assert run(repo, "stream", "add", f"s{w}", "--shares", "src/config.py", "--shares", "docs/**").code == 0
    commit_plan(repo)
    for w in range(6):
        assert run(repo, "start", f"s{w}").code == 0
    markers = tmp_path / "markers"
    markers.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(w), "6", str(markers)], cwd=repo,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for w in range(6)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    entries = 0
    for f in markers.iterdir():
        lines = f.read_text().splitlines()
        assert len(lines) % 2 == 0
        for enter, leave in zip(lines[::2], lines[1::2], strict=True):
            assert enter.startswith("enter") and leave == "leave" + enter[len("enter"):], f.name
            entries += 1
    assert entries == 36


def test_the_clock_gitpar_judges_locks_by(started: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """GITPAR_NOW moves reads (what-ifs), never a write: the lock is stamped by the real clock."""
    monkeypatch.setenv("GITPAR_NOW", "2099-01-01T00:00:00Z")
    before = time.time()
    assert run(started, "lock", "src/config.py", "--stream", "api", "--ttl", "1h").code == 0
    (lock,) = json.loads(run(started, "locks", "--json").out)["locks"]
    assert lock["expires"] != "2099-01-01T01:00:00Z"
    assert abs(parse_iso(lock["acquired"]) - before) < 5 and abs(parse_iso(lock["expires"]) - before - 3600) < 5
    assert "2099" not in git(started, "show", "gitpar/_state:locks/src/config.py.lock")
    stale = json.loads(run(started, "locks", "--stale", "--json").out)["locks"]  # a read: 2099 is past it
    assert stale and "expired" in stale[0]["stale"]
    monkeypatch.setenv("GITPAR_NOW", "soon")
    res = run(started, "locks")
    assert res.code == 2 and "GITPAR_NOW" in res.err and "ISO time" in res.err and "Traceback" not in res.err


def parse_iso(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait_until(iso: str) -> None:
    """Sleep until the real clock passes ``iso`` (a lock's expiry: writes judge by the real clock)."""
    time.sleep(max(0.0, parse_iso(iso) - time.time() + 0.05))
