"""State files fail closed: an unreadable lock is held, an unreadable progress file is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import git, worktree_of, write
from hostile import plant_state_file

from gitpar.core import clock
from gitpar.core.locks import parse_lock

GOOD = ("---\npath: src/config.py\nstream: ui\nagent: \"\"\nacquired: 2026-01-01T00:00:00Z\n"
        "expires: 2999-01-01T00:00:00Z\nreason: \"\"\nhost: h\npid: 1\nworktree: \"\"\n---\n")
BAD_LOCKS = {
    "bad yaml": "---\nstream: [ui\n---\n",
    "missing fields": "---\nreason: x\n---\n",
    "expires never": GOOD.replace("2999-01-01T00:00:00Z", "never"),
    "expires missing": GOOD.replace("expires: 2999-01-01T00:00:00Z\n", ""),
    "random bytes": bytes(range(256)) * 3,
    "alias": "---\nstream: &s ui\nagent: *s\nexpires: 2999-01-01T00:00:00Z\n---\n",
    "empty": "",
}


@pytest.mark.parametrize("text", list(BAD_LOCKS.values()), ids=list(BAD_LOCKS))
def test_unreadable_lock_parses_as_held(text: str | bytes) -> None:
    raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    lk = parse_lock("locks/src/config.py.lock", raw)
    assert lk.path == "src/config.py"
    assert lk.problem and "gitpar/_state:locks/src/config.py.lock" in lk.problem
    assert "unlock --force" in lk.problem
    assert not lk.expired(clock.now())
    assert not lk.expired(now=1e12)


@pytest.mark.parametrize("text", list(BAD_LOCKS.values()), ids=list(BAD_LOCKS))
def test_unreadable_lock_is_not_taken(planned: Path, run, text: str | bytes) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    plant_state_file(planned, "locks/src/config.py.lock", text)
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(wt, "lock", "src/config.py")
    assert res.code == 1, res
    assert "src/config.py" in res.err and "unlock --force" in res.err
    assert git(planned, "rev-parse", "gitpar/_state") == before
    res = run(planned, "locks", "--json")
    assert res.code == 0, res
    (entry,) = json.loads(res.out)["locks"]
    assert entry["path"] == "src/config.py" and entry["problem"] and entry["stale"] is None
    res = run(planned, "status", "--json")
    assert res.code == 0, res
    kinds = [a for a in json.loads(res.out)["attention"] if a["kind"] == "unreadable"]
    assert kinds and "locks/src/config.py.lock" in kinds[0]["message"]
    # the way out the message names
    res = run(wt, "unlock", "--force", "src/config.py")
    assert res.code == 0, res
    assert run(wt, "lock", "src/config.py").code == 0


def test_lock_whose_path_disagrees_is_listed_under_its_file(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    assert run(planned, "start", "ui", "--force").code == 0
    plant_state_file(planned, "locks/src/config.py.lock", GOOD.replace("path: src/config.py", "path: other.txt"))
    res = run(planned, "locks", "--json")
    (entry,) = json.loads(res.out)["locks"]
    assert entry["path"] == "src/config.py" and "disagrees" in entry["warning"]
    res = run(planned, "locks")
    assert "disagrees" in res.err and "src/config.py" in res.out
    res = run(worktree_of(planned, "api"), "lock", "src/config.py")
    assert res.code == 1 and "locked by stream ui" in res.err, res
    st = json.loads(run(planned, "status", "--json").out)
    assert any("disagrees" in a["message"] for a in st["attention"])


@pytest.mark.parametrize("text", [bytes(range(256)) * 2, "---\nstatus: [x\n---\n", "no frontmatter\n",
                                  "---\nstatus: &a in_progress\n---\n"],
                         ids=["random bytes", "bad yaml", "no frontmatter", "alias"])
def test_unreadable_progress_is_reported_by_name(planned: Path, run, text: str | bytes) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    plant_state_file(planned, "progress/api.md", text)
    res = run(planned, "status", "--json")
    assert res.code == 0, res
    found = [a for a in json.loads(res.out)["attention"] if a["kind"] == "unreadable"]
    assert found and found[0]["stream"] == "api"
    assert "progress/api.md" in found[0]["message"] and "fix:" in found[0]["message"]
    res = run(planned, "status")
    assert "needs attention" in res.out and "progress/api.md" in res.out
    assert "Traceback" not in res.text
    # a writer names the file and the fix instead of overwriting it silently
    wt = worktree_of(planned, "api")
    write(wt / "src/api/n.py", "n = 1\n")
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(wt, "progress", "--completion", "10")
    assert res.code == 2, res
    assert "progress/api.md" in res.err and "fix:" in res.err
    assert git(planned, "rev-parse", "gitpar/_state") == before


def _two_clones(tmp_path: Path, run) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    """A bare origin with a two-stream plan (remote: origin), alice's clone and bob's."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    a = tmp_path / "alice"
    a.mkdir()
    git(a, "init", "-q", "-b", "main")
    write(a / "src/api/a.py", "a = 1\n")
    write(a / "src/ui/b.py", "b = 1\n")
    write(a / "src/config.py", "x = 1\n")
    git(a, "add", "-A")
    git(a, "commit", "-qm", "init")
    git(a, "remote", "add", "origin", str(origin))
    git(a, "push", "-q", "origin", "main")
    assert run(a, "init", "--remote", "origin", "--no-hooks").code == 0
    for name in ("api", "ui"):
        assert run(a, "stream", "add", name, "--owns", f"src/{name}/**", "--shares", "src/config.py").code == 0
    git(a, "add", "-A")
    git(a, "commit", "-qm", "plan")
    git(a, "push", "-q", "origin", "main")
    b = tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(origin), str(b))
    assert run(b, "init", "--no-hooks").code == 0
    return origin, a, b


@pytest.mark.parametrize("where", ["on the origin", "pushed from the clone"])
def test_a_rewound_remote_state_is_not_adopted(tmp_path: Path, run, where: str) -> None:  # type: ignore[no-untyped-def]
    origin, a, b = _two_clones(tmp_path, run)
    assert run(a, "start", "api").code == 0
    assert run(b, "start", "ui").code == 0
    old = git(origin, "rev-parse", "gitpar/_state").strip()
    assert run(worktree_of(b, "ui"), "lock", "src/config.py").code == 0
    assert run(a, "status").code == 0  # alice has seen bob's lock on origin
    seen = git(a, "rev-parse", "gitpar/_state").strip()
    if where == "on the origin":  # the attacker's force-push back
        git(origin, "update-ref", "refs/heads/gitpar/_state", old)
    else:  # from alice's own clone: git moves its tracking ref back too
        git(a, "push", "-q", "-f", "--no-verify", "origin", f"{old}:refs/heads/gitpar/_state")
    aw = worktree_of(a, "api")
    for args in (("lock", "src/config.py"), ("status",), ("progress", "--completion", "10")):
        res = run(aw, *args)
        assert res.code == 1, res
        assert "origin's gitpar/_state was rewound" in res.err and "diverged" not in res.err
        assert f"1 state commit this clone has seen there (newest {seen[:12]} 'lock src/config.py for ui')" in res.err
        assert f"git push origin {seen}:refs/heads/gitpar/_state" in res.err
        assert git(a, "rev-parse", "gitpar/_state").strip() == seen
        assert git(origin, "rev-parse", "gitpar/_state").strip() == old
    # the way out the message names: the clone's copy pushed back, and bob still holds the lock
    git(a, "push", "-q", "origin", f"{seen}:refs/heads/gitpar/_state")
    res = run(aw, "lock", "src/config.py")
    assert res.code == 1 and "ui" in res.err and "rewound" not in res.err, res


def test_a_rewound_and_advanced_remote_state_names_both_sides(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    origin, a, b = _two_clones(tmp_path, run)
    assert run(a, "start", "api").code == 0
    old = git(origin, "rev-parse", "gitpar/_state").strip()
    assert run(worktree_of(a, "api"), "lock", "src/config.py").code == 0
    seen = git(a, "rev-parse", "gitpar/_state").strip()
    git(origin, "update-ref", "refs/heads/gitpar/_state", old)
    # bob, who never saw alice's lock, takes it on the rewound state: a double grant at origin
    assert run(b, "start", "ui").code == 0
    assert run(worktree_of(b, "ui"), "lock", "src/config.py").code == 0
    theirs = git(origin, "rev-parse", "gitpar/_state").strip()
    res = run(worktree_of(a, "api"), "locks")
    assert res.code == 1, res
    assert "was rewound" in res.err and "diverged" not in res.err
    assert f"origin has 2 commits made on the rewound state since (newest {theirs[:12]}" in res.err
    assert (f"git push --force-with-lease=refs/heads/gitpar/_state:{theirs} origin "
            f"{seen}:refs/heads/gitpar/_state") in res.err
    assert git(a, "rev-parse", "gitpar/_state").strip() == seen


def _forged(path: str, stream: str) -> str:
    return (f"---\npath: {path}\nstream: {stream}\nagent: \"\"\nacquired: 2026-01-01T00:00:00Z\n"
            "expires: 2999-01-01T00:00:00Z\nreason: mine now\nhost: h\npid: 1\nworktree: \"\"\n---\n")


def test_a_lock_on_another_streams_owned_file_is_ignored_everywhere(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    plant_state_file(planned, "locks/src/api/a.py.lock", _forged("src/api/a.py", "ui"))
    plant_state_file(planned, "locks/.gitpar/plan.md.lock", _forged(".gitpar/plan.md", "api"))
    res = run(wt, "who", "src/api/a.py")
    assert res.code == 0 and "ignored" in res.err and "owned by stream api" in res.err, res
    assert json.loads(run(wt, "who", "src/api/a.py", "--json").out)["paths"][0]["locked_by"] is None
    res = run(wt, "guard", "src/api/a.py")
    assert res.code == 0, res
    write(wt / "src/api/a.py", "a = 2\n")
    git(wt, "commit", "-qam", "the owner's work, through the hook")  # the hook passes it
    res = run(wt, "check", "--base", "main", "--head", "HEAD", "--format", "json")
    assert res.code == 0, res
    assert any("src/api/a.py held by ui is ignored" in n for n in json.loads(res.out)["notes"]), res
    res = run(planned, "locks", "--json")
    stale = {e["path"]: e["stale"] for e in json.loads(res.out)["locks"]}
    assert "owned by stream api" in stale["src/api/a.py"] and "plan" in stale[".gitpar/plan.md"], stale
    # doctor --fix breaks them (recorded), and the commit made meanwhile stays good
    res = run(planned, "doctor", "--fix")
    assert "src/api/a.py" in res.out + res.err, res
    assert json.loads(run(planned, "locks", "--json").out)["locks"] == []
    res = run(wt, "check", "--base", "main", "--head", "HEAD")
    assert res.code == 0, res


def test_a_lock_of_a_worktree_moved_with_git_worktree_move_stays_live(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    assert run(planned, "start", "ui", "--force").code == 0
    wt = worktree_of(planned, "api")
    assert run(wt, "lock", "src/config.py").code == 0
    moved = wt.parent / "api-moved"
    git(planned, "worktree", "move", str(wt), str(moved))
    res = run(planned, "doctor", "--fix")
    assert "src/config.py" not in res.out + res.err, res
    (entry,) = json.loads(run(planned, "locks", "--json").out)["locks"]
    assert entry["stream"] == "api" and entry["stale"] is None
    res = run(worktree_of(planned, "ui"), "lock", "src/config.py")
    assert res.code == 1 and "locked by stream api" in res.err, res
    # a worktree really gone leaves a stale lock, as before
    git(planned, "worktree", "remove", "--force", str(moved))
    stale = json.loads(run(planned, "locks", "--json").out)["locks"][0]["stale"]
    assert stale and "is gone" in stale
