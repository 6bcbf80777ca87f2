"""gitpar run: real worktrees, real subprocesses; ordering checked by recorded timestamps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import commit_plan, git, worktree_of, write

from gitpar.core.history import parse_history
from gitpar.testing import sigint_default

FIVE = {"a": ("1h", []), "b": ("30m", []), "c": ("2h", ["a", "b"]), "d": ("1h", ["c"]), "e": ("3h", [])}


@pytest.fixture
def five(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """``repo`` initialised, with streams a(1h) b(30m) c(2h, after a and b) d(1h, after c) e(3h)."""
    assert run(repo, "init", "--no-hooks").code == 0
    for name, (estimate, deps) in FIVE.items():
        write(repo / f".gitpar/streams/{name}.md",
              f'---\nowns: ["{name}/**"]\ndepends_on: {json.dumps(deps)}\nestimate: {estimate}\n---\n'
              f"Do {name}.\n")
    commit_plan(repo)
    return repo


def events(log: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"start": {}, "end": {}}
    for line in log.read_text().splitlines():
        kind, name, at = line.split()
        assert name not in out[kind], f"{name} ran twice"
        out[kind][name] = float(at)
    return out


def stamp(log: Path, sleep: float = 0.0) -> list[str]:
    """A command that records its start and end (nanosecond clock) in ``log``."""
    return ["sh", "-c", f"echo start {{stream}} $(date +%s.%N) >> {log}; sleep {sleep}; "
                        f"echo end {{stream}} $(date +%s.%N) >> {log}"]


def state_file(r: Path, path: str) -> str:
    return git(r, "show", f"gitpar/_state:{path}")


def test_run_all_orders_by_dependencies_and_bounds_parallelism(five: Path, run, tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    res = run(five, "run", "-j", "2", "--all", "--finish", "--", *stamp(log, 0.3))
    assert res.code == 0, res
    ev = events(log)
    assert set(ev["start"]) == set(ev["end"]) == set(FIVE)
    st, en = ev["start"], ev["end"]
    assert st["c"] >= max(en["a"], en["b"]) and st["d"] >= en["c"]
    points = sorted([(t, 1) for t in st.values()] + [(t, -1) for t in en.values()])
    running = peak = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    assert peak <= 2
    # longest remaining path first: a (4h to the end), b (3h30m), then e (3h)
    started = [line.split(":")[1].strip() for line in res.err.splitlines() if line.endswith(": started")]
    assert started[:2] == ["a", "b"]
    for name in FIVE:  # each stream was started: branch, worktree, progress
        assert worktree_of(five, name).is_dir()
        assert "status: completed" in state_file(five, f"progress/{name}.md")
    assert "5 ok" in res.err


def test_failure_skips_dependents_and_independent_streams_go_on(five: Path, run, tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    res = run(five, "run", "-j", "2", "--all", "--finish", "--", "sh", "-c",
              f"echo start {{stream}} >> {log}; [ {{stream}} != b ] || exit 3")
    assert res.code == 1, res
    started = {line.split()[1] for line in log.read_text().splitlines()}
    assert started == {"a", "b", "e"}
    assert "b: failed" in res.err and "exited 3" in res.err
    assert "c: skipped: dependency b failed" in res.err
    assert "d: skipped: dependency c was skipped" in res.err
    logs = list((five / ".git/gitpar/logs/b").glob("run-*.log"))
    assert len(logs) == 1 and "[exit 3]" in logs[0].read_text()


def test_halt_now_ends_the_running_commands(five: Path, run, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    began = time.monotonic()
    res = run(five, "run", "-j", "3", "--halt", "now,fail=1", "--streams", "a,b,e", "--", "sh", "-c",
              f"[ {{stream}} != b ] || exit 1; echo $$ >> {pids}; exec sleep 30")
    assert res.code == 1, res
    assert time.monotonic() - began < 20
    assert "--halt now,fail=1" in res.err
    for pid in pids.read_text().split():
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    assert "cancelled" in res.err


def test_retries_with_backoff_then_success(five: Path, run, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    res = run(five, "run", "--streams", "e", "--retries", "2", "--retry-delay", "0.05s", "--",
              "sh", "-c", f"echo x >> {counter}; [ $(wc -l < {counter}) -ge 3 ]")
    assert res.code == 0, res
    assert len(counter.read_text().splitlines()) == 3
    assert "retry 1 of 2" in res.err and "retry 2 of 2" in res.err
    assert "e: ok" in res.err


def test_timeout_ends_the_command(five: Path, run) -> None:
    began = time.monotonic()
    res = run(five, "run", "--streams", "e", "--timeout", "0.3s", "--record", "--", "sleep", "30")
    assert res.code == 1, res
    assert time.monotonic() - began < 20
    assert "e: timeout" in res.err and "timed out after 0.3s" in res.err
    history = parse_history("e", state_file(five, "history/e.md"))
    assert history[-1].outcome == "timeout" and history[-1].exit == -signal.SIGTERM


def test_placeholders_and_environment(five: Path, run) -> None:
    res = run(five, "run", "--streams", "e", "--tag", "--", "sh", "-c",
              "echo {stream} {worktree} {port} {{stream}} ${GITPAR_STREAM} $GITPAR_PORT $GITPAR_SLOT; "
              "pwd; echo \"$1\"", "sh", "{brief}")
    assert res.code == 0, res
    wt = worktree_of(five, "e")
    lines = res.out.splitlines()
    assert lines[0] == f"e\te {wt} 20000 {{stream}} e 20000 1"
    assert lines[1] == f"e\t{wt}"
    assert lines[2] == "e\tDo e."


@pytest.mark.parametrize("args, words", [
    (["-j", "0", "--", "true"], ["-j", "'0'"]),
    (["--timeout", "never", "--", "true"], ["--timeout", "'never'"]),
    (["--", "echo", "{strem}"], ["unknown placeholder {strem}", "{stream}"]),
    (["--", "no-such-command-xyz"], ["no-such-command-xyz", "PATH"]),
    (["--halt", "sometimes", "--", "true"], ["--halt"]),
    (["--streams", "zz", "--", "true"], ["no stream named 'zz'"]),
    (["--ready", "--all", "--", "true"], ["exclude each other"]),
    (["--resume", "--", "true"], ["--joblog"]),
    (["--all"], ["no command"]),
])
def test_bad_input_runs_nothing(five: Path, run, args: list[str], words: list[str]) -> None:
    res = run(five, "run", *args)
    assert res.code == 2, res
    for word in words:
        assert word in res.err
    assert "Traceback" not in res.err
    assert "gitpar/a" not in git(five, "branch", "--list", "gitpar/*")  # nothing started


def test_a_cycle_or_a_bad_estimate_runs_nothing(five: Path, run) -> None:
    write(five / ".gitpar/streams/a.md", '---\nowns: ["a/**"]\ndepends_on: [d]\n---\n')
    res = run(five, "run", "--all", "--", "true")
    assert res.code == 2 and "a -> d -> c -> a" in res.err
    write(five / ".gitpar/streams/a.md", '---\nowns: ["a/**"]\nestimate: 2 weeks-ish\n---\n')
    res = run(five, "run", "--all", "--", "true")
    assert res.code == 2 and "2 weeks-ish" in res.err
    assert git(five, "branch", "--list", "gitpar/*").split() == ["gitpar/_state"]


def test_a_missing_program_fails_each_stream_not_the_run(five: Path, run) -> None:
    res = run(five, "run", "--streams", "a,e", "--", "./missing.sh")
    assert res.code == 1, res
    assert "a: failed" in res.err and "command not found: ./missing.sh" in res.err
    assert "e: failed" in res.err
    assert "Traceback" not in res.err and "internal error" not in res.err


def test_streams_waiting_on_streams_outside_the_run_are_refused(five: Path, run) -> None:
    res = run(five, "run", "--streams", "c", "--", "true")
    assert res.code == 1, res
    assert "'c' depends on 'a' (pending)" in res.err


def test_ready_finish_and_learned_estimates(five: Path, run) -> None:
    res = run(five, "run", "--ready", "--finish", "--", "true")
    assert res.code == 0, res
    for name in ("a", "b", "e"):
        assert "status: completed" in state_file(five, f"progress/{name}.md")
        [record] = parse_history(name, state_file(five, f"history/{name}.md"))
        assert record.exit == 0 and record.finish and record.command == "true"
    assert "history/c.md" not in git(five, "ls-tree", "-r", "--name-only", "gitpar/_state")
    # c is ready now; the run's estimates come from history for the streams that have it
    dry = json.loads(run(five, "run", "--all", "--dry-run", "--json", "--", "true").out)
    assert [r["stream"] for r in dry["runs"]] == ["c", "d"]
    res = run(five, "run", "--streams", "a,e", "--dry-run", "--json", "--", "true")
    sources = {r["stream"]: r["estimate_source"] for r in json.loads(res.out)["runs"]}
    assert sources == {"a": "history", "e": "history"}
    plan = json.loads(run(five, "plan", "--json").out)
    assert plan["critical_path"] == ["c", "d"]


def test_dry_run_starts_nothing(five: Path, run) -> None:
    res = run(five, "run", "-j", "2", "--dry-run", "--", "echo", "{stream}", "{worktree}")
    assert res.code == 0, res
    assert "planned length 4h" in res.out
    assert "echo a " in res.out  # the text cuts a long command; the JSON has it whole
    data = json.loads(run(five, "run", "-j", "2", "--dry-run", "--json", "--", "echo", "{worktree}").out)
    assert {r["stream"]: r["command"][1] for r in data["runs"]}["a"].endswith(".gitpar/a")
    assert git(five, "branch", "--list", "gitpar/*").split() == ["gitpar/_state"]


def test_joblog_and_resume_failed(five: Path, run, tmp_path: Path) -> None:
    joblog = tmp_path / "jobs.tsv"
    marks = tmp_path / "marks"
    fail_b = ["sh", "-c", f"echo {{stream}} >> {marks}; [ {{stream}} != b ] || [ -e {tmp_path}/fixed ]"]
    res = run(five, "run", "--joblog", str(joblog), "--finish", "--", *fail_b)
    assert res.code == 1
    rows = [line.split("\t") for line in joblog.read_text().splitlines()]
    assert rows[0][:3] == ["Seq", "Stream", "Starttime"]
    assert {r[1]: r[6] for r in rows[1:]} == {"a": "0", "b": "1", "e": "0"}
    (tmp_path / "fixed").touch()
    marks.unlink()
    res = run(five, "run", "--joblog", str(joblog), "--resume-failed", "--finish", "--", *fail_b)
    assert res.code == 0, res
    assert marks.read_text().split() == ["b", "c", "d"]
    assert len(joblog.read_text().splitlines()) == 1 + 3 + 3  # appended
    res = run(five, "run", "--joblog", str(joblog), "--resume", "--streams", "a,b,c,d,e", "--", *fail_b)
    assert res.code == 0 and "5 resumed" in res.err


def test_history_is_written_in_one_commit(five: Path, run) -> None:
    before = int(git(five, "rev-list", "--count", "gitpar/_state"))
    for name in FIVE:
        assert run(five, "start", name, "--force").code == 0
    started = int(git(five, "rev-list", "--count", "gitpar/_state"))
    assert started == before + 5
    res = run(five, "run", "--all", "--record", "--", "true")
    assert res.code == 0, res
    assert int(git(five, "rev-list", "--count", "gitpar/_state")) == started + 1
    # c and d wait for a, b and c to be completed, which --record does not do
    assert "3 run records (a, b, e)" in git(five, "log", "-1", "--format=%s", "gitpar/_state")


def test_ctrl_c_ends_the_children_and_records_what_finished(five: Path, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    cmd = [sys.executable, "-m", "gitpar", "run", "-j", "2", "--streams", "a,e", "--record", "--", "sh", "-c",
           f"[ {{stream}} = a ] && exit 0; echo $$ >> {pids}; exec sleep 60"]
    proc = subprocess.Popen(cmd, cwd=five, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let a finish too
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    pid = int(pids.read_text().split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "interrupted" in err
    assert parse_history("a", state_file(five, "history/a.md"))[-1].exit == 0
    assert "history/e.md" not in git(five, "ls-tree", "-r", "--name-only", "gitpar/_state")


def test_halt_soon_starts_nothing_more(five: Path, run, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    res = run(five, "run", "-j", "1", "--halt", "soon,fail=1", "--streams", "a,b,e", "--",
              "sh", "-c", f"echo {{stream}} >> {marks}; exit 1")
    assert res.code == 1, res
    assert marks.read_text().split() == ["e"]  # e (3h) goes first: c and d are not in this run
    assert "b: failed" not in res.err and "not started: --halt soon,fail=1" in res.err


def test_starting_streams_needs_the_state_branch(repo: Path, run) -> None:
    write(repo / ".gitpar/plan.md", "---\nbase: main\n---\n")
    write(repo / ".gitpar/streams/a.md", '---\nowns: ["a/**"]\n---\n')
    commit_plan(repo)
    res = run(repo, "run", "--all", "--", "true")
    assert res.code == 1, res
    assert "gitpar init" in res.err
    assert run(repo, "run", "--all", "--dry-run", "--", "true").code == 1


def test_run_starts_ready_streams_in_the_order_of_the_plans_schedule(repo: Path, run, tmp_path: Path) -> None:
    # 3h, 3h, 2h, 2h, 2h on two workers: starting the longest first (a list schedule by
    # remaining path) takes 7h; the plan's schedule (6h) puts a and b on one worker, so
    # the run, which follows it, starts a and c first, and b only after one of them
    assert run(repo, "init", "--no-hooks").code == 0
    for name, estimate in {"a": "3h", "b": "3h", "c": "2h", "d": "2h", "e": "2h"}.items():
        write(repo / f".gitpar/streams/{name}.md", f'---\nowns: ["{name}/**"]\nestimate: {estimate}\n---\n')
    commit_plan(repo)
    planned = json.loads(run(repo, "plan", "--workers", "2", "--json").out)
    assert planned["makespan_s"] == 6 * 3600
    start = {s["name"]: s["start_s"] for s in planned["streams"]}
    assert start["a"] == start["c"] == 0 and start["b"] == 3 * 3600
    dry = json.loads(run(repo, "run", "-j", "2", "--all", "--dry-run", "--json", "--", "true").out)
    assert dry["makespan_s"] == 6 * 3600
    log = tmp_path / "events.log"
    res = run(repo, "run", "-j", "2", "--all", "--", *stamp(log, 0.3))
    assert res.code == 0, res
    st = events(log)["start"]
    assert sorted(sorted(st, key=st.__getitem__)[:2]) == ["a", "c"]  # longest-first would start a and b
