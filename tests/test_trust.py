"""Trust: what a pull request, a stream or a forged trailer can make gitpar accept.

Each bypass route is driven with real git: a plugin opted in by the pull request itself,
forged ``Gitpar-Stream`` trailers, a push under another stream's ref name, a cherry-pick of
another stream's commit, ``git merge -s ours``, a plumbing merge (``git commit-tree``), and
the way back: a ``git revert`` of a slip passes pre-commit, pre-push and CI.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import commit_plan, git, gitpar, worktree_of, write

from gitpar.store.repo import stream_of_branch


def try_git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def three(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """``repo`` with streams api, ui and docs, all started, hooks installed."""
    assert run(repo, "init").code == 0
    for name, owns in (("api", "src/api/**"), ("ui", "src/ui/**"), ("docs", "docs/**")):
        assert run(repo, "stream", "add", name, "--owns", owns).code == 0
    commit_plan(repo)
    for name in ("api", "ui", "docs"):
        assert run(repo, "start", name).code == 0
    return repo


def add_plugin_to_plan(r: Path, rel: str) -> None:
    plan = r / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + f"\nplugins: {{load: [{rel}]}}" + text[end:])


# -- 1. nothing from the head of the change runs --------------------------------------------


def test_a_pull_request_cannot_run_its_own_plugin_in_the_check(three: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    git(three, "checkout", "-q", "-b", "pr-plugin")
    write(three / ".gitpar/plugins/p.py", f"open({str(marker)!r}, 'w').write('ran')\nimport os\nos._exit(0)\n")
    add_plugin_to_plan(three, ".gitpar/plugins/p.py")
    write(three / "src/ui/b.py", "b = 5\n")
    git(three, "add", "-A")
    git(three, "commit", "-q", "--no-verify", "-m", "pr")
    for args in (["--base", "main", "--head", "HEAD", "--format", "github"], ["--range", "main..HEAD"]):
        r = gitpar(three, "check", *args, env={"GITHUB_HEAD_REF": "pr-plugin"})
        assert not marker.exists(), "the check ran code from the pull request's head"
        assert r.code == 1 and "src/ui/b.py" in r.out, r
    # the working tree's plugin (uncommitted on the base) is not run by other commands either
    r = gitpar(three, "plugins", "--json")
    assert r.code == 0 and not marker.exists() and ".gitpar/plugins/p.py" not in r.out


def test_a_plugin_merged_into_the_base_is_the_one_that_runs(three: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write(three / ".gitpar/plugins/p.py", f"open({str(marker)!r}, 'w').write('base')\n")
    add_plugin_to_plan(three, ".gitpar/plugins/p.py")
    git(three, "add", "-A")
    git(three, "commit", "-q", "--no-verify", "-m", "plugin on the base")
    git(three, "checkout", "-q", "-b", "pr-edit")
    write(three / ".gitpar/plugins/p.py", f"open({str(marker)!r}, 'w').write('head')\n")
    git(three, "commit", "-q", "--no-verify", "-am", "edit the plugin")
    r = gitpar(three, "check", "--base", "main", "--head", "HEAD")
    assert r.code == 0, r
    assert marker.read_text() == "base"  # the base's blob ran, not the head's file


# -- 2. identity is the branch ----------------------------------------------------------------


@pytest.mark.parametrize("name,stream", [
    ("gitpar/api", "api"), ("refs/heads/gitpar/api", "api"), ("origin/gitpar/api", "api"),
    ("refs/remotes/origin/gitpar/api", "api"), ("gitpar/_state", None), ("gitpar/_integration", None),
    ("main", None), ("feature/x", None), ("refs/tags/gitpar/api", None), ("gitpar/", None),
    ("gitpar/a/b", None), (None, None), ("", None)])
def test_stream_of_branch(name: str | None, stream: str | None) -> None:
    assert stream_of_branch(name) == stream


def test_a_forged_trailer_is_no_identity(three: Path) -> None:
    git(three, "checkout", "-q", "-b", "feature")
    write(three / "src/ui/b.py", "b = 6\n")
    git(three, "commit", "-q", "--no-verify", "-am", "feature", "-m", "Gitpar-Stream: ui")
    r = gitpar(three, "check", "--base", "main", "--head", "feature")
    assert r.code == 1 and "src/ui/b.py" in r.out and "a branch that is no stream" in r.out, r
    assert "Gitpar-Stream: ui" in r.out  # the trailer is shown as a note, not obeyed
    git(three, "checkout", "-q", "main")
    api = worktree_of(three, "api")
    write(api / "src/ui/b.py", "b = 7\n")
    git(api, "commit", "-q", "--no-verify", "-am", "api slip", "-m", "Gitpar-Stream: ui")
    for head in ("gitpar/api", "refs/heads/gitpar/api"):
        r = gitpar(three, "check", "--base", "main", "--head", head)
        assert r.code == 1 and "owned by stream ui" in r.out, r
    # CI: the head is HEAD, the branch comes from GITHUB_HEAD_REF
    r = gitpar(api, "check", "--base", "main", "--head", "HEAD", "--format", "github",
               env={"GITHUB_HEAD_REF": "gitpar/api"})
    assert r.code == 1 and "owned by stream ui" in r.out, r


def test_pre_push_judges_by_the_pushed_ref_name(three: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    ui = worktree_of(three, "ui")
    write(ui / "src/ui/b.py", "ui work\n")
    git(ui, "commit", "-qam", "ui work")
    api = worktree_of(three, "api")
    # a cherry-pick of ui's commit into api, pushed as api (or pushed from api as ui's ref)
    git(api, "cherry-pick", "gitpar/ui")
    res = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api")
    assert res.returncode != 0 and "src/ui/b.py" in res.stderr and "stream api" in res.stderr, res.stderr
    git(api, "reset", "-q", "--hard", "HEAD~1")
    write(api / "src/api/a.py", "api work\n")
    git(api, "commit", "-qam", "api work")
    res = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/ui")
    assert res.returncode != 0 and "src/api/a.py" in res.stderr and "stream ui" in res.stderr, res.stderr
    res = try_git(api, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api")
    assert res.returncode == 0, res.stderr


def test_the_first_push_of_the_base_to_a_new_remote_passes(three: Path, tmp_path: Path) -> None:
    remote = tmp_path / "new.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    res = try_git(three, "push", "-q", str(remote), "main")
    assert res.returncode == 0, res.stderr
    # what a later push adds to the remote's main is judged: a --no-verify edit of ui's file
    write(three / "src/ui/b.py", "sneak\n")
    git(three, "commit", "-q", "--no-verify", "-am", "sneak on main")
    res = try_git(three, "push", "-q", str(remote), "main")
    assert res.returncode != 0 and "src/ui/b.py" in res.stderr, res.stderr


# -- 3. the net effect ----------------------------------------------------------------------


def test_a_reverted_slip_passes_pre_commit_pre_push_and_ci(three: Path, tmp_path: Path) -> None:
    docs = worktree_of(three, "docs")
    write(docs / "src/ui/b.py", "slip\n")
    git(docs, "commit", "-q", "--no-verify", "-am", "slip")
    res = try_git(docs, "revert", "--no-edit", "HEAD")  # through the real pre-commit hook
    assert res.returncode == 0, res.stderr
    write(docs / "docs/x.md", "more\n")
    git(docs, "commit", "-qam", "docs")
    r = gitpar(three, "check", "--base", "main", "--head", "gitpar/docs")
    assert r.code == 0, r
    assert gitpar(docs, "check", "--range", "main..HEAD").code == 0
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    res = try_git(docs, "push", "-q", str(remote), "HEAD:refs/heads/gitpar/docs")
    assert res.returncode == 0, res.stderr
    # a slip that stays is still refused
    write(docs / "src/ui/b.py", "slip again\n")
    git(docs, "commit", "-q", "--no-verify", "-am", "slip again")
    assert gitpar(three, "check", "--base", "main", "--head", "gitpar/docs").code == 1


def integrate_api(three: Path, run) -> None:  # type: ignore[no-untyped-def]
    api = worktree_of(three, "api")
    write(api / "src/api/a.py", "a = 2\n")
    git(api, "commit", "-qam", "api work")
    assert run(api, "finish").code == 0
    r = run(three, "integrate", "--into", "main", "--streams", "api")
    assert r.code == 0, r
    assert git(three, "show", "main:src/api/a.py") == "a = 2\n"


def test_merge_s_ours_that_drops_integrated_work_is_caught(three: Path, run) -> None:  # type: ignore[no-untyped-def]
    integrate_api(three, run)
    ui = worktree_of(three, "ui")
    git(ui, "merge", "-q", "-s", "ours", "--no-edit", "main")
    write(ui / "src/ui/b.py", "b = 9\n")
    git(ui, "commit", "-qam", "ui work")
    r = gitpar(three, "check", "--base", "main", "--head", "gitpar/ui", "--json")
    assert r.code == 1, r
    assert "src/api/a.py" in r.out and "undoes changes" in r.out and "stream api" in r.out, r.out
    assert run(ui, "finish", "--force").code == 0 or run(ui, "finish").code == 0
    r = run(three, "integrate", "--into", "main", "--streams", "ui")
    # refused: as a stream whose branch breaks the rules (finish --force does not make its
    # changes acceptable), and in any case by the check that the merge would undo api's work
    assert r.code != 0 and "src/api/a.py" in r.err and ("would undo" in r.err or "breaks the" in r.err), r
    assert git(three, "show", "main:src/api/a.py") == "a = 2\n"


def test_a_plumbing_merge_that_keeps_old_content_is_caught(three: Path, run) -> None:  # type: ignore[no-untyped-def]
    integrate_api(three, run)
    ui = worktree_of(three, "ui")
    write(ui / "src/ui/b.py", "b = 9\n")
    git(ui, "commit", "-qam", "ui work")
    tree = git(ui, "rev-parse", "HEAD^{tree}").strip()
    for parents in (["HEAD", "main"], ["main", "HEAD"]):  # either parent order
        args = [a for p in parents for a in ("-p", p)]
        merge = git(ui, "commit-tree", tree, *args, "-m", "merge main").strip()
        r = gitpar(three, "check", "--base", "main", "--head", merge, "--stream", "ui")
        assert r.code == 1 and "src/api/a.py" in r.out, (parents, r)
    merge = git(ui, "commit-tree", tree, "-p", "HEAD", "-p", "main", "-m", "merge main").strip()
    git(ui, "reset", "-q", "--hard", merge)
    assert run(ui, "finish", "--force").code == 0 or run(ui, "finish").code == 0
    r = run(three, "integrate", "--into", "main", "--streams", "ui")
    assert r.code != 0 and "src/api/a.py" in r.err, r
    assert git(three, "show", "main:src/api/a.py") == "a = 2\n"


def test_a_normal_merge_of_the_base_passes(three: Path, run) -> None:  # type: ignore[no-untyped-def]
    integrate_api(three, run)
    ui = worktree_of(three, "ui")
    git(ui, "merge", "-q", "--no-edit", "main")
    write(ui / "src/ui/b.py", "b = 9\n")
    git(ui, "commit", "-qam", "ui work")
    r = gitpar(three, "check", "--base", "main", "--head", "gitpar/ui")
    assert r.code == 0, r
    assert run(ui, "finish").code == 0
    r = run(three, "integrate", "--into", "main", "--streams", "ui")
    assert r.code == 0, r
    assert git(three, "show", "main:src/api/a.py") == "a = 2\n"


@pytest.mark.parametrize("lookalike", ["src/UI/b.py", "SRC/ui/new.py", "src/Ui/New.py", "src/cafe\u0301.py"])
def test_a_case_or_unicode_lookalike_of_an_owned_path_is_judged_as_it(three: Path, run,  # type: ignore[no-untyped-def]
                                                                       lookalike: str) -> None:
    """``src/UI/b.py`` is ui's ``src/ui/b.py`` on macOS and Windows: api may neither lock nor commit it."""
    if "cafe" in lookalike:  # ui owns an NFC name; api writes its NFD spelling
        spec = three / ".gitpar/streams/ui.md"
        spec.write_text(spec.read_text().replace('"src/ui/**"', '"src/ui/**", "src/caf\u00e9.py"'))
        assert "caf\u00e9" in spec.read_text()
        commit_plan(three)
    wt = worktree_of(three, "api")
    res = run(wt, "lock", lookalike)
    assert res.code == 1 and "differs only by case" in res.err and "ui" in res.err, res
    write(wt / lookalike, "x = 1\n")
    res = run(wt, "who", lookalike, "--json")
    assert res.code == 0 and '"ui"' in res.out, res
    res = run(wt, "guard", lookalike)
    assert res.code != 0 and "ui" in res.err + res.out, res
    git(wt, "add", lookalike)
    proc = try_git(wt, "commit", "-qm", "look-alike")
    assert proc.returncode != 0 and "owned by stream ui" in proc.stderr, proc.stderr
    git(wt, "commit", "-qm", "look-alike", "--no-verify")
    res = run(wt, "check", "--base", "main", "--head", "HEAD")
    assert res.code == 1 and "owned by stream ui" in res.out + res.err, res


@pytest.mark.parametrize("target", ["evil", "origin/evil"])
def test_a_pull_request_into_a_new_branch_is_judged_by_the_base_plan(three: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     target: str) -> None:
    """ui's author creates 'evil' with a plan granting ui src/api/**, and opens a pull request into it."""
    wt = worktree_of(three, "ui")
    git(wt, "checkout", "-q", "-b", "evil", "main")
    spec = wt / ".gitpar/streams/ui.md"
    spec.write_text(spec.read_text().replace('"src/ui/**"', '"src/ui/**", "src/api/**"'))
    git(wt, "commit", "-qam", "ui owns the api now", "--no-verify")
    git(wt, "checkout", "-q", "gitpar/ui")
    git(wt, "reset", "-q", "--hard", "evil")
    write(wt / "src/api/a.py", "stolen = 1\n")
    git(wt, "commit", "-qam", "ui changes api's file", "--no-verify")
    if target.startswith("origin/"):
        origin = tmp_path / "origin.git"
        git(tmp_path, "init", "-q", "--bare", str(origin))
        git(three, "remote", "add", "origin", str(origin))
        git(three, "push", "-q", "origin", "main", "evil")
        git(three, "fetch", "-q", "origin")
        git(three, "branch", "-q", "-D", "evil")
    res = gitpar(wt, "check", "--base", target, "--head", "HEAD", "--format", "json")
    assert res.code == 1, res
    assert "owned by stream api" in res.out and "not the plan's base main" in res.out, res.out
    # the base itself is judged as before
    assert gitpar(wt, "check", "--base", "main", "--head", "HEAD").code == 1


def test_pre_push_judges_a_push_from_a_local_ref_named_like_gitpars_own(three: Path, tmp_path: Path) -> None:
    """A local branch named gitpar/_x pushed as gitpar/api is api's push, judged as such."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    api = worktree_of(three, "api")
    git(api, "checkout", "-q", "-b", "gitpar/_x")
    write(api / "src/ui/b.py", "not api's\n")
    git(api, "commit", "-qam", "ui's file", "--no-verify")
    res = try_git(api, "push", "-q", str(remote), "gitpar/_x:refs/heads/gitpar/api")
    assert res.returncode != 0 and "src/ui/b.py" in res.stderr and "stream api" in res.stderr, res.stderr
    assert try_git(three, "ls-remote", str(remote)).stdout == ""


def test_a_lookalike_of_a_locked_path_cannot_be_locked(three: Path, run) -> None:  # type: ignore[no-untyped-def]
    """README.md is nobody's (unowned: lock): docs holds its lock, api asks for readme.MD."""
    assert run(worktree_of(three, "docs"), "lock", "README.md").code == 0
    res = run(worktree_of(three, "api"), "lock", "readme.MD")
    assert res.code == 1 and "README.md" in res.err and "docs" in res.err, res
    assert run(worktree_of(three, "docs"), "unlock", "README.md").code == 0
    assert run(worktree_of(three, "api"), "lock", "readme.MD").code == 0
