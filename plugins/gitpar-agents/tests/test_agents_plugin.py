"""gitpar-agents against real repositories and worktrees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import gitpar_agents
import pytest

from gitpar.core.repo import open_repo
from gitpar.plugins import manager
from gitpar.testing import git, plugin_registered, run, worktree_of


def prepare(repo_path: Path, name: str) -> list[str]:
    """What gitpar start does after creating the worktree (whether or not it calls the hook itself)."""
    from gitpar.core import streams

    repo = open_repo(repo_path)
    wt = worktree_of(repo_path, name)
    data = streams.brief(repo, name)
    return manager.prepare_worktree(repo, repo.load_plan(), name, wt, int(data["port"]), data)


@pytest.fixture
def started(gitpar_repo: Path) -> Path:
    manager.reset()
    assert run(gitpar_repo, "start", "api").code == 0
    return gitpar_repo


def test_brief_written_and_ignored_by_git(started: Path) -> None:
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        lines = prepare(started, "api")
    assert lines == ["wrote AGENTS.md, CLAUDE.md (ignored by git)"]
    wt = worktree_of(started, "api")
    text = (wt / "AGENTS.md").read_text()
    assert (wt / "CLAUDE.md").read_text() == text
    assert "# Stream api" in text and "- src/api/**" in text and "- src/config.py" in text
    assert "gitpar lock PATH" in text and "gitpar progress --completion" in text and "gitpar finish" in text
    assert "port `20000`" in text
    assert git(wt, "status", "--porcelain") == ""
    assert git(started, "status", "--porcelain") == ""
    # not dirty for gitpar either: finish is not refused
    assert run(wt, "finish").code == 0


def test_preparing_twice_lists_the_files_once(started: Path) -> None:
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        prepare(started, "api")
        prepare(started, "api")
    exclude = (Path(open_repo(started).common_dir) / "info" / "exclude").read_text()
    assert exclude.count("/AGENTS.md") == 1 and exclude.count(gitpar_agents.EXCLUDE_HEADER) == 1


def test_a_tracked_agents_file_is_left_alone(gitpar_repo: Path) -> None:
    (gitpar_repo / "AGENTS.md").write_text("the project's own\n")
    git(gitpar_repo, "add", "AGENTS.md")
    git(gitpar_repo, "commit", "-qm", "agents")
    manager.reset()
    assert run(gitpar_repo, "start", "api").code == 0
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        lines = prepare(gitpar_repo, "api")
    wt = worktree_of(gitpar_repo, "api")
    assert (wt / "AGENTS.md").read_text() == "the project's own\n"
    assert "AGENTS.md is tracked on gitpar/api; gitpar-agents leaves it alone" in lines
    assert (wt / "CLAUDE.md").is_file()
    assert git(wt, "status", "--porcelain") == ""


def test_files_option_and_bad_value(started: Path) -> None:
    plan = started / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins: {agents: {files: [AGENTS.md]}}" + text[end:])
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        assert prepare(started, "api") == ["wrote AGENTS.md (ignored by git)"]
        plan.write_text(text[:end] + "\nplugins: {agents: {files: [../x.md]}}" + text[end:])
        with pytest.raises(Exception, match=r"plugins.agents.files: must be a list of file names"):
            prepare(started, "api")


def test_an_overridden_brief_rendering_reaches_the_agent(started: Path) -> None:
    from gitpar.plugins import hookimpl

    class House:
        @hookimpl
        def gitpar_render_brief(self, brief):  # type: ignore[no-untyped-def]
            return f"House rules for {brief['stream']}."

    with plugin_registered(gitpar_agents, "gitpar-agents"), plugin_registered(House(), "house"):
        prepare(started, "api")
    assert "House rules for api." in (worktree_of(started, "api") / "AGENTS.md").read_text()


def test_git_really_ignores_it(started: Path) -> None:
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        prepare(started, "api")
    wt = worktree_of(started, "api")
    proc = subprocess.run(["git", "check-ignore", "-v", "AGENTS.md"], cwd=wt, capture_output=True, text=True)
    assert proc.returncode == 0 and "info/exclude" in proc.stdout
