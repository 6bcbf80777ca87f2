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
    assert lines == ["wrote AGENTS.md, CLAUDE.md, .claude/settings.local.json (ignored by git in this worktree)"]
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
    wt = worktree_of(started, "api")
    exclude = Path(git(wt, "config", "--worktree", "core.excludesFile").strip()).read_text()
    assert exclude.count("/AGENTS.md") == 1 and exclude.count("/.claude/settings.local.json") == 1
    assert "info/exclude" not in exclude


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
    assert git(wt, "check-ignore", "AGENTS.md", check=False) == ""  # a tracked file is not hidden
    assert (wt / "CLAUDE.md").is_file()
    assert git(wt, "status", "--porcelain") == ""


def test_files_option_and_bad_value(started: Path) -> None:
    plan = started / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins: {agents: {files: [AGENTS.md]}}" + text[end:])
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        assert prepare(started, "api") == ["wrote AGENTS.md, .claude/settings.local.json (ignored by git in this worktree)"]
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
    for name in ("AGENTS.md", "CLAUDE.md", ".claude/settings.local.json"):
        proc = subprocess.run(["git", "check-ignore", "-v", name], cwd=wt, capture_output=True, text=True)
        assert proc.returncode == 0 and "gitpar-exclude" in proc.stdout, proc
    # ... in that worktree only: the main worktree's own files are seen by git
    for name in ("AGENTS.md", "CLAUDE.md"):
        (started / name).write_text("# the project's notes\n")
    assert git(started, "status", "--porcelain").split() == ["??", "AGENTS.md", "??", "CLAUDE.md"]


def test_the_claude_hook_calls_gitpar_guard_and_guards(started: Path) -> None:
    import json

    with plugin_registered(gitpar_agents, "gitpar-agents"):
        prepare(started, "api")
    wt = worktree_of(started, "api")
    settings = json.loads((wt / ".claude/settings.local.json").read_text())
    (entry,) = settings["hooks"]["PreToolUse"]
    assert entry["matcher"] == "Edit|MultiEdit|Write|NotebookEdit|Bash"
    (hook,) = entry["hooks"]
    assert hook["type"] == "command" and hook["command"].endswith("gitpar guard --stream api --format claude")
    (after,) = settings["hooks"]["PostToolUse"]
    assert after["matcher"] == "*"
    assert after["hooks"][0]["command"] == hook["command"].replace(" --format", " --changed --format")
    # the command, run as Claude Code runs it: through a shell, the tool call on stdin
    call = json.dumps({"cwd": str(wt), "tool_name": "Write",
                       "tool_input": {"file_path": str(wt / "src/ui/b.py"), "content": "x"}})
    proc = subprocess.run(hook["command"], shell=True, cwd=wt, input=call, capture_output=True, text=True)
    assert proc.returncode == 0, proc
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    # after a shell command wrote ui's file, the PostToolUse hook blocks naming it
    (wt / "src/ui/b.py").write_text("changed\n")
    call = json.dumps({"cwd": str(wt), "hook_event_name": "PostToolUse", "tool_name": "Bash",
                       "tool_input": {"command": "sed -i s/b/c/ src/ui/b.py"}, "tool_response": {}})
    proc = subprocess.run(after["hooks"][0]["command"], shell=True, cwd=wt, input=call, capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["decision"] == "block", proc
    assert "src/ui/b.py" in json.loads(proc.stdout)["reason"]


def test_user_files_are_never_overwritten(started: Path) -> None:
    wt = worktree_of(started, "api")
    (wt / ".claude").mkdir(exist_ok=True)  # gitpar start may have run the installed plugin already
    (wt / ".claude/settings.local.json").write_text('{"permissions": {}}\n')
    (wt / "CLAUDE.md").write_text("my own notes\n")
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        lines = prepare(started, "api")
    assert (wt / ".claude/settings.local.json").read_text() == '{"permissions": {}}\n'
    assert (wt / "CLAUDE.md").read_text() == "my own notes\n"
    assert lines[0] == "wrote AGENTS.md (ignored by git in this worktree)"
    assert any("CLAUDE.md is already there and not written by gitpar-agents" in line for line in lines)
    assert any("add the PreToolUse hook" in line for line in lines)


def test_the_old_common_exclude_entries_are_cleaned_up(started: Path) -> None:
    exclude = Path(open_repo(started).common_dir) / "info" / "exclude"
    exclude.write_text("# mine\n*.log\n" + gitpar_agents.EXCLUDE_HEADER + "\n/AGENTS.md\n/CLAUDE.md\n")
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        lines = prepare(started, "api")
    assert exclude.read_text() == "# mine\n*.log\n"
    assert "removed gitpar-agents' old entries from the repository's common info/exclude" in lines


def test_the_users_global_excludes_still_apply_in_the_worktree(started: Path) -> None:
    ignore = Path.home() / ".config" / "git" / "ignore"
    ignore.parent.mkdir(parents=True, exist_ok=True)
    ignore.write_text("*.swp\n")
    wt = worktree_of(started, "api")
    git(wt, "config", "--worktree", "--unset", "core.excludesFile", check=False)  # as before any setup
    (wt / "x.swp").write_text("")
    assert git(wt, "status", "--porcelain", "x.swp") == ""
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        prepare(started, "api")
    assert git(wt, "status", "--porcelain") == ""  # still ignored, though core.excludesFile is ours


def test_setup_command_redoes_it_for_an_existing_worktree(started: Path) -> None:
    from gitpar.testing import run as run_cli

    wt = worktree_of(started, "api")
    with plugin_registered(gitpar_agents, "gitpar-agents"):
        r = run_cli(wt, "agents", "setup")
        assert r.code == 0, r
        assert "wrote AGENTS.md, CLAUDE.md, .claude/settings.local.json" in r.err
        assert (wt / ".claude/settings.local.json").is_file()
        assert run_cli(started, "agents", "setup", "api").code == 0
        r = run_cli(started, "agents", "setup", "ui")
        assert r.code == 1 and "no worktree" in r.err
    assert git(wt, "status", "--porcelain") == ""
