"""gitpar guard: the edit-time check, through the real hook contracts (JSON in, decision out).

Every call is a real ``python -m gitpar guard`` process in a real stream worktree, so the
fast entry (no typer), the rules cache shared with the commit hook, and its invalidation
by a real ``gitpar lock`` are what is tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Result, commit_plan, git, gitpar, worktree_of, write


def guard(cwd: Path, *args: str, stdin: str = "") -> Result:
    proc = subprocess.run([sys.executable, "-m", "gitpar", "guard", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def hook(wt: Path, tool: str, fmt: str = "claude", **tool_input: object) -> Result:
    """Call the guard as Claude Code (or another harness) calls its pre-tool hook."""
    data = {"session_id": "s", "transcript_path": "/dev/null", "hook_event_name": "PreToolUse",
            "cwd": str(wt), "tool_name": tool, "tool_input": tool_input, "tool_use_id": "t1"}
    return guard(wt, "--format", fmt, stdin=json.dumps(data))


def denial(r: Result) -> str:
    """The reason of a Claude Code / Codex denial (asserting it is one, exit 0)."""
    assert r.code == 0, r
    out = json.loads(r.out)["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse" and out["permissionDecision"] == "deny"
    return str(out["permissionDecisionReason"])


def allowed(r: Result) -> None:
    """No decision printed (the harness's own permission flow goes on), exit 0."""
    assert (r.code, r.out.strip()) == (0, ""), r


@pytest.fixture
def wt(planned: Path, run) -> Path:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    return worktree_of(planned, "api")


def test_owned_paths_are_allowed_for_every_file_tool(wt: Path) -> None:
    allowed(hook(wt, "Edit", file_path=str(wt / "src/api/a.py"), old_string="a", new_string="b"))
    allowed(hook(wt, "Write", file_path=str(wt / "src/api/new/deep.py"), content="x"))
    allowed(hook(wt, "MultiEdit", file_path=str(wt / "src/api/a.py"),
                 edits=[{"old_string": "a", "new_string": "b"}]))
    allowed(hook(wt, "NotebookEdit", notebook_path=str(wt / "src/api/n.ipynb"), new_source="x"))


def test_a_foreign_path_is_denied_naming_the_owner_and_the_way_out(wt: Path) -> None:
    reason = denial(hook(wt, "Edit", file_path=str(wt / "src/ui/b.py"), old_string="b", new_string="c"))
    assert "owned by stream ui" in reason
    assert 'gitpar progress --need "ui: ' in reason
    reason = denial(hook(wt, "NotebookEdit", notebook_path=str(wt / "src/ui/n.ipynb"), new_source="x"))
    assert "owned by stream ui" in reason


def test_a_shared_path_needs_the_lock_and_is_allowed_while_held(wt: Path) -> None:
    target = str(wt / "src/config.py")
    reason = denial(hook(wt, "Edit", file_path=target, old_string="line1", new_string="x"))
    assert "gitpar lock src/config.py" in reason
    assert gitpar(wt, "lock", "src/config.py").code == 0
    allowed(hook(wt, "Edit", file_path=target, old_string="line1", new_string="x"))
    assert gitpar(wt, "unlock", "src/config.py").code == 0
    assert "gitpar lock src/config.py" in denial(hook(wt, "Write", file_path=target, content="x"))


def test_the_plan_is_denied(wt: Path) -> None:
    reason = denial(hook(wt, "Write", file_path=str(wt / ".gitpar/streams/api.md"), content="owns: ['**']"))
    assert "part of the plan" in reason


def test_paths_outside_the_worktree_are_denied(wt: Path, planned: Path, tmp_path: Path) -> None:
    for outside in (tmp_path / "elsewhere.py", planned / "src/api/a.py", wt / ".." / "x.py", wt / ".git"):
        assert "outside stream api's worktree" in denial(hook(wt, "Write", file_path=str(outside), content="x"))
    link = wt / "src/api/link.py"
    link.symlink_to(planned / "src/api/a.py")  # where the write lands is what counts
    assert "outside" in denial(hook(wt, "Edit", file_path=str(link), old_string="a", new_string="b"))


def test_relative_paths_are_taken_from_the_harness_cwd(wt: Path) -> None:
    data = {"cwd": str(wt / "src"), "tool_name": "Write", "tool_input": {"file_path": "ui/b.py"}}
    assert "owned by stream ui" in denial(guard(wt, "--format", "claude", stdin=json.dumps(data)))
    data["tool_input"] = {"file_path": "api/b.py"}
    allowed(guard(wt, "--format", "claude", stdin=json.dumps(data)))


def test_tools_that_write_no_file_pass(wt: Path) -> None:
    allowed(hook(wt, "Read", file_path=str(wt / "src/ui/b.py")))
    allowed(hook(wt, "Bash", command="ls src/ui && cat src/ui/b.py > /dev/null"))


@pytest.mark.parametrize("stdin", ["", "{", "[]", '{"tool_name": "Edit", "tool_input": {}}',
                                   '{"tool_name": "Write", "tool_input": "src/ui/b.py"}'])
def test_unreadable_hook_input_blocks_with_the_reason_on_stderr(wt: Path, stdin: str) -> None:
    r = guard(wt, "--format", "claude", stdin=stdin)
    assert r.code == 2 and r.out == "", r
    assert "cannot be read" in r.err and "gitpar guard --format claude" in r.err


def test_text_and_json_formats_and_exit_codes(wt: Path) -> None:
    r = guard(wt / "src", "api/a.py")  # relative to where you are
    assert r.code == 0 and r.out.startswith("allow  src/api/a.py"), r
    r = guard(wt, "src/api/a.py", "src/ui/b.py", "--format", "json")
    assert r.code == 1, r
    data = json.loads(r.out)
    assert data["stream"] == "api" and data["allowed"] is False
    by_path = {p["repo_path"]: p for p in data["paths"]}
    assert by_path["src/api/a.py"]["allowed"] is True
    assert by_path["src/ui/b.py"]["rule"] == "owned" and by_path["src/ui/b.py"]["owner"] == "ui"
    r = guard(wt, "--format", "yaml", "x")
    assert r.code == 2 and "--format" in r.err and "claude" in r.err
    r = guard(wt)
    assert r.code == 2 and "no path given" in r.err


def test_same_verdicts_as_the_commit_check(wt: Path) -> None:
    paths = ["src/api/a.py", "src/ui/b.py", "src/config.py", "docs/x.md", "README.md", ".gitpar/plan.md"]
    for p in paths:
        write(wt / p, "changed\n")
    git(wt, "add", "-A")
    check = json.loads(gitpar(wt, "check", "--staged", "--json").out)
    r = guard(wt, *paths, "--json")
    denied = {p["repo_path"]: p["rule"] for p in json.loads(r.out)["paths"] if not p["allowed"]}
    assert denied == {v["path"]: v["rule"] for v in check["violations"]}
    assert set(denied) == {"src/ui/b.py", "src/config.py", "docs/x.md", "README.md", ".gitpar/plan.md"}


@pytest.mark.parametrize(("mode", "denied"), [("allow", False), ("deny", True), ("lock", True)])
def test_unowned_paths_follow_the_plan(repo: Path, run, mode: str, denied: bool) -> None:  # type: ignore[no-untyped-def]
    assert run(repo, "init").code == 0
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("unowned: lock", f"unowned: {mode}"))
    assert f"unowned: {mode}" in plan.read_text()
    commit_plan(repo)
    assert run(repo, "start", "api").code == 0
    wt = worktree_of(repo, "api")
    r = hook(wt, "Write", file_path=str(wt / "docs/x.md"), content="x")
    if denied:
        reason = denial(r)
        assert ("gitpar lock docs/x.md" in reason) == (mode == "lock")
    else:
        allowed(r)


def test_codex_apply_patch_and_gemini_write_file(wt: Path) -> None:
    patch = ("*** Begin Patch\n*** Update File: src/api/a.py\n@@\n-a = 1\n+a = 2\n"
             "*** Add File: src/ui/new.py\n+x = 1\n*** End Patch\n")
    reason = denial(hook(wt, "apply_patch", "codex", command=patch))
    assert "src/ui/new.py" in reason and "src/api/a.py" not in reason.split("\n")[0]
    r = hook(wt, "write_file", "gemini", file_path=str(wt / "src/ui/b.py"), content="x")
    assert r.code == 0 and json.loads(r.out)["decision"] == "deny" and "ui" in json.loads(r.out)["reason"]
    allowed(hook(wt, "write_file", "gemini", file_path=str(wt / "src/api/b.py"), content="x"))


def test_outside_any_repository_the_hook_passes(tmp_path: Path) -> None:
    data = {"cwd": str(tmp_path), "tool_name": "Write", "tool_input": {"file_path": str(tmp_path / "a")}}
    allowed(guard(tmp_path, "--format", "claude", stdin=json.dumps(data)))


def test_help_goes_to_the_full_command_line(wt: Path) -> None:
    r = guard(wt, "--help")
    assert r.code == 0 and "--format" in r.out
