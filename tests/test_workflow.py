"""A day's use: the CLI's manners, run, finish, status, the integrate gate and cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit_plan, git, gitpar, worktree_of, write

from gitpar import __version__

# -- CLI polish ---------------------------------------------------------------------------


def _command_paths() -> list[list[str]]:
    """Every command and group of the CLI, as the words a user types."""
    import typer

    from gitpar.cli.main import app

    paths: list[list[str]] = []

    def walk(cmd: object, words: list[str]) -> None:
        paths.append(words)
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            for name, sub in cmd.commands.items():
                walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_version(tmp_path: Path) -> None:
    res = gitpar(tmp_path, "--version")
    assert res.code == 0 and res.out.strip() == f"gitpar {__version__}", res


def test_dash_h_works_on_every_command_and_group(tmp_path: Path, run) -> None:
    paths = _command_paths()
    assert ["run"] in paths and ["stream", "add"] in paths and ["hooks", "install"] in paths
    for words in paths:
        res = run(tmp_path, *words, "-h")
        assert res.code == 0 and "Usage:" in res.out, (words, res)


def test_completion_is_offered_once_at_the_top(tmp_path: Path, run) -> None:
    assert "--install-completion" in run(tmp_path, "--help").out
    assert "--show-completion" in run(tmp_path, "--help").out
    for group in ("stream", "hooks"):
        res = run(tmp_path, group, "--help")
        assert res.code == 0 and "completion" not in res.out, res


@pytest.mark.parametrize("value", ["101", "-1", "4.5", "lots"])
def test_completion_is_a_whole_percentage(planned: Path, run, value: str) -> None:
    assert run(planned, "start", "api").code == 0
    before = git(planned, "rev-parse", "gitpar/_state")
    res = run(planned, "progress", "--stream", "api", "--completion", value)
    assert res.code == 2 and "--completion" in res.err and "0 to 100" in res.err, res
    assert "Traceback" not in res.err
    assert git(planned, "rev-parse", "gitpar/_state") == before
    assert "--completion 0-100" in run(planned, "progress", "-h").out


def test_check_asks_for_json_one_way(planned: Path, run) -> None:
    help_text = run(planned, "check", "-h").out
    assert "--format" in help_text and "--json" not in help_text
    by_format = run(planned, "check", "--range", "main..main", "--format", "json")
    by_alias = run(planned, "check", "--range", "main..main", "--json")  # the hidden alias
    assert by_format.code == by_alias.code == 0, (by_format, by_alias)
    assert json.loads(by_format.out) == json.loads(by_alias.out)


# -- run: a command's success is not the stream's completion -----------------------------


def _tree(r: Path, ref: str, path: str) -> str:
    return git(r, "rev-parse", "-q", "--verify", f"{ref}:{path}", check=False).strip()


def test_run_without_finish_does_not_reach_dependents_nor_record(planned: Path, run) -> None:
    history = _tree(planned, "gitpar/_state", "history")
    res = run(planned, "run", "-j", "2", "--all", "--", "true")
    assert res.code == 0, res
    assert ("ui: not reached: waits for api (not completed; --finish completes streams whose "
            "command succeeds)") in res.err
    assert "api: ok" in res.err and "ui: started" not in res.err
    assert git(planned, "branch", "--list", "gitpar/ui").strip() == ""  # ui was not started
    status = json.loads(run(planned, "status", "--json").out)
    ui = next(s for s in status["streams"] if s["stream"] == "ui")
    assert ui["status"] == "pending"
    assert _tree(planned, "gitpar/_state", "history") == history  # `true` taught the ETAs nothing
    dry = run(planned, "run", "--all", "--dry-run", "--", "true")
    assert "without --finish, ui will not be reached" in dry.out


def test_run_record_keeps_durations_without_completing(planned: Path, run) -> None:
    res = run(planned, "run", "--streams", "api", "--record", "--", "true")
    assert res.code == 0, res
    assert "history/api.md" in git(planned, "ls-tree", "-r", "--name-only", "gitpar/_state")
    assert "status: in_progress" in git(planned, "show", "gitpar/_state:progress/api.md")


def test_run_finish_completes_then_starts_dependents(planned: Path, run, tmp_path: Path) -> None:
    log = tmp_path / "order"
    res = run(planned, "run", "-j", "2", "--all", "--finish", "--", "sh", "-c", f"echo {{stream}} >> {log}")
    assert res.code == 0, res
    assert log.read_text().split() == ["api", "ui"]
    for name in ("api", "ui"):
        assert "status: completed" in git(planned, "show", f"gitpar/_state:progress/{name}.md")
        assert f"history/{name}.md" in git(planned, "ls-tree", "-r", "--name-only", "gitpar/_state")


# -- finish, integrate and status know about violations -----------------------------------


@pytest.fixture
def slipped(planned: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """``planned`` plus a started stream docs whose branch changed ui's file (hooks bypassed)."""
    assert run(planned, "stream", "add", "docs", "--owns", "docs/**").code == 0
    commit_plan(planned)
    assert run(planned, "start", "docs").code == 0
    wt = worktree_of(planned, "docs")
    write(wt / "src/ui/b.py", "b = 2\n")
    git(wt, "commit", "-q", "--no-verify", "-am", "slip")
    return planned


def test_finish_refuses_a_branch_with_violations(slipped: Path, run) -> None:
    wt = worktree_of(slipped, "docs")
    before = git(slipped, "rev-parse", "gitpar/_state")
    res = run(wt, "finish")
    assert res.code == 1, res
    assert "src/ui/b.py" in res.err and "fix:" in res.err and "--force" in res.err
    assert git(slipped, "rev-parse", "gitpar/_state") == before
    res = run(wt, "finish", "--force")
    assert res.code == 0, res
    message = git(slipped, "log", "-1", "--format=%s", "gitpar/_state")
    assert "forced (--force)" in message and "src/ui/b.py" in message


def test_finish_after_the_fix(slipped: Path, run) -> None:
    wt = worktree_of(slipped, "docs")
    git(wt, "reset", "-q", "--hard", "HEAD~1")
    write(wt / "docs/x.md", "better doc\n")
    git(wt, "commit", "-qam", "docs")
    assert run(wt, "finish").code == 0


def test_integrate_refuses_a_stream_with_violations(slipped: Path, run) -> None:
    wt = worktree_of(slipped, "docs")
    assert run(wt, "finish", "--force").code == 0
    res = run(slipped, "integrate", "--streams", "docs")
    assert res.code == 1, res
    assert "docs    refused" in res.out and "src/ui/b.py" in res.err and "fix:" in res.err
    assert git(slipped, "rev-parse", "gitpar/_integration") == git(slipped, "rev-parse", "main")
    assert "integrated" not in git(slipped, "show", "gitpar/_state:progress/docs.md")


def test_status_lists_violations_of_started_streams(slipped: Path, run) -> None:
    data = json.loads(run(slipped, "status", "--json").out)
    docs = next(s for s in data["streams"] if s["stream"] == "docs")
    assert [v["path"] for v in docs["violations"]] == ["src/ui/b.py"]
    api = next(s for s in data["streams"] if s["stream"] == "api")
    assert api["violations"] == []
    assert any(a["stream"] == "docs" and a["kind"] == "violation" and "src/ui/b.py" in a["message"]
               for a in data["attention"])
    text = run(slipped, "status").out
    assert "docs [violation]: src/ui/b.py" in text


def test_status_judges_each_new_commit_of_a_branch_it_judged_before(planned: Path, run) -> None:
    """Status keeps each started branch's changed paths by its range: after more commits
    it reads only those, and a branch rewritten (its old tip no longer an ancestor) anew."""
    assert run(planned, "stream", "add", "docs", "--owns", "docs/**").code == 0
    commit_plan(planned)
    assert run(planned, "start", "docs").code == 0
    wt = worktree_of(planned, "docs")

    def violations() -> list[str]:
        data = json.loads(run(planned, "status", "--json").out)
        return [v["path"] for s in data["streams"] if s["stream"] == "docs" for v in s["violations"]]

    write(wt / "docs/x.md", "better doc\n")
    git(wt, "commit", "-qam", "docs")
    assert violations() == []
    assert (planned / ".git/gitpar/cache/ranges.marshal").exists()  # the commit-range cache
    write(wt / "src/ui/b.py", "b = 2\n")
    git(wt, "commit", "-q", "--no-verify", "-am", "slip")
    assert violations() == ["src/ui/b.py"]
    git(wt, "reset", "-q", "--hard", "HEAD~1")
    assert violations() == []


# -- the integrate test gate ---------------------------------------------------------------


@pytest.fixture
def docs_done(planned: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """``planned`` plus a stream docs, completed with one clean commit."""
    assert run(planned, "stream", "add", "docs", "--owns", "docs/**").code == 0
    commit_plan(planned)
    assert run(planned, "start", "docs").code == 0
    wt = worktree_of(planned, "docs")
    write(wt / "docs/x.md", "better doc\n")
    git(wt, "commit", "-qam", "docs")
    assert run(wt, "finish").code == 0
    return planned


def test_a_failing_gate_names_its_log_and_shows_the_last_lines(docs_done: Path, run, tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    res = run(docs_done, "integrate", "--streams", "docs", "--test",
              f"echo {{worktree}} $GITPAR_TEST_TREE > {seen}; for i in $(seq 30); do echo line$i; done; exit 1")
    assert res.code == 1, res
    log = docs_done / ".git/gitpar/logs/integrate/docs.log"
    assert f"test log: {log} (exit 1)" in res.err
    assert "| line30" in res.err and "| line11" in res.err and "| line10\n" not in res.err
    placeholder, env = seen.read_text().split()
    assert not Path(env).exists()  # the gate's worktree is gone
    assert placeholder == env != str(docs_done)
    # only the merged tree fails: the stream broke the tests; --json carries the output's end
    data = json.loads(run(docs_done, "integrate", "--streams", "docs", "--json", "--test",
                          "cat docs/x.md; ! grep -q better docs/x.md").out)
    step = data["steps"][0]
    assert step["outcome"] == "broke the tests" and step["log"] == str(log)
    assert step["output_tail"] == ["better doc"]


def test_plan_test_key_is_the_default_gate(docs_done: Path, run, tmp_path: Path) -> None:
    plan = docs_done / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("test: null", f"test: \"touch {tmp_path}/gate-ran\""))
    res = run(docs_done, "integrate", "--streams", "docs")
    assert res.code == 0, res
    assert (tmp_path / "gate-ran").exists() and "test log:" in res.err
    plan.write_text(plan.read_text().replace(f"test: \"touch {tmp_path}/gate-ran\"", "test: 3"))
    res = run(docs_done, "integrate", "--dry-run")
    assert res.code == 2 and "test" in res.err and "fix:" in res.err


def test_gate_warns_about_an_editable_install_of_another_checkout(
        docs_done: Path, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    dist = site / "elsewhere_pkg-1.0.dist-info"
    write(dist / "METADATA", "Metadata-Version: 2.1\nName: elsewhere-pkg\nVersion: 1.0\n")
    other = tmp_path / "other-checkout"
    other.mkdir()
    write(dist / "direct_url.json", json.dumps({"url": f"file://{other}", "dir_info": {"editable": True}}))
    monkeypatch.setenv("PYTHONPATH", str(site))
    res = run(docs_done, "integrate", "--streams", "docs", "--test", "python3 -c pass")
    assert res.code == 0, res
    assert "warning:" in res.err and "elsewhere-pkg is installed editable from" in res.err
    assert str(other) in res.err and "GITPAR_TEST_TREE" in res.err


# -- integrate --cleanup -------------------------------------------------------------------


def test_cleanup_after_integration_removes_what_was_integrated(docs_done: Path, run) -> None:
    wt = worktree_of(docs_done, "docs")
    assert run(docs_done, "integrate", "--streams", "docs").code == 0
    assert wt.is_dir()
    # a later run with nothing new still cleans up what earlier runs integrated
    dry = run(docs_done, "integrate", "--cleanup", "--dry-run")
    assert dry.code == 0 and f"would remove {wt}" in dry.out and "would delete branch gitpar/docs" in dry.out
    assert wt.is_dir()
    res = run(docs_done, "integrate", "--cleanup")
    assert res.code == 0, res
    assert f"removed {wt}" in res.out and "deleted branch gitpar/docs" in res.out
    assert not wt.exists()
    assert git(docs_done, "branch", "--list", "gitpar/docs").strip() == ""
    status = json.loads(run(docs_done, "status", "--json").out)
    assert not [a for a in status["attention"] if a["stream"] == "docs"], status["attention"]
    assert run(docs_done, "integrate", "--cleanup").code == 0  # nothing left: a no-op


def test_cleanup_keeps_work_that_would_be_lost(docs_done: Path, run) -> None:
    wt = worktree_of(docs_done, "docs")
    assert run(docs_done, "integrate", "--streams", "docs").code == 0
    write(wt / "notes.txt", "not committed\n")
    res = run(docs_done, "integrate", "--cleanup")
    assert res.code == 0, res
    assert "kept" in res.out and "notes.txt" in res.out
    assert (wt / "notes.txt").is_file() and git(docs_done, "branch", "--list", "gitpar/docs").strip()
    (wt / "notes.txt").unlink()
    # the stream goes on after its integration: a new commit, on no other branch
    assert run(wt, "progress", "--status", "in_progress").code == 0
    write(wt / "docs/more.md", "more\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", "more docs")
    res = run(docs_done, "integrate", "--cleanup")
    assert res.code == 0 and "kept" in res.out and "on no other branch" in res.out, res
    assert wt.is_dir() and git(docs_done, "branch", "--list", "gitpar/docs").strip()


# -- status truth: a missing worktree, a stream's own changes -------------------------------


def _stream(data: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(s for s in data["streams"] if s["stream"] == name)


@pytest.mark.parametrize("how", ["deleted", "pruned", "removed"])
def test_status_flags_an_in_progress_stream_whose_worktree_is_gone(planned: Path, run, how: str) -> None:
    import shutil

    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    if how == "removed":
        assert run(planned, "remove", "api").code == 0
    else:
        shutil.rmtree(wt)
    if how == "pruned":
        git(planned, "worktree", "prune")
    data = json.loads(run(planned, "status", "--json").out)
    api = _stream(data, "api")
    assert api["git"]["worktree_missing"] is True and api["status"] == "in_progress"
    found = [a for a in data["attention"] if a["stream"] == "api" and a["kind"] == "worktree"]
    assert len(found) == 1 and "gitpar start api" in found[0]["message"], data["attention"]
    text = run(planned, "status").out
    assert "api [worktree]:" in text and "worktree gone" in text
    # the fix the message names works, and the flag goes away
    res = run(planned, "start", "api")
    assert res.code == 0, res
    data = json.loads(run(planned, "status", "--json").out)
    assert _stream(data, "api")["git"]["worktree_missing"] is False
    assert not [a for a in data["attention"] if a["kind"] == "worktree"]


def test_status_does_not_flag_worktrees_of_pending_or_integrated_streams(planned: Path, run) -> None:
    data = json.loads(run(planned, "status", "--json").out)
    assert not [a for a in data["attention"] if a["kind"] == "worktree"]
    assert _stream(data, "ui")["git"]["worktree_missing"] is False


def _api_and_docs(planned: Path, run) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """api with one commit of its own file, and a docs stream started beside it."""
    assert run(planned, "stream", "add", "docs", "--owns", "docs/**").code == 0
    commit_plan(planned)
    assert run(planned, "start", "api").code == 0
    api = worktree_of(planned, "api")
    write(api / "src/api/a.py", "a = 2\n")
    git(api, "commit", "-qam", "api: own file")
    assert run(planned, "start", "docs").code == 0
    return api, worktree_of(planned, "docs")


def test_merging_the_base_in_does_not_count_as_the_streams_own(planned: Path, run) -> None:
    api, docs = _api_and_docs(planned, run)
    write(docs / "docs/x.md", "better doc\n")
    write(docs / "docs/y.md", "more doc\n")
    git(docs, "add", "-A")
    git(docs, "commit", "-qm", "docs")
    git(planned, "merge", "-q", "--no-ff", "-m", "merge docs", "gitpar/docs")  # the base gets docs' files
    git(api, "merge", "-q", "--no-edit", "main")  # and api brings the base in
    data = json.loads(run(planned, "status", "--json").out)
    row = _stream(data, "api")
    assert row["git"]["files_changed"] == 1, row["git"]
    assert row["violations"] == [] and not [a for a in data["attention"] if a["kind"] == "violation"]
    assert "+2 1 files" in run(planned, "status").out  # its own commit and the merge


def test_merging_the_integration_branch_in_does_not_count_as_the_streams_own(planned: Path, run) -> None:
    api, docs = _api_and_docs(planned, run)
    write(docs / "docs/x.md", "better doc\n")
    git(docs, "commit", "-qam", "docs")
    assert run(docs, "finish").code == 0
    assert run(planned, "integrate", "--streams", "docs").code == 0
    git(api, "merge", "-q", "--no-edit", "gitpar/_integration")
    data = json.loads(run(planned, "status", "--json").out)
    row = _stream(data, "api")
    assert row["git"]["files_changed"] == 1, row["git"]
    assert row["violations"] == []
    # another branch holding api's commits (docs merged api) does not take them from api
    git(docs, "merge", "-q", "--no-edit", "gitpar/api")
    data = json.loads(run(planned, "status", "--json").out)
    assert _stream(data, "api")["git"]["files_changed"] == 1
