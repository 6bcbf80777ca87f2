"""Locks on resources that are not files (``gitpar lock --resource``): the same holds, TTL,
``--wait``, take-over of a stale holder, audit log and remote coordination as file locks.

Real repositories, real worktrees, the state branch read with git; the remote is a real bare
repository that two clones push to.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import git, worktree_of
from servers import serve

STATE = "refs/heads/gitpar/_state"


def gitpar_proc(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitpar", *args], cwd=cwd, capture_output=True, text=True)


def state_tip(repo: Path) -> str:
    return git(repo, "rev-parse", STATE).strip()


def test_a_resource_has_one_holder_at_a_time_and_the_log_says_who(started: Path, run) -> None:  # type: ignore[no-untyped-def]
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    assert run(api, "lock", "--resource", "gpu:0", "--reason", "training").code == 0
    refused = run(ui, "lock", "--resource", "gpu:0")
    assert refused.code == 1, refused.text
    assert "resource gpu:0 is held by stream api" in refused.err and "--resource gpu:0" in refused.err
    text = git(started, "show", f"{STATE}:resources/gpu:0.lock")
    assert 'resource: "gpu:0"' in text and "stream: api" in text and "reason: training" in text
    assert run(api, "lock", "--resource", "gpu:0", "--reason", "training").code == 0  # its holder renews it
    data = json.loads(run(started, "locks", "--json").out)
    assert data["locks"] == [] and [(r["resource"], r["stream"]) for r in data["resources"]] == [("gpu:0", "api")]
    assert "resource gpu:0" in run(started, "locks").out
    who = json.loads(run(ui, "who", "--resource", "gpu:0", "--resource", "port:1", "--json").out)["resources"]
    assert [(r["resource"], r["held_by"]) for r in who] == [("gpu:0", "api"), ("port:1", None)]
    assert run(ui, "who", "--resource", "a/b").code == 2
    # the ui stream's files are untouched by it: a resource is no path
    assert run(ui, "lock", "src/config.py").code == 0
    refused = run(ui, "unlock", "--resource", "gpu:0")
    assert refused.code == 1 and "held by stream api" in refused.err
    assert run(ui, "unlock", "--resource", "gpu:0", "--force").code == 0
    log = git(started, "log", "--format=%s", STATE)
    assert "lock resource gpu:0 for api: training" in log
    assert "break resource gpu:0 (held by api)" in log and "as ui" in log
    assert run(ui, "lock", "--resource", "gpu:0", "--resource", "db:dev").code == 0  # all or none, one commit
    assert git(started, "log", "-1", "--format=%s", STATE).strip() == "lock resource gpu:0, db:dev for ui"


def test_wait_takes_the_resource_when_its_holder_releases_it(started: Path) -> None:
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    assert gitpar_proc(api, "lock", "--resource", "port:8080").returncode == 0

    def release() -> None:
        time.sleep(1.0)
        gitpar_proc(api, "unlock", "--resource", "port:8080")

    t = threading.Thread(target=release)
    t.start()
    waited = gitpar_proc(ui, "lock", "--resource", "port:8080", "--wait", "30")
    t.join()
    assert waited.returncode == 0, waited
    assert "waiting: resource port:8080 is held by api" in waited.stderr
    assert "stream: ui" in git(started, "show", f"{STATE}:resources/port:8080.lock")


def test_an_expired_hold_is_taken_over_and_said_so(started: Path) -> None:
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    assert gitpar_proc(api, "lock", "--resource", "db:dev", "--ttl", "1s").returncode == 0
    time.sleep(2.5)  # expiry times are whole seconds, rounded up
    took = gitpar_proc(ui, "lock", "--resource", "db:dev")
    assert took.returncode == 0 and "took over the stale hold on resource db:dev from api" in took.stderr
    assert "took over the stale hold on resource db:dev held by api" in git(started, "log", "-1", "--format=%B", STATE)


@pytest.mark.parametrize("name", ["", "a/b", "..", "x..y", "../etc", "a b", "-x", "é"])
def test_bad_resource_names_are_bad_input_and_change_nothing(started: Path, name: str) -> None:
    api = worktree_of(started, "api")
    before = state_tip(started)
    for args in (["lock", "--resource", name], ["unlock", "--resource", name]):
        r = gitpar_proc(api, *args)
        assert r.returncode == 2, r
        assert "--resource" in r.stderr and "Traceback" not in r.stderr
    assert state_tip(started) == before
    r = gitpar_proc(api, "lock", "src/api/a.py", "--resource", "gpu:0")
    assert r.returncode == 2 and "two 'gitpar lock' calls" in r.stderr
    assert state_tip(started) == before


def test_two_clones_coordinate_a_resource_through_the_remote(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    with serve("file", tmp_path / "server") as url:
        a = tmp_path / "alice"
        a.mkdir()
        git(a, "init", "-q", "-b", "main")
        (a / "src").mkdir()
        (a / "src/x.py").write_text("x\n")
        git(a, "add", "-A")
        git(a, "commit", "-qm", "init")
        git(a, "remote", "add", "origin", url)
        git(a, "push", "-q", "origin", "main")
        assert run(a, "init", "--remote", "origin", "--no-hooks").code == 0
        for name in ("api", "ui"):
            assert run(a, "stream", "add", name, "--owns", f"src/{name}/**").code == 0
        git(a, "add", "-A")
        git(a, "commit", "-qm", "plan")
        git(a, "push", "-q", "origin", "main")
        assert run(a, "start", "api").code == 0
        b = tmp_path / "bob"
        git(tmp_path, "clone", "-q", url, str(b))
        assert run(b, "init", "--no-hooks").code == 0
        assert run(b, "start", "ui").code == 0
        aw, bw = worktree_of(a, "api"), worktree_of(b, "ui")
        assert run(aw, "lock", "--resource", "gpu:0").code == 0
        refused = run(bw, "lock", "--resource", "gpu:0")
        assert refused.code == 1 and "held by stream api" in refused.err, refused.text
        assert run(aw, "unlock", "--resource", "gpu:0").code == 0
        assert run(bw, "lock", "--resource", "gpu:0").code == 0
        held = json.loads(run(a, "locks", "--json").out)["resources"]
        assert [(r["resource"], r["stream"]) for r in held] == [("gpu:0", "ui")], "alice does not see bob's hold"


# -- resources: in stream files, and the scheduler -----------------------------------------------


@pytest.fixture
def gpu_plan(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """Streams a, b, c (1h each, independent); a and b need gpu:0, c needs nothing."""
    from conftest import commit_plan, write

    assert run(repo, "init", "--no-hooks").code == 0
    for name, res in (("a", ["gpu:0"]), ("b", ["gpu:0", "db:dev"]), ("c", [])):
        write(repo / f".gitpar/streams/{name}.md",
              f'---\nowns: ["{name}/**"]\nestimate: 1h\nresources: {json.dumps(res)}\n---\nDo {name}.\n')
    commit_plan(repo)
    return repo


def test_the_schedule_never_runs_two_streams_needing_one_resource_at_once(gpu_plan: Path, run) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run(gpu_plan, "plan", "--workers", "3", "--json").out)
    slots = {s["name"]: (s["start_s"], s["finish_s"]) for s in data["streams"]}
    (a0, a1), (b0, b1) = slots["a"], slots["b"]
    assert a1 <= b0 or b1 <= a0, slots  # a and b one after the other
    assert data["makespan_s"] == 7200 and data["lower_bound_s"] == 7200  # and c beside them


def test_a_plan_without_resources_schedules_as_before() -> None:
    from gitpar.core import schedule as sch

    tasks = [sch.Task("a", 3), sch.Task("b", 3), sch.Task("c", 1), sch.Task("d", 2, ("c",))]
    assert sch.Graph.build(tasks).res is None
    assert sch.makespan(tasks, 2) == 5.0
    same = [sch.Task(t.name, t.duration, t.deps, t.priority, ("gpu",) if t.name in "ab" else ()) for t in tasks]
    assert sch.makespan(same, 4) == 6.0 and sch.lower_bound(same, 4) == 6.0


@pytest.mark.parametrize(("value", "said"), [("5", "must be a list of resource names"),
                                            ('["a/b"]', "not a path"), ('[""]', "empty"),
                                            ('["..x"]', "not a path"), ("gpu", "must be a list")])
def test_bad_resources_in_a_stream_file_are_a_plan_error(repo: Path, run, value: str, said: str) -> None:  # type: ignore[no-untyped-def]
    from conftest import write

    assert run(repo, "init", "--no-hooks").code == 0
    write(repo / ".gitpar/streams/a.md", f'---\nowns: ["a/**"]\nresources: {value}\n---\n')
    r = run(repo, "plan")
    assert r.code == 2 and ".gitpar/streams/a.md" in r.err and "resources" in r.err and said in r.err, r


def test_gitpar_run_never_runs_two_streams_needing_one_resource_at_once(gpu_plan: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "events.log"
    held = tmp_path / "gpu-held"
    # each command takes the GPU "by hand": mkdir fails if another holds it
    cmd = ["sh", "-c", f"echo start {{stream}} $(date +%s.%N) >> {log}; "
                       f"case {{stream}} in a|b) mkdir {held} || exit 7;; esac; sleep 0.4; "
                       f"case {{stream}} in a|b) rmdir {held};; esac; echo end {{stream}} $(date +%s.%N) >> {log}"]
    res = run(gpu_plan, "run", "-j", "3", "--all", "--", *cmd)
    assert res.code == 0, res
    ev: dict[str, dict[str, float]] = {"start": {}, "end": {}}
    for line in log.read_text().splitlines():
        kind, name, at = line.split()
        ev[kind][name] = float(at)
    assert set(ev["end"]) == {"a", "b", "c"}
    first, second = sorted("ab", key=lambda n: ev["start"][n])
    assert ev["start"][second] >= ev["end"][first]
    assert ev["start"]["c"] < ev["end"][first]  # c needs no resource: it ran beside them


# -- a dead holder is noticed --------------------------------------------------------------------


def test_a_lock_whose_holder_process_ended_is_taken_over_at_once(started: Path) -> None:
    import os

    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    holder = subprocess.Popen(["sleep", "60"])
    env = dict(os.environ, GITPAR_HOLDER_PID=str(holder.pid))
    for args in (["lock", "src/config.py"], ["lock", "--resource", "gpu:0"]):
        r = subprocess.run([sys.executable, "-m", "gitpar", *args], cwd=api, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r
    text = git(started, "show", f"{STATE}:locks/src/config.py.lock")
    assert f"holder_pid: {holder.pid}" in text and "holder_started:" in text
    assert gitpar_proc(ui, "lock", "src/config.py").returncode == 1  # alive: held
    data = json.loads(gitpar_proc(started, "locks", "--json").stdout)
    assert [lk["stale"] for lk in data["locks"] + data["resources"]] == [None, None]
    holder.kill()
    holder.wait()
    data = json.loads(gitpar_proc(started, "locks", "--json").stdout)
    assert all("holder gone" in (lk["stale"] or "") for lk in data["locks"] + data["resources"]), data
    assert "holder gone" in gitpar_proc(started, "locks").stdout
    status = gitpar_proc(started, "status", "--json").stdout
    assert "src/config.py: holder gone" in status and "resource gpu:0: holder gone" in status
    for args in (["lock", "src/config.py"], ["lock", "--resource", "gpu:0"]):
        took = gitpar_proc(ui, *args)
        assert took.returncode == 0 and "took over the stale" in took.stderr, took
    assert "held by api" in git(started, "log", "-1", "--format=%B", STATE)


def test_a_reused_pid_is_not_the_holder() -> None:
    import os
    import socket

    from gitpar.core.locks.holders import holder_gone, process_start
    from gitpar.core.locks.model import Lock

    me = os.getpid()
    alive = Lock("p", "api", "", "", "", host=socket.gethostname(), holder_pid=me, holder_started=process_start(me) or "")
    assert holder_gone(alive) is None
    reused = Lock("p", "api", "", "", "", host=socket.gethostname(), holder_pid=me, holder_started="1")
    assert "another process" in (holder_gone(reused) or "")
    elsewhere = Lock("p", "api", "", "", "", host="another-host", holder_pid=999_999_999)
    assert holder_gone(elsewhere) is None  # only this host's processes can be asked


def test_a_lock_not_renewed_within_the_plans_heartbeat_has_a_holder_gone(started: Path) -> None:
    from conftest import commit_plan

    plan = started / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("lock_ttl: 2h", "lock_ttl: 2h\nlock_heartbeat: 2s"))
    assert "lock_heartbeat: 2s" in plan.read_text()
    commit_plan(started)
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    assert gitpar_proc(api, "lock", "--resource", "db:dev").returncode == 0
    assert gitpar_proc(ui, "lock", "--resource", "db:dev").returncode == 1  # renewed just now: held
    time.sleep(3.2)
    held = json.loads(gitpar_proc(started, "locks", "--json").stdout)["resources"]
    assert "not renewed" in (held[0]["stale"] or "") and "lock_heartbeat" in held[0]["stale"], held
    took = gitpar_proc(ui, "lock", "--resource", "db:dev")
    assert took.returncode == 0 and "took over the stale hold on resource db:dev from api" in took.stderr, took


def test_a_bad_heartbeat_is_a_plan_error(planned: Path) -> None:
    plan = planned / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("lock_ttl: 2h", "lock_ttl: 2h\nlock_heartbeat: often"))
    r = gitpar_proc(planned, "plan")
    assert r.returncode == 2 and "lock_heartbeat" in r.stderr and "Traceback" not in r.stderr, r


def test_a_holder_taken_over_that_comes_back_is_refused_by_the_fencing_number(started: Path) -> None:
    import os

    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    holder = subprocess.Popen(["sleep", "60"])
    env = dict(os.environ, GITPAR_HOLDER_PID=str(holder.pid))
    r = subprocess.run([sys.executable, "-m", "gitpar", "lock", "--resource", "db:dev"], cwd=api, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "db:dev (fence 1)" in r.stderr, r
    assert "fence: 1" in git(started, "show", f"{STATE}:resources/db:dev.lock")
    holder.kill()
    holder.wait()  # api's worker looks dead: ui takes the database over
    took = gitpar_proc(ui, "lock", "--resource", "db:dev")
    assert took.returncode == 0 and "(fence 2)" in took.stderr, took
    assert gitpar_proc(ui, "unlock", "--resource", "db:dev").returncode == 0
    assert git(started, "show", f"{STATE}:resources/db:dev.fence").strip() == "2"  # outlives the hold
    # api's worker was only paused; it comes back and renews "its" hold: refused, not renewed
    back = gitpar_proc(api, "lock", "--resource", "db:dev")
    assert back.returncode == 1 and "taken over since this worker took it (its fence 1" in back.stderr, back
    assert "resources/db:dev.lock" not in git(started, "ls-tree", "-r", "--name-only", STATE)
    assert gitpar_proc(api, "unlock", "--resource", "db:dev").returncode == 0  # drops its claim
    again = gitpar_proc(api, "lock", "--resource", "db:dev")
    assert again.returncode == 0 and "(fence 3)" in again.stderr, again


# -- resources under the plan's lock strategy -----------------------------------------------------


def test_the_plans_lock_strategy_decides_a_resource_contention_too(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """``plugins: {locks: priority}``: a released resource goes to the higher-priority waiter,
    the waiting list kept beside the resource's file, as for a file lock."""
    import textwrap

    from conftest import _make_repo, commit_plan

    repo = _make_repo(tmp_path / "r")
    assert run(repo, "init", "--no-hooks").code == 0
    for name, priority in (("holder", 0), ("low", 1), ("high", 5)):
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**", "--priority", str(priority)).code == 0
    plan = repo / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins:\n" + textwrap.indent("locks: priority", "  ") + text[end:])
    commit_plan(repo)
    for name in ("holder", "low", "high"):
        assert run(repo, "start", name).code == 0

    def waiting() -> list[str]:
        proc = subprocess.run(["git", "show", f"{STATE}:resources/gpu:0.waiting"], cwd=repo, capture_output=True,
                              text=True)
        from gitpar.core.locks import parse_waiting

        return [w.stream for w in parse_waiting("x", proc.stdout)] if proc.returncode == 0 else []

    def until(check, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 30
        while not check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def locker(stream: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "gitpar", "lock", "--resource", "gpu:0", "--stream", stream,
                                 "--wait", "60"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    assert gitpar_proc(repo, "lock", "--resource", "gpu:0", "--stream", "holder").returncode == 0
    low = locker("low")
    until(lambda: waiting() == ["low"], "low to wait")
    high = locker("high")
    until(lambda: waiting() == ["low", "high"], "high to wait")
    try:
        assert "locks/gpu:0.waiting" not in git(repo, "ls-tree", "-r", "--name-only", STATE)  # not a file lock's
        assert gitpar_proc(repo, "unlock", "--resource", "gpu:0", "--stream", "holder").returncode == 0
        _, err = high.communicate(timeout=30)
        assert high.returncode == 0 and "(fence 2)" in err, err
        assert low.poll() is None and waiting() == ["low"]  # still waiting, now for high
        assert gitpar_proc(repo, "unlock", "--resource", "gpu:0", "--stream", "high").returncode == 0
        _, err = low.communicate(timeout=30)
        assert low.returncode == 0 and "waiting:" in err and "(fence 3)" in err, err
    finally:
        for p in (low, high):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert waiting() == []
    subjects = git(repo, "log", "--reverse", "--format=%s", STATE).splitlines()
    assert [s for s in subjects if s.startswith("lock resource gpu:0")] == [
        "lock resource gpu:0 for holder", "lock resource gpu:0 for high", "lock resource gpu:0 for low"]
    assert any(s.startswith("wait for resource gpu:0: low") for s in subjects), subjects


def test_the_report_shows_each_resource_its_holder_fence_and_who_needs_it(gpu_plan: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run(gpu_plan, "start", "a").code == 0
    holder = subprocess.Popen(["sleep", "60"])
    import os

    try:
        r = subprocess.run([sys.executable, "-m", "gitpar", "lock", "--resource", "gpu:0", "--stream", "a",
                            "--reason", "training"], cwd=gpu_plan, capture_output=True, text=True,
                           env=dict(os.environ, GITPAR_HOLDER_PID=str(holder.pid)))
        assert r.returncode == 0, r
        data = json.loads(run(gpu_plan, "report", "--json").out)
    finally:
        holder.kill()
        holder.wait()
    shown = {x["name"]: x for x in data["resources"]}
    assert shown["gpu:0"]["stream"] == "a" and shown["gpu:0"]["fence"] == 1 and shown["gpu:0"]["stale"] is None
    assert shown["gpu:0"]["needed_by"] == ["a", "b"] and shown["gpu:0"]["reason"] == "training"
    assert shown["db:dev"]["stream"] == "" and shown["db:dev"]["needed_by"] == ["b"]  # needed, held by nobody
    page = tmp_path / "report.html"
    assert run(gpu_plan, "report", "--html", str(page)).code == 0
    html = page.read_text()
    section = html[html.index('id="resources"'):]
    assert "<code>gpu:0</code>" in section and "holder gone" in section and "training" in section, section[:2000]
    assert "<code>db:dev</code>" in section and "free" in section
