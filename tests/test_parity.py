"""One table of situations, five ways of judging them, the same verdicts.

pre-commit (a real ``git commit``), ``gitpar check --staged``, ``gitpar check --range``, the
CI check (``--base/--head --format github`` with GitHub's environment) and pre-push (a real
``git push`` to a bare repository) all gather their inputs and call the same core functions;
this proves they agree — ownership, shared files with and without the lock, another stream's
file, plan edits, a merge, a rename, and a plugin's path policy (a repository plugin
committed on the base).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import commit_plan, git, gitpar, worktree_of, write

POLICY = '''
from gitpar.core.rules import Violation
from gitpar.plugins import hookimpl

@hookimpl
def gitpar_check_paths(stream, paths, commit):
    return [Violation(p, "policy", f"{p} is vendored code", "leave vendored code alone", commit=commit)
            for p in paths if "vendor" in p]
'''


def try_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def streams(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    assert run(repo, "init").code == 0
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py").code == 0
    assert run(repo, "stream", "add", "ui", "--owns", "src/ui/**", "--shares", "src/config.py").code == 0
    write(repo / ".gitpar/plugins/policy.py", POLICY)
    plan = repo / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins: {load: [.gitpar/plugins/policy.py]}" + text[end:])
    commit_plan(repo)
    assert run(repo, "start", "api").code == 0
    assert run(repo, "start", "ui").code == 0
    return repo


def edit(path: str, text: str) -> Callable[[Path, Path], None]:
    def do(wt: Path, _main: Path) -> None:
        write(wt / path, text)
    return do


def rename(old: str, new: str) -> Callable[[Path, Path], None]:
    def do(wt: Path, _main: Path) -> None:
        git(wt, "mv", old, new)
    return do


def locked_edit(wt: Path, _main: Path) -> None:
    assert gitpar(wt, "lock", "src/config.py").code == 0
    write(wt / "src/config.py", "under lock\n")


def merge_main(wt: Path, main: Path) -> None:
    write(main / "docs/x.md", "on main\n")
    git(main, "commit", "-q", "--no-verify", "-am", "docs on main")
    git(wt, "merge", "-q", "--no-ff", "--no-commit", "main")


SITUATIONS = {  # name: (what api does in its worktree, allowed?)
    "owned": (edit("src/api/a.py", "mine\n"), True),
    "shared with the lock": (locked_edit, True),
    "shared without the lock": (edit("src/config.py", "no lock\n"), False),
    "another stream's file": (edit("src/ui/b.py", "foreign\n"), False),
    "a plan edit": (edit(".gitpar/streams/api.md", "---\nowns: ['**']\n---\n"), False),
    "a merge of the base": (merge_main, True),
    "a rename out of another stream's folder": (rename("src/ui/b.py", "src/api/b.py"), False),
    "a plugin's path policy": (edit("src/api/vendor/lib.py", "x = 1\n"), False),
}


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_every_way_of_judging_agrees(streams: Path, tmp_path: Path, situation: str) -> None:
    act, allowed = SITUATIONS[situation]
    api = worktree_of(streams, "api")
    act(api, streams)
    git(api, "add", "-A")
    verdicts: dict[str, bool] = {}
    staged = gitpar(api, "check", "--staged")
    verdicts["check --staged"] = staged.code == 0
    commit = try_git(api, "commit", "-q", "--no-edit", "-m", situation)
    verdicts["pre-commit"] = commit.returncode == 0
    if commit.returncode != 0:
        git(api, "commit", "-q", "--no-verify", "--no-edit", "-m", situation)
    verdicts["check --range"] = gitpar(api, "check", "--range", "main..HEAD").code == 0
    ci = gitpar(api, "check", "--base", "main", "--head", "HEAD", "--format", "github",
                env={"GITHUB_ACTIONS": "true", "GITHUB_HEAD_REF": "gitpar/api", "GITHUB_BASE_REF": "main"})
    verdicts["CI check"] = ci.code == 0
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    push = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api")
    verdicts["pre-push"] = push.returncode == 0
    assert verdicts == dict.fromkeys(verdicts, allowed), (situation, verdicts, staged.text, commit.stderr,
                                                          ci.out, push.stderr)


def test_the_hook_cache_follows_the_disabled_plugins(streams: Path) -> None:
    api = worktree_of(streams, "api")
    write(api / "src/api/vendor/lib.py", "x = 1\n")
    git(api, "add", "-A")
    assert try_git(api, "commit", "-qm", "vendored").returncode != 0  # the policy refuses (and caches)
    env = {**os.environ, "GITPAR_DISABLED_PLUGINS": ".gitpar/plugins/policy.py"}
    res = subprocess.run(["git", "commit", "-qm", "vendored"], cwd=api, capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr  # the same cache would have refused it again


# -- branches that are no stream's: the same verdict everywhere (core.identity) -------------------

OTHER_SITUATIONS = {  # name: (path changed, allowed under other_branches: strict)
    "a plan pull request": (".gitpar/streams/ui.md", True),
    "a shared file, no lock": ("src/config.py", False),
    "a pending stream's file": ("src/c/z.py", False),
    "an active stream's file": ("src/ui/b.py", False),
    "an unowned file (unowned: lock)": ("docs/x.md", False),
}
OTHER_BRANCHES = ["feature", "gitpar/_x", "gitpar/c"]  # gitpar/c: a stream nobody started


@pytest.fixture
def with_pending(streams: Path, run) -> Path:  # type: ignore[no-untyped-def]
    assert run(streams, "stream", "add", "c", "--owns", "src/c/**").code == 0
    write(streams / "src/c/z.py", "c\n")
    write(streams / "src/ui/b.py", "ui\n")
    git(streams, "add", "-A")
    git(streams, "commit", "-q", "--no-verify", "-m", "stream c, files")
    return streams


@pytest.mark.parametrize("branch", OTHER_BRANCHES)
@pytest.mark.parametrize("situation", list(OTHER_SITUATIONS))
def test_a_branch_that_is_no_streams_gets_one_verdict(with_pending: Path, tmp_path: Path, branch: str,
                                                       situation: str) -> None:
    path, allowed = OTHER_SITUATIONS[situation]
    wt = tmp_path / "other"
    git(with_pending, "worktree", "add", "-q", "-b", branch, str(wt), "main")
    verdicts: dict[str, bool] = {}
    verdicts["guard"] = gitpar(wt, "guard", path).code == 0
    write(wt / path, "changed from a branch that is no stream's\n")
    git(wt, "add", "-A")
    staged = gitpar(wt, "check", "--staged")
    verdicts["check --staged"] = staged.code == 0
    commit = try_git(wt, "commit", "-q", "-m", situation)
    verdicts["pre-commit"] = commit.returncode == 0
    if commit.returncode != 0:
        git(wt, "commit", "-q", "--no-verify", "-m", situation)
    verdicts["check --range"] = gitpar(wt, "check", "--range", "main..HEAD").code == 0
    ci = gitpar(wt, "check", "--base", "main", "--head", "HEAD", "--format", "github",
                env={"GITHUB_ACTIONS": "true", "GITHUB_HEAD_REF": branch, "GITHUB_BASE_REF": "main"})
    verdicts["CI check"] = ci.code == 0
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    push = try_git(wt, "push", "-q", str(remote), f"HEAD:refs/heads/{branch}")
    verdicts["pre-push"] = push.returncode == 0
    assert verdicts == dict.fromkeys(verdicts, allowed), (branch, situation, verdicts, staged.text,
                                                          commit.stderr, ci.out, push.stderr)
    if branch == "gitpar/c" and not allowed:
        assert "never started" in ci.out and "never started" in commit.stderr
