"""Strategies chosen in the plan, end to end: lock contention and integration conflicts.

``plugins: {locks: priority|collaborative}`` decides who gets a contested lock, and
``plugins: {conflicts: review}`` lets integration take the later stream's side of a
conflict, flagged for review. Real repositories, real worktrees, real racing processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import commit_plan, git, gitpar, work, worktree_of, write

CONFIG = "src/config.py"
WAITING = f"gitpar/_state:locks/{CONFIG}.waiting"
T = "gitpar/_integration"


def set_plugins(r: Path, block: str) -> None:
    """Add a ``plugins:`` block (YAML lines) to plan.md's frontmatter, and commit the plan."""
    plan = r / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins:\n" + textwrap.indent(block.strip("\n"), "  ") + text[end:])
    commit_plan(r)


def state_log(r: Path) -> str:
    return git(r, "log", "--format=%B%x00", "gitpar/_state")


def waiting_streams(r: Path) -> list[str]:
    proc = subprocess.run(["git", "show", WAITING], cwd=r, capture_output=True, text=True)
    if proc.returncode != 0:
        return []
    from gitpar.core.locks import parse_waiting

    return [w.stream for w in parse_waiting("x", proc.stdout)]


def until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def holder_of(r: Path, run) -> str | None:  # type: ignore[no-untyped-def]
    locks = json.loads(run(r, "locks", "--json").out)["locks"]
    return next((lk["stream"] for lk in locks if lk["path"] == CONFIG), None)


def attention(r: Path, run) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    data = json.loads(run(r, "status", "--json").out)
    return [(a["stream"], a["kind"], a["message"]) for a in data["attention"]]


def locker(r: Path, stream: str, wait: float) -> subprocess.Popen[str]:
    """``gitpar lock src/config.py --stream STREAM --wait WAIT`` in a real process."""
    return subprocess.Popen([sys.executable, "-m", "gitpar", "lock", CONFIG, "--stream", stream,
                             "--wait", str(wait)], cwd=r, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture
def sharing(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """Three started streams sharing src/config.py: holder (0), low (1), high (5)."""
    assert run(repo, "init", "--no-hooks").code == 0
    for name, priority in (("holder", 0), ("low", 1), ("high", 5)):
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**", "--shares", CONFIG,
                   "--priority", str(priority)).code == 0
    commit_plan(repo)
    for name in ("holder", "low", "high"):
        assert run(repo, "start", name).code == 0
    return repo


# -- locks ------------------------------------------------------------------------------------


def test_collaborative_escalates_after_its_timeout(sharing: Path, run) -> None:
    set_plugins(sharing, "locks: collaborative\ncollaborative: {timeout: 1s}")
    assert run(sharing, "lock", CONFIG, "--stream", "holder", "--reason", "refactor").code == 0
    # a --wait shorter than the timeout ends like the default: refused, nobody marked
    res = run(sharing, "lock", CONFIG, "--stream", "low", "--wait", "0.3")
    assert res.code == 1 and "locked by stream holder" in res.err, res
    assert not [a for a in attention(sharing, run) if a[1] == "coordination"]
    t = time.monotonic()
    res = gitpar(sharing, "lock", CONFIG, "--stream", "low", "--wait", "30")
    assert res.code == 1, res
    assert time.monotonic() - t < 20
    assert "held by stream holder" in res.err and "needing attention" in res.err
    marked = {(s, m) for s, k, m in attention(sharing, run) if k == "coordination"}
    assert {s for s, _m in marked} == {"low", "holder"}
    assert all(f"lock on {CONFIG}" in m and "low waited" in m for _s, m in marked)
    # the lock is untouched, the waiting list left empty, and the log tells the story
    assert holder_of(sharing, run) == "holder"
    assert waiting_streams(sharing) == []
    log = state_log(sharing)
    assert f"wait for the lock on {CONFIG}: low (priority 1)" in log
    assert f"stop waiting for the lock on {CONFIG}: low" in log
    assert "progress holder: needs a person: lock contention" in log


def test_priority_gives_a_released_lock_to_the_higher_priority_waiter(sharing: Path, run) -> None:
    set_plugins(sharing, "locks: priority")
    assert run(sharing, "lock", CONFIG, "--stream", "holder").code == 0
    low = locker(sharing, "low", 60)  # asks first
    until(lambda: waiting_streams(sharing) == ["low"], "low to wait")
    high = locker(sharing, "high", 60)
    until(lambda: waiting_streams(sharing) == ["low", "high"], "high to wait")
    try:
        assert run(sharing, "unlock", CONFIG, "--stream", "holder").code == 0
        out, err = high.communicate(timeout=30)
        assert high.returncode == 0, err
        assert holder_of(sharing, run) == "high"
        assert low.poll() is None  # still waiting, now for high
        assert waiting_streams(sharing) == ["low"]
        assert run(sharing, "unlock", CONFIG, "--stream", "high").code == 0
        out, err = low.communicate(timeout=30)
        assert low.returncode == 0, err
        assert "waiting:" in err
    finally:
        for p in (low, high):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert holder_of(sharing, run) == "low"
    assert waiting_streams(sharing) == []
    subjects = git(sharing, "log", "--reverse", "--format=%s", "gitpar/_state").splitlines()
    takes = [s for s in subjects if s.startswith(f"lock {CONFIG} for")]
    assert takes == [f"lock {CONFIG} for holder", f"lock {CONFIG} for high", f"lock {CONFIG} for low"]


def plant_waiter(r: Path, stream: str, priority: int, seconds: float) -> None:
    """List ``stream`` as waiting for src/config.py (as a live process on this host would)."""
    from gitpar.core import locks
    from gitpar.core.progress import now_iso
    from gitpar.core.repo import open_repo
    from gitpar.store.state import StateStore

    me = locks.Waiter(stream=stream, priority=priority, since=now_iso(), until=locks.iso_in(seconds),
                      host="elsewhere", pid=os.getpid())
    StateStore(open_repo(r)).update(lambda snap: (
        locks.model._waiting_change(snap, CONFIG, drop=stream, add=me, now=time.time()), f"plant {stream}"))


def test_priority_refuses_a_free_lock_while_a_higher_priority_stream_waits(sharing: Path, run) -> None:
    set_plugins(sharing, "locks: priority")
    plant_waiter(sharing, "high", 5, 600)
    res = run(sharing, "lock", CONFIG, "--stream", "low")
    assert res.code == 1 and "stream high (priority 5) also waits" in res.err, res
    assert holder_of(sharing, run) is None
    # the higher-priority stream itself gets it, and leaves the waiting list
    assert run(sharing, "lock", CONFIG, "--stream", "high").code == 0
    assert waiting_streams(sharing) == []
    assert run(sharing, "unlock", CONFIG, "--stream", "high").code == 0
    # a waiter whose --wait has run out (it crashed) no longer counts
    plant_waiter(sharing, "high", 5, -1)
    res = run(sharing, "lock", CONFIG, "--stream", "low")
    assert res.code == 0, res
    assert waiting_streams(sharing) == []


def test_take_over_of_an_expired_lock_is_recorded(sharing: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    set_plugins(sharing, "locks: priority")
    assert run(sharing, "lock", CONFIG, "--stream", "holder", "--ttl", "1s").code == 0
    res = run(sharing, "lock", CONFIG, "--stream", "low")
    assert res.code == 1 and "locked by stream holder" in res.err
    time.sleep(2.1)  # past the expiry by the real clock (whole seconds, rounded up): writes use no GITPAR_NOW
    res = run(sharing, "lock", CONFIG, "--stream", "low")
    assert res.code == 0 and "took over the stale lock" in res.err, res
    last = git(sharing, "log", "-1", "--format=%B", "gitpar/_state")
    assert f"took over the stale lock on {CONFIG} held by holder" in last
    assert "lock strategy priority: the lock on" in last and "is stale: expired" in last
    assert holder_of(sharing, run) == "low"


def test_a_strategy_never_takes_over_a_live_lock(sharing: Path, run) -> None:
    from gitpar.plugins import Decision, hookimpl
    from gitpar.testing import plugin_registered

    class Grab:
        name = "grab"
        description = "take every lock"

        def decide(self, contention):  # type: ignore[no-untyped-def]
            return Decision("take_over", "mine now")

    class Plugin:
        @hookimpl
        def gitpar_lock_strategies(self):  # type: ignore[no-untyped-def]
            return [Grab()]

    set_plugins(sharing, "locks: grab")
    with plugin_registered(Plugin(), "grabber"):
        assert run(sharing, "lock", CONFIG, "--stream", "holder").code == 0
        res = run(sharing, "lock", CONFIG, "--stream", "low")
    assert res.code == 2 and "takes over only a stale lock" in res.err, res
    assert holder_of(sharing, run) == "holder"


def test_the_default_strategy_loads_no_plugin_and_lists_no_waiter(sharing: Path) -> None:
    assert gitpar(sharing, "lock", CONFIG, "--stream", "holder").code == 0
    code = ("import sys; from gitpar.cli.main import main; "
            f"rc = main(['lock', {CONFIG!r}, '--stream', 'low', '--wait', '0.3']); "
            "print(sorted({'pluggy', 'gitpar.plugins.manager'} & set(sys.modules))); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=sharing, capture_output=True, text=True)
    assert proc.returncode == 1 and "locked by stream holder" in proc.stderr, proc
    assert proc.stdout.strip() == "[]"
    assert waiting_streams(sharing) == []


def test_an_unknown_lock_strategy_is_bad_input(sharing: Path, run) -> None:
    set_plugins(sharing, "locks: fastest")
    res = run(sharing, "lock", CONFIG, "--stream", "holder")
    assert res.code == 2 and "plugins.locks" in res.err and "fastest" in res.err


# -- integration ------------------------------------------------------------------------------


@pytest.fixture
def xy(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """x and y both change line 5 of src/config.py (y also line 9, cleanly); both finished."""
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "x", "--owns", "x/**", "--shares", CONFIG).code == 0
    assert run(repo, "stream", "add", "y", "--owns", "y/**", "--shares", CONFIG).code == 0
    commit_plan(repo)
    work(repo, run, "x", {"x/f.txt": "x\n"}, (5, "XX"))
    work(repo, run, "y", {"y/f.txt": "y\n"}, (5, "YY"))
    return repo


def test_review_takes_the_later_streams_side_flagged_for_review(xy: Path, run) -> None:
    set_plugins(xy, 'conflicts: review\nreview: {take: ["src/**"]}')
    res = run(xy, "integrate")
    assert res.code == 0, res
    rows = {line.split()[0]: line for line in res.out.splitlines()[2:] if line.strip()}
    assert "merged" in rows["x"] and "merged (review)" in rows["y"]
    assert "y: needs review: " in res.err and "took y's side" in res.err
    config = git(xy, "show", f"{T}:{CONFIG}")
    assert "YY" in config and "XX" not in config and "<<<<<<<" not in config
    message = git(xy, "log", "-1", "--format=%B", T)
    x_merge = git(xy, "rev-parse", f"{T}^1").strip()
    assert "Gitpar-Stream: y" in message
    assert f"Gitpar-Review: {CONFIG} (line 5) took y's side over stream x ({x_merge[:10]})" in message
    trailers = git(xy, "log", "-1", "--format=%(trailers:key=Gitpar-Review,valueonly)", T)
    assert CONFIG in trailers
    # never silent: the stream needs a person until someone clears the item
    marked = [(s, m) for s, k, m in attention(xy, run) if k == "coordination"]
    assert [s for s, _m in marked] == ["y"] and "review merge" in marked[0][1] and CONFIG in marked[0][1]
    assert "(review: gitpar took y's side" in git(xy, "log", "-1", "--format=%s", "gitpar/_state")


def test_review_in_json_and_dry_run(xy: Path, run) -> None:
    set_plugins(xy, "conflicts: review\nreview: {take: true}")
    before = git(xy, "rev-parse", "main")
    res = run(xy, "integrate", "--dry-run", "--json")
    assert res.code == 0, res
    steps = {s["stream"]: s for s in json.loads(res.out)["steps"]}
    assert steps["y"]["outcome"] == "would merge (review)"
    assert [c["path"] for c in steps["y"]["conflicts"]] == [CONFIG]
    assert git(xy, "rev-parse", "main") == before
    assert git(xy, "branch", "--list", T).strip() == ""
    assert not [a for a in attention(xy, run) if a[1] == "coordination"]
    res = run(xy, "integrate", "--json")
    data = json.loads(res.out)
    assert res.code == 0 and data["ok"] is True
    assert [s["outcome"] for s in data["steps"]] == ["merged", "merged (review)"]


@pytest.mark.parametrize("block,why", [
    (None, "Resolve it on gitpar/y"),
    ("conflicts: stop", "Resolve it on gitpar/y"),
    ("conflicts: review", "plugins.review.take"),
    ('conflicts: review\nreview: {take: ["docs/**"]}', "not listed in plugins.review.take"),
])
def test_without_opting_in_a_conflict_still_stops(xy: Path, run, block: str | None, why: str) -> None:
    if block:
        set_plugins(xy, block)
    res = run(xy, "integrate")
    assert res.code == 1, res
    rows = {line.split()[0]: line for line in res.out.splitlines()[2:] if line.strip()}
    assert "conflicted" in rows["y"] and why in res.err
    assert "YY" not in git(xy, "show", f"{T}:{CONFIG}")
    assert "Gitpar-Review" not in git(xy, "log", "--format=%B", T)
    assert not [a for a in attention(xy, run) if a[1] == "coordination"]


def test_review_stops_at_a_conflict_without_hunks(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "x", "--owns", "x/**", "--shares", "docs/x.md").code == 0
    assert run(repo, "stream", "add", "y", "--owns", "y/**", "--shares", "docs/x.md").code == 0
    commit_plan(repo)
    set_plugins(repo, "conflicts: review\nreview: {take: true}")
    assert run(repo, "start", "x").code == 0
    wx = worktree_of(repo, "x")
    assert run(wx, "lock", "docs/x.md").code == 0
    write(wx / "docs/x.md", "changed by x\n")
    git(wx, "commit", "-qam", "x: change the doc")
    assert run(wx, "finish").code == 0
    assert run(repo, "start", "y").code == 0
    wt = worktree_of(repo, "y")
    assert run(wt, "lock", "docs/x.md", "--no-chain").code == 0  # y deletes the base's version
    git(wt, "rm", "-q", "docs/x.md")
    git(wt, "commit", "-qm", "y: drop the doc")
    assert run(wt, "finish").code == 0
    res = run(repo, "integrate")
    assert res.code == 1, res
    assert "has no hunks to take a side of" in res.err
    assert git(repo, "show", f"{T}:docs/x.md") == "changed by x\n"
