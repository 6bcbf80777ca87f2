"""Every write caught while the agent works: shell commands before they run, the worktree
after every tool call (``gitpar guard --changed``, PostToolUse), and the guard's identity.

Real ``python -m gitpar guard`` processes, real worktrees, the real Claude Code / Codex /
Gemini CLI payloads on stdin; the shell commands are really run between the two checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Result, git, gitpar, worktree_of, write


def guard(cwd: Path, *args: str, stdin: str = "") -> Result:
    proc = subprocess.run([sys.executable, "-m", "gitpar", "guard", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def payload(event: str, cwd: Path, tool: str, **tool_input: object) -> str:
    return json.dumps({"session_id": "s", "transcript_path": "/dev/null", "hook_event_name": event,
                       "cwd": str(cwd), "tool_name": tool, "tool_input": tool_input, "tool_use_id": "t1"})


def before_bash(wt: Path, command: str, *args: str, cwd: Path | None = None, fmt: str = "claude",
                where: Path | None = None) -> Result:
    tool = "run_shell_command" if fmt == "gemini" else "Bash"
    return guard(where or wt, "--format", fmt, *args,
                 stdin=payload("BeforeTool" if fmt == "gemini" else "PreToolUse", cwd or wt, tool, command=command))


def after(wt: Path, *args: str, fmt: str = "claude", tool: str = "Bash", cwd: Path | None = None,
          where: Path | None = None) -> Result:
    event = "AfterTool" if fmt == "gemini" else "PostToolUse"
    return guard(where or wt, "--format", fmt, *args,
                 stdin=payload(event, cwd or wt, tool, command="whatever ran"))


def denial(r: Result) -> str:
    assert r.code == 0, r
    out = json.loads(r.out)["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse" and out["permissionDecision"] == "deny", r
    return str(out["permissionDecisionReason"])


def blocked(r: Result) -> str:
    """A PostToolUse answer in Claude Code's (and Codex's) blocking form; its reason."""
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["decision"] == "block" and data["hookSpecificOutput"]["hookEventName"] == "PostToolUse", r
    return str(data["reason"])


def silent(r: Result) -> None:
    assert (r.code, r.out.strip()) == (0, ""), r


def sh(cwd: Path, command: str) -> None:
    subprocess.run(["bash", "-c", command], cwd=cwd, check=True)


@pytest.fixture
def wt(planned: Path, run) -> Path:  # type: ignore[no-untyped-def]
    assert run(planned, "start", "api").code == 0
    return worktree_of(planned, "api")


# -- before a shell command runs (a best effort) ------------------------------------------------


@pytest.mark.parametrize("command", [
    "sed -i 's/b = 1/b = 2/' src/ui/b.py",
    "echo 'x = 1' >> src/ui/b.py",
    "printf x > src/ui/new.py 2>/dev/null",
    "python gen.py | tee -a src/ui/gen.py",
    "cp src/api/a.py src/ui/",
    "mv src/ui/b.py src/api/b.py",
    "rm -rf src/ui",
    "touch src/api/ok.py src/ui/x.py",
    "git checkout -- src/ui/b.py",
    "cd src/ui && sed -i.bak -e s/b/c/ b.py",
    "bash -c 'echo hi > src/ui/b.py'",
    "FOO=1 sudo -E perl -pi -e 's/b/c/' src/ui/b.py",
])
def test_a_shell_command_writing_another_streams_file_is_denied(wt: Path, command: str) -> None:
    reason = denial(before_bash(wt, command))
    assert "owned by stream ui" in reason and "src/ui/" in reason, reason
    assert 'gitpar progress --need "ui: ' in reason


@pytest.mark.parametrize("command", [
    "sed -i s/a/b/ src/api/a.py", "echo x > src/api/new.py 2>&1", "ls src/ui > /dev/null",
    "cat src/ui/b.py | grep b", "echo $X > $TARGET", "cat > /tmp/gitpar-guard-scratch <<EOF\nrm src/ui/b.py\nEOF",
    "git status && git diff src/ui/b.py", "sed s/b/c/ src/ui/b.py",
])
def test_a_shell_command_writing_only_its_own_files_or_nothing_it_shows_passes(wt: Path, command: str) -> None:
    silent(before_bash(wt, command))


def test_a_shell_write_into_another_worktree_of_the_repository_is_denied(wt: Path, planned: Path) -> None:
    reason = denial(before_bash(wt, f"echo x >> {planned}/src/api/a.py"))
    assert "outside stream api's worktree" in reason
    assert "lock" in denial(before_bash(wt, "echo x >> src/config.py"))  # shared: its lock first


def test_gemini_and_codex_shell_tools(wt: Path) -> None:
    r = before_bash(wt, "sed -i s/b/c/ src/ui/b.py", fmt="gemini")
    assert r.code == 0 and json.loads(r.out)["decision"] == "deny" and "ui" in json.loads(r.out)["reason"]
    assert "owned by stream ui" in denial(before_bash(wt, "rm src/ui/b.py", fmt="codex"))


def test_codex_patch_headers_with_leading_whitespace(wt: Path) -> None:
    patch = "*** Begin Patch\n  *** Update File: src/ui/b.py\n@@\n-b = 1\n+b = 2\n*** End Patch\n"
    r = guard(wt, "--format", "codex", stdin=payload("PreToolUse", wt, "apply_patch", command=patch))
    assert "owned by stream ui" in denial(r)


# -- after the tool call: the worktree itself ----------------------------------------------------


def test_after_a_shell_write_the_worktree_check_blocks_naming_file_owner_and_way_out(wt: Path) -> None:
    silent(after(wt))  # a fresh worktree holds nothing to refuse
    sh(wt, "sed -i 's/b = 1/b = 2/' src/ui/b.py")
    reason = blocked(after(wt))
    assert "src/ui/b.py" in reason and "owned by stream ui" in reason and "(modified)" in reason
    assert "git checkout HEAD -- src/ui/b.py" in reason and 'gitpar progress --need "ui: ' in reason
    assert (wt / "src/ui/b.py").read_text() == "b = 2\n"  # nothing reverted
    sh(wt, "git checkout HEAD -- src/ui/b.py")  # the way out it names works
    silent(after(wt))


def test_created_deleted_and_staged_files_are_each_named(wt: Path) -> None:
    write(wt / "src/ui/gen/out.py", "x\n")   # created by a generator
    (wt / "docs/x.md").unlink()               # deleted: unowned, so it needs a lock
    write(wt / "src/api/mine.py", "ok\n")     # the stream's own: fine
    write(wt / "src/ui/staged.py", "s\n")
    git(wt, "add", "src/ui/staged.py")
    reason = blocked(after(wt))
    assert "src/ui/gen/out.py" in reason and "git clean -f -- src/ui/gen/out.py" in reason
    assert "docs/x.md" in reason and "(deleted)" in reason and "gitpar lock docs/x.md" in reason
    assert "src/ui/staged.py" in reason and "(added)" in reason
    assert "src/api/mine.py" not in reason
    assert (wt / "src/ui/gen/out.py").exists() and not (wt / "docs/x.md").exists()


def test_ignored_files_are_not_the_streams_work(wt: Path) -> None:
    (wt / ".git").read_text()  # a worktree: .git is a file
    write(wt / "src/ui/__pycache__/b.cpython.pyc", "bytes")
    info = Path(git(wt, "rev-parse", "--git-common-dir").strip())
    info = info if info.is_absolute() else wt / info
    write(info / "info/exclude", "__pycache__/\n")
    silent(after(wt))


def test_a_shared_file_is_allowed_after_the_fact_while_its_lock_is_held(wt: Path) -> None:
    sh(wt, "echo extra >> src/config.py")
    assert "gitpar lock src/config.py" in blocked(after(wt))
    assert gitpar(wt, "lock", "src/config.py").code == 0
    silent(after(wt))


def test_a_change_undone_by_hand_counts_as_none(wt: Path) -> None:
    sh(wt, "echo x >> src/ui/b.py")
    sh(wt, "printf 'b = 1\\n' > src/ui/b.py")  # back to what it was: the net-effect rule
    silent(after(wt))


def test_gemini_and_codex_after_tool_events(wt: Path) -> None:
    sh(wt, "echo x >> src/ui/b.py")
    r = after(wt, fmt="gemini", tool="run_shell_command")
    assert r.code == 0 and json.loads(r.out)["decision"] == "deny" and "src/ui/b.py" in json.loads(r.out)["reason"]
    assert "owned by stream ui" in blocked(after(wt, fmt="codex"))


def test_guard_changed_text_json_and_the_commit_checks_verdicts(wt: Path) -> None:
    r = guard(wt, "--changed")
    assert r.code == 0 and "no change" in r.out, r
    for p in ["src/api/a.py", "src/ui/b.py", "src/config.py", "docs/x.md", "README.md", ".gitpar/plan.md"]:
        write(wt / p, "changed\n")
    r = guard(wt / "src", "--changed", "--json")
    assert r.code == 1, r
    data = json.loads(r.out)
    assert data["stream"] == "api" and data["allowed"] is False
    changed = {p["repo_path"]: p["rule"] for p in data["paths"]}
    git(wt, "add", "-A")
    check = json.loads(gitpar(wt, "check", "--staged", "--json").out)
    assert changed == {v["path"]: v["rule"] for v in check["violations"]}  # one verdict
    assert set(changed) == {"src/ui/b.py", "src/config.py", "docs/x.md", "README.md", ".gitpar/plan.md"}
    r = guard(wt, "--changed", "src/ui/b.py")
    assert r.code == 2 and "--changed" in r.err


def test_a_postooluse_hook_fires_the_commit_hooks_rules_through_a_real_commit(wt: Path) -> None:
    sh(wt, "echo x >> src/ui/b.py && git add -A")
    assert "src/ui/b.py" in blocked(after(wt))
    assert subprocess.run(["git", "commit", "-qm", "slip"], cwd=wt, capture_output=True).returncode != 0


# -- whose write it is: --stream, and a cwd outside every worktree --------------------------------


def test_a_guard_that_knows_its_stream_judges_as_it_whatever_the_cwd(started: Path) -> None:
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    # the session wandered into ui's worktree: without --stream it would be judged as ui
    target = str(ui / "src/ui/b.py")
    edit = payload("PreToolUse", ui, "Edit", file_path=target, old_string="b", new_string="c")
    silent(guard(ui, "--format", "claude", stdin=edit))
    reason = denial(guard(api, "--stream", "api", "--format", "claude", stdin=edit))
    assert "stream api may not write" in reason and "outside stream api's worktree" in reason
    reason = denial(guard(ui, "--stream", "api", "--format", "claude", stdin=edit))  # whatever the hook's folder
    assert "outside stream api's worktree" in reason
    ok = payload("PreToolUse", ui, "Write", file_path=str(api / "src/api/new.py"), content="x")
    silent(guard(ui, "--stream", "api", "--format", "claude", stdin=ok))
    denial(before_bash(api, "sed -i s/b/c/ src/ui/b.py", "--stream", "api", cwd=ui, where=ui))
    # after the call, the check is of api's worktree
    sh(api, "echo x >> src/ui/b.py")
    assert "src/ui/b.py" in blocked(after(api, "--stream", "api", cwd=ui, where=ui))


def test_a_session_outside_every_worktree_is_not_waved_through(wt: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    edit = payload("PreToolUse", elsewhere, "Write", file_path=str(wt / "src/ui/b.py"), content="x")
    # the hook's own folder is the worktree (as the harness runs it): judged there, as api
    assert "owned by stream ui" in denial(guard(wt, "--format", "claude", stdin=edit))
    # no worktree anywhere: the write lands in a planned repository's worktree, so refused
    reason = denial(guard(elsewhere, "--format", "claude", stdin=edit))
    assert "in no worktree" in reason and "--stream" in reason
    scratch = payload("PreToolUse", elsewhere, "Write", file_path=str(elsewhere / "a.txt"), content="x")
    silent(guard(elsewhere, "--format", "claude", stdin=scratch))


def test_a_stream_without_a_worktree_blocks_and_a_bad_name_is_bad_input(wt: Path) -> None:
    edit = payload("PreToolUse", wt, "Write", file_path=str(wt / "src/api/a.py"), content="x")
    r = guard(wt, "--stream", "ui", "--format", "claude", stdin=edit)
    assert r.code == 2 and "stream ui (--stream) has no worktree" in r.err and "gitpar start ui" in r.err
    r = guard(wt, "--stream", "../x", "src/api/a.py")
    assert r.code == 2 and "--stream" in r.err and "Traceback" not in r.err


# -- the hook's JSON, read and written without the json module ---------------------------------


@pytest.mark.parametrize("text", [
    "{}", " [] \n", '{"a": [1, 2.5, -3e10, true, false, null, "\\u00e9\\n\\"x"]}',
    '{"tool_input": {"command": "sed -i \\"s/a/b/\\" f"}, "n": 12345678901234567890}', '"\\ud83d\\ude00"',
    json.dumps({"cwd": "/tmp/é", "tool_input": {"content": "x" * 5000, "edits": [{"old": "\t"}]}}),
])
def test_hook_json_reads_as_json_does(text: str) -> None:
    from gitpar.core import hook_json

    assert hook_json.loads(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "{", "[] x", '{"a":}', '"\\x"', "{'a': 1}"])
def test_hook_json_refuses_what_json_refuses(text: str) -> None:
    from gitpar.core import hook_json

    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        hook_json.loads(text)


def test_hook_json_writes_what_json_reads_back() -> None:
    from gitpar.core import hook_json

    value = {"decision": "block", "reason": "é\n\"quoted\" \\ back", "n": [1, True, None, False], "o": {}}
    assert json.loads(hook_json.dumps(value)) == value
    assert hook_json.dumps(value) == json.dumps(value)


# -- the ref files read without git (store.quickgit.ref_value), against git's own answer ------


def _git_says(repo: Path, ref: str) -> str | None:
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=repo, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_ref_value_reads_loose_packed_peeled_and_both_as_git_does(repo: Path) -> None:
    from gitpar.store.quickgit import ref_value

    common = str(repo / ".git")
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "branch", "packed")
    git(repo, "branch", "both")
    git(repo, "tag", "-a", "-m", "annotated", "annotated")
    git(repo, "tag", "light")
    git(repo, "pack-refs", "--all")
    write(repo / "next.txt", "next\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "next")
    git(repo, "update-ref", "refs/heads/both", "HEAD")  # now loose too, newer than its packed line
    git(repo, "branch", "loose")
    packed = (repo / ".git/packed-refs").read_text()
    assert "refs/heads/both" in packed and "\n^" in packed  # a ref both packed and loose; a peeled line
    assert (repo / ".git/refs/heads/both").is_file() and not (repo / ".git/refs/heads/packed").exists()
    cases = ["refs/heads/main", "refs/heads/packed", "refs/heads/both", "refs/heads/loose",
             "refs/tags/annotated", "refs/tags/light"]
    for ref in cases:
        assert ref_value(common, ref) == _git_says(repo, ref), ref
    assert ref_value(common, "refs/tags/annotated") != first  # the tag object, not the commit it peels to
    assert ref_value(common, "refs/heads/both") != first
    assert ref_value(common, "refs/heads/nothing") is None and _git_says(repo, "refs/heads/nothing") is None
    assert ref_value(common, "refs/heads") is None  # a folder is no ref
    # a symbolic ref is git's to follow: the caller asks git
    git(repo, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    assert ref_value(common, "refs/heads/alias") is None


def test_guard_changed_asks_git_no_ref_when_the_base_is_packed(started: Path, tmp_path: Path) -> None:
    """The rules cache compares the packed base and state refs' values with what it was built
    on, so a second --changed runs no 'git cat-file' (logged by GIT_TRACE), and still sees a
    moved packed ref."""
    import os

    git(started, "pack-refs", "--all")
    assert not (started / ".git/refs/heads/main").exists()
    wt = worktree_of(started, "api")
    write(wt / "src/ui/b.py", "changed\n")
    trace = tmp_path / "trace"

    def changed() -> tuple[Result, str]:
        trace.unlink(missing_ok=True)
        proc = subprocess.run([sys.executable, "-m", "gitpar", "guard", "--changed"], cwd=wt, capture_output=True,
                              text=True, env={**os.environ, "GIT_TRACE": str(trace)})
        return Result(proc.returncode, proc.stdout, proc.stderr), trace.read_text() if trace.exists() else ""

    first, _ = changed()
    assert first.code == 1 and "src/ui/b.py" in first.out, first
    again, log = changed()
    assert again.code == 1 and "src/ui/b.py" in again.out, again
    assert "cat-file" not in log, log
    # the base moves (a new packed value): the cache is not trusted, git is asked again
    write(started / "docs/x.md", "moved\n")
    git(started, "commit", "-qam", "docs")
    git(started, "pack-refs", "--all")
    moved, log = changed()
    assert moved.code == 1 and "cat-file" in log, (moved, log)
