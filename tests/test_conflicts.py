"""gitpar conflicts: the forecast agrees with git merge-tree, and touches nothing."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pygit2
import pytest
from conftest import commit_plan, git, write

CONFIG = "".join(f"line{i}\n" for i in range(1, 11))
# long enough for git's and libgit2's rename detection to pair a moved copy with it
MODULE = "".join(f"def function_{i}():\n    return {i}\n\n" for i in range(30))


def set_branch(repo: Path, branch: str, changes: dict[str, bytes | None], parent: str = "main",
               message: str = "work") -> str:
    """Commit ``changes`` (path -> content, None deletes) on ``parent`` as ``branch``, no checkout."""
    r = pygit2.Repository(str(repo))
    base = r.revparse_single(parent).peel(pygit2.Commit)
    index = pygit2.Index()
    index.read_tree(base.tree)
    for path, data in changes.items():
        if data is None:
            index.remove(path)
        else:
            index.add(pygit2.IndexEntry(path, r.create_blob(data), pygit2.GIT_FILEMODE_BLOB))
    tree = index.write_tree(r)
    sig = pygit2.Signature("tester", "tester@example.com")
    commit = r.create_commit(None, sig, sig, message, tree, [base.id])
    r.references.create(f"refs/heads/{branch}", commit, force=True)
    return str(commit)


def edit(text: str, line: int, new: str) -> bytes:
    lines = text.splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    return "".join(lines).encode()


@pytest.fixture
def many(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """Streams covering each way two changes can meet, all in progress, and a moved base."""
    write(repo / "src/api/a.py", MODULE)
    (repo / "bin.dat").write_bytes(b"\x00\x01binary\x00" * 20)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "more files")
    assert run(repo, "init", "--no-hooks").code == 0
    names = "a b c d e f g h i j k l n o p q u".split()
    for name in names:
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**").code == 0
    commit_plan(repo)
    changes: dict[str, dict[str, bytes | None]] = {
        "a": {"src/config.py": edit(CONFIG, 5, "A5")},
        "b": {"src/config.py": edit(CONFIG, 5, "B5")},          # a-b: the same line
        "c": {"src/config.py": edit(CONFIG, 9, "C9")},          # far from 5: overlap only
        "d": {"src/config.py": edit(CONFIG, 6, "D6")},          # next to 5: git conflicts
        "e": {"src/config.py": edit(CONFIG, 5, "A5")},          # the same change as a
        "f": {"docs/x.md": None},                               # f-g: modify/delete
        "g": {"docs/x.md": b"doc, edited\n"},
        "h": {"src/api/a.py": None, "src/api/moved.py": MODULE.encode()},   # a rename ...
        "i": {"src/api/a.py": edit(MODULE, 2, "    return 'i'")},          # ... merges with i
        "j": {"new/n.txt": b"from j\n"},
        "k": {"new/n.txt": b"from k\n"},                        # j-k: add/add
        "l": {"new/n.txt": b"from j\n"},                        # j-l: the same file added
        "n": {"lib/thing": b"a file\n"},
        "o": {"lib/thing/x.py": b"a directory\n"},              # n-o: file/directory
        "p": {"bin.dat": b"\x00p" * 30},
        "q": {"bin.dat": b"\x00q" * 30},                        # p-q: binary
        "u": {"u/own.txt": b"only mine\n"},                     # meets nobody
    }
    for name in names:
        set_branch(repo, f"gitpar/{name}", changes[name])
        assert run(repo, "progress", "-s", name, "--status", "in_progress").code == 0
    # the base moves on after the streams forked: line 9 (c conflicts with it)
    write(repo / "src/config.py", edit(CONFIG, 9, "MAIN9").decode())
    git(repo, "commit", "-qam", "main edits line 9")
    return repo


def git_conflicts(repo: Path, a: str, b: str) -> bool:
    proc = subprocess.run(["git", "merge-tree", "--write-tree", "--name-only", a, b], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode == 1


def test_the_same_conflicting_pairs_as_git_merge_tree(many: Path, run) -> None:
    res = run(many, "conflicts", "--json")
    assert res.code == 1, res
    data = json.loads(res.out)
    names = data["streams"]
    assert len(names) == 17
    ours = {(p["a"], p["b"]) for p in data["pairs"] if p["conflicts"]}
    theirs = set()
    for a, b in itertools.combinations(names, 2):
        if git_conflicts(many, f"gitpar/{a}", f"gitpar/{b}"):
            theirs.add((a, b))
    for a in names:
        if git_conflicts(many, f"gitpar/{a}", "main"):
            theirs.add((a, "main"))
    assert ours == theirs
    # and the cases are the ones meant
    for pair in [("a", "b"), ("a", "d"), ("b", "e"), ("f", "g"), ("j", "k"), ("n", "o"), ("p", "q"),
                 ("c", "main")]:
        assert pair in ours, pair
    for pair in [("a", "c"), ("a", "e"), ("h", "i"), ("j", "l")]:
        assert pair not in ours, pair


def test_overlap_without_conflict_and_line_ranges(many: Path, run) -> None:
    data = json.loads(run(many, "conflicts", "--json").out)
    pairs = {(p["a"], p["b"]): p for p in data["pairs"]}
    assert pairs[("a", "c")]["overlapping"] == ["src/config.py"] and not pairs[("a", "c")]["conflicts"]
    ab = pairs[("a", "b")]["conflicts"]
    assert [c["path"] for c in ab] == ["src/config.py"]
    assert ab[0]["kind"] == "content"
    assert ab[0]["regions"] == [{"base": [5, 5], "ours": [5, 5], "theirs": [5, 5]}]
    kinds = {pair: [c["kind"] for c in p["conflicts"]] for pair, p in pairs.items()}
    assert kinds[("f", "g")] == ["delete/modify"]
    assert kinds[("j", "k")] == ["add/add"]
    assert kinds[("p", "q")] == ["binary"]
    assert ("u", "a") not in pairs and ("a", "u") not in pairs
    # only the pairs whose changes meet were merged
    assert data["stats"]["pairs"] == 17 * 16 // 2 + 17
    assert data["stats"]["pairs_merged"] < 40


def test_text_output_names_files_and_lines(many: Path, run) -> None:
    res = run(many, "conflicts")
    assert res.code == 1
    assert "a <> b:" in res.out and "src/config.py (line 5)" in res.out
    assert "Overlaps without conflict" in res.out
    assert "c <> main (base):" in res.out


def test_the_forecast_touches_no_worktree_or_index(many: Path, run) -> None:
    def state() -> tuple[str, str, bytes, list[str]]:
        return (git(many, "rev-parse", "HEAD"), git(many, "status", "--porcelain"),
                (many / ".git/index").read_bytes(), sorted(git(many, "for-each-ref").splitlines()))

    before = state()
    assert run(many, "conflicts", "--json").code == 1
    assert state() == before


def test_no_overlap_means_no_merge(repo: Path, run) -> None:
    assert run(repo, "init", "--no-hooks").code == 0
    for name in "abcdef":
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**").code == 0
    commit_plan(repo)
    for name in "abcdef":
        set_branch(repo, f"gitpar/{name}", {f"{name}/f.txt": name.encode()})
        assert run(repo, "progress", "-s", name, "--status", "in_progress").code == 0
    res = run(repo, "conflicts", "--json")
    assert res.code == 0, res
    data = json.loads(res.out)
    assert data["pairs"] == [] and data["stats"]["pairs_merged"] == 0


def test_only_active_streams_and_missing_branches(many: Path, run) -> None:
    assert run(many, "progress", "-s", "b", "--status", "pending").code == 0
    git(many, "branch", "-D", "gitpar/d")
    data = json.loads(run(many, "conflicts", "--json").out)
    assert "b" not in data["streams"]
    assert "d" not in data["streams"] and "does not exist" in data["skipped"]["d"]
    assert ("a", "b") not in {(p["a"], p["b"]) for p in data["pairs"]}


def test_streams_forked_from_different_bases(repo: Path, run) -> None:
    """A stream started later carries the base's newer changes: they count against the older one."""
    assert run(repo, "init", "--no-hooks").code == 0
    for name in ("old", "new"):
        assert run(repo, "stream", "add", name, "--owns", f"{name}/**").code == 0
    commit_plan(repo)
    set_branch(repo, "gitpar/old", {"src/config.py": edit(CONFIG, 3, "OLD3")})
    write(repo / "src/config.py", edit(CONFIG, 3, "MAIN3").decode())
    git(repo, "commit", "-qam", "main edits line 3")
    set_branch(repo, "gitpar/new", {"new/f.txt": b"new\n"})
    for name in ("old", "new"):
        assert run(repo, "progress", "-s", name, "--status", "in_progress").code == 0
    data = json.loads(run(repo, "conflicts", "--json").out)
    found = {tuple(sorted((p["a"], p["b"]))) for p in data["pairs"] if p["conflicts"]}
    assert found == {("new", "old"), ("main", "old")}
    assert git_conflicts(repo, "gitpar/old", "gitpar/new")


def test_attention_items_for_status(many: Path) -> None:
    from gitpar.core.conflicts import attention
    from gitpar.core.repo import open_repo

    r = open_repo(many)
    items = attention(r, r.load_plan())
    assert ("a", "conflict") in {(s, k) for s, k, _ in items}
    message = next(m for s, _, m in items if s == "a" and "stream b" in m)
    assert "src/config.py (line 5)" in message
