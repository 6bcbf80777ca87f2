"""The MCP server: one typed tool per gitpar operation, read-only resources for the plan
and the brief. Built on the official SDK's FastMCP (``mcp.server.fastmcp``).

Each tool opens the repository afresh (the state branch moves under a long-lived
server), works in the server's working directory (the stream's worktree: paths are
relative to it), and returns what the command line's ``--json`` prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError

T = TypeVar("T")

# A tool call holds the server (one stdio session) while it runs: a lock's wait is bounded
# here, where the command line allows any wait (it blocks only its own process).
MAX_WAIT = 600.0
# All the text of one progress report together (each text is also held to the command
# line's limit, gitpar.core.progress.MAX_TEXT): a progress file must stay small.
MAX_REPORT = 16_000

INSTRUCTIONS = (
    "gitpar coordinates parallel work streams in one git repository. This server runs in one "
    "stream's worktree: 'brief' says what the stream owns and shares and the rules; 'guard' says "
    "whether a path may be written now; take a shared file's lock with 'lock' before changing it "
    "and 'unlock' it after committing; report with 'progress'; 'finish' when the work is committed."
)


@contextmanager
def _gitpar_errors() -> Iterator[None]:
    """A gitpar error (bad input, a refusal) as an MCP tool error with the message and fix."""
    from gitpar.errors import GitparError

    try:
        yield
    except GitparError as exc:
        raise ToolError(f"gitpar: {exc}") from exc


def _call(work: Callable[[Any], T], cwd: str, *, fetch: bool = False) -> T:
    """``work`` on the repository at ``cwd``; ``fetch``: a read of remote state, so with a
    ``remote:`` in the plan it fetches first (state, base, stream branches: one git fetch)."""
    from gitpar.core.repo import open_repo

    with _gitpar_errors():
        repo = open_repo(cwd)
        if fetch:
            from gitpar.core.remote import refresh

            refresh(repo)
        return work(repo)


def _paths(repo: Any, raw: list[str], cwd: str) -> list[str]:
    from gitpar.core.paths import repo_path
    from gitpar.errors import Refused

    root = repo.here or repo.main_root
    if root is None:
        raise Refused("this repository has no worktree to name paths in")
    return [repo_path(p, Path(cwd), root) for p in raw]


def build(cwd: str | None = None) -> FastMCP:
    """The server, with its tools and resources, working in ``cwd`` (default: the current
    directory, read once: the server's worktree)."""
    here = os.path.realpath(cwd or os.getcwd())
    server = FastMCP("gitpar", instructions=INSTRUCTIONS, log_level="WARNING")  # stderr: warnings only

    @server.tool()
    def status() -> dict[str, Any]:
        """Every stream's status, progress and what git shows (commits, files, dirty)."""
        from gitpar.core.status import collect

        return _call(lambda repo: collect(repo, repo.load_plan(), dirty="auto").to_dict(), here, fetch=True)

    @server.tool(name="next")
    def next_() -> dict[str, Any]:
        """The streams ready to start: pending, every dependency completed."""
        from gitpar.core.status import collect

        return _call(lambda repo: {"version": 1, "ready": collect(repo, repo.load_plan(), dirty="none").ready},
                     here, fetch=True)

    @server.tool()
    def brief(stream: str | None = None) -> dict[str, Any]:
        """The brief of this worktree's stream (or ``stream``): scope, owned and shared files,
        rules, commands; ``text`` is the brief as 'gitpar brief' prints it."""
        from gitpar.core import streams
        from gitpar.plugins import manager

        def work(repo: Any) -> dict[str, Any]:
            data = streams.brief(repo, streams.stream_of(repo, stream))
            plan = repo.load_plan()
            return {**data, "text": manager.render_brief(data, plan.stream(data["stream"]), plan)}

        return _call(work, here)

    @server.tool()
    def who(paths: list[str]) -> dict[str, Any]:
        """Which stream owns, shares or has locked each path (relative to the worktree)."""
        from gitpar.core.check import lock_holders
        from gitpar.core.rules import Rules
        from gitpar.core.rules import who as who_rows

        def work(repo: Any) -> dict[str, Any]:
            rules = Rules.from_plan(repo.load_plan())
            return {"version": 1, "paths": who_rows(rules, _paths(repo, paths, here), lock_holders(repo))}

        return _call(work, here)

    @server.tool()
    def guard(paths: list[str]) -> dict[str, Any]:
        """May this stream write these paths now? Each verdict says why not and the way out."""
        from gitpar.core.guard import guard as judge_paths

        def work(repo: Any) -> dict[str, Any]:
            verdicts = judge_paths(repo, paths, here)
            return {"version": 1, "stream": repo.current_stream(), "allowed": all(v.allowed for v in verdicts),
                    "paths": [v.to_dict() for v in verdicts]}

        return _call(work, here)

    @server.tool()
    def lock(paths: list[str], reason: str = "", ttl: str | None = None, wait: float = 0.0,
             agent: str = "") -> dict[str, Any]:
        """Lock shared files for this stream (all or none): ``ttl`` like 30m or 2h (default: the
        plan's), ``wait`` seconds for a held lock."""
        from gitpar.core import locks, streams
        from gitpar.core.progress import check_text
        from gitpar.errors import bad

        def work(repo: Any) -> dict[str, Any]:
            name = streams.stream_of(repo, None)
            plan = repo.load_plan("base")  # what enforcement trusts, as the command line
            plan.stream(name)
            seconds = locks.check_ttl(ttl, plan.settings.lock_ttl)
            if not 0 <= wait <= MAX_WAIT:  # NaN too
                raise bad(None, "wait", f"{wait} is not a number of seconds from 0 to {MAX_WAIT:.0f}",
                          f"give the seconds to wait, at most {MAX_WAIT:.0f} (call lock again to wait longer)")
            why, who_ = check_text(reason, "reason"), check_text(agent, "agent")
            root = repo.here or repo.main_root
            if root is None:
                raise bad(None, "paths", "this repository has no worktree to name paths in",
                          "run the server in a stream's worktree")
            rel = [locks.check_lock_path(p, Path(here), root) for p in paths]
            locks.check_lockable(plan, name, rel)
            worktree = repo.stream_worktrees().get(name)
            result = locks.lock(repo, name, rel, ttl=seconds, reason=why, agent=who_, wait=wait,
                                worktree=str(worktree or ""), plan=plan)
            return {"version": 1, "stream": name, "paths": rel, "ttl_seconds": seconds,
                    "renewed": bool(result.renewed and not result.taken),
                    "took_over": [{"path": p, "from": old.stream} for p, old in result.took_over]}

        return _call(work, here)

    @server.tool()
    def unlock(paths: list[str], force: bool = False) -> dict[str, Any]:
        """Release this stream's locks; ``force`` breaks another stream's lock (recorded)."""
        from gitpar.core import locks, streams
        from gitpar.store.state import signature

        def work(repo: Any) -> dict[str, Any]:
            name = streams.stream_of(repo, None)
            sig = signature(repo.git)
            released = locks.unlock(repo, name, _paths(repo, paths, here), force=force,
                                    who=f"{sig.name} <{sig.email}>")
            return {"version": 1, "released": [{"path": p, "held_by": held.stream} for p, held in released]}

        return _call(work, here)

    @server.tool(name="locks")
    def locks_() -> dict[str, Any]:
        """Every lock: holder, until when, why, and why it is stale (expired, finished, worktree gone);
        ``resources``: the holds on resources that are not files (``gitpar lock --resource``)."""
        from gitpar.core import locks
        from gitpar.core.locks.resources import list_resources

        def work(repo: Any) -> dict[str, Any]:
            held = []
            for lk, why in list_resources(repo):
                data = lk.to_dict()
                data["resource"] = data.pop("path")
                held.append(dict(data, stale=why))
            return {"version": 1, "locks": [dict(lk.to_dict(), stale=why) for lk, why in locks.list_locks(repo)],
                    "resources": held}

        return _call(work, here, fetch=True)

    @server.tool()
    def progress(status: str | None = None, completion: int | None = None, done: list[str] | None = None,
                 current: str | None = None, blocked: list[str] | None = None,
                 next_steps: list[str] | None = None, need: list[str] | None = None,
                 agent: str | None = None) -> dict[str, Any]:
        """Report this stream's progress: ``status`` (pending, in_progress, blocked, completed,
        failed), ``completion`` 0..100, items ``done``, what is ``current``, what ``blocked`` it,
        ``next_steps``, and ``need`` (coordination, like "ui: agree on the fields")."""
        from gitpar.core import streams
        from gitpar.core.progress import ProgressUpdate, check_completion, check_status, check_text
        from gitpar.errors import bad

        def texts(items: list[str] | None, field: str) -> tuple[str, ...]:
            return tuple(check_text(t, field) for t in items or ())

        def work(repo: Any) -> dict[str, Any]:
            if status is not None:
                check_status(status)
            comp = check_completion(completion) if completion is not None else None
            name = streams.stream_of(repo, None)
            update = ProgressUpdate(status=status, completion=comp, done=texts(done, "done"),
                                    current=None if current is None else check_text(current, "current"),
                                    blocked=texts(blocked, "blocked"), next=texts(next_steps, "next_steps"),
                                    need=texts(need, "need"),
                                    agent=None if agent is None else check_text(agent, "agent"))
            size = sum(map(len, (*update.done, *update.blocked, *update.next, *update.need,
                                 update.current or "", update.agent or "")))
            if size > MAX_REPORT:
                raise bad(None, "progress", f"the report's text is {size} characters long, more than "
                          f"{MAX_REPORT}", "say it in a few sentences, and put long notes in a file of the stream")
            return streams.report(repo, name, update).to_dict()

        return _call(work, here)

    @server.tool()
    def finish(force: bool = False) -> dict[str, Any]:
        """Mark this stream completed and release its locks (refused while the worktree has
        uncommitted changes, unless ``force``)."""
        from gitpar.core import streams

        def work(repo: Any) -> dict[str, Any]:
            name = streams.stream_of(repo, None)
            return streams.finish(repo, name, force=force).to_dict()

        return _call(work, here)

    @server.tool()
    def check(range: str | None = None) -> dict[str, Any]:
        """Judge the staged change (default) or the commits of ``range`` (like main..HEAD)
        against the plan on the base branch, as the hooks and CI do."""
        from gitpar.core import check as chk
        from gitpar.errors import bad

        def work(repo: Any) -> dict[str, Any]:
            if range is None:
                return chk.check_staged(repo).to_dict()
            if ".." not in range:
                raise bad(None, "range", f"{range!r} is not a range", "write it like main..HEAD")
            a, b = range.split("..", 1)
            head = b or "HEAD"
            return chk.check_range(repo, a or None, head, branch=(
                repo.current_branch() if head == "HEAD" else head)).to_dict()

        return _call(work, here)

    @server.tool()
    def conflicts() -> dict[str, Any]:
        """Forecast which active streams will conflict with each other and with the base."""
        from gitpar.core.conflicts import forecast

        return _call(lambda repo: forecast(repo).to_dict(), here, fetch=True)

    @server.resource("gitpar://plan", name="plan", mime_type="text/markdown",
                     description="The plan on the base branch: settings and every stream's definition.")
    def plan_resource() -> str:
        def work(repo: Any) -> str:
            plan = repo.load_plan_at_base(repo.configured_base()) or repo.load_plan()
            root = Path(repo.main_root or repo.here)
            parts = [(root / ".gitpar/plan.md").read_text(encoding="utf-8")]
            for s in plan.streams.values():
                f = root / ".gitpar" / "streams" / f"{s.name}.md"
                if f.is_file():
                    parts.append(f"<!-- .gitpar/streams/{s.name}.md -->\n" + f.read_text(encoding="utf-8"))
            return "\n\n".join(parts)

        return _call(work, here)

    @server.resource("gitpar://brief", name="brief", mime_type="text/markdown",
                     description="The brief of this worktree's stream, as 'gitpar brief' prints it.")
    def brief_resource() -> str:
        return str(brief()["text"])

    return server


def serve() -> None:
    """Run the server on stdin/stdout until the client closes it.

    The locks its tools take are held by this process (``GITPAR_HOLDER_PID``, unless the
    harness named another): when the session ends, they show as "holder gone" and the next
    stream to ask takes them over without waiting for their TTL."""
    import os

    os.environ.setdefault("GITPAR_HOLDER_PID", str(os.getpid()))
    build().run("stdio")
