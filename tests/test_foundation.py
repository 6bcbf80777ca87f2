"""The foundation end to end: plan files, state branch, worktrees, progress, status."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import commit_plan, git, gitpar, worktree_of, write


def state_file(r: Path, path: str) -> str:
    return git(r, "show", f"gitpar/_state:{path}")


def test_init_creates_plan_and_state_branch(repo: Path, run) -> None:
    res = run(repo, "init")
    assert res.code == 0, res
    assert (repo / ".gitpar/plan.md").is_file()
    assert (repo / ".gitpar/streams").is_dir()
    assert git(repo, "rev-parse", "--verify", "refs/heads/gitpar/_state").strip()
    text = (repo / ".gitpar/plan.md").read_text()
    for key in ("base: main", "worktrees:", "lock_ttl: 2h", "stale_after: 4h", "unowned: lock",
                "setup:", "copy:", "port_base: 20000"):
        assert key in text
    before = git(repo, "rev-parse", "gitpar/_state")
    assert run(repo, "init").code == 0  # idempotent
    assert git(repo, "rev-parse", "gitpar/_state") == before


def test_stream_add_writes_the_design_format(planned: Path, run) -> None:
    text = (planned / ".gitpar/streams/api.md").read_text()
    assert text.startswith("---\n")
    assert 'owns: ["src/api/**"]' in text
    assert 'shares: ["src/config.py"]' in text
    assert "estimate: 1h" in text
    ui = (planned / ".gitpar/streams/ui.md").read_text()
    assert "depends_on: [api]" in ui
    res = run(planned, "stream", "list", "--json")
    data = json.loads(res.out)
    assert [s["name"] for s in data["streams"]] == ["api", "ui"]
    assert data["streams"][0]["estimate_s"] == 3600


def test_repeated_and_comma_dependencies(planned: Path, run) -> None:
    assert run(planned, "stream", "add", "c", "--owns", "c/**", "--depends-on", "api",
               "--depends-on", "ui").code == 0
    assert run(planned, "stream", "add", "d", "--owns", "d/**", "--depends-on", "api,c").code == 0
    show = json.loads(run(planned, "stream", "show", "d", "--json").out)
    assert show["depends_on"] == ["api", "c"]
    assert "depends_on: [api, ui]" in (planned / ".gitpar/streams/c.md").read_text()


def test_hand_edited_stream_reads_the_same(planned: Path, run) -> None:
    write(planned / ".gitpar/streams/web.md", textwrap.dedent("""\
        ---
        description: the web front
        owns:
          - web/**
        depends_on: [api]
        agent: frontend
        priority: 2
        estimate: 1h30m
        colour: blue
        ---
        Build the web front.
        """))
    res = run(planned, "stream", "show", "web", "--json")
    assert res.code == 0, res
    d = json.loads(res.out)
    assert d["owns"] == ["web/**"] and d["priority"] == 2 and d["estimate_s"] == 5400
    assert d["brief"] == "Build the web front."
    assert "unknown field 'colour'" in res.err


@pytest.mark.parametrize("name", ["../x", "-rf", "a..b", "x.lock", "_state", "", "a" * 65,
                                  "has space", "naïve", "Upper", "x/y", "a.", ".a"])
def test_bad_stream_names_are_refused(planned: Path, run, name: str) -> None:
    before = sorted(p.name for p in (planned / ".gitpar/streams").iterdir())
    res = run(planned, "stream", "add", name, "--owns", "x/**") if not name.startswith("-") else \
        run(planned, "stream", "add", "--owns", "x/**", "--", name)
    assert res.code == 2, res
    assert "Traceback" not in res.text
    assert "fix:" in res.err
    assert sorted(p.name for p in (planned / ".gitpar/streams").iterdir()) == before


def test_bad_name_through_a_real_process(planned: Path) -> None:
    res = gitpar(planned, "stream", "add", "../evil", "--owns", "x")
    assert res.code == 2 and "Traceback" not in res.text and "stream name" in res.err
    assert not (planned / ".gitpar/evil.md").exists()


def test_dependency_errors(planned: Path, run) -> None:
    res = run(planned, "stream", "add", "x", "--owns", "x/**", "--depends-on", "nosuch")
    assert res.code == 2 and "unknown stream 'nosuch'" in res.err and ".gitpar/streams/x.md" in res.err
    res = run(planned, "stream", "add", "x", "--owns", "x/**", "--depends-on", "x")
    assert res.code == 2 and "depends on itself" in res.err
    assert not (planned / ".gitpar/streams/x.md").exists()


def test_a_cycle_is_shown(planned: Path, run) -> None:
    assert run(planned, "stream", "add", "c", "--owns", "c/**", "--depends-on", "ui").code == 0
    api = planned / ".gitpar/streams/api.md"
    api.write_text(api.read_text().replace("depends_on: []", "depends_on: [c]"))
    res = run(planned, "stream", "list")
    assert res.code == 2, res
    assert "cycle" in res.err
    assert "api -> c -> ui -> api" in res.err or "api -> ui -> c -> api" in res.err


@pytest.mark.parametrize("field,value,needle", [
    ("estimate", "2 weeks-ish", "estimate"),
    ("priority", '"high"', "priority"),
    ("owns", "{a: 1}", "owns"),
    ("depends_on", "7", "depends_on"),
])
def test_field_types_are_checked(planned: Path, run, field: str, value: str, needle: str) -> None:
    write(planned / ".gitpar/streams/bad.md", f"---\n{field}: {value}\n---\n")
    res = run(planned, "stream", "list")
    assert res.code == 2, res
    assert ".gitpar/streams/bad.md" in res.err and needle in res.err and "fix:" in res.err


def test_malformed_yaml_names_the_file(planned: Path, run) -> None:
    write(planned / ".gitpar/streams/bad.md", "---\nowns: [unclosed\n---\n")
    res = run(planned, "stream", "list")
    assert res.code == 2 and "bad.md" in res.err and "malformed YAML" in res.err
    (planned / ".gitpar/streams/bad.md").unlink()
    plan = planned / ".gitpar/plan.md"
    plan.write_text("---\nbase: [main\n---\n")
    res = run(planned, "status")
    assert res.code == 2 and ".gitpar/plan.md" in res.err


def test_start_refuses_open_dependency_then_works(planned: Path, run) -> None:
    res = run(planned, "start", "ui")
    assert res.code == 1 and "api" in res.err and "--force" in res.err
    assert "gitpar/ui" not in git(planned, "branch", "--list")
    res = run(planned, "start", "api")
    assert res.code == 0, res
    wt = worktree_of(planned, "api")
    assert wt.is_dir() and (wt / "src/api/a.py").is_file()
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "gitpar/api"
    assert git(planned, "rev-parse", "gitpar/api") == git(planned, "rev-parse", "main")
    text = state_file(planned, "progress/api.md")
    assert "stream: api" in text and "status: in_progress" in text and "port: 20000" in text
    log = git(planned, "log", "--format=%s", "gitpar/_state")
    assert "start api" in log
    assert run(planned, "start", "ui", "--force").code == 0


def test_a_new_worktree_index_caches_its_trees(planned: Path, run) -> None:
    """git's cache of the index's trees (the TREE extension) is written with the worktree:
    without it every 'git status' there, gitpar's dirty scans included, compares the whole
    tree with the index until the first commit."""
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    gitdir = Path(git(wt, "rev-parse", "--absolute-git-dir").strip())
    data = (gitdir / "index").read_bytes()
    count = int.from_bytes(data[8:12], "big")
    assert count == len(git(wt, "ls-files").splitlines())
    assert b"TREE" in data, "the index has no cache tree"
    assert git(wt, "status", "--porcelain") == ""


def test_start_needs_the_plan_committed(planned: Path, run) -> None:
    assert run(planned, "stream", "add", "late", "--owns", "late/**").code == 0
    res = run(planned, "start", "late")
    assert res.code == 1 and "commit" in res.err


def test_ports_are_distinct_and_stable(planned: Path, run) -> None:
    assert run(planned, "stream", "add", "docs", "--owns", "docs/**").code == 0
    commit_plan(planned)
    assert run(planned, "start", "api").code == 0
    assert run(planned, "start", "docs").code == 0
    ports = {n: json.loads(run(planned, "brief", n, "--json").out)["port"] for n in ("api", "docs")}
    assert len(set(ports.values())) == 2
    assert run(planned, "start", "api").code == 0  # again: same worktree, same port
    assert json.loads(run(planned, "brief", "api", "--json").out)["port"] == ports["api"]


def test_copy_and_setup(repo: Path, run) -> None:
    assert run(repo, "init").code == 0
    plan = repo / ".gitpar/plan.md"
    text = plan.read_text()
    text = text.replace("setup: []", 'setup: ["echo port=$GITPAR_PORT stream=$GITPAR_STREAM > setup.out"]')
    text = text.replace("copy: []", 'copy: [".env"]')
    plan.write_text(text)
    write(repo / ".env", "SECRET=1\n")
    write(repo / ".gitignore", ".env\nsetup.out\n")
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    commit_plan(repo)
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
    res = run(repo, "start", "api")
    assert res.code == 0, res
    wt = worktree_of(repo, "api")
    assert (wt / ".env").read_text() == "SECRET=1\n"
    assert (wt / "setup.out").read_text().strip() == "port=20000 stream=api"
    assert (repo / ".git/gitpar/logs/api/setup.log").is_file()


def test_failed_setup_marks_the_stream_failed_and_keeps_the_worktree(repo: Path, run) -> None:
    assert run(repo, "init").code == 0
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("setup: []", 'setup: ["echo building", "exit 7"]'))
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    commit_plan(repo)
    res = run(repo, "start", "api")
    assert res.code == 1 and "setup failed" in res.err and "exited 7" in res.err
    assert worktree_of(repo, "api").is_dir()
    assert "status: failed" in state_file(repo, "progress/api.md")
    log = (repo / ".git/gitpar/logs/api/setup.log").read_text()
    assert "building" in log and "[exit 7]" in log
    st = json.loads(run(repo, "status", "--json").out)
    assert st["summary"]["failed"] == 1


def test_progress_from_the_worktree(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    res = gitpar(wt, "progress", "--completion", "40", "--done", "wrote endpoints", "--current", "tests",
                 "--next", "docs", "--need", "ui: agree on the schema", "--agent", "backend-1")
    assert res.code == 0, res
    text = state_file(planned, "progress/api.md")
    assert "completion: 40" in text and "agent: backend-1" in text
    assert "## Completed\n- wrote endpoints" in text
    assert "## Current\ntests" in text
    assert "## Coordination needed\n- ui: agree on the schema" in text
    res = run(wt, "progress", "--blocked", "waiting for the schema")
    assert "status: blocked" in state_file(planned, "progress/api.md")
    res = run(wt, "progress", "--clear", "blocked")
    assert "status: in_progress" in state_file(planned, "progress/api.md")
    res = run(wt, "progress", "--done", "docs")
    text = state_file(planned, "progress/api.md")
    assert "## Next\n\n" in text or text.count("- docs") == 1
    assert "progress api" in git(planned, "log", "-1", "--format=%s", "gitpar/_state")


@pytest.mark.parametrize("args,needle", [
    (["--completion", "150"], "--completion"),
    (["--completion", "-5"], "--completion"),
    (["--completion", "lots"], "--completion"),
    (["--status", "done-ish"], "--status"),
    (["--clear", "everything"], "--clear"),
])
def test_bad_progress_input(planned: Path, run, args: list[str], needle: str) -> None:
    assert run(planned, "start", "api").code == 0
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(planned, "progress", "--stream", "api", *args)
    assert res.code == 2 and needle in res.err and "fix:" in res.err, res
    assert git(planned, "rev-parse", "gitpar/_state") == before


def test_progress_outside_a_worktree(planned: Path, run) -> None:
    res = run(planned, "progress", "--completion", "10")
    assert res.code == 2 and "--stream" in res.err
    res = run(planned, "progress", "--stream", "nosuch", "--completion", "10")
    assert res.code == 2 and "nosuch" in res.err


def test_malformed_progress_file_is_named(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    # damage the progress file through a hand-made state commit
    wt = planned.parent / "state"
    git(planned, "worktree", "add", "-q", str(wt), "gitpar/_state")
    write(wt / "progress/api.md", "---\nstatus: in_progress\ncompletion: lots\n---\n")
    git(wt, "commit", "-qam", "hand edit")
    # status reports it under needs attention (issue 11: never silently ignored);
    # a command that must read it to go on stops with exit 2
    res = run(planned, "status")
    assert res.code == 0 and "progress/api.md" in res.out and "completion" in res.out, res
    res = run(planned, "plan")
    assert res.code == 2 and "progress/api.md" in res.err and "completion" in res.err


def test_finish_refuses_dirty_then_completes(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    write(wt / "src/api/a.py", "a = 2\n")
    res = run(wt, "finish")
    assert res.code == 1 and "uncommitted" in res.err and "src/api/a.py" in res.err
    git(wt, "commit", "-qam", "work")
    assert run(wt, "finish").code == 0
    text = state_file(planned, "progress/api.md")
    assert "status: completed" in text and "completion: 100" in text
    assert run(planned, "start", "ui").code == 0


def test_remove_never_loses_work(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    write(wt / "untracked.txt", "precious\n")
    res = run(planned, "remove", "api")
    assert res.code == 1 and "untracked.txt" in res.err and "--force" in res.err
    res = run(planned, "remove", "api", "--dry-run")
    assert res.code == 1 and "would refuse" in res.out
    assert (wt / "untracked.txt").is_file()
    (wt / "untracked.txt").unlink()
    write(wt / "src/api/a.py", "changed\n")
    assert run(planned, "remove", "api").code == 1  # uncommitted change
    git(wt, "commit", "-qam", "work")
    res = run(planned, "remove", "api")
    assert res.code == 1 and "no other branch" in res.err  # commits only on gitpar/api
    git(planned, "branch", "keep", "gitpar/api")
    res = run(planned, "remove", "api", "--dry-run")
    assert res.code == 0 and "would remove" in res.out and wt.is_dir()
    res = run(planned, "remove", "api")
    assert res.code == 0, res
    assert not wt.exists()
    assert git(planned, "rev-parse", "gitpar/api") == git(planned, "rev-parse", "keep")
    assert "api" not in git(planned, "worktree", "list")


def test_remove_force(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    write(wt / "junk.txt", "x\n")
    assert run(planned, "remove", "api", "--force").code == 0
    assert not wt.exists()
    assert git(planned, "rev-parse", "--verify", "gitpar/api").strip()


def test_remove_of_a_worktree_without_its_git_file(planned: Path, run) -> None:
    """A worktree folder whose .git is gone (deleted by hand, or a removal killed half way):
    git cannot tell what in it is uncommitted, so remove refuses without --force, exit 1
    and the reason; --force finishes the removal and prunes the entry."""
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    write(wt / "notes.txt", "maybe work\n")
    (wt / ".git").unlink()
    res = run(planned, "remove", "api")
    assert res.code == 1 and "no longer a git worktree" in res.err and "--force" in res.err, res
    assert (wt / "notes.txt").exists()
    res = run(planned, "remove", "api", "--force")
    assert res.code == 0, res
    assert not wt.exists() and "api" not in git(planned, "worktree", "list")
    assert git(planned, "rev-parse", "--verify", "gitpar/api").strip()


def test_remove_of_a_worktree_whose_folder_is_gone(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    import shutil

    shutil.rmtree(wt)  # what a removal killed after the folder went leaves: the entry alone
    res = run(planned, "remove", "api")
    assert res.code == 0, res
    assert "api" not in git(planned, "worktree", "list")


def test_status_checks_claims_against_git(planned: Path, run) -> None:
    assert run(planned, "stream", "add", "docs", "--owns", "docs/**").code == 0
    commit_plan(planned)
    for name in ("api", "docs"):
        assert run(planned, "start", name).code == 0
    api, docs = worktree_of(planned, "api"), worktree_of(planned, "docs")
    write(api / "src/api/a.py", "a = 2\n")
    write(api / "src/api/new.py", "n = 1\n")
    git(api, "add", "-A")
    git(api, "commit", "-qm", "api work")
    run(api, "progress", "--completion", "50", "--blocked", "need a schema")
    run(docs, "progress", "--completion", "30", "--need", "api: field list")
    res = run(planned, "status", "--json")
    assert res.code == 0, res
    st = json.loads(res.out)
    assert st["version"] == 1
    assert st["summary"] == {"total": 3, "pending": 1, "active": 1, "blocked": 1, "completed": 0, "failed": 0}
    by = {s["stream"]: s for s in st["streams"]}
    assert by["api"]["status"] == "blocked" and by["api"]["completion"] == 50
    assert by["api"]["git"]["ahead"] == 1 and by["api"]["git"]["files_changed"] == 2
    assert by["api"]["git"]["dirty"] is False and by["api"]["git"]["last_commit"]
    assert by["ui"]["status"] == "pending" and by["ui"]["ready"] is False
    kinds = {(a["stream"], a["kind"]) for a in st["attention"]}
    assert ("api", "blocked") in kinds and ("docs", "coordination") in kinds
    assert ("docs", "unbacked") in kinds  # 30% claimed, no commits
    assert ("api", "unbacked") not in kinds
    # completed with a dirty worktree is a claim git does not back
    write(docs / "docs/x.md", "changed\n")
    run(docs, "finish", "--force")
    st = json.loads(run(planned, "status", "--json").out)
    msgs = [a["message"] for a in st["attention"] if a["stream"] == "docs" and a["kind"] == "unbacked"]
    assert any("uncommitted" in m for m in msgs)
    md = run(planned, "status", "--markdown").out
    assert "| api |" in md and "Needs attention" in md
    table = run(planned, "status").out
    assert "needs attention" in table and "api" in table


def test_a_stream_never_started_has_the_row_of_any_pending_stream() -> None:
    """Status keeps streams never started as ``NeverStarted`` and writes their JSON rows from
    one template: the same row, key for key and byte for byte, as a pending stream's made
    the ordinary way, and the same text as ``json.dumps`` of the whole status."""
    from gitpar.core.progress import Progress
    from gitpar.core.status import NeverStarted, Status, StreamStatus

    agent = 'claude "the second" \\ é\n\u2028'
    quick = NeverStarted("web-2", ["api", "db.x"], agent, True)
    plain = StreamStatus(name="web-2", progress=Progress(stream="web-2"), ready=True,
                         depends_on=["api", "db.x"], agent=agent, evidence=quick.evidence, last_activity=None)
    assert quick.progress == plain.progress and quick.status == "pending"
    assert list(quick.to_dict().items()) == list(plain.to_dict().items())
    assert quick.json_row() == json.dumps(plain.to_dict(), ensure_ascii=False)
    assert NeverStarted("db", [], "", False).json_row() == json.dumps(
        StreamStatus(name="db", progress=Progress(stream="db"), ready=False, depends_on=[], agent="",
                     evidence=NeverStarted("db", [], "", False).evidence, last_activity=None).to_dict(),
        ensure_ascii=False)
    started = StreamStatus(name="api", progress=Progress(stream="api", status="in_progress", completion=40),
                           ready=False, depends_on=[], agent="x", evidence={"branch": "gitpar/api"},
                           last_activity="2026-12-04T00:00:00Z")
    st = Status(base="main", generated="2026-12-04T00:00:00Z", streams=[started, quick, plain],
                warnings=["w ü"], notes=["n"])
    assert st.to_json() == json.dumps(st.to_dict(), ensure_ascii=False, default=str)
    assert st.summary["pending"] == 2 and st.summary["active"] == 1 and st.ready == ["web-2", "web-2"]


def test_stale_streams_need_attention(planned: Path, run, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = planned / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("stale_after: 4h", "stale_after: 1m"))
    assert run(planned, "start", "api").code == 0
    st = json.loads(run(planned, "status", "--json").out)
    assert not any(a["kind"] == "stale" for a in st["attention"])
    monkeypatch.setenv("GITPAR_NOW", str(time.time() + 120))  # the clock steps past stale_after
    st = json.loads(run(planned, "status", "--json").out)
    assert any(a["kind"] == "stale" and a["stream"] == "api" for a in st["attention"])


def test_next_lists_ready_streams(planned: Path, run) -> None:
    assert run(planned, "next").out.split() == ["api"]
    assert run(planned, "start", "api").code == 0
    assert run(planned, "next").out.split() == []
    assert run(planned, "finish", "api").code == 0
    assert json.loads(run(planned, "next", "--json").out)["ready"] == ["ui"]


def test_read_only_commands_without_state_branch(planned: Path, run) -> None:
    git(planned, "branch", "-D", "gitpar/_state")
    res = run(planned, "status", "--json")
    assert res.code == 0, res
    st = json.loads(res.out)
    assert st["state_branch"] is False and st["summary"]["pending"] == 2


def test_not_a_repository(tmp_path: Path, run) -> None:
    res = run(tmp_path, "status")
    assert res.code == 2 and "not inside a git repository" in res.err


def test_brief(planned: Path, run) -> None:
    stream = planned / ".gitpar/streams/api.md"
    stream.write_text(stream.read_text() + "Build the orders API.\n")
    res = run(planned, "brief", "api")
    assert res.code == 0
    assert "Build the orders API." in res.out and "src/api/**" in res.out
    assert "src/config.py" in res.out and "gitpar progress" in res.out


CONCURRENT = """
import sys
from gitpar.cli.main import main
worker = sys.argv[1]
for i in range(int(sys.argv[2])):
    code = main(["progress", "--stream", "api", "--done", f"item-{worker}-{i}"])
    if code != 0:
        sys.exit(code)
"""


@pytest.mark.slow
def test_concurrent_progress_updates_lose_nothing(planned: Path, run) -> None:
    """16 processes each add 50 done items at once: all 800 are on the state branch."""
    assert run(planned, "start", "api").code == 0
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(w), "50"], cwd=planned,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(16)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    text = state_file(planned, "progress/api.md")
    items = {line[2:] for line in text.splitlines() if line.startswith("- item-")}
    assert items == {f"item-{w}-{i}" for w in range(16) for i in range(50)}
    # one commit per update, each a fast-forward of the last: the audit log is linear
    count = int(git(planned, "rev-list", "--count", "gitpar/_state").strip())
    assert count >= 800 + 2
    assert git(planned, "rev-list", "--merges", "gitpar/_state").strip() == ""


def test_a_repository_reached_through_symlinks_has_its_real_paths(planned: Path, run, tmp_path: Path) -> None:
    """``open_repo`` takes libgit2's paths as they come (real: it resolves symlinks itself),
    and resolves only what it reads from files: every path is the real one, from a symlink
    to the repository, to a worktree, or to a folder inside one."""
    from gitpar.core.repo import open_repo

    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    (tmp_path / "to-repo").symlink_to(planned)
    (tmp_path / "to-wt").symlink_to(wt)
    real = planned.resolve()
    for start, here in ((tmp_path / "to-repo", real), (tmp_path / "to-repo" / "src", real),
                        (tmp_path / "to-wt", wt.resolve()), (tmp_path / "to-wt" / "src" / "api", wt.resolve())):
        repo = open_repo(start)
        assert repo.common_dir == real / ".git" and repo.main_root == real and repo.here == here
        assert repo.here_gitdir == (real / ".git" if here == real else real / ".git/worktrees" / wt.name)
