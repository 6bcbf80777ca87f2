"""What the hook shims run: ``python -S -c ... <hook> [args]``.

Start-up is the cost of every commit, so the pre-commit path imports only the standard
library and the rule matcher. The rules (the plan on the base branch, the live locks,
the active streams) are cached in ``<git dir>/gitpar/cache/hook-rules.json``, keyed by
the object ids of the base branch's ``.gitpar`` tree and of the state branch's
``locks`` and ``progress`` trees — read with one ``git cat-file`` — so the cache is
exact: any change to the plan, a lock or a status makes the next hook rebuild it with
the full (pygit2) code. The cache is written with ``marshal`` (no import cost; a cache
from another interpreter version simply fails to load and is rebuilt).
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from gitpar.store.quickgit import git_dir  # standard library only, like everything here

CACHE_VERSION = 3
STATE = "refs/heads/gitpar/_state"
TYPE_CHECKING = False  # typing costs import time here; mypy treats this name like typing's
if TYPE_CHECKING:
    from typing import Any


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def _common_dir(gitdir: str) -> str:
    f = os.path.join(gitdir, "commondir")
    if os.path.isfile(f):
        return os.path.realpath(os.path.join(gitdir, _read(f)))
    return gitdir


def _branch(gitdir: str) -> str | None:
    try:
        head = _read(os.path.join(gitdir, "HEAD"))
    except OSError:
        return None
    return head[len("ref: refs/heads/"):] if head.startswith("ref: refs/heads/") else None


def stream_of_branch(branch: str | None) -> str | None:
    if branch and branch.startswith("gitpar/") and not branch.startswith("gitpar/_"):
        return branch[len("gitpar/"):]
    return None


def _tree_ids(cwd: str, base: str) -> list[str]:
    from gitpar.store.quickgit import git_output

    specs = [f"refs/heads/{base}:.gitpar", f"{STATE}:locks", f"{STATE}:progress"]
    _, out = git_output(["cat-file", "--batch-check=%(objectname)"], cwd,
                        ("\n".join(specs) + "\n").encode())
    lines = out.decode("utf-8", errors="replace").splitlines()
    return [line.split()[0] if line and "missing" not in line else "" for line in lines]


def _ref_values(common: str, base: str) -> tuple[str, str] | None:
    """The commits the base branch and the state branch point at, read from the ref files.

    None when either is not a plain loose ref (packed refs, other ref stores): the caller
    then compares tree ids through git instead.
    """
    values = []
    for ref in (f"refs/heads/{base}", STATE):
        try:
            value = _read(os.path.join(common, ref))
        except OSError:
            return None
        if len(value) not in (40, 64):
            return None
        values.append(value)
    return values[0], values[1]


def _load_cache(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            data = marshal.load(f)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return data if isinstance(data, dict) and data.get("version") == CACHE_VERSION else None


def _rebuild(cwd: str, cache_path: str) -> dict[str, Any]:
    """The full path: read the plan and locks with pygit2, and cache what the hook needs."""
    from gitpar.core.check import base_rules
    from gitpar.core.locks import LOCKS_DIR, all_locks
    from gitpar.core.repo import open_repo
    from gitpar.store.state import StateStore

    repo = open_repo(cwd)
    base = repo.configured_base()
    if repo.load_plan_at_base(base) is None:
        # no plan committed yet (this may be the commit adding it): nothing to enforce
        rules_json = None
    else:
        rules, base = base_rules(repo)
        rules_json = rules.to_json()
    snap = StateStore(repo).snapshot()
    locks = [(p, lk.stream, lk.expires_at()) for p, lk in all_locks(snap.list(LOCKS_DIR)).items()]
    from gitpar.plugins import manager as plugins

    # plugins with path policies are asked on every commit; without any, pluggy stays unloaded
    policies = plugins.implementers("gitpar_check_paths", repo=repo)
    data = {"version": CACHE_VERSION, "base": base, "trees": _tree_ids(cwd, base),
            "rules": rules_json, "locks": locks, "policies": policies}
    _save_cache(cache_path, data)
    return data


def _save_cache(cache_path: str, data: dict[str, Any]) -> None:
    try:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        tmp = f"{cache_path}.{os.getpid()}"
        with open(tmp, "wb") as f:
            marshal.dump(data, f)
        os.replace(tmp, cache_path)
    except OSError:
        pass  # a read-only git directory only costs speed


def cached_rules(cwd: str, gitdir: str) -> dict[str, Any]:
    """What a check needs (rules, locks, whether plugins have path policies), from the cache
    when it is still exact, else rebuilt. Shared by pre-commit and ``gitpar guard``."""
    common = _common_dir(gitdir)
    cache_path = os.path.join(common, "gitpar", "cache", "hook-rules.marshal")
    data = _load_cache(cache_path)
    # Same commits on the base and state branches as when the cache was written: nothing
    # to ask git. Otherwise the trees the rules come from may still be the same (a commit
    # to the base outside .gitpar/, a progress report): one git cat-file tells.
    refs = _ref_values(common, data["base"]) if data is not None else None
    if data is None or refs is None or refs != data.get("refs"):
        if data is None or _tree_ids(cwd, data["base"]) != data["trees"]:
            data = _rebuild(cwd, cache_path)
        # the refs were read before the trees were compared (or the rules rebuilt): should
        # a branch move in between, the next hook finds other refs and compares again
        if refs is not None and refs != data.get("refs"):
            data["refs"] = refs
            _save_cache(cache_path, data)
    return data


def pre_commit(cwd: str) -> int:
    from gitpar.core.rules import Rules, judge
    from gitpar.store.staged import staged_paths

    gitdir = git_dir(cwd)
    stream = stream_of_branch(_branch(gitdir))
    data = cached_rules(cwd, gitdir)
    if data["rules"] is None:
        return 0
    rules = Rules.from_json(data["rules"])
    now = time.time()
    holders = {p: s for p, s, expires in data["locks"] if expires > now}
    paths = staged_paths(cwd)
    if not paths:
        return 0
    violations = judge(rules, stream, paths, holders.get)
    if data.get("policies"):
        from gitpar.plugins import manager as plugins

        violations.extend(plugins.check_paths(stream, paths, rules))
    if not violations:
        return 0
    who = f"stream {stream}" if stream else "this branch (no stream)"
    print(f"gitpar: commit refused: {len(violations)} of {len(paths)} staged paths may not be "
          f"changed by {who} (plan from {data['base']}):", file=sys.stderr)
    for v in violations[:50]:
        print(f"  {v.path}: {v.message}\n    fix: {v.fix}", file=sys.stderr)
    if len(violations) > 50:
        print(f"  ... and {len(violations) - 50} more ('gitpar check --staged' lists them all)", file=sys.stderr)
    print("  (unstage them with 'git restore --staged PATH')", file=sys.stderr)
    return 1


ZERO = "0" * 40


def pre_push(cwd: str, remote: str, stdin: str) -> int:
    """Judge every commit being pushed: a ``git commit --no-verify`` is caught here."""
    import pygit2

    from gitpar.core.check import base_rules
    from gitpar.core.lock_history import held_at, lock_history
    from gitpar.core.repo import open_repo
    from gitpar.core.rules import judge
    from gitpar.store.commits import commits_between

    repo = open_repo(cwd)
    if repo.load_plan_at_base() is None:
        return 0  # no plan committed yet: nothing to enforce
    rules, base = base_rules(repo)
    history = lock_history(repo, time.time())
    current = repo.current_stream()
    failures = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        local_ref, local_sha, remote_ref, remote_sha = parts
        if set(local_sha) == {"0"} or local_ref.startswith("refs/heads/gitpar/_") \
                or remote_ref.startswith("refs/heads/gitpar/_"):
            continue
        head = pygit2.Oid(hex=local_sha)
        exclude = []
        if set(remote_sha) != {"0"} and remote_sha in repo.git:
            exclude.append(pygit2.Oid(hex=remote_sha))
        else:
            for ref in repo.git.references:
                if ref.startswith(f"refs/remotes/{remote}/"):
                    exclude.append(repo.git.references[ref].peel(pygit2.Commit).id)
        base_tip = repo.tip(base)
        if base_tip is not None and local_ref != f"refs/heads/{base}":
            exclude.append(base_tip)
        stream = stream_of_branch(local_ref.removeprefix("refs/heads/")) or (
            current if local_ref.removeprefix("refs/heads/") == repo.current_branch() else None)
        for c in commits_between(repo, None, head, exclude):
            who = stream or c.stream_trailer
            times = (float(c.author_time), float(c.commit_time))

            def holder(path: str, who: str | None = who, times: tuple[float, ...] = times) -> str | None:
                return held_at(history, path, times, who)

            for v in judge(rules, who, list(c.paths), holder, commit=c.sha[:10]):
                failures.append((local_ref, who, v))
    if not failures:
        return 0
    print(f"gitpar: push refused: {len(failures)} changes break the plan on {base}:", file=sys.stderr)
    for ref, who, v in failures[:50]:
        print(f"  {v.path} [{v.commit} on {ref.removeprefix('refs/heads/')}, "
              f"{'stream ' + who if who else 'no stream'}]: {v.message}\n    fix: {v.fix}", file=sys.stderr)
    print("  (amend or revert those commits; 'gitpar check --range BASE..HEAD' lists them)", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    """Run the hook named by ``argv[0]``; expected errors print one message."""
    from gitpar.errors import GitparError

    hook, args = argv[0], argv[1:]
    cwd = os.getcwd()
    try:
        if hook == "pre-commit":
            return pre_commit(cwd)
        if hook == "pre-push":
            return pre_push(cwd, args[0] if args else "origin", sys.stdin.read())
        return 0
    except GitparError as exc:
        print(f"gitpar ({hook}): {exc}", file=sys.stderr)
        return exc.exit_code if exc.exit_code != 2 else 1
    except KeyboardInterrupt:
        return 130
