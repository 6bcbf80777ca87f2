"""The merge queue (gitpar integrate, issue 24): ejection, -j N equal to one at a time over
random pass/fail patterns, --retries, a base that already fails, the pair that breaks the
gate together, bad input, and conflicts forecast against the integration branch."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from conftest import commit_plan, git, work

from gitpar.core.integrate import dependency_order
from gitpar.core.repo import open_repo

GATE = "! grep -rqs BAD q*"  # fails for a tree holding a culprit's file


def _no_chain(repo: Path) -> None:
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("lock_chain: true", "lock_chain: false", 1))


def _landed_order(repo: Path, target: str) -> list[str]:
    """The streams merged into ``target``, oldest first (its first-parent merges' trailers)."""
    out = git(repo, "log", "--first-parent", "--reverse", "--format=%(trailers:key=Gitpar-Stream,valueonly)",
              target)
    return [line.strip() for line in out.splitlines() if line.strip()]


def _integrate(repo: Path, run, *args: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    res = run(repo, "integrate", "--json", *args)
    assert res.code in (0, 1), res
    data = json.loads(res.out)
    assert (res.code == 0) == data["ok"]
    return data


def _reference(order: list[str], deps: dict[str, list[str]], culprits: set[str],
               config: set[str]) -> tuple[list[str], dict[str, str]]:
    """The one-at-a-time queue, as a model: what lands (in order) and each stream's outcome."""
    landed: list[str] = []
    outcome: dict[str, str] = {}
    for name in order:
        if any(outcome.get(d) != "merged" for d in deps[name]):
            outcome[name] = "not reached"
        elif name in config and any(n in config for n in landed):
            outcome[name] = "conflicted"
        elif name in culprits:
            outcome[name] = "broke the tests"
        else:
            outcome[name] = "merged"
            landed.append(name)
    return landed, outcome


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_parallel_queue_equals_one_at_a_time_over_random_patterns(repo: Path, run, seed: int) -> None:
    rnd = random.Random(seed)
    n = 7
    names = [f"s{i}" for i in range(n)]
    deps = {name: ([rnd.choice(names[:i])] if i and rnd.random() < 0.25 else []) for i, name in enumerate(names)}
    culprits = {name for name in names if rnd.random() < 0.3}
    config = set(rnd.sample(names, 2)) if rnd.random() < 0.6 else set()  # these two conflict
    assert run(repo, "init", "--no-hooks").code == 0
    _no_chain(repo)
    for name in names:
        extra = [a for d in deps[name] for a in ("--depends-on", d)]
        share = ["--shares", "src/config.py"] if name in config else []
        assert run(repo, "stream", "add", name, "--owns", f"q{name}/**", *extra, *share,
                   "--priority", str(rnd.randint(0, 3))).code == 0
    commit_plan(repo)
    for name in names:
        work(repo, run, name, {f"q{name}/f.txt": "BAD\n" if name in culprits else "ok\n"},
             (5, f"line5 {name}") if name in config else None)
    plan = open_repo(repo).load_plan()
    order = dependency_order(plan, names)
    want_landed, want = _reference(order, deps, culprits, config)

    one = _integrate(repo, run, "--into", "one", "-j", "1", "--test", GATE)
    par = _integrate(repo, run, "--into", "par", "-j", "3", "--test", GATE)
    for data, target in ((one, "one"), (par, "par")):
        got = {s["stream"]: s["outcome"] for s in data["steps"]}
        assert got == want, (seed, target, deps, culprits, config, data["steps"])
        assert _landed_order(repo, target) == want_landed
        assert data["ok"] == (want_landed == order)
    assert git(repo, "rev-parse", "one^{tree}") == git(repo, "rev-parse", "par^{tree}")
    # the tested tree is the landed tree: no culprit's file on either target
    for target in ("one", "par"):
        assert subprocess.run(["git", "grep", "-q", "BAD", target, "--"], cwd=repo).returncode == 1


@pytest.fixture
def eight(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """s1..s4 own q1..q4; s3 writes BAD; s9 depends on s3."""
    assert run(repo, "init", "--no-hooks").code == 0
    for i in (1, 2, 3, 4):
        assert run(repo, "stream", "add", f"s{i}", "--owns", f"q{i}/**").code == 0
    assert run(repo, "stream", "add", "s9", "--owns", "q9/**", "--depends-on", "s3").code == 0
    commit_plan(repo)
    for i in (1, 2, 3, 4):
        work(repo, run, f"s{i}", {f"q{i}/f.txt": "BAD\n" if i == 3 else "ok\n"})
    work(repo, run, "s9", {"q9/f.txt": "ok\n"})
    return repo


def test_the_culprit_is_ejected_its_dependent_held_and_the_rest_land(eight: Path, run) -> None:
    res = run(eight, "integrate", "-j", "2", "--test", GATE)
    assert res.code == 1, res
    rows = {line.split()[0]: line for line in res.out.splitlines()[2:] if line.strip()}
    assert "broke the tests" in rows["s3"] and "not reached" in rows["s9"]
    for s in ("s1", "s2", "s4"):
        assert "merged" in rows[s]
    assert "s9: depends on s3, which is not merged" in res.err
    assert "ejected 2 of 5" not in res.err and "ejected 1 of 5: s3 (broke the tests, log " in res.err
    assert "s3.log" in res.err
    assert _landed_order(eight, "gitpar/_integration") == ["s1", "s2", "s4"]
    # each landed stream's branch is recorded as its work (core.landed) in the same state commit
    assert git(eight, "rev-parse", "gitpar/s1").strip() in git(eight, "show", "gitpar/_state:landed/s1.txt")
    # status shows the queue: what waits, what was ejected and why, with its log
    res = run(eight, "status")
    assert "queue: 1 waiting (s9)" in res.out and "ejected s3 (broke the tests)" in res.out and "s3.log" in res.out
    queue = json.loads(run(eight, "status", "--json").out)["queue"]
    assert queue["waiting"] == ["s9"] and [e["stream"] for e in queue["ejected"]] == ["s3"]
    assert queue["gate_seconds"] is not None and queue["eta_seconds"] is not None


def test_a_flaky_gate_passes_with_retries(eight: Path, run, tmp_path: Path) -> None:
    mark = tmp_path / "failed-once"
    flaky = f'if [ -f q2/f.txt ] && [ ! -f {mark} ]; then touch {mark}; exit 1; fi; {GATE}'
    data = _integrate(eight, run, "--into", "flaky", "--retries", "1", "--test", flaky)
    got = {s["stream"]: s["outcome"] for s in data["steps"]}
    assert got["s2"] == "merged" and got["s3"] == "broke the tests"
    assert "passed on try 2" in next(s["detail"] for s in data["steps"] if s["stream"] == "s2")
    mark.unlink()
    data = _integrate(eight, run, "--into", "strict", "--test", flaky)  # no retries: s2 is ejected
    assert {s["stream"]: s["outcome"] for s in data["steps"]}["s2"] == "broke the tests"


def test_a_base_that_already_fails_is_said_once_and_stops(eight: Path, run) -> None:
    res = run(eight, "integrate", "-j", "3", "--test", "false")
    assert res.code == 1, res
    assert res.err.count("already fails the test") == 1
    data = _integrate(eight, run, "--test", "false")
    assert data["ejected"] == [] and data["stopped"] and "already fails" in data["stopped"]
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", "gitpar/_integration^2"],
                          cwd=eight, capture_output=True).returncode != 0  # nothing merged


def test_a_pair_that_breaks_the_gate_together_is_named(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    for name in ("a", "b", "c"):
        assert run(repo, "stream", "add", name, "--owns", f"q{name}/**").code == 0
    commit_plan(repo)
    work(repo, run, "a", {"qa/f.txt": "renamed\n"})  # renames what c calls
    work(repo, run, "b", {"qb/f.txt": "ok\n"})
    work(repo, run, "c", {"qc/f.txt": "calls\n"})
    gate = "! { [ -f qa/f.txt ] && [ -f qc/f.txt ]; }"
    res = run(repo, "integrate", "-j", "2", "--test", gate)
    assert res.code == 1, res
    assert "c breaks the gate together with a" in res.err
    assert _landed_order(repo, "gitpar/_integration") == ["a", "b"]
    data = json.loads((repo / ".git/gitpar/queue.json").read_text())
    assert [e["stream"] for e in data["ejected"]] == ["c"] and data["live"] == {}


@pytest.mark.parametrize(("args", "option"), [
    (["-j", "0"], "-j/--jobs"), (["-j", "abc"], "-j/--jobs"), (["--retries", "-1"], "--retries"),
    (["--jobs", "1.5"], "-j/--jobs")])
def test_bad_queue_options_change_nothing(eight: Path, run, args: list[str], option: str) -> None:
    refs = git(eight, "for-each-ref")
    res = run(eight, "integrate", *args, "--test", GATE)
    assert res.code == 2, res
    assert option in res.err and "Traceback" not in res.err
    assert git(eight, "for-each-ref") == refs


def test_conflicts_forecasts_against_streams_waiting_in_the_integration_branch(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    _no_chain(repo)
    for name in ("a", "b"):
        assert run(repo, "stream", "add", name, "--owns", f"q{name}/**", "--shares", "src/config.py").code == 0
    commit_plan(repo)
    work(repo, run, "a", {"qa/f.txt": "a\n"}, (5, "line5 a"))
    work(repo, run, "b", {"qb/f.txt": "b\n"}, (5, "line5 b"))
    assert run(repo, "integrate", "--streams", "a").code == 0
    res = run(repo, "conflicts", "--json")
    assert res.code == 1, res
    pairs = json.loads(res.out)["pairs"]
    assert [(p["a"], p["b"], p["with_integration"]) for p in pairs] == [("b", "gitpar/_integration", True)]
    res = run(repo, "conflicts")
    assert "b <> gitpar/_integration (merged streams waiting to land)" in res.out


def test_fresh_starts_again_from_a_moved_base(eight: Path, run) -> None:
    assert run(eight, "integrate", "--streams", "s1", "--test", GATE).code == 0
    (eight / "base.txt").write_text("moved\n")
    git(eight, "add", "base.txt")
    git(eight, "commit", "-qm", "base moves on")
    res = run(eight, "integrate", "--fresh", "--streams", "s2", "--test", GATE)
    assert res.code == 0, res
    assert "started gitpar/_integration afresh from main" in res.err
    assert git(eight, "rev-parse", "gitpar/_integration^1").strip() == git(eight, "rev-parse", "main").strip()
    # a commit only the integration branch has is never thrown away
    git(eight, "update-ref", "refs/heads/gitpar/_integration",
        git(eight, "commit-tree", "-p", "gitpar/_integration", "-m", "hand-made", "gitpar/_integration^{tree}").strip())
    res = run(eight, "integrate", "--fresh", "--streams", "s4", "--test", GATE)
    assert res.code == 1 and "hand-made" in res.err and "would lose" in res.err, res


def test_land_without_a_remote_moves_the_base_and_its_worktree(eight: Path, run) -> None:
    res = run(eight, "integrate", "-j", "2", "--land", "--test", GATE)
    assert res.code == 1, res  # s3 ejected; the rest landed
    assert git(eight, "rev-parse", "main") == git(eight, "rev-parse", "gitpar/_integration")
    assert (eight / "q1/f.txt").is_file() and not (eight / "q3/f.txt").exists()
    assert git(eight, "status", "--porcelain") == ""


def test_land_through_a_remote_merges_a_moved_base_and_never_overwrites(eight: Path, run, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(eight, "remote", "add", "origin", str(origin))
    git(eight, "push", "-q", "origin", "main")
    plan = eight / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("remote: null", "remote: origin", 1))
    git(eight, "commit", "-qam", "plan: remote origin")
    git(eight, "push", "-q", "origin", "main")
    res = run(eight, "integrate", "--streams", "s1,s2", "--land", "--test", GATE)
    assert res.code == 0, res
    assert git(origin, "rev-parse", "main") == git(eight, "rev-parse", "gitpar/_integration")
    assert git(eight, "rev-parse", "main") == git(eight, "rev-parse", "gitpar/_integration")  # followed
    # someone else lands a commit on origin's main: the next landing merges it in, never over it
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(origin), str(other))
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "theirs.txt")
    git(other, "commit", "-qm", "theirs")
    git(other, "push", "-q", "origin", "main")
    theirs = git(other, "rev-parse", "HEAD").strip()
    res = run(eight, "integrate", "--streams", "s4", "--land", "--test", GATE)
    assert res.code == 0, res
    assert "merged the moved main into gitpar/_integration" in res.err
    tip = git(origin, "rev-parse", "main").strip()
    assert subprocess.run(["git", "merge-base", "--is-ancestor", theirs, tip], cwd=origin).returncode == 0
    assert git(origin, "show", f"{tip}:q4/f.txt") == "ok\n" and git(origin, "show", f"{tip}:theirs.txt") == "theirs\n"


def test_land_with_no_base_on_the_remote_is_bad_input(eight: Path, run, tmp_path: Path) -> None:
    origin = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(eight, "remote", "add", "origin", str(origin))
    plan = eight / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("remote: null", "remote: origin", 1))
    git(eight, "commit", "-qam", "plan: remote origin")
    refs = git(eight, "for-each-ref", "refs/heads")
    res = run(eight, "integrate", "--land", "--test", GATE)
    assert res.code == 2, res
    assert "--land" in res.err and "git push origin main" in res.err
    assert git(eight, "for-each-ref", "refs/heads") == refs


def test_plan_and_the_report_show_the_queue_with_an_eta_from_the_gate_durations(eight: Path, run,
                                                                                 tmp_path: Path) -> None:
    assert "queue: 5 waiting (s1, s2, s3, s4, s9); no ETA yet (no gate run recorded)" in run(eight, "plan").out
    res = run(eight, "integrate", "-j", "2", "--test", f"sleep 0.3; {GATE}")
    assert res.code == 1, res
    state = json.loads((eight / ".git/gitpar/queue.json").read_text())
    recorded = state["gate_seconds"]
    assert len(recorded) >= 4 and all(x >= 0.3 for x in recorded), recorded  # each gate run's duration
    import statistics
    median = statistics.median(recorded)
    plan = json.loads(run(eight, "plan", "--json").out)
    queue = plan["queue"]
    assert queue["waiting"] == ["s9"] and [e["stream"] for e in queue["ejected"]] == ["s3"] and queue["jobs"] == 2
    assert queue["gate_seconds"] == round(median, 2) and queue["gate_samples"] == len(recorded)
    assert queue["eta_seconds"] == round(1 * median / 2, 1)
    text = run(eight, "plan").out
    assert "queue: 1 waiting (s9); ETA" in text and "median of the last" in text, text
    assert "ejected s3 (broke the tests)" in text and "s3.log" in text
    data = json.loads(run(eight, "report", "--json").out)
    assert data["queue"]["waiting"] == ["s9"] and data["queue"]["ejected"][0]["stream"] == "s3"
    page = tmp_path / "r.html"
    assert run(eight, "report", "--html", str(page)).code == 0
    html = page.read_text()
    assert 'id="queue"' in html and "Merge queue" in html and "ejected: broke the tests" in html
    assert "median of the last" in html
    # s3 gets a fix: it waits again, with s9 behind it; the ETA is 2 streams x the median / -j 2
    wt = eight.parent / "repo.gitpar" / "s3"
    (wt / "q3/f.txt").write_text("ok\n")
    git(wt, "commit", "-qam", "s3: fix")
    queue = json.loads(run(eight, "plan", "--json").out)["queue"]
    assert queue["waiting"] == ["s3", "s9"] and queue["ejected"] == []
    assert queue["eta_seconds"] == round(2 * median / 2, 1)
    assert "2 streams x" in queue["eta_basis"] and "median" in queue["eta_basis"] and "-j 2" in queue["eta_basis"]
    # once they land, the section goes
    assert run(eight, "integrate", "--test", GATE).code == 0
    assert "queue" not in json.loads(run(eight, "plan", "--json").out)
    assert "Nothing waits to land" in (run(eight, "report", "--html", str(page)), page.read_text())[1]


def test_the_eta_is_the_remaining_streams_times_the_median_gate_over_the_jobs() -> None:
    from gitpar.core.integrate.view import eta_of

    assert eta_of(3, [], 1) == (None, None, "no gate duration recorded yet: no ETA until a gate has run")
    eta, gate, basis = eta_of(8, [1.0, 100.0, 2.0], 4)  # the median, not the mean: one slow run
    assert (eta, gate) == (4.0, 2.0) and "8 streams x 2.0 s" in basis and "/ -j 4" in basis
    assert eta_of(0, [2.0], 2)[0] is None


def test_a_reused_gate_worktree_holds_exactly_the_tree_under_test(eight: Path, run) -> None:
    # each gate leaves junk: an untracked file, an ignored one, a changed tracked file; the next
    # gate, in the same worktree reset, must see none of it
    (eight / ".gitignore").write_text("*.ign\n")
    git(eight, "add", ".gitignore")
    git(eight, "commit", "-qm", "ignore")
    gate = ('test ! -e leftover && test ! -e x.ign && [ "$(cat src/api/a.py)" = "a = 1" ] '
            f'&& touch leftover x.ign && echo junk >> src/api/a.py && {GATE}')
    data = _integrate(eight, run, "-j", "1", "--test", gate)
    got = {s["stream"]: s["outcome"] for s in data["steps"]}
    assert got == {"s1": "merged", "s2": "merged", "s3": "broke the tests", "s4": "merged", "s9": "not reached"}
    assert data["gate_runs"] >= 4
    listed = git(eight, "worktree", "list", "--porcelain")
    assert "gitpar-test-" not in listed, listed  # the kept worktrees are removed at the end


@pytest.mark.parametrize("transport", ["file", pytest.param("daemon", marks=pytest.mark.skipif(
    not __import__("servers").available("daemon"), reason="git daemon not available here"))])
def test_land_through_a_remote_costs_at_most_two_fetch_and_push_round_trips(
        eight: Path, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    """Every git talking to the remote is counted by a wrapper ``git`` first on PATH: the
    command's one fetch, then per landing batch one state record (its fetch and push), then
    the base's push. Three streams pass together: one batch."""
    import os
    import shutil

    from servers import serve

    real = shutil.which("git")
    calls = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f'#!/bin/sh\ncase " $* " in *" fetch "*|*" push "*|*" ls-remote "*) '
                                 f'echo "$*" >> {calls};; esac\nexec {real} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    with serve(transport, tmp_path / "server") as url:
        git(eight, "remote", "add", "origin", url)
        git(eight, "push", "-q", "origin", "main")
        plan = eight / ".gitpar/plan.md"
        plan.write_text(plan.read_text().replace("remote: null", "remote: origin", 1))
        git(eight, "commit", "-qam", "plan: remote origin")
        git(eight, "push", "-q", "origin", "main")
        assert run(eight, "status").code == 0  # the state branch published once, before counting
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        res = run(eight, "integrate", "-j", "4", "--streams", "s1,s2,s4", "--land", "--test", GATE)
        assert res.code == 0, res
        lines = calls.read_text().splitlines()
        fetches = [x for x in lines if " fetch " in f" {x} " or x.startswith("fetch")]
        pushes = [x for x in lines if " push " in f" {x} " or x.startswith("push")]
        assert len(fetches) <= 2 and len(pushes) <= 2, "\n".join(lines)  # <= 2 fetch+push round trips
        assert not [x for x in lines if "ls-remote" in x], lines
        assert git(eight, "ls-remote", "origin", "refs/heads/main").split()[0] == \
            git(eight, "rev-parse", "gitpar/_integration").strip()


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_a_stream_whose_branch_breaks_the_ownership_rules_is_refused_and_the_rest_land(
        eight: Path, run, jobs: str) -> None:
    # after finish, s2's branch gets a commit in s1's folder (past the hooks): refused, ejected;
    # the queue learns it while its first gates run, before anything lands
    wt = eight.parent / "repo.gitpar" / "s2"
    (wt / "q1").mkdir()
    (wt / "q1/evil.txt").write_text("not s2's\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "s2: into s1's files", "--no-verify")
    data = _integrate(eight, run, "-j", jobs, "--test", GATE)
    got = {s["stream"]: s["outcome"] for s in data["steps"]}
    assert got == {"s1": "merged", "s2": "refused", "s3": "broke the tests", "s4": "merged",
                   "s9": "not reached"}, data["steps"]
    refused = next(s for s in data["steps"] if s["stream"] == "s2")
    assert "q1/evil.txt" in refused["detail"], refused
    assert _landed_order(eight, "gitpar/_integration") == ["s1", "s4"]
    assert subprocess.run(["git", "cat-file", "-e", "gitpar/_integration:q1/evil.txt"], cwd=eight).returncode != 0
