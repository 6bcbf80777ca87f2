"""The ``gitpar`` command line: parse, call one function, print.

Heavy modules (pygit2, yaml, rich) are imported inside the commands that need them, so
``gitpar --help`` and the hooks start fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gitpar.cli import output as o
from gitpar.cli.app import JsonOpt, _repo, app, stream_app
from gitpar.cli.session import run_guarded
from gitpar.cli.writes import percent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.repo import Repo


# -- init and plan editing ---------------------------------------------------------------


@app.command()
def init(base: Annotated[str | None, typer.Option(help="The base branch (default: the current one).")] = None,
         no_hooks: Annotated[bool, typer.Option("--no-hooks", help="Do not install the git hooks.")] = False,
         remote: Annotated[str | None, typer.Option(help="Coordinate across machines through this git remote "
                                                    "(writes remote: NAME to plan.md).")] = None) -> None:
    """Create .gitpar/plan.md, .gitpar/streams/ and the state branch gitpar/_state.

    In a clone whose remote already has gitpar/_state, adopt it (never a second root)."""
    from gitpar.core import streams

    repo = _repo()
    done = streams.init(repo, base=base, remote=remote)
    if not no_hooks:
        done.extend(_install_hooks(repo))
    for line in done or ["already initialised"]:
        o.err(line)


def _install_hooks(repo: Repo) -> list[str]:
    try:
        from gitpar.store import hooks
    except ImportError:  # enforcement not built in this version
        return []
    return hooks.install(repo)


@stream_app.command("add")
def stream_add(
    name: str,
    owns: Annotated[list[str], typer.Option("--owns", help="Pattern the stream owns exclusively (repeat).")] = [],  # noqa: B006
    shares: Annotated[list[str], typer.Option("--shares", help="Pattern it may change under a lock (repeat).")] = [],  # noqa: B006
    depends_on: Annotated[list[str], typer.Option("--depends-on", help="A stream this one starts after (repeat, or a,b).")] = [],  # noqa: B006
    agent: Annotated[str, typer.Option(help="Who or what works on it.")] = "",
    priority: Annotated[int, typer.Option(help="Tie-breaker, higher first.")] = 0,
    estimate: Annotated[str | None, typer.Option(help="Duration: 90s, 45m, 2h, 1d.")] = None,
    brief: Annotated[str, typer.Option(help="The brief for the worker (the file's body).")] = "",
    description: Annotated[str, typer.Option(help="One line saying what the stream is.")] = "",
) -> None:
    """Add a stream: write .gitpar/streams/NAME.md after validating the whole plan."""
    from gitpar.core import streams

    stream, _warnings = streams.stream_add(_repo(), name, owns=owns, shares=shares, depends_on=depends_on,
                                          agent=agent, priority=priority, estimate=estimate,
                                          brief=brief, description=description)
    o.err(f"wrote {stream.file}; commit it to the base branch before starting the stream")


@stream_app.command("list")
def stream_list(json_: JsonOpt = False) -> None:
    """List the streams of the plan."""
    from gitpar.core.durations import format_duration

    plan = _repo().load_plan()
    if json_:
        o.emit_json({"version": 1, "streams": [_stream_dict(s) for s in plan.streams.values()]})
        return
    o.table(["stream", "owns", "shares", "depends on", "agent", "estimate"],
            [[s.name, " ".join(s.owns), " ".join(s.shares), ", ".join(s.depends_on), s.agent,
              format_duration(s.estimate) if s.estimate is not None else ""]
             for s in plan.streams.values()])


def _stream_dict(s) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {"name": s.name, "stream": s.name, "description": s.description, "owns": list(s.owns),
            "shares": list(s.shares), "depends_on": list(s.depends_on), "agent": s.agent,
            "priority": s.priority, "estimate_s": s.estimate, "file": s.file}


@stream_app.command("show")
def stream_show(name: str, json_: JsonOpt = False) -> None:
    """Show one stream's definition and brief."""
    plan = _repo().load_plan()
    s = plan.stream(name)
    if json_:
        d = _stream_dict(s)
        d["brief"] = s.brief
        o.emit_json(d)
        return
    d = _stream_dict(s)
    for key in ("name", "description", "owns", "shares", "depends_on", "agent", "priority", "estimate_s", "file"):
        o.out(f"{key}: {d[key]}")
    if s.brief:
        o.out("")
        o.out(s.brief)


@stream_app.command("rm")
def stream_rm(name: str,
              force: Annotated[bool, typer.Option(help="Remove even if others depend on it.")] = False) -> None:
    """Remove a stream's definition file."""
    from gitpar.core import streams

    path = streams.stream_rm(_repo(), name, force=force)
    o.err(f"removed {path}")


# -- streams --------------------------------------------------------------------------------


@app.command()
def start(name: str,
          force: Annotated[bool, typer.Option(help="Start although dependencies are not completed "
                                                     "(with --take-over: although its holder is alive).")] = False,
          take_over: Annotated[bool, typer.Option("--take-over", help="Continue a stream in progress in another "
                                                  "clone, from the remote's gitpar/NAME; refused while its "
                                                  "holder is known alive.")] = False,
          agent: Annotated[str | None, typer.Option(help="Who works on it.")] = None,
          json_: JsonOpt = False) -> None:
    """Create branch gitpar/NAME from the base tip, its worktree, and its progress file."""
    from gitpar.core import streams

    result = streams.start(_repo(), name, force=force, agent=agent, take_over=take_over)
    if json_:
        o.emit_json({"stream": result.stream, "branch": result.branch, "worktree": str(result.worktree),
                     "port": result.port, "copied": result.copied,
                     "setup_log": str(result.setup_log) if result.setup_log else None,
                     "setup_failed": result.setup_failed})
    else:
        o.err(f"{'reused' if result.reused else 'created'} worktree {result.worktree} on {result.branch}"
              f" (GITPAR_PORT={result.port})")
        if result.copied:
            o.err(f"copied {', '.join(result.copied)}")
        for note in result.notes:
            o.err(note)
        if result.setup_log:
            o.err(f"setup log: {result.setup_log}")
        o.out(str(result.worktree))
    if result.setup_failed:
        o.err(f"setup failed: {result.setup_failed}; the stream is marked failed and the worktree kept "
              f"for inspection (log: {result.setup_log})")
        raise typer.Exit(1)


@app.command()
def brief(name: Annotated[str | None, typer.Argument(help="The stream (default: this worktree's).")] = None,
          json_: JsonOpt = False) -> None:
    """Print what a worker needs: the brief, owned and shared files, the commands to report."""
    from gitpar.core import streams

    repo = _repo()
    data = streams.brief(repo, streams.stream_of(repo, name))
    if json_:
        o.emit_json(data)
        return
    from gitpar.plugins import manager as plugins

    plan = repo.load_plan()
    o.out(plugins.render_brief(data, plan.stream(data["stream"]), plan).rstrip("\n"))


@app.command()
def progress(
    stream: Annotated[str | None, typer.Option("--stream", "-s", help="The stream (default: this worktree's).")] = None,
    status: Annotated[str | None, typer.Option(help="pending | in_progress | blocked | completed | failed")] = None,
    completion: Annotated[int | None, typer.Option(parser=percent, metavar="0-100",
                                                   help="Percent done, a whole number 0 to 100.")] = None,
    done: Annotated[list[str], typer.Option("--done", help="An item finished (repeat).")] = [],  # noqa: B006
    current: Annotated[str | None, typer.Option(help="What you are doing now.")] = None,
    blocked: Annotated[list[str], typer.Option("--blocked", help="What blocks you (repeat).")] = [],  # noqa: B006
    next_: Annotated[list[str], typer.Option("--next", help="A next step (repeat).")] = [],  # noqa: B006
    need: Annotated[list[str], typer.Option("--need", help="Coordination needed from others (repeat).")] = [],  # noqa: B006
    agent: Annotated[str | None, typer.Option(help="Who reports.")] = None,
    clear: Annotated[list[str], typer.Option("--clear", help="Empty a section first: completed, current, blocked, next, coordination.")] = [],  # noqa: B006
    json_: JsonOpt = False,
) -> None:
    """Report progress for the stream of this worktree (or --stream)."""
    from gitpar.cli import writes

    writes.progress(stream=stream, status=status, completion=completion, done=done, current=current,
                    blocked=blocked, next_=next_, need=need, agent=agent, clear=clear, json_=json_)


@app.command()
def finish(name: Annotated[str | None, typer.Argument(help="The stream (default: this worktree's).")] = None,
           force: Annotated[bool, typer.Option(help="Finish despite uncommitted changes or ownership "
                                               "violations (recorded on the state branch).")] = False) -> None:
    """Mark the stream completed (refused while its worktree has uncommitted changes, or its
    branch breaks the ownership rules as pre-push and CI check them)."""
    from gitpar.core import streams

    repo = _repo()
    stream, _by = streams.writer_of(repo, name)  # a stream's worktree finishes only its own stream
    p = streams.finish(repo, stream, force=force)
    o.err(f"{stream}: {p.status}")


@app.command()
def remove(name: str,
           force: Annotated[bool, typer.Option(help="Delete uncommitted and untracked files too.")] = False,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen, change nothing.")] = False) -> None:
    """Remove a stream's worktree, keeping its branch; refused when work would be lost."""
    from gitpar.core import streams

    r = streams.remove(_repo(), name, force=force, dry_run=dry_run)
    if dry_run:
        if r.refused:
            o.out(f"would refuse to remove {r.worktree} (--force overrides):")
        else:
            o.out(f"would remove {r.worktree}" + (", deleting:" if r.problems else "")
                  + f" (branch gitpar/{name} is kept)")
        for line in r.problems + r.notes:
            o.out(f"  - {line}")
        raise typer.Exit(1 if r.refused else 0)
    for line in r.notes:
        o.err(line)
    o.err(f"removed {r.worktree}; branch gitpar/{name} kept")


# -- status -------------------------------------------------------------------------------


@app.command()
def status(json_: JsonOpt = False,
           markdown: Annotated[bool, typer.Option("--markdown", help="Markdown, e.g. for a pull-request comment.")] = False,
           watch: Annotated[float | None, typer.Option("--watch", help="Refresh every N seconds.")] = None,
           dirty: Annotated[str, typer.Option(help="Scan worktrees for uncommitted files: auto | all | none.")] = "auto",
           offline: Annotated[bool, typer.Option("--offline", help="Do not fetch the state from the plan's "
                                                 "remote first; show the last fetched state.")] = False,
           publish: Annotated[bool, typer.Option("--publish", help="Also rewrite the state branch's README.md "
                                                 "(the page GitHub shows) with this status.")] = False) -> None:
    """Consolidated status of every stream, checked against what git shows."""
    from gitpar.cli import render_status

    render_status.run(json_=json_, markdown_=markdown, watch_every=watch, dirty=dirty, offline=offline,
                      publish=publish)


@app.command("next")
def next_(json_: JsonOpt = False,
          offline: Annotated[bool, typer.Option("--offline", help="Do not fetch the state from the plan's "
                                                "remote first.")] = False) -> None:
    """List the streams ready to start (pending, every dependency completed)."""
    from gitpar.cli import render_status
    from gitpar.core.remote import refresh

    repo = _repo()
    note = refresh(repo, offline=offline)
    if note:
        o.err(note)
    st = render_status.collect(repo, dirty="none")
    if json_:
        o.emit_json({"version": 1, "ready": st.ready})
    else:
        for name in st.ready:
            o.out(name)


@app.command()
def doctor(fix: Annotated[bool, typer.Option("--fix", help="Mend what cannot lose work: prune worktree entries "
                                             "whose folder is gone, reinstall hooks, release stale locks.")] = False,
           offline: Annotated[bool, typer.Option("--offline", help="Do not fetch the state from the remote.")] = False,
           json_: JsonOpt = False) -> None:
    """Stale locks, orphaned worktrees, missing hooks, state integrity, local vs remote state."""
    from gitpar.core.doctor import diagnose

    found = diagnose(_repo(), fix=fix, offline=offline)
    if json_:
        o.emit_json(found.to_dict())
    else:
        for f in found.findings:
            mark = "fixed" if f.fixed else ("fixable" if f.fixable else "")
            o.out(f"{f.check}: {f.problem}" + (f" [{mark}]" if mark else ""))
            if not f.fixed:
                o.out(f"  fix: {f.fix}")
        o.err(f"checked {', '.join(found.checked)}: " + ("all well" if not found.findings else
              f"{len(found.findings)} findings, {sum(f.fixed for f in found.findings)} fixed"))
    raise typer.Exit(0 if found.ok else 1)


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="Keep the throwaway repository.")] = False) -> None:
    """Build a throwaway repository and walk the whole flow end to end."""
    from gitpar.cli import demo as demo_mod

    raise typer.Exit(demo_mod.run(keep=keep))


# Commands defined in their own modules register themselves on ``app`` when imported;
# the modules import nothing heavy at load time.
from gitpar.cli import cmd_enforce, cmd_guard, cmd_merge, cmd_plan, cmd_plugins, cmd_report, cmd_run  # noqa: E402, F401

# -- the entry point ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the CLI, ended the one way a gitpar command ends (``cli/session.run_guarded``):
    typer parses and calls the command; what the command raises (an expected error, Ctrl-C,
    a crash) reaches that handler, not typer's own."""
    import os

    args_in = sys.argv[1:] if argv is None else list(argv)

    def invoke() -> int:
        from gitpar.cli.cmd_plugins import add_plugin_commands

        add_plugin_commands(args_in)  # returns at once for gitpar's own commands
        if "_GITPAR_COMPLETE" in os.environ:  # the shell asks for completions: typer's own run
            return int(app(args=args_in, prog_name="gitpar", standalone_mode=False) or 0)
        command = typer.main.get_command(app)
        try:
            # typer's run would turn Ctrl-C into a silent exit 130; this way it is the handler's
            with command.make_context("gitpar", args_in) as ctx:
                result = command.invoke(ctx)
        except typer.Exit as exc:
            return int(exc.exit_code or 0)
        except (typer.Abort, EOFError):  # a prompt's input ended
            o.err("gitpar: interrupted")
            return 130
        except typer.TyperException as exc:  # usage errors: unknown option, missing argument ...
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                o.err(f"gitpar: {exc}")
            return int(getattr(exc, "exit_code", 2) or 2)
        return result if isinstance(result, int) else 0

    return run_guarded(args_in, invoke)


if __name__ == "__main__":
    sys.exit(main())
