"""Shared files that chain: a lock brings in the previous holder's committed version first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit_plan, git, work, worktree_of, write

LOG = "CHANGES.rst"
T = "gitpar/_integration"


@pytest.fixture
def abc(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """Streams a, b, c, each owning its folder and sharing CHANGES.rst."""
    write(repo / LOG, "Changes\n=======\n\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "changelog")
    assert run(repo, "init", "--no-hooks").code == 0
    plan = repo / ".gitpar/plan.md"
    assert "lock_chain: true" in plan.read_text()  # the default gitpar init writes
    for name in "abc":
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**", "--shares", LOG).code == 0
    commit_plan(repo)
    return repo


def _without_chain_setting(repo: Path) -> None:
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("lock_chain: true", "lock_chain: false", 1))
    git(repo, "commit", "-qam", "plan: no lock chain")


def test_lock_chain_false_brings_nothing_in_and_chain_asks_for_it(abc: Path, run) -> None:
    # with lock_chain: false two streams editing the file in turns conflict at integration,
    # as before the chain was the default; --chain asks for the chain on one lock
    _without_chain_setting(abc)
    for name in "ab":
        _, said = append_under_lock(abc, run, name)
        assert said == ""
    assert run(abc, "integrate").code == 1
    _, said = append_under_lock(abc, run, "c", "--chain")
    assert said == f"{LOG}: brought in b's version (3-way merge)\n"


def test_a_lock_chain_setting_that_is_no_boolean_is_bad_input(abc: Path, run) -> None:
    plan = abc / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("lock_chain: true", "lock_chain: sometimes", 1))
    res = run(abc, "plan")
    assert res.code == 2 and "lock_chain" in res.err and "plan.md" in res.err, res
    assert "Traceback" not in res.err


def append_under_lock(repo: Path, run, name: str, *lock_args: str) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    """Start ``name``, lock the changelog, add a line to it and a file of its own, commit, finish."""
    assert run(repo, "start", name).code == 0
    wt = worktree_of(repo, name)
    res = run(wt, "lock", LOG, *lock_args)
    assert res.code == 0, res
    with (wt / LOG).open("a") as f:
        f.write(f"- {name}: a change\n")
    write(wt / name / "f.txt", f"{name}\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-qm", f"{name}: work")
    assert run(wt, "finish").code == 0
    return wt, res.out


def test_edits_in_turns_build_on_each_other_and_integrate_cleanly(abc: Path, run) -> None:
    _, said = append_under_lock(abc, run, "a")
    assert said == ""  # nobody held it before
    _, said = append_under_lock(abc, run, "b")
    assert said == f"{LOG}: brought in a's version (3-way merge)\n"
    _, said = append_under_lock(abc, run, "c")
    assert said == f"{LOG}: brought in b's version (3-way merge)\n"
    assert git(abc, "show", f"gitpar/c:{LOG}").endswith("- a: a change\n- b: a change\n- c: a change\n")
    chained = git(abc, "show", "gitpar/_state:progress/c.md")
    assert "chained:" in chained and "from: b" in chained
    res = run(abc, "integrate")
    assert res.code == 0, res
    assert git(abc, "show", f"{T}:{LOG}") == ("Changes\n=======\n\n- a: a change\n- b: a change\n"
                                             "- c: a change\n")
    for name in "abc":
        assert git(abc, "show", f"{T}:{name}/f.txt") == f"{name}\n"


def test_edits_in_turns_integrate_in_any_order(abc: Path, run) -> None:
    for name in "abc":
        append_under_lock(abc, run, name)
    for name in "cba":  # the last holder first: the others' versions are already in it
        res = run(abc, "integrate", "--streams", name)
        assert res.code == 0, res
    assert git(abc, "show", f"{T}:{LOG}").endswith("- a: a change\n- b: a change\n- c: a change\n")


def test_a_plan_without_the_key_chains(abc: Path, run) -> None:
    # lock_chain defaults to true: a plan that never names it chains locks
    plan = abc / ".gitpar/plan.md"
    plan.write_text("".join(line for line in plan.read_text().splitlines(keepends=True)
                            if not line.startswith("lock_chain:")))
    git(abc, "commit", "-qam", "plan: lock_chain left out")
    append_under_lock(abc, run, "a")
    _, said = append_under_lock(abc, run, "b")
    assert said == f"{LOG}: brought in a's version (3-way merge)\n"
    assert run(abc, "integrate").code == 0


def test_without_the_chain_the_same_edits_conflict(abc: Path, run) -> None:
    for name in "ab":
        _, said = append_under_lock(abc, run, name, "--no-chain")
        assert said == ""
    res = run(abc, "integrate")
    assert res.code == 1 and LOG in res.err, res


def test_sync_builds_on_the_chain_too(abc: Path, run) -> None:
    append_under_lock(abc, run, "a")
    wt, _ = append_under_lock(abc, run, "b")
    git(abc, "merge", "-q", "--no-ff", "-m", "merge a", "gitpar/a")  # a reaches the base first
    res = run(abc, "sync", "b")
    assert res.code == 0, res
    assert (wt / LOG).read_text().endswith("- a: a change\n- b: a change\n")
    assert "<<<<<<<" not in (wt / LOG).read_text()


def test_a_conflicting_chain_is_refused_and_changes_nothing(abc: Path, run) -> None:
    append_under_lock(abc, run, "a")
    assert run(abc, "start", "b").code == 0
    wt = worktree_of(abc, "b")
    with (wt / LOG).open("a") as f:  # the same place, another line: does not merge
        f.write("- b: something else\n")
    before_file = (wt / LOG).read_text()
    before_state = git(abc, "rev-parse", "gitpar/_state")
    res = run(wt, "lock", LOG)
    assert res.code == 1, res
    assert "the lock is not taken and nothing changed" in res.err
    assert f"{LOG}: a's committed version conflicts with this worktree's" in res.err
    assert f"git show gitpar/a:{LOG}" in res.err and f"gitpar lock --no-chain {LOG}" in res.err
    assert "Traceback" not in res.err
    assert (wt / LOG).read_text() == before_file
    assert git(abc, "rev-parse", "gitpar/_state") == before_state
    assert git(wt, "status", "--porcelain") == f" M {LOG}\n"
    # --no-chain takes it as it is
    res = run(wt, "lock", LOG, "--no-chain")
    assert res.code == 0 and res.out == "", res
    assert (wt / LOG).read_text() == before_file
    locks = json.loads(run(abc, "locks", "--json").out)["locks"]
    assert [(lk["path"], lk["stream"]) for lk in locks] == [(LOG, "b")]


def test_uncommitted_edits_survive_the_chain(abc: Path, run) -> None:
    append_under_lock(abc, run, "a")
    assert run(abc, "start", "b").code == 0
    wt = worktree_of(abc, "b")
    text = (wt / LOG).read_text()
    (wt / LOG).write_text("Changes (b's title)\n" + text.split("\n", 1)[1])  # not committed
    write(wt / "b" / "draft.txt", "untracked\n")
    res = run(wt, "lock", LOG)
    assert res.code == 0, res
    assert res.out == f"{LOG}: brought in a's version (3-way merge)\n"
    assert (wt / LOG).read_text() == "Changes (b's title)\n=======\n\n- a: a change\n"
    assert (wt / "b" / "draft.txt").read_text() == "untracked\n"
    head = git(wt, "rev-parse", "HEAD")
    assert head == git(abc, "rev-parse", "main")  # nothing committed for b
    assert git(wt, "diff", "--cached") == ""  # written to the worktree only, nothing staged


def test_renewing_a_held_lock_brings_nothing_in(abc: Path, run) -> None:
    append_under_lock(abc, run, "a")
    assert run(abc, "start", "b").code == 0
    wt = worktree_of(abc, "b")
    assert run(wt, "lock", LOG).out != ""
    (wt / LOG).write_text("b rewrote it\n")
    res = run(wt, "lock", LOG)  # a renewal: b already built on a's version
    assert res.code == 0 and res.out == "", res
    assert (wt / LOG).read_text() == "b rewrote it\n"


def test_config_line_chain_through_work(repo: Path, run) -> None:
    """work(chain=True) edits different lines of the shared config in turns: both land."""
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "x", "--owns", "x/**", "--shares", "src/config.py").code == 0
    assert run(repo, "stream", "add", "y", "--owns", "y/**", "--shares", "src/config.py").code == 0
    commit_plan(repo)
    work(repo, run, "x", {"x/f.txt": "x\n"}, (5, "XX"), chain=True)
    wt = work(repo, run, "y", {"y/f.txt": "y\n"}, (5, "YY"), chain=True)
    # y built on x's XX and replaced it: integration takes y's line, no conflict
    assert "line5" not in (wt / "src/config.py").read_text()
    res = run(repo, "integrate")
    assert res.code == 0, res
    config = git(repo, "show", f"{T}:src/config.py")
    assert "YY" in config and "XX" not in config and "<<<<<<<" not in config


# -- shares entries with merge: union -----------------------------------------------------


def union_plan(repo: Path, run, entry: str) -> Path:  # type: ignore[no-untyped-def]
    """Streams p and q owning their folders and sharing CHANGES.rst as ``entry`` says."""
    write(repo / LOG, "Changes\n=======\n\n- old entry\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "changelog")
    assert run(repo, "init", "--no-hooks").code == 0
    for name in "pq":
        write(repo / f".gitpar/streams/{name}.md",
              f'---\nowns: ["{name}/**"]\nshares: [{entry}]\ndepends_on: []\n---\nbrief\n')
    commit_plan(repo)
    assert run(repo, "plan").code == 0
    return repo


def append_without_chain(repo: Path, run, name: str) -> Path:  # type: ignore[no-untyped-def]
    """``name`` adds its own line to the base's changelog (its lock taken with --no-chain)."""
    assert run(repo, "start", name).code == 0
    wt = worktree_of(repo, name)
    assert run(wt, "lock", LOG, "--no-chain").code == 0
    with (wt / LOG).open("a") as f:
        f.write(f"- {name}: new\n")
    git(wt, "commit", "-qam", f"{name}: changelog")
    assert run(wt, "finish").code == 0
    return wt


UNION = "{path: CHANGES.rst, merge: union}"


def test_union_files_integrate_keeping_both_sides_lines(repo: Path, run) -> None:
    union_plan(repo, run, UNION)
    for name in "pq":
        append_without_chain(repo, run, name)
    res = run(repo, "integrate")
    assert res.code == 0, res
    assert git(repo, "show", f"{T}:{LOG}") == "Changes\n=======\n\n- old entry\n- p: new\n- q: new\n"


def test_without_merge_union_the_same_edits_conflict(repo: Path, run) -> None:
    union_plan(repo, run, f'"{LOG}"')
    for name in "pq":
        append_without_chain(repo, run, name)
    res = run(repo, "integrate")
    assert res.code == 1 and LOG in res.err and "conflicted" in res.out, res


def test_sync_merges_union_files_too(repo: Path, run) -> None:
    union_plan(repo, run, UNION)
    append_without_chain(repo, run, "p")
    wt = append_without_chain(repo, run, "q")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge p", "gitpar/p")
    res = run(repo, "sync", "q")
    assert res.code == 0, res
    # the stream's side first, as 'git merge' with merge=union in .gitattributes would
    assert (wt / LOG).read_text() == "Changes\n=======\n\n- old entry\n- q: new\n- p: new\n"


def test_union_applies_to_the_entrys_paths_only(repo: Path, run) -> None:
    union_plan(repo, run, f'{UNION}, "src/config.py"')
    for name, text in (("p", "P"), ("q", "Q")):
        assert run(repo, "start", name).code == 0
        wt = worktree_of(repo, name)
        assert run(wt, "lock", "src/config.py", "--no-chain").code == 0
        config = (wt / "src/config.py").read_text().replace("line5\n", f"{text}\n")
        (wt / "src/config.py").write_text(config)
        git(wt, "commit", "-qam", f"{name}: config")
        assert run(wt, "finish").code == 0
    res = run(repo, "integrate")
    assert res.code == 1 and "src/config.py" in res.err, res


@pytest.mark.parametrize(("entry", "field", "fix"), [
    ("{path: CHANGES.rst, merge: ours}", "shares[0].merge", "write merge: union"),
    ("{path: CHANGES.rst, how: union}", "shares[0]", "write it like {path: CHANGES.rst, merge: union}"),
    ("{merge: union}", "shares[0].path", "write it like {path: CHANGES.rst, merge: union}"),
    ("[CHANGES.rst]", "shares[0]", "write it like shares:"),
])
def test_a_bad_shares_entry_is_bad_input(repo: Path, run, entry: str, field: str, fix: str) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    stream = repo / ".gitpar/streams/p.md"
    write(stream, f'---\nowns: ["p/**"]\nshares: [{entry}]\n---\nbrief\n')
    before = stream.read_text()
    res = run(repo, "plan")
    assert res.code == 2, res
    assert ".gitpar/streams/p.md" in res.err and field in res.err and fix in res.err, res
    assert "Traceback" not in res.err
    assert stream.read_text() == before


def test_stream_files_keep_their_union_entries(repo: Path, run) -> None:
    from gitpar.core.plan import parse_stream, render_stream

    text = f'---\nowns: ["p/**"]\nshares: [{UNION}, "src/config.py"]\n---\nbrief\n'
    stream, _ = parse_stream("p", text, ".gitpar/streams/p.md")
    assert stream.shares == (LOG, "src/config.py") and stream.union == (LOG,)
    again, _ = parse_stream("p", render_stream(stream), ".gitpar/streams/p.md")
    assert again == stream


def test_a_cleaned_up_holder_is_built_on_from_its_integration(abc: Path, run) -> None:
    append_under_lock(abc, run, "a")
    assert run(abc, "integrate", "--cleanup").code == 0
    assert git(abc, "branch", "--list", "gitpar/a").strip() == ""  # a's branch is gone
    _, said = append_under_lock(abc, run, "b")
    assert said == f"{LOG}: brought in a's version (3-way merge)\n"
    res = run(abc, "integrate")
    assert res.code == 0, res
    assert git(abc, "show", f"{T}:{LOG}").endswith("- a: a change\n- b: a change\n")


def test_the_chain_also_follows_a_lock_strategy(abc: Path, run) -> None:
    plan = abc / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins:\n  locks: wait" + text[end:])
    commit_plan(abc)
    append_under_lock(abc, run, "a")
    assert run(abc, "start", "b").code == 0
    wt = worktree_of(abc, "b")
    (wt / LOG).write_text("clash\n")  # the whole file rewritten: a's line cannot merge in
    before = git(abc, "rev-parse", "gitpar/_state")
    res = run(wt, "lock", LOG)
    assert res.code == 1 and "the lock is not taken" in res.err, res
    assert git(abc, "rev-parse", "gitpar/_state") == before
    (wt / LOG).write_text("Changes\n=======\n\n")
    res = run(wt, "lock", LOG)
    assert res.code == 0 and res.out == f"{LOG}: brought in a's version (3-way merge)\n", res


def test_the_forecast_knows_chains_and_union_merges(abc: Path, run) -> None:
    for name in "ab":
        append_under_lock(abc, run, name)
    data = json.loads(run(abc, "conflicts", "--json").out)
    assert not [p for p in data["pairs"] if p["conflicts"]], data["pairs"]
    append_under_lock(abc, run, "c", "--no-chain")  # c edited the base's version: it does conflict
    data = json.loads(run(abc, "conflicts", "--json").out)
    assert {tuple(sorted((p["a"], p["b"]))) for p in data["pairs"] if p["conflicts"]} == {("a", "c"), ("b", "c")}


def test_by_default_an_unfinished_holders_version_is_not_brought_in(abc: Path, run) -> None:
    # a holder still at work may change its version again or be ejected: the plan's chain
    # builds on finished holders only, says so, and --chain builds on it on purpose
    assert run(abc, "start", "a").code == 0
    aw = worktree_of(abc, "a")
    assert run(aw, "lock", LOG).code == 0
    with (aw / LOG).open("a") as f:
        f.write("- a: a change\n")
    git(aw, "commit", "-qam", "a: changelog")
    assert run(aw, "unlock", LOG).code == 0  # a keeps working: not finished
    assert run(abc, "start", "b").code == 0
    bw = worktree_of(abc, "b")
    res = run(bw, "lock", LOG)
    assert res.code == 0 and res.out == "", res
    assert "a held its lock before and has not finished" in res.err and "--chain" in res.err
    assert "- a: a change" not in (bw / LOG).read_text()
    assert run(bw, "unlock", LOG).code == 0
    res = run(bw, "lock", LOG, "--chain")
    assert res.code == 0 and res.out == f"{LOG}: brought in a's version (3-way merge)\n", res
    assert "- a: a change" in (bw / LOG).read_text()
