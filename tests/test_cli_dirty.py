"""Dirty scans that scale (``core/status.DirtyScans``): with ``--dirty auto`` a worktree too big
for the time budget is not scanned, and status says so with the way to scan it; git's fast
paths are used where configured (a file system monitor: no worktree is too big; the untracked
cache: git status in the mode that uses it). Real repositories and worktrees, a generated big
worktree, and the budget made small so that the test stays fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitpar.core import status
from gitpar.core.repo import open_repo
from gitpar.core.status import collect, start_scans
from gitpar.testing import git, hermetic, make_repo, run, worktree_of

BIG = 1500  # files in the big worktree
BUDGET = 0.5  # seconds: time enough for every scan here ...
RATE = 2000  # ... while git is taken to look at 2,000 files a second: 1,000 files fit in the budget


@pytest.fixture(autouse=True)
def slow_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status, "FILES_PER_SECOND", RATE)


@pytest.fixture
def two(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A repository with two started streams: big (BIG committed files) and small (one)."""
    with hermetic(tmp_path / "home"):
        repo = make_repo(tmp_path / "repo", files={"big/0.txt": "0\n", "small/a.txt": "a\n"},
                         streams={"big": {"owns": ["big/**"]}, "small": {"owns": ["small/**"]}})
        for name in ("big", "small"):
            assert run(repo, "start", name).code == 0
        wt = worktree_of(repo, "big")
        for i in range(1, BIG):
            (wt / "big" / f"{i}.txt").write_text(f"{i}\n")
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", "many files")
        yield repo


def evidence(repo: Path, dirty: str = "auto", budget: float = BUDGET) -> dict[str, dict]:  # type: ignore[type-arg]
    r = open_repo(repo)
    st = collect(r, r.load_plan(), dirty=dirty, scans=start_scans(r, dirty, budget=budget), forecast=False)
    return {s.name: s.evidence for s in st.streams} | {"_notes": {"notes": st.notes}}


def test_a_worktree_too_big_for_the_budget_is_not_scanned_and_says_how(two: Path) -> None:
    (worktree_of(two, "big") / "big/1.txt").write_text("changed\n")
    (worktree_of(two, "small") / "small/a.txt").write_text("changed\n")
    ev = evidence(two)
    assert ev["big"]["dirty"] is None and ev["big"]["dirty_files"] is None
    said = ev["big"]["dirty_scan"]
    assert said.startswith("not scanned: 1,5") and int(said.split()[2].replace(",", "")) >= BIG, said
    assert said.endswith(" files, more than --dirty auto's 500 ms can look at; --dirty all scans it"), said
    assert ev["small"]["dirty"] is True and ev["small"]["dirty_scan"] is None  # small enough: scanned
    assert "1 worktrees were not scanned" in ev["_notes"]["notes"][0]
    every = evidence(two, "all")
    assert every["big"]["dirty"] is True and every["big"]["dirty_scan"] is None  # the way it names
    wide = evidence(two, budget=2 * BIG / RATE)  # a budget it fits in
    assert wide["big"]["dirty"] is True and wide["big"]["dirty_scan"] is None


def test_a_completed_streams_worktree_is_scanned_whatever_its_size(two: Path) -> None:
    """A claim depends on it (completed but uncommitted files is attention)."""
    wt = worktree_of(two, "big")
    assert run(wt, "finish").code == 0
    (wt / "big/new.txt").write_text("left behind\n")
    assert evidence(two)["big"]["dirty"] is True


def test_with_a_file_system_monitor_no_worktree_is_too_big(two: Path, tmp_path: Path) -> None:
    hook = tmp_path / "fsmonitor-hook"
    hook.write_text("#!/bin/sh\nexit 1\n")  # a monitor that cannot tell: git then looks at every file
    hook.chmod(0o755)
    git(two, "config", "core.fsmonitor", str(hook))
    (worktree_of(two, "big") / "big/1.txt").write_text("changed\n")
    r = open_repo(two)
    assert start_scans(r, "auto", budget=BUDGET).skipped == {}  # started, whatever its size
    ev = evidence(two)
    assert ev["big"]["dirty"] is True and ev["big"]["dirty_scan"] is None
    git(two, "config", "core.fsmonitor", "false")
    assert "big" in start_scans(open_repo(two), "auto", budget=BUDGET).skipped


@pytest.mark.parametrize("cache", ["false", "true"])
def test_the_untracked_cache_mode_tells_dirt_the_same(two: Path, cache: str) -> None:
    git(two, "config", "core.untrackedCache", cache)
    small = worktree_of(two, "small")
    git(small, "status")  # the user's own git status writes the cache into the index
    assert evidence(two)["small"]["dirty"] is False
    for i in range(3):
        (small / "small/new").mkdir(exist_ok=True)
        (small / f"small/new/{i}.txt").write_text("x\n")
    ev = evidence(two)["small"]
    assert ev["dirty"] is True
    # the untracked cache's mode lists an untracked folder once; without it, each file
    assert ev["dirty_files"] == (1 if cache == "true" else 3)


def test_status_shows_a_worktree_not_scanned(two: Path) -> None:
    """Through the command: the JSON row's dirty_scan, and 'not scanned' in the table (git
    taken as slow enough that the default budget fits half the big worktree)."""
    code = ("import sys; import gitpar.core.status as s; s.FILES_PER_SECOND = %r\n"
            "from gitpar.cli.main import main; sys.exit(main(sys.argv[1:]))" % (BIG / 2 / s_budget()))
    got = subprocess.run([sys.executable, "-c", code, "status", "--json", "--offline"], cwd=two,
                         capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    rows = {s["stream"]: s for s in json.loads(got.stdout)["streams"]}
    assert rows["big"]["git"]["dirty_scan"].startswith("not scanned: 1,5")
    assert rows["small"]["git"]["dirty"] is False
    table = subprocess.run([sys.executable, "-c", code, "status", "--offline"], cwd=two, capture_output=True,
                           text=True)
    assert "not scanned" in table.stdout and "small" in table.stdout


def s_budget() -> float:
    return status.DIRTY_BUDGET_S
