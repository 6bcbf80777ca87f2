"""Warm equals cold: every verdict a cache serves is the verdict asked with the caches deleted.

Each test drives real operations (locks, progress reports, plan edits on the base and in the
main worktree, branch rewrites, clock steps, a hostile state file) and asks the same question
twice in real processes: with the caches as the operations left them, then with
``<git dir>/gitpar/cache`` deleted. The hook itself is asked through a real ``git commit``.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

from conftest import commit_plan, git, gitpar, worktree_of, write
from hostile import plant_state_file

from gitpar.testing import Result

REPEATED = "---\nstream: ui\nagent: \"\"\nstatus: pending\nstatus: in_progress\ncompletion: 0\n---\n"


def drop_caches(repo: Path) -> None:
    shutil.rmtree(repo / ".git" / "gitpar" / "cache", ignore_errors=True)


def commit_verdict(wt: Path) -> int:
    """The exit code of a real ``git commit`` of what is staged (undone when it passed)."""
    import subprocess

    code = subprocess.run(["git", "commit", "-qm", "probe"], cwd=wt, capture_output=True).returncode
    if code == 0:
        git(wt, "reset", "-q", "--soft", "HEAD~1")
    return code


def test_a_repeated_status_key_gets_the_same_commit_verdict_warm_and_cold(started: Path) -> None:
    api = worktree_of(started, "api")
    write(api / "src/api/a.py", "a = 2\n")
    git(api, "add", "-A")
    assert commit_verdict(api) == 0  # warms the hook's cache
    plant_state_file(started, "progress/ui.md", REPEATED)
    write(api / "src/api/a.py", "a = 3\n")
    git(api, "add", "-A")
    warm = commit_verdict(api)
    drop_caches(started)
    cold = commit_verdict(api)
    assert warm == cold != 0  # an unreadable state file stops the commit, whichever path judges it


def test_an_edit_keeping_size_and_mtime_is_seen_by_who(planned: Path) -> None:
    before = gitpar(planned, "who", "--json", "docs/x.md")
    assert gitpar(planned, "who", "--json", "docs/x.md") == before  # the cache is warm
    ui = planned / ".gitpar/streams/ui.md"
    st, text = os.stat(ui), ui.read_text()
    assert '"src/ui/**"' in text
    ui.write_text(text.replace('"src/ui/**"', '"docs/**/*"'))  # as long as before
    os.utime(ui, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = gitpar(planned, "who", "--json", "docs/x.md")
    drop_caches(planned)
    assert after == gitpar(planned, "who", "--json", "docs/x.md")
    assert '"ui"' in after.out, after


def test_a_stream_file_with_a_byte_order_mark_means_what_it_says(planned: Path) -> None:
    ui = planned / ".gitpar/streams/ui.md"
    ui.write_bytes(b"\xef\xbb\xbf" + ui.read_bytes())
    git(planned, "commit", "-qam", "bom", "--no-verify")
    assert '"ui"' in gitpar(planned, "who", "--json", "src/ui/b.py").out


def test_an_unreadable_plan_stops_work_everywhere(started: Path) -> None:
    api = worktree_of(started, "api")
    write(api / "src/api/a.py", "a = 2\n")
    git(api, "add", "-A")
    assert commit_verdict(api) == 0  # the caches are warm: they must not answer for the new plan
    plan = started / ".gitpar/plan.md"
    plan.write_text("---\nbase: main\nunowned: deny\n")  # never closed
    git(started, "commit", "-qam", "unclosed", "--no-verify")
    status = gitpar(started, "status")
    assert status.code == 2 and ".gitpar/plan.md" in status.err and "no closing '---'" in status.err, status
    assert "Traceback" not in status.err
    write(api / "loose.py", "z = 1\n")
    git(api, "add", "-A")
    for _ in range(2):  # warm, then cold
        assert commit_verdict(api) != 0
        check = gitpar(api, "check", "--staged")
        assert check.code == 2 and "no closing '---'" in check.err, check
        guard = gitpar(api, "guard", "loose.py")
        assert guard.code == 2 and "no closing '---'" in guard.err, guard
        assert "nothing to enforce" not in guard.out + guard.err
        drop_caches(started)
    git(api, "commit", "-qm", "loose", "--no-verify")
    ci = gitpar(api, "check", "--range", "main..HEAD")  # what the CI check runs
    assert ci.code == 2 and "no closing '---'" in ci.err, ci
    import subprocess

    remote = started.parent / "remote.git"
    git(started, "init", "-q", "--bare", str(remote))
    push = subprocess.run(["git", "push", "-q", str(remote), "HEAD:refs/heads/gitpar/api"], cwd=api,
                          capture_output=True, text=True)
    assert push.returncode != 0 and "no closing '---'" in push.stderr, push.stderr


QUESTIONS = ("check --staged", "who", "guard", "status", "plan", "check --range")


def _answers(repo: Path, api: Path, env: dict[str, str]) -> list[Result]:
    """Every question a cache serves: the hook's rules and locks (check --staged, guard,
    who), the plan entry (who, plan, status), the commit-range cache (status: changed files
    and the branch check) and the lock-history index (check --range, status)."""
    return [gitpar(api, "check", "--staged", "--json", env=env),
            gitpar(repo, "who", "--json", "src/config.py", "docs/x.md", "src/ui/b.py", env=env),
            gitpar(api, "guard", "--json", "src/ui/b.py", "docs/x.md", "src/config.py", env=env),
            gitpar(repo, "status", "--json", "--offline", "--dirty", "all", env=env),
            gitpar(repo, "plan", "--json", env=env),
            gitpar(repo, "check", "--range", "main..gitpar/ui", env=env)]


def test_random_operations_get_the_same_answers_warm_and_cold(started: Path) -> None:
    """A random walk over real operations; after each, every cached question is asked warm
    and then cold, and the answers must be equal."""
    rng = random.Random(25)
    api, ui = worktree_of(started, "api"), worktree_of(started, "ui")
    write(api / "src/config.py", "changed\n")
    write(api / "docs/x.md", "changed\n")
    write(api / "src/ui/b.py", "changed\n")
    git(api, "add", "-A")
    env: dict[str, str] = {"GITPAR_NOW": "2026-06-01T00:00:00Z"}  # answers that show ages are comparable
    plans = [git(started, "rev-parse", "main").strip()]
    ui_tips = [git(ui, "rev-parse", "HEAD").strip()]

    def plan_edit_on_base() -> None:
        s = started / ".gitpar/streams/ui.md"
        s.write_text(s.read_text().replace('"src/ui/**"', f'"src/ui/**", "docs/{rng.randint(0, 9)}/**"', 1))
        commit_plan(started)
        plans.append(git(started, "rev-parse", "main").strip())

    def plan_edit_in_worktree() -> None:  # uncommitted, size and mtime kept
        s = started / ".gitpar/streams/ui.md"
        st, text = os.stat(s), s.read_text()
        new = text.replace('"src/ui/**"', '"docs/**/*"') if '"src/ui/**"' in text else text.replace(
            '"docs/**/*"', '"src/ui/**"')
        s.write_text(new)
        os.utime(s, ns=(st.st_atime_ns, st.st_mtime_ns))

    def rewrite_base() -> None:  # the base branch moved back to an older plan
        git(started, "checkout", "-q", "--", ".gitpar")
        git(started, "reset", "-q", "--hard", rng.choice(plans))

    def clock_step() -> None:
        env["GITPAR_NOW"] = rng.choice(["2030-01-01T00:00:00Z", "2001-01-01T00:00:00Z", "2026-06-01T00:00:00Z"])

    def commit_on_stream() -> None:  # the stream's range grows: its own file, or a slip into api's
        path = rng.choice(["src/ui/c.py", "src/api/slip.py", "src/config.py"])
        write(ui / path, f"{rng.random()}\n")
        git(ui, "add", path)
        git(ui, "commit", "-qm", f"ui changes {path}", "--no-verify")
        ui_tips.append(git(ui, "rev-parse", "HEAD").strip())

    def rewrite_stream() -> None:  # the stream's branch moved back, or amended: another range
        if rng.random() < 0.5:
            git(ui, "reset", "-q", "--hard", rng.choice(ui_tips))
        else:
            write(ui / "src/ui/c.py", f"amended {rng.random()}\n")
            git(ui, "add", "src/ui/c.py")
            git(ui, "commit", "-q", "--amend", "--no-verify", "-m", "amended")
            ui_tips.append(git(ui, "rev-parse", "HEAD").strip())

    def lock() -> None:
        gitpar(started, "lock", "src/config.py", "--stream", rng.choice(["api", "ui"]))

    def unlock() -> None:
        for s in ("api", "ui"):
            gitpar(started, "unlock", "src/config.py", "--stream", s)

    def progress() -> None:
        gitpar(ui, "progress", *rng.choice([["--completion", "30"], ["--blocked", "waiting"], ["--done", "x"]]))

    def hostile() -> None:
        plant_state_file(started, "progress/ui.md", REPEATED)

    def hostile_lock() -> None:  # a lock file written by hand: unreadable, or removed again
        plant_state_file(started, "locks/docs/x.md.lock", rng.choice(["not: [a lock", "---\npath: docs/x.md\n", None]))

    ops = [lock, unlock, progress, plan_edit_on_base, plan_edit_in_worktree, rewrite_base, clock_step,
           commit_on_stream, rewrite_stream, hostile_lock]
    sequence = [lock, progress, plan_edit_on_base, plan_edit_in_worktree, rewrite_base, clock_step,
                commit_on_stream, rewrite_stream, unlock, hostile_lock]
    sequence += [rng.choice(ops) for _ in range(4)]
    rng.shuffle(sequence)
    sequence.append(hostile)  # last: every later answer would be the same refusal
    for step, op in enumerate(sequence):
        op()
        warm = _answers(started, api, env)
        warm_commit = commit_verdict(api)
        drop_caches(started)
        cold = _answers(started, api, env)
        cold_commit = commit_verdict(api)
        done = [o.__name__ for o in sequence[:step + 1]]
        for w, c, q in zip(warm, cold, QUESTIONS, strict=True):
            assert w == c, f"{q} after {done}: warm {w} cold {c}"
        assert warm_commit == cold_commit, f"the commit hook after {done}: warm {warm_commit}, cold {cold_commit}"


def test_a_cache_written_by_other_gitpar_code_is_never_read(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gitpar.store import cache as cache_file

    path = tmp_path / "cache" / "x.marshal"
    cache_file.write_marshal(path, {"a": [1, "b"]})
    assert path.read_bytes().startswith(cache_file.header())
    assert cache_file.read_marshal(path) == {"a": [1, "b"]}
    (tmp_path / "cache" / ".tmp-left.part").write_bytes(b"half")  # a writer killed mid-write
    monkeypatch.setattr(cache_file, "_header", b"gitpar-cache 1 another-gitpar\n")
    assert cache_file.gc(tmp_path / "cache") == 3  # none is readable by this code (nor its gc marker)
    cache_file.write_marshal(path, {"a": 1})
    monkeypatch.setattr(cache_file, "_header", None)  # this gitpar again
    assert cache_file.read_marshal(path) is None and not path.exists()  # stale: read as nothing, and gone
    assert [p.name[:4] for p in (tmp_path / "cache").iterdir()] == [".gc-"]  # the marker of the last gc


def test_the_first_write_of_new_gitpar_code_clears_what_older_code_left(planned: Path) -> None:
    """Files an older gitpar wrote (another header, or names no cache uses any more) go
    the first time this code writes a cache in the repository, and never again after."""
    cache = planned / ".git" / "gitpar" / "cache"
    drop_caches(planned)
    old = [cache / "branch-paths.pickle", cache / "analyses" / "0123.pickle", cache / "plans" / "tree-1.pickle"]
    for path in old:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"gitpar-cache 1 0000older\n\x80\x04")
    assert gitpar(planned, "status", "--json").code == 0  # writes caches
    assert not [p for p in old if p.exists()]
    assert list(cache.glob(".gc-*")) and list(cache.glob("plans/*.marshal"))
    again = cache / "stray.pickle"
    again.write_bytes(b"gitpar-cache 1 0000older\n")
    assert gitpar(planned, "status", "--json").code == 0
    assert again.exists()  # once per code version: a later command does not walk the folder again


def test_the_hooks_progress_reader_is_parse_progress() -> None:
    """The commit hook reads a changed progress file's status without importing
    core.progress; it must answer exactly as parse_progress does (None where it raises)."""
    from gitpar.core import progress, rules_cache
    from gitpar.errors import GitparError

    assert rules_cache.PROGRESS_STATUSES == progress.STATUSES
    rng = random.Random(3)
    values = {"status": ["pending", "in_progress", "blocked", "completed", "failed", "done", "", "null", "[a]", "1"],
              "completion": ["0", "40", "100", "101", "-1", "true", "4.5", '"40"', "null", "[1]"],
              "agent": ['""', "x"], "stream": ["ui"]}
    for _ in range(400):
        keys = [k for k in values if rng.random() < 0.8]
        if rng.random() < 0.1 and keys:
            keys.append(rng.choice(keys))  # a repeated key
        lines = [f"{k}: {rng.choice(values[k])}" for k in keys]
        text = rng.choice(["", "\ufeff", "x\n"]) + "---\n" + "\n".join(lines) + ("\n---\n## Completed\n- a\n"
                                                                               if rng.random() < 0.9 else "\n")
        try:
            want: str | None = progress.parse_progress("ui", text).status
        except GitparError:
            want = None
        assert rules_cache.progress_status("ui.md", text) == want, text
