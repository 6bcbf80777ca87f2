"""gitpar mcp, driven by the MCP SDK's own client over stdio (a real `gitpar mcp` process)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from gitpar.testing import run, worktree_of

TOOLS = {"status", "next", "brief", "who", "guard", "lock", "unlock", "locks", "progress", "finish",
         "check", "conflicts"}


def session(cwd: Path, script: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Start `gitpar mcp` in ``cwd``, initialise, run ``script`` with the session."""
    import os

    params = StdioServerParameters(command=sys.executable, args=["-m", "gitpar", "mcp"], cwd=str(cwd),
                                   env=dict(os.environ))

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            return await script(s)

    return asyncio.run(main())


def data(result: Any) -> dict[str, Any]:
    assert not result.isError, result
    return json.loads(result.content[0].text)


@pytest.fixture
def wt(gitpar_repo: Path) -> Path:
    assert run(gitpar_repo, "start", "api").code == 0
    return worktree_of(gitpar_repo, "api")


def test_tools_are_listed_typed(wt: Path) -> None:
    async def script(s: ClientSession) -> Any:
        return (await s.list_tools()).tools

    tools = {t.name: t for t in session(wt, script)}
    assert set(tools) == TOOLS
    assert tools["who"].inputSchema["properties"]["paths"]["type"] == "array"
    assert tools["lock"].inputSchema["required"] == ["paths"]
    assert tools["progress"].inputSchema["properties"]["completion"]["anyOf"][0]["type"] == "integer"


def test_who_guard_lock_unlock_as_the_cli_does(wt: Path) -> None:
    async def script(s: ClientSession) -> Any:
        who = data(await s.call_tool("who", {"paths": ["src/ui/b.py", "src/config.py"]}))
        denied = data(await s.call_tool("guard", {"paths": ["src/config.py", "src/api/a.py"]}))
        locked = data(await s.call_tool("lock", {"paths": ["src/config.py"], "reason": "new setting"}))
        held = data(await s.call_tool("locks", {}))
        allowed = data(await s.call_tool("guard", {"paths": ["src/config.py"]}))
        released = data(await s.call_tool("unlock", {"paths": ["src/config.py"]}))
        return who, denied, locked, held, allowed, released

    who, denied, locked, held, allowed, released = session(wt, script)
    assert [(p["path"], p["owners"], p["shares"]) for p in who["paths"]] == [
        ("src/ui/b.py", ["ui"], []), ("src/config.py", [], ["api", "ui"])]
    assert denied["allowed"] is False and denied["paths"][0]["rule"] == "needs-lock"
    assert "gitpar lock src/config.py" in denied["paths"][0]["fix"] and denied["paths"][1]["allowed"]
    assert locked["stream"] == "api" and locked["paths"] == ["src/config.py"]
    assert [(lk["path"], lk["stream"], lk["reason"]) for lk in held["locks"]] == [
        ("src/config.py", "api", "new setting")]
    assert allowed["allowed"] is True
    assert released["released"] == [{"path": "src/config.py", "held_by": "api"}]
    # the CLI sees the same state branch
    assert run(wt, "locks").err.strip() == "no locks"


def test_a_gitpar_error_is_a_tool_error_with_the_fix(wt: Path) -> None:
    async def script(s: ClientSession) -> Any:
        return (await s.call_tool("lock", {"paths": ["src/ui/b.py"]}),
                await s.call_tool("progress", {"completion": 140}),
                await s.call_tool("who", {"paths": ["../outside.py"]}))

    foreign, bad_value, outside = session(wt, script)
    assert foreign.isError and "owned by stream ui" in foreign.content[0].text
    assert bad_value.isError and "completion" in bad_value.content[0].text
    assert outside.isError and "outside the repository" in outside.content[0].text
    assert "fix:" in outside.content[0].text


def test_progress_brief_status_and_resources(wt: Path) -> None:
    async def script(s: ClientSession) -> Any:
        reported = data(await s.call_tool("progress", {"completion": 40, "done": ["list endpoint"],
                                                       "need": ["ui: agree on fields"]}))
        status = data(await s.call_tool("status", {}))
        brief = data(await s.call_tool("brief", {}))
        resources = {str(r.uri) for r in (await s.list_resources()).resources}
        plan = (await s.read_resource("gitpar://plan")).contents[0]
        brief_text = (await s.read_resource("gitpar://brief")).contents[0]
        check = data(await s.call_tool("check", {}))
        return reported, status, brief, resources, plan, brief_text, check

    reported, status, brief, resources, plan, brief_text, check = session(wt, script)
    assert reported["stream"] == "api" and reported["completion"] == 40
    api = next(s for s in status["streams"] if s["stream"] == "api")
    assert api["completion"] == 40 and "ui: agree on fields" in json.dumps(api)
    assert brief["stream"] == "api" and "src/api/**" in brief["owns"] and "# Stream api" in brief["text"]
    assert resources == {"gitpar://plan", "gitpar://brief"}
    assert "streams/api.md" in plan.text and "src/ui/**" in plan.text
    assert brief_text.text.startswith("# Stream api")
    assert check["ok"] is True and check["stream"] == "api"


def test_locks_and_status_fetch_the_other_clones_state(gitpar_repo: Path, tmp_path: Path) -> None:
    # two clones of one bare origin: the lock taken in alice's clone is what bob's tools see
    import subprocess

    def git(cwd: Path, *args: str) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)

    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(gitpar_repo, "remote", "add", "origin", str(origin))
    git(gitpar_repo, "push", "-q", "origin", "main")
    assert run(gitpar_repo, "init", "--remote", "origin", "--no-hooks").code == 0
    git(gitpar_repo, "commit", "-qam", "remote: origin")
    git(gitpar_repo, "push", "-q", "origin", "main")
    bob = tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(origin), str(bob))
    assert run(bob, "init", "--no-hooks").code == 0
    assert run(gitpar_repo, "start", "api").code == 0
    assert run(worktree_of(gitpar_repo, "api"), "lock", "src/config.py", "--reason", "alice").code == 0

    async def script(s: ClientSession) -> Any:
        return data(await s.call_tool("locks", {})), data(await s.call_tool("status", {}))

    held, status = session(bob, script)
    assert [(lk["path"], lk["stream"]) for lk in held["locks"]] == [("src/config.py", "api")]
    api = next(x for x in status["streams"] if x["stream"] == "api")
    assert api["status"] == "in_progress"


def test_the_servers_limits_are_the_command_lines(wt: Path) -> None:
    """No lock on the plan, no huge wait holding the server, no megabyte of progress text."""
    async def script(s: ClientSession) -> Any:
        return (await s.call_tool("lock", {"paths": [".gitpar/plan.md"]}),
                await s.call_tool("lock", {"paths": ["src/config.py"], "wait": 1e9}),
                await s.call_tool("lock", {"paths": ["src/config.py"], "reason": "r" * 5000}),
                await s.call_tool("progress", {"current": "x" * 1_500_000}),
                await s.call_tool("progress", {"done": ["d" * 3000] * 10}),
                await s.call_tool("locks", {}))

    plan, wait, reason, huge, many, held = session(wt, script)
    assert plan.isError and "part of the plan" in plan.content[0].text, plan
    assert wait.isError and "wait" in wait.content[0].text and "600" in wait.content[0].text, wait
    assert reason.isError and "reason" in reason.content[0].text, reason
    assert huge.isError and "current" in huge.content[0].text, huge
    assert many.isError and "16000" in many.content[0].text, many
    assert data(held)["locks"] == []


def test_the_locks_tool_shows_resources(wt: Path) -> None:
    assert run(wt, "lock", "--resource", "gpu:0", "--reason", "training").code == 0

    async def script(s: ClientSession) -> Any:
        return data(await s.call_tool("locks", {}))

    held = session(wt, script)
    assert [(r["resource"], r["stream"], r["reason"]) for r in held["resources"]] == [("gpu:0", "api", "training")]
