"""``gitpar guard``: it runs before every edit an agent makes.

:func:`gitpar.launch.main` sends ``gitpar guard ...`` here (through :mod:`gitpar.cli.quick`, whose one
table reads its options) before the command line (typer, click, the command modules) is
imported; ``--help`` and anything the table does not know go to the full command line
(``gitpar.cli.cmd_guard``), which calls the same :func:`run`. The rules come from the commit
hook's cache (exact: keyed by the plan's and the locks' trees), so a call costs a Python
start-up, a few file reads and the match.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from gitpar.core.guard import Verdict
    from gitpar.store.worktree_changes import PendingChanges

USAGE = "usage: gitpar guard PATH... | --changed [--stream NAME] [--format text|json|claude|codex|gemini]"


def worktree_root(cwd: str) -> str | None:
    """The top of the worktree around ``cwd`` (the folder holding ``.git``), if any."""
    here = os.path.realpath(cwd)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        up = os.path.dirname(here)
        if up == here:
            return None
        here = up


class Place:
    """Where the guard judges: a worktree (its top and git directory) and the stream whose
    work it holds (None: a branch of no stream)."""

    __slots__ = ("root", "gitdir", "stream")

    def __init__(self, root: str, gitdir: str, stream: str | None) -> None:
        self.root, self.gitdir, self.stream = root, gitdir, stream


def stream_worktree(common: str, stream: str) -> tuple[str, str] | None:
    """The top and git directory of the worktree on ``stream``'s branch, in the repository
    whose common git directory is ``common``: a few small file reads, no git."""
    from gitpar.core.rules_cache import branch_of
    from gitpar.store.naming import STREAM_BRANCH_PREFIX

    want = STREAM_BRANCH_PREFIX + stream
    if branch_of(common) == want and os.path.basename(common) == ".git":
        return os.path.dirname(common), common
    folder = os.path.join(common, "worktrees")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    for name in names:
        gitdir = os.path.join(folder, name)
        if branch_of(gitdir) != want:
            continue
        try:
            with open(os.path.join(gitdir, "gitdir"), encoding="utf-8") as f:
                dot_git = f.read().strip()
        except OSError:
            continue
        return os.path.dirname(os.path.realpath(dot_git)), gitdir
    return None


def locate(cwd: str, stream: str | None = None, *, harness: bool = False) -> Place | None:
    """The worktree to judge in. With ``stream`` (``--stream``, as gitpar-agents installs the
    hook): that stream's worktree in the repository around ``cwd`` (or, for a harness, around
    the hook's own folder or ``$CLAUDE_PROJECT_DIR``), whatever worktree ``cwd`` is in. Without:
    the worktree around ``cwd``; for a harness whose session ``cwd`` is in none, the one
    around the hook's own folder. None: no git worktree anywhere to judge in."""
    from gitpar.errors import Refused
    from gitpar.store.naming import stream_of_branch
    from gitpar.store.quickgit import common_dir, git_dir

    candidates = [cwd]
    if harness:
        candidates += [os.getcwd(), os.environ.get("CLAUDE_PROJECT_DIR") or "", os.environ.get("GEMINI_PROJECT_DIR") or ""]
    roots = [r for r in (worktree_root(c) for c in candidates if c) if r is not None]
    if stream is not None:
        for root in roots:
            found = stream_worktree(common_dir(git_dir(root)), stream)
            if found is not None:
                return Place(found[0], found[1], stream)
        where = roots[0] if roots else cwd
        raise Refused(f"stream {stream} (--stream) has no worktree in the repository at {where}; "
                      f"'gitpar start {stream}' creates it")
    if not roots:
        return None
    from gitpar.core.rules_cache import branch_of

    gitdir = git_dir(roots[0])
    return Place(roots[0], gitdir, stream_of_branch(branch_of(gitdir)))


def _rules_at(place: Place) -> dict[str, Any] | None:
    from gitpar.core.rules_cache import cached_rules

    data = cached_rules(place.root, place.gitdir)
    return None if data["rules"] is None else data


def same_repository(path: str, place: Place) -> bool:
    """Whether ``path`` lies in a worktree of the repository ``place`` is in (another
    stream's worktree, the main one): a write there is one the plan governs."""
    from gitpar.store.quickgit import common_dir, git_dir

    root = worktree_root(os.path.dirname(os.path.realpath(path)))
    return root is not None and common_dir(git_dir(root)) == common_dir(place.gitdir)


def verdicts_at(cwd: str, paths: list[str], stream: str | None = None, *, harness: bool = False,
                shell: bool = False) -> tuple[list[Verdict], str | None] | None:
    """The verdicts for ``paths`` (absolute, or relative to ``cwd``) and the stream judged;
    None when there is no git worktree to judge in or the base branch has no plan (nothing
    to enforce). ``shell``: paths read from a shell command, whose writes outside every
    worktree of the repository (``/tmp``, ``/dev/null``) are not the plan's business."""
    from gitpar.core.guard import decide
    from gitpar.core.rules_cache import held_now

    place = locate(cwd, stream, harness=harness)
    if place is None:
        return None
    data = _rules_at(place)
    if data is None:
        return None
    if shell:
        from gitpar.core.guard import worktree_path

        paths = [p for p in paths if worktree_path(p, cwd, place.root) is not None
                 or same_repository(os.path.join(cwd, p), place)]
    rules, judged = _identity(place, data)
    return decide(rules, judged, paths, cwd, place.root, held_now(data), policies=bool(data.get("policies")),
                  base=data["base"]), judged


def changed_at(cwd: str, stream: str | None = None, *, harness: bool = False,
               started: tuple[Place, PendingChanges] | None = None) -> tuple[list[Verdict], str | None] | None:
    """The verdicts on what the worktree now holds against its HEAD (``guard --changed``):
    one per modified, added, deleted or created file the commit hook would refuse; None as
    for :func:`verdicts_at`. ``started``: the place and its ``git status``, already begun."""
    from gitpar.store.worktree_changes import start_worktree_changes, worktree_equal_to

    if started is not None:
        place, pending = started
    else:
        found = locate(cwd, stream, harness=harness)
        if found is None:
            return None
        place = found
        pending = start_worktree_changes(place.root)  # git walks the worktree while the rules are read
    from gitpar.core.guard import judge_changed
    from gitpar.core.rules_cache import held_now

    data = _rules_at(place)
    changes = pending.result()
    if data is None:
        return None
    if not changes:
        return [], place.stream
    base_ref = f"refs/heads/{data['base']}"

    def excused(paths: list[str]) -> set[str]:
        from gitpar.store.staged import merge_base

        if _on_base_tip(place, data["base"]):
            return set()  # what differs from HEAD differs from the base and the fork point: nothing to ask git
        same = worktree_equal_to(place.root, base_ref, paths)
        fork = merge_base(place.root, "HEAD", base_ref)
        if fork is not None:
            same |= worktree_equal_to(place.root, fork, [p for p in paths if p not in same])
        return same

    rules, judged = _identity(place, data)
    verdicts = judge_changed(rules, judged, changes, held_now(data), excused,
                             policies=bool(data.get("policies")), base=data["base"])
    return verdicts, judged


def _identity(place: Place, data: dict[str, Any]) -> tuple[Any, str | None]:
    """The rules and the stream a write in ``place`` is judged as: its worktree's branch, as
    the commit hook judges it (core.identity.of_branch: a stream nobody started is no stream's)."""
    from gitpar.core.identity import of_branch
    from gitpar.core.rules import Rules
    from gitpar.core.rules_cache import branch_of

    who = of_branch(Rules.from_json(data["rules"]), branch_of(place.gitdir), data["base"])
    return who.rules, who.stream


def _on_base_tip(place: Place, base: str) -> bool:
    """Whether the worktree's branch points at the base branch's commit (read from the ref
    files, no git): then it forked there, and a file that differs from HEAD differs from
    the base and the fork point too."""
    from gitpar.core.rules_cache import branch_of
    from gitpar.store.quickgit import common_dir, ref_value

    common = common_dir(place.gitdir)
    head = ref_value(common, f"refs/heads/{branch_of(place.gitdir)}")
    return head is not None and head == ref_value(common, f"refs/heads/{base}")


def run(paths: list[str], fmt: str, cwd: str | None = None, stdin: TextIO | None = None, *,
        stream: str | None = None, changed: bool = False) -> int:
    """Judge, print, and return the exit code: 0 allowed, 1 denied (text, json); with a
    harness format, 0 with the contract's answer, or 2 (the harness blocks) when the
    request cannot be read or judged. ``changed``: judge what the worktree now holds
    instead of ``paths``. ``stream``: judge as that stream, in its worktree."""
    if stream is not None:
        _check_stream_name(stream)
    cwd = cwd or os.getcwd()
    # git walks the worktree while the rules' modules are imported (a few ms on two cores)
    started = _start_changes(cwd, stream, fmt) if changed and not paths else None
    from gitpar.core.guard import FORMATS, HARNESSES
    from gitpar.errors import bad

    if fmt not in FORMATS:
        raise bad(None, "--format", f"{fmt!r} is not a format", f"use one of {', '.join(FORMATS)}")
    if fmt in HARNESSES:
        from gitpar.cli.session import run_guarded

        # a guard that fails must not wave the edit through: exit 2 is each of these harnesses'
        # "block, and show stderr to the agent"; any other code lets the edit go on. The commit
        # hook still judges it either way.
        return run_guarded(["guard", *paths],
                           lambda: _hook(fmt, paths, cwd, stdin or sys.stdin, stream, changed, started),
                           fail_closed="gitpar guard could not judge this edit, so it is blocked", warnings=False)
    if changed:
        if paths:
            raise bad(None, "--changed", "--changed judges the worktree's changes, so it takes no PATH",
                      "give either --changed or the paths")
        found = changed_at(cwd, stream, started=started)
        if found is None:
            if worktree_root(cwd) is None:
                raise bad(None, None, f"{cwd} is not inside a git worktree", "run it in a stream's worktree")
            found = [], None
        _print_changed(fmt, *found)
        return 0 if not found[0] else 1
    if not paths:
        raise bad(None, "PATH", "no path given", "name the files to write (or --changed): " + USAGE)
    found = verdicts_at(cwd, paths, stream)
    if found is None:
        if worktree_root(cwd) is None:
            raise bad(None, None, f"{cwd} is not inside a git worktree", "run it in a stream's worktree")
        verdicts, stream = _no_plan(paths), None
    else:
        verdicts, stream = found
    _print(fmt, verdicts, stream)
    return 0 if all(v.allowed for v in verdicts) else 1


def _start_changes(cwd: str, stream: str | None, fmt: str) -> tuple[Place, PendingChanges] | None:
    """The worktree ``guard --changed`` judges and its ``git status``, begun now; None when
    it cannot be told yet (a harness names its ``cwd`` on stdin; a worktree not found is
    found again, with its message, later)."""
    if fmt not in ("text", "json") and stream is None:
        return None
    try:
        place = locate(os.getcwd() if fmt not in ("text", "json") else cwd, stream, harness=fmt not in ("text", "json"))
    except Exception:  # noqa: BLE001 — said again, with its message, where the worktree is needed
        return None
    if place is None:
        return None
    from gitpar.store.worktree_changes import start_worktree_changes

    return place, start_worktree_changes(place.root)


def _check_stream_name(stream: str) -> None:
    from gitpar.errors import bad

    ok = "abcdefghijklmnopqrstuvwxyz0123456789._-"
    if not stream or len(stream) > 64 or stream[0] in "._-" or any(c not in ok for c in stream):
        raise bad(None, "--stream", f"{stream!r} is not a stream name",
                  "name a stream of the plan: lowercase letters, digits, '.', '_', '-' ('gitpar stream list')")


def _no_plan(paths: list[str]) -> list[Verdict]:
    from gitpar.core.guard import Verdict

    return [Verdict(p, None, True, "", "no plan on the base branch: nothing to enforce") for p in paths]


def _unplaced(paths: list[str], cwd: str) -> list[Verdict]:
    """A session whose ``cwd`` is in no worktree, writing into one of a planned repository:
    refused, since which stream writes cannot be told (issue: the guard trusted the cwd)."""
    from gitpar.core.guard import Verdict

    out = []
    for p in paths:
        full = os.path.join(cwd, p)
        root = worktree_root(os.path.dirname(os.path.realpath(full)))
        place = locate(root) if root is not None else None
        if place is not None and _rules_at(place) is not None:
            out.append(Verdict(p, None, False, "outside",
                               f"the session's folder {cwd} is in no worktree, so which stream writes {p} cannot be told",
                               "work from the stream's worktree, or install the hook as "
                               "'gitpar guard --stream NAME' (gitpar agents setup does)"))
    return out


def _hook(fmt: str, extra: list[str], cwd: str, stdin: TextIO, stream: str | None, changed: bool,
          started: tuple[Place, PendingChanges] | None = None) -> int:
    """``started``: the hook after the tool call names its stream (gitpar-agents installs it
    so), and git already walks that worktree while the request is read."""
    from gitpar.core import hook_json as json
    from gitpar.core.guard import HookInputError, after_answer, harness_answer, hook_request

    text = stdin.read()
    try:
        request = hook_request(fmt, json.loads(text), changed=changed)
    except (ValueError, HookInputError) as exc:
        print(f"gitpar guard: the {fmt} hook input cannot be read ({exc}), so the edit is blocked; "
              f"check the hook's command in the harness settings: it must be "
              f"'gitpar guard --format {fmt}', with the tool call as JSON on stdin", file=sys.stderr)
        return 2
    if request is None:
        return 0  # a tool that writes no file
    where = request.cwd or cwd
    if request.after:
        found = changed_at(where, stream, harness=True, started=started)
        answer = None if found is None else after_answer(fmt, *found)
    else:
        paths = request.paths + extra
        if not paths:
            return 0  # a shell command that visibly writes nothing
        found = verdicts_at(where, paths, stream, harness=True, shell=request.shell)
        if found is None:
            denied = _unplaced(paths, where)
            answer = harness_answer(fmt, denied, None) if denied else None
        else:
            answer = harness_answer(fmt, *found)
    if answer is not None:
        print(json.dumps(answer))
    return 0


def _print_changed(fmt: str, verdicts: list[Verdict], stream: str | None) -> None:
    if fmt == "json":
        import json

        print(json.dumps({"version": 1, "stream": stream, "allowed": not verdicts,
                          "paths": [v.to_dict() for v in verdicts]}, indent=2))
        return
    if not verdicts:
        print("the worktree holds no change the commit check would refuse")
    for v in verdicts:
        print(f"deny   {v.rel}: {v.message}\n       fix: {v.fix}")


def _print(fmt: str, verdicts: list[Verdict], stream: str | None) -> None:
    if fmt == "json":
        import json

        data: dict[str, Any] = {"version": 1, "stream": stream, "allowed": all(v.allowed for v in verdicts),
                                "paths": [v.to_dict() for v in verdicts]}
        print(json.dumps(data, indent=2))
        return
    for v in verdicts:
        if v.allowed:
            print(f"allow  {v.rel or v.path}" + (f"  ({v.message})" if v.message else ""))
        else:
            print(f"deny   {v.rel or v.path}: {v.message}\n       fix: {v.fix}")
