"""What the hook shims run: ``python -S -c ... <hook> [args]``.

Start-up is the cost of every commit, so the pre-commit path imports only the standard
library, the rule matcher and the rules' cache (:mod:`gitpar.core.rules_cache`, which
says what the cache is keyed on). Both hooks only gather their inputs (the branch, the
pushed refs) and call the same core functions as ``gitpar check``:
``core.rules_cache.judge_staged`` (what ``check --staged`` calls) and
``core.check.judge_range`` (what ``check --range`` and the CI check call), so the hooks,
the command and CI cannot drift apart.
"""

from __future__ import annotations

import os
import sys

from gitpar.store.naming import (  # standard library only, like everything here
    FETCHED_ENV,
    stream_of_branch,
)
from gitpar.store.quickgit import git_dir

TYPE_CHECKING = False  # typing costs import time here; mypy treats this name like typing's
if TYPE_CHECKING:
    from typing import Any


def pre_commit(cwd: str) -> int:
    """Judge the staged change: ``core.rules_cache.judge_staged``, as ``check --staged`` does.

    The shim starts ``python -S`` (no site: it costs more than the check), which answers
    only from a current cache; a rebuild (which loads the plugins) or a plugin that judges
    paths runs in the normal interpreter, so a plugin installed with ``pip install -e`` (a
    ``.pth`` file, which ``-S`` skips) counts the same whichever process built the cache."""
    from gitpar.core.rules_cache import HandOver, branch_of, judge_staged

    gitdir = git_dir(cwd)
    branch = branch_of(gitdir)  # identity is the worktree's branch (core.identity.of_branch)
    if branch == "gitpar/_state":
        return 0  # gitpar's own branch, not the project's tree (pre-push skips it too)
    stream = stream_of_branch(branch)
    if stream is not None:
        from gitpar.core.claim import check_commit

        fenced = check_commit(cwd, gitdir, stream)
        if fenced:
            print(f"gitpar: commit refused: {fenced}", file=sys.stderr)
            return 1
    try:
        found = judge_staged(cwd, gitdir, stream, branch, by_branch=True, full=not sys.flags.no_site)
    except HandOver:
        return _in_full_interpreter("pre-commit")
    if found is None or not found.violations:
        return 0
    if found.note:
        stream = None
        print(f"gitpar: {found.note}", file=sys.stderr)
    violations, paths = found.violations, found.paths
    who = f"stream {stream}" if stream else "this branch (no stream)"
    print(f"gitpar: commit refused: {len(violations)} of {len(paths)} staged paths may not be "
          f"changed by {who} (plan from {found.base}):", file=sys.stderr)
    for v in violations[:50]:
        print(f"  {v.path}: {v.message}\n    fix: {v.fix}", file=sys.stderr)
    if len(violations) > 50:
        print(f"  ... and {len(violations) - 50} more ('gitpar check --staged' lists them all)", file=sys.stderr)
    print("  (unstage them with 'git restore --staged PATH')", file=sys.stderr)
    return 1


def _in_full_interpreter(hook: str) -> int:
    """Run ``hook`` again in the normal interpreter (with site, so ``.pth`` files count):
    this gitpar first on the path, as in the shim; its exit code."""
    import subprocess

    import gitpar

    here = os.path.dirname(os.path.dirname(os.path.abspath(gitpar.__file__)))
    code = (f"import sys; sys.path.insert(0, {here!r}); from gitpar.hookentry import main; "
            "sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, hook], check=False).returncode


def _fetch_state(repo: Any) -> None:
    """With a remote in the plan, fetch first (one fetch: the state, the base, the stream
    branches): the lock proof and the base plan judged against must be the remote's."""
    from gitpar.core.remote import refresh
    from gitpar.errors import GitparError

    try:
        refresh(repo)
    except GitparError as exc:
        print(f"gitpar: pre-push: judging with the last fetched state: {exc}", file=sys.stderr)


def _base_of(repo: Any) -> tuple[Any, str, Any, list[Any]]:
    """The rules from the base plan (the remote's base, when fetched and at or ahead of the
    local one), the base's name, the target a stream's push is judged against, and the
    base tips whose commits are not the stream's (local and remote)."""
    from gitpar.core.remote import remote_base
    from gitpar.core.verdict import base_rules

    base = repo.configured_base()
    local = repo.tip(f"refs/heads/{base}")
    theirs_name = remote_base(repo)
    theirs = repo.tip(f"refs/remotes/{theirs_name}") if theirs_name != base else None
    if theirs is not None and (local is None or local == theirs or repo.git.descendant_of(theirs, local)):
        rules, _ = base_rules(repo, theirs_name)
        return rules, base, theirs, [t for t in (local, theirs) if t is not None]
    rules, base = base_rules(repo)
    return rules, base, local, [t for t in (local, theirs) if t is not None]


def _fenced(repo: Any, stream: str | None) -> str | None:
    """A push of ``stream`` from this clone whose worktree's claim was taken over elsewhere
    (by the state just fetched): the refusal, else None."""
    if stream is None:
        return None
    from gitpar.core.claim import claim_in_progress, superseded, worktree_claim
    from gitpar.store.quickgit import worktree_git_dir
    from gitpar.store.state import StateStore

    path = repo.stream_worktrees().get(stream)
    mine = worktree_claim(worktree_git_dir(str(path))) if path is not None and path.exists() else None
    if mine is None:
        return None
    claim, taken = claim_in_progress(StateStore(repo).snapshot().read(f"progress/{stream}.md"))
    return superseded(stream, mine, claim, taken)


def _is_zero(sha: str) -> bool:
    return set(sha) == {"0"}


def pre_push(cwd: str, remote: str, stdin: str) -> int:
    """Judge every ref being pushed with ``core.check.judge_range``: a ``git commit
    --no-verify`` is caught here. The stream is the pushed ref's name (``git push origin
    HEAD:refs/heads/gitpar/api`` is judged as api), never a trailer."""
    import pygit2

    from gitpar.core.check import judge_range
    from gitpar.core.identity import of_branch
    from gitpar.core.repo import open_repo

    repo = open_repo(cwd)
    plan = repo.load_plan_at_base()
    if plan is None:
        return 0  # no plan committed yet: nothing to enforce
    own = {"refs/heads/gitpar/_state", f"refs/heads/{plan.settings.integration_branch}"}
    pushed = [parts for parts in (line.split() for line in stdin.splitlines()) if len(parts) == 4]
    if all(_is_zero(local_sha) or remote_ref in own for _, local_sha, remote_ref, _ in pushed):
        return 0  # only gitpar's own branches, or deletions: nothing to judge, nothing to fetch
    if os.environ.get(FETCHED_ENV) != "1":
        _fetch_state(repo)  # unless the gitpar command making this push fetched just now
    rules, base, base_tip, base_tips = _base_of(repo)
    failures: list[tuple[str, str | None, Any]] = []
    notes: list[str] = []
    for _local_ref, local_sha, remote_ref, remote_sha in pushed:
        if _is_zero(local_sha) or remote_ref in own:
            continue  # gitpar's own branches (the state, the integration branch); any other gitpar/_* is judged
        head = pygit2.Oid(hex=local_sha)
        known_remote = not _is_zero(remote_sha) and remote_sha in repo.git
        if remote_ref == f"refs/heads/{base}":
            # The base itself is the target: its commits were judged when they were made (in the
            # main worktree) or merged (integrate). What this push adds to the remote's copy is
            # judged as a branch of no stream; a first push (the remote has no copy) adds nothing
            # to compare, so it passes.
            if not known_remote:
                continue
            target: pygit2.Oid | None = pygit2.Oid(hex=remote_sha)
            hide = [pygit2.Oid(hex=remote_sha)]
        else:
            target = base_tip
            hide = list(base_tips)
            if known_remote:
                hide.append(pygit2.Oid(hex=remote_sha))
            else:
                hide.extend(repo.git.references[ref].peel(pygit2.Commit).id for ref in repo.git.references
                            if ref.startswith(f"refs/remotes/{remote}/"))
        judged = of_branch(rules, remote_ref, base)  # the pushed ref's name says whose (core.identity)
        stream = judged.stream
        fenced = _fenced(repo, stream)
        if fenced:
            print(f"gitpar: push refused: {fenced}", file=sys.stderr)
            return 1
        report = judge_range(repo, judged.rules, base, stream, head, target=target, hide=hide,
                             scope=f"{remote_ref}")
        if judged.note:
            notes.append(judged.note)
        failures.extend((remote_ref, stream, v) for v in report.violations)
        notes.extend(report.notes)
    if not failures:
        return 0
    print(f"gitpar: push refused: {len(failures)} changes break the plan on {base}:", file=sys.stderr)
    for ref, who, v in failures[:50]:
        print(f"  {v.path} [{v.commit} pushed to {ref.removeprefix('refs/heads/')}, "
              f"{'stream ' + who if who else 'no stream'}]: {v.message}\n    fix: {v.fix}", file=sys.stderr)
    for note in notes[:10]:
        print(f"  note: {note}", file=sys.stderr)
    print("  (amend or revert those commits; 'gitpar check --range BASE..HEAD' lists them)", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    """Run the hook named by ``argv[0]``, ended as every gitpar command ends
    (``cli/session.run_guarded``): an expected error is one message (bad input refuses, 1,
    as git reads a hook's refusal), a crash one line and the crash log, Ctrl-C 130."""
    from gitpar.cli.session import run_guarded

    hook, args = argv[0], argv[1:]
    cwd = os.getcwd()

    def body() -> int:
        if hook == "pre-commit":
            return pre_commit(cwd)
        if hook == "pre-push":
            return pre_push(cwd, args[0] if args else "origin", sys.stdin.read())
        return 0

    return run_guarded(argv, body, label=f"gitpar ({hook})", program="gitpar-hook", refusal=1,
                       warnings=False, cwd=cwd)
