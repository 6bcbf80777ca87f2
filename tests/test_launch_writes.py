"""The write commands near their floor: ``progress`` answered before typer loads, and the
machine's writers' queue (``store/state.take_queue``) taken with ``flock`` instead of
importing filelock, still excluding filelock's own lock on the same file and every other
writer."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from filelock import FileLock

from gitpar.store.state import take_queue
from gitpar.testing import git, worktree_of


def test_the_queue_and_filelock_exclude_each_other(tmp_path: Path) -> None:
    path = str(tmp_path / "state.lock")
    other = FileLock(path, thread_local=False)
    other.acquire()
    t0 = time.monotonic()
    assert take_queue(path, 0.2) is None  # held by filelock: waited, then gave up
    assert time.monotonic() - t0 >= 0.2
    other.release()
    release = take_queue(path, 0.2)
    assert release is not None
    assert take_queue(path, 0.05) is None  # one holder at a time, in one process too
    blocked = FileLock(path, thread_local=False)
    try:
        blocked.acquire(timeout=0.1)
        raise AssertionError("filelock took the queue while take_queue held it")
    except TimeoutError:
        pass
    release()
    again = take_queue(path, 0.2)
    assert again is not None
    again()


def test_a_waiting_writer_gets_the_queue_when_it_is_released(tmp_path: Path) -> None:
    path = str(tmp_path / "state.lock")
    release = take_queue(path, 1)
    assert release is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(take_queue(path, 10)))
    waiter.start()
    time.sleep(0.2)
    assert not got  # still waiting
    release()
    waiter.join(10)
    assert got and callable(got[0])
    got[0]()  # type: ignore[operator]


def test_a_queue_file_replaced_while_waiting_is_queued_on_anew(tmp_path: Path) -> None:
    """A writer waiting on a file that is deleted and made again must not take the old file's
    lock while another writer holds the new one's: it queues on the new file."""
    path = tmp_path / "state.lock"
    first = take_queue(str(path), 1)
    assert first is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(take_queue(str(path), 10)))
    waiter.start()
    time.sleep(0.2)  # the waiter holds the old file open, waiting for its lock
    path.unlink()
    third = take_queue(str(path), 1)  # the new file at the path
    assert third is not None
    first()  # the old file's lock is free: the waiter must see the file was replaced
    time.sleep(0.3)
    assert not got, "the waiter took the replaced file's lock while the new one is held"
    third()
    waiter.join(10)
    assert got and callable(got[0])
    got[0]()  # type: ignore[operator]


def test_parallel_progress_reports_all_land(started: Path) -> None:
    api = worktree_of(started, "api")
    procs = [subprocess.Popen([sys.executable, "-m", "gitpar", "progress", "--done", f"item{i}"], cwd=api,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(5)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    text = git(started, "show", "gitpar/_state:progress/api.md")
    assert all(f"item{i}" in text for i in range(5)), text
