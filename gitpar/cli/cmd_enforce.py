"""Commands: gitpar who, lock, unlock, locks, check, hooks install/uninstall/status."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from gitpar.cli import output as o
from gitpar.cli.app import GROUP_SETTINGS, JsonOpt, _repo, app, say_state_age

hooks_app = typer.Typer(help="Install, remove and inspect gitpar's git hooks.", **GROUP_SETTINGS)
app.add_typer(hooks_app, name="hooks")

StreamOpt = Annotated[str | None, typer.Option("--stream", "-s", help="The stream (default: this worktree's).")]


def _paths(repo: Any, raw: list[str]) -> list[str]:
    from gitpar.cli.writes import paths_in

    return paths_in(repo, raw)


@app.command()
def who(paths: Annotated[list[str] | None, typer.Argument(help="Paths, relative to where you are.")] = None,
        resource: Annotated[list[str] | None, typer.Option(
            "--resource", help="Say who holds this resource instead (see 'gitpar lock --resource'); repeatable.")] = None,
        json_: JsonOpt = False) -> None:
    """Say which stream owns, shares or has locked each path (or holds each --resource)."""
    from gitpar.cli.quick import print_who
    from gitpar.errors import bad

    if resource is not None:
        _who_resources(resource, json_)
        return
    if not paths:
        raise bad(None, "PATH", "nothing to ask about", "name the paths, or a resource with --resource NAME")
    from gitpar.core import plan_cache
    from gitpar.core.check import lock_holders
    from gitpar.core.rules import Rules
    from gitpar.core.rules import who as who_rows

    repo = _repo()
    say_state_age(repo)
    plan = repo.load_plan()
    rules = Rules.from_plan(plan)
    key = repo.worktree_plan_key
    if key is not None and not plan.warnings and plan.settings.remote is None:
        # what the next 'gitpar who' reads without loading the command line (cli/quick.py)
        plan_cache.write_rules(repo.gitpar_dir, key, rules.to_json())
    print_who(who_rows(rules, _paths(repo, paths), lock_holders(repo)), json_)


def _who_resources(names: list[str], json_: bool) -> None:
    from gitpar.core.locks.resources import check_resource_name, list_resources
    from gitpar.core.remote import refresh

    for n in names:
        check_resource_name(n)
    repo = _repo()
    note = refresh(repo, offline=False)
    if note:
        o.err(note)
    held = {lk.path: (lk, why) for lk, why in list_resources(repo)}
    rows = []
    for n in dict.fromkeys(names):
        lk, why = held.get(n, (None, None))
        rows.append({"resource": n, "held_by": lk.stream if lk else None, "until": lk.expires if lk else None,
                     "reason": lk.reason if lk else None, "stale": why})
    if json_:
        o.emit_json({"version": 1, "resources": rows})
        return
    o.table(["resource", "held by", "until", "reason", "stale"],
            [[r["resource"], r["held_by"] or "-", r["until"] or "-", r["reason"] or "", r["stale"] or ""]
             for r in rows])


@app.command()
def lock(paths: Annotated[list[str] | None, typer.Argument(help="Paths to lock: all of them or none.")] = None,
         resource: Annotated[list[str] | None, typer.Option(
             "--resource", help="Lock a resource that is not a file instead (a port, db:dev, gpu:0); repeatable.")] = None,
         ttl: Annotated[str | None, typer.Option(help="How long (default: the plan's lock_ttl).")] = None,
         reason: Annotated[str, typer.Option(help="Why, for the others.")] = "",
         wait: Annotated[float, typer.Option(help="Wait up to SECONDS for a held lock.")] = 0.0,
         stream: StreamOpt = None,
         agent: Annotated[str, typer.Option(help="Who takes it.")] = "",
         chain: Annotated[bool | None, typer.Option(
             "--chain/--no-chain", help="Bring the previous holder's committed version into this "
             "worktree first, finished or not (default: the plan's lock_chain, which brings in a "
             "finished holder's version).")] = None,
         ) -> None:
    """Lock shared files for this stream (compare-and-swap on gitpar/_state).

    With the plan's lock_chain (on by default), a path another stream held before, changed on
    its branch and finished, gets that version merged into this worktree's file first (a
    three-way merge of that file, uncommitted edits kept), so edits under the lock build on
    each other; --chain does so also while the holder is still at work; a conflict refuses
    the lock.
    """
    from gitpar.cli import writes

    writes.lock(paths, resource=resource, ttl=ttl, reason=reason, wait=wait, stream=stream, agent=agent,
                chain=chain)


@app.command()
def unlock(paths: Annotated[list[str] | None, typer.Argument(help="Paths to release.")] = None,
           resource: Annotated[list[str] | None, typer.Option(
               "--resource", help="Release a resource instead (see 'gitpar lock --resource'); repeatable.")] = None,
           force: Annotated[bool, typer.Option(help="Break another stream's lock (recorded).")] = False,
           stream: StreamOpt = None) -> None:
    """Release locks; --force breaks another stream's lock and records who did it."""
    from gitpar.cli import writes

    writes.unlock(paths, resource=resource, force=force, stream=stream)


@app.command("locks")
def locks_cmd(stale: Annotated[bool, typer.Option("--stale", help="Only stale locks.")] = False,
              json_: JsonOpt = False,
              offline: Annotated[bool, typer.Option("--offline", help="Do not fetch the state from the plan's "
                                                    "remote first.")] = False) -> None:
    """List locks: holder, until when, why, and whether stale (expired, its stream finished)."""
    from gitpar.core import locks
    from gitpar.core.remote import refresh

    repo = _repo()
    note = refresh(repo, offline=offline)
    if note:
        o.err(note)
    from gitpar.core.locks.resources import list_resources

    found = [(lk, why) for lk, why in locks.list_locks(repo) if why or not stale]
    held = [(lk, why) for lk, why in list_resources(repo) if why or not stale]
    if json_:
        o.emit_json({"version": 1, "locks": [dict(lk.to_dict(), stale=why) for lk, why in found],
                     "resources": [dict(_resource_dict(lk), stale=why) for lk, why in held]})
        return
    if not found and not held:
        o.err("no locks" if not stale else "no stale locks")
        return
    o.table(["path", "stream", "agent", "until", "reason", "stale"],
            [[lk.path, lk.stream or "?", lk.agent, "held (unreadable)" if lk.problem else lk.expires,
              lk.reason, why or ""] for lk, why in found]
            + [[f"resource {lk.path}", lk.stream or "?", lk.agent, "held (unreadable)" if lk.problem else lk.expires,
                lk.reason, why or ""] for lk, why in held])
    for lk, _why in found + held:
        if lk.problem or lk.warning:
            repo.warn(lk.problem or lk.warning)


def _resource_dict(lk: Any) -> dict[str, Any]:
    data = lk.to_dict()
    data["resource"] = data.pop("path")
    return dict(data)


@app.command()
def check(
    staged: Annotated[bool, typer.Option("--staged", help="Judge the staged change (the default).")] = False,
    range_: Annotated[str | None, typer.Option("--range", help="Judge the commits A..B.")] = None,
    base: Annotated[str | None, typer.Option(help="CI: the pull request's base ref.")] = None,
    head: Annotated[str | None, typer.Option(help="CI: the pull request's head ref.")] = None,
    push: Annotated[bool, typer.Option("--push", help="Judge the commits being pushed, as the pre-commit "
                                       "framework names them (PRE_COMMIT_FROM_REF, PRE_COMMIT_TO_REF).")] = False,
    stream: StreamOpt = None,
    # one way to ask for JSON: --format json; --json stays as a hidden alias for old scripts
    json_: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json.")] = False,
    format_: Annotated[str, typer.Option("--format", help="text | json | github")] = "text",
) -> None:
    """Check a change against the plan on the base branch: ownership and locks."""
    from gitpar.cli import report_check
    from gitpar.core import check as chk
    from gitpar.errors import bad

    pushed_branch = None
    if push:
        to_ref = os.environ.get("PRE_COMMIT_TO_REF") or "HEAD"
        from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or ""
        if set(from_ref) == {"0"}:
            from_ref = ""
        # the pushed ref's name says whose work it is (git push origin HEAD:gitpar/api)
        pushed_branch = os.environ.get("PRE_COMMIT_REMOTE_BRANCH") or None
        repo = _repo()
        range_ = f"{from_ref or repo.configured_base()}..{to_ref}"
    if not (range_ or base or head or staged) and os.environ.get("GITHUB_EVENT_PATH"):
        base, head = _pull_request_refs(os.environ["GITHUB_EVENT_PATH"])
    if json_:
        format_ = "json"
    if format_ not in ("text", "json", "github"):
        raise bad(None, "--format", f"{format_!r} is not a format", "use text, json or github")
    repo = _repo()
    if range_ or base or head:
        if range_ and (base or head):
            raise bad(None, "--range", "give either --range A..B or --base/--head, not both",
                      "use one of them")
        if range_:
            if ".." not in range_:
                raise bad(None, "--range", f"{range_!r} is not a range", "write it like main..HEAD")
            a, b = range_.split("..", 1)
            head_ref = b or "HEAD"
            branch = pushed_branch or _branch_of(repo, b or "HEAD")
            report = chk.check_range(repo, a or None, head_ref, stream, branch=branch)
        else:
            head_ref = head or "HEAD"
            # identity is the head branch: --head gitpar/x (or origin/gitpar/x, refs/remotes/...),
            # else the pull request's head branch, else the checked-out branch
            branch = _branch_of(repo, head) if head and head != "HEAD" else (
                os.environ.get("GITHUB_HEAD_REF") or repo.current_branch())
            report = chk.check_range(repo, base, head_ref, stream, branch=branch)
    else:
        report = chk.check_staged(repo, stream)
    raise typer.Exit(report_check.emit(report, format_))


def _branch_of(repo: Any, rev: str) -> str | None:
    """The branch a range's head names: ``rev`` itself when it is a branch or ref (``gitpar/x``,
    ``origin/gitpar/x``, ``refs/remotes/origin/gitpar/x``), else (``HEAD~1``, a commit id)
    the branch checked out here."""
    from gitpar.store.repo import stream_of_branch

    if rev.startswith("HEAD"):
        return repo.current_branch()  # type: ignore[no-any-return]
    if stream_of_branch(rev) is not None or rev.startswith("refs/") or repo.tip(rev) is not None:
        return rev
    return repo.current_branch()  # type: ignore[no-any-return]


def _pull_request_refs(event_path: str) -> tuple[str | None, str | None]:
    """Base and head branch of the pull request GitHub Actions describes in its event file."""
    import json

    from gitpar.errors import bad

    try:
        with open(event_path, encoding="utf-8") as f:
            event = json.load(f)
    except OSError as exc:
        raise bad(event_path, None, f"cannot read the event file: {exc.strerror}",
                  "run in GitHub Actions, or give --base and --head") from None
    except ValueError as exc:
        raise bad(event_path, None, f"the event file is not JSON ({exc})",
                  "point GITHUB_EVENT_PATH at the event payload, or give --base and --head") from None
    pr = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pr, dict):
        return os.environ.get("GITHUB_BASE_REF") or None, os.environ.get("GITHUB_HEAD_REF") or None
    base = (pr.get("base") or {}).get("ref")
    head = (pr.get("head") or {}).get("ref")
    if not isinstance(base, str) or not isinstance(head, str):
        raise bad(event_path, "pull_request", "has no base.ref / head.ref",
                  "give --base and --head explicitly")
    # the head commit is what actions/checkout fetched; its branch name says which stream
    os.environ.setdefault("GITHUB_HEAD_REF", head)
    return base, "HEAD"


@hooks_app.command("install")
def hooks_install() -> None:
    """Install the hook shims (pre-commit, commit-msg, pre-push) for every worktree."""
    from gitpar.store import hooks

    for line in hooks.install(_repo()):
        o.err(line)


@hooks_app.command("uninstall")
def hooks_uninstall() -> None:
    """Remove gitpar's hook shims, putting back any hook they had chained."""
    from gitpar.store import hooks

    for line in hooks.uninstall(_repo()):
        o.err(line)


@hooks_app.command("status")
def hooks_status(json_: JsonOpt = False) -> None:
    """Which hooks are installed, where, and what they chain."""
    from gitpar.store import hooks

    rows = hooks.status(_repo())
    if json_:
        o.emit_json({"version": 1, "hooks": rows})
        return
    o.table(["hook", "state", "chains", "path"],
            [[r["hook"], r["state"], r["chains"] or "-", r["path"]] for r in rows])
    if any(r["state"] != "installed" for r in rows):
        raise typer.Exit(1)

