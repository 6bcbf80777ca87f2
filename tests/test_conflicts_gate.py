"""gitpar conflicts --test CMD: the gate run on each pair of active streams' merged tree, in
temporary worktrees, while they are still at work. One stream renames a function, another
calls the old name in another file: each passes the gate alone, the two break it together."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import commit_plan, git, worktree_of, write

GATE = f"{sys.executable} -c 'import app.feature, lib.util'"


@pytest.fixture
def renamed(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """Streams lib (renames old_name to new_name), app (calls old_name in a file of its
    own) and docs (meets nobody), all in progress with one commit each."""
    write(repo / "lib/__init__.py", "")
    write(repo / "lib/util.py", "def old_name():\n    return 1\n")
    write(repo / "app/__init__.py", "")
    write(repo / "app/feature.py", "FEATURE = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lib and app")
    assert run(repo, "init").code == 0
    for name in ("lib", "app", "docs"):
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**").code == 0
    commit_plan(repo)
    work = {"lib": {"lib/util.py": "def new_name():\n    return 1\n"},
            "app": {"app/feature.py": "from lib.util import old_name\n\nFEATURE = old_name()\n"},
            "docs": {"docs/new.md": "a new page\n"}}
    for name, files in work.items():
        assert run(repo, "start", name).code == 0
        wt = worktree_of(repo, name)
        for path, text in files.items():
            write(wt / path, text)
        git(wt, "add", "-A")
        git(wt, "commit", "-qm", f"{name}: work")
    return repo


def test_a_pair_that_breaks_the_gate_together_is_named(renamed: Path, run) -> None:
    assert run(renamed, "conflicts").code == 0  # no textual conflict: the forecast alone is silent
    res = run(renamed, "conflicts", "--test", GATE)
    assert res.code == 1, res
    assert "app and lib break the gate together" in res.out, res
    log = res.out.split("log: ", 1)[1].split()[0]
    assert "ImportError" in Path(log).read_text() and "old_name" in Path(log).read_text()
    assert "gate: 3 streams alone, 3 pairs merged and tested, 1 breaking it together" in res.err
    data = json.loads(run(renamed, "conflicts", "--test", GATE, "--json").out)
    gate = data["gate"]
    assert gate["together"] == [["app", "lib"]]
    assert {n: r["exit"] for n, r in gate["alone"].items()} == {"lib": 0, "app": 0, "docs": 0}
    assert sorted(tuple(r["streams"]) for r in gate["pairs"]) == [("app", "docs"), ("app", "lib"), ("docs", "lib")]
    # nothing moved: no branch, no worktree left behind
    assert "gitpar-test-" not in git(renamed, "worktree", "list")
    assert git(renamed, "status", "--porcelain") == ""


def test_in_parallel_every_pair_the_same_verdict(renamed: Path, run) -> None:
    res = run(renamed, "conflicts", "--test", GATE, "-j", "3", "--all-pairs", "--json")
    assert res.code == 1, res
    assert json.loads(res.out)["gate"]["together"] == [["app", "lib"]]


def test_the_cap_says_what_was_not_tested(renamed: Path, run) -> None:
    res = run(renamed, "conflicts", "--test", GATE, "--max-pairs", "1")
    assert res.code == 1, res  # app's feature.py names lib's util: the linked pair goes first
    assert "not tested: 2 of 3 pairs" in res.err and "--all-pairs" in res.err, res
    assert "gate: 2 streams alone, 1 pair merged and tested" in res.err


def test_a_stream_failing_alone_is_no_pair_collision(renamed: Path, run) -> None:
    res = run(renamed, "conflicts", "--test", f"{GATE} && test ! -f docs/new.md")
    assert res.code == 1, res  # lib and app still break it together
    assert "docs fails the gate alone" in res.out
    assert "not tested: docs and lib: docs fails the gate alone" in res.err
    data = json.loads(run(renamed, "conflicts", "--test", "test ! -f docs/new.md", "--json").out)
    assert data["gate"]["together"] == [] and data["gate"]["alone"]["docs"]["exit"] == 1


def test_a_textual_conflict_is_not_gated_again(renamed: Path, run) -> None:
    wt = worktree_of(renamed, "docs")
    write(wt / "app/feature.py", "FEATURE = 2\n")  # the line app changed, changed differently
    git(wt, "commit", "-qam", "docs: app's line too", "--no-verify")
    res = run(renamed, "conflicts", "--test", GATE, "--json")
    assert res.code == 1, res
    why = {(u["a"], u["b"]): u["why"] for u in json.loads(res.out)["gate"]["untested"]}
    assert "conflict already" in why[("app", "docs")], why


@pytest.mark.parametrize("args, option", [
    (["--test", ""], "--test"),
    (["--test", " "], "--test"),
    (["--test", "true", "-j", "0"], "-j/--jobs"),
    (["--test", "true", "-j", "abc"], "-j/--jobs"),
    (["--test", "true", "--max-pairs", "0"], "--max-pairs"),
    (["--test", "true", "--max-pairs", "2", "--all-pairs"], "--all-pairs"),
    (["-j", "2"], "--test"),
])
def test_bad_options_exit_2_and_change_nothing(renamed: Path, run, args: list[str], option: str) -> None:
    before = git(renamed, "for-each-ref")
    res = run(renamed, "conflicts", *args)
    assert res.code == 2, res
    assert option in res.err and "fix:" in res.err and "Traceback" not in res.err, res
    assert git(renamed, "for-each-ref") == before
    assert not (renamed / ".git/gitpar/logs/conflicts").exists()


def test_a_stream_that_changed_nothing_costs_no_gate(renamed: Path, run) -> None:
    assert run(renamed, "stream", "add", "idle", "--owns", "idle/**").code == 0
    commit_plan(renamed)
    assert run(renamed, "start", "idle").code == 0
    data = json.loads(run(renamed, "conflicts", "--test", GATE, "--json").out)
    assert "idle" not in data["gate"]["alone"]
    why = [u["why"] for u in data["gate"]["untested"] if "idle" in (u["a"], u["b"])]
    assert len(why) == 3 and all("idle changed nothing yet" in w for w in why), why
    assert data["gate"]["together"] == [["app", "lib"]]


def test_ctrl_c_stops_the_gates_and_leaves_no_worktree(renamed: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    from gitpar.testing import sigint_default

    started = tmp_path / "started"
    gate = f"touch {started}-$GITPAR_STREAM; sleep 120"
    proc = subprocess.Popen([sys.executable, "-m", "gitpar", "conflicts", "--test", gate, "-j", "2"], cwd=renamed,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("started-*"))) < 2:  # two gates at once
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the gates never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "gitpar-test-" not in git(renamed, "worktree", "list")
    assert len(list(tmp_path.glob("started-*"))) == 2  # no gate started after the interrupt
