"""Hostile YAML: anchors, aliases and oversize files are refused, fast, naming the file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import commit_plan, git, write
from hostile import plant_state_file

from gitpar.core import markdown
from gitpar.errors import BadInput


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return '---\nowns: ["src/**"]\n' + "\n".join(lines) + "\n---\n"


def test_alias_bomb_refused_in_under_100_ms() -> None:
    import yaml  # noqa: F401 — import cost is not the refusal's

    markdown.parse("---\nk: [a, b]\n# c\n---\n", "warm.md")  # warm the slow path once
    start = time.perf_counter()
    with pytest.raises(BadInput, match=r"s\.md: frontmatter: a YAML anchor .*line 3") as info:
        markdown.parse(alias_bomb(), "s.md")
    assert time.perf_counter() - start < 0.1
    assert "fix:" in str(info.value)


@pytest.mark.parametrize("text", [
    "---\na: &x 1\n---\n",
    "---\na: *x\n---\n",
    "---\nlist:\n  - &first x\n  - *first\n---\n",
    "---\nmap: {k: &v 1, j: *v}\n---\n",
    "---\n<<: *base\n---\n",
])
def test_anchor_or_alias_anywhere_is_refused(text: str) -> None:
    with pytest.raises(BadInput, match=r"f\.md: frontmatter: a YAML (anchor|alias)"):
        markdown.parse(text, "f.md")


def test_text_that_only_looks_like_an_alias_is_fine() -> None:
    meta, body = markdown.parse('---\na: "*x"\nb: "&y"\nc: a*b\n---\n*body* & more\n', "f.md")
    assert meta == {"a": "*x", "b": "&y", "c": "a*b"}
    assert body == "*body* & more"


def test_oversize_file_refused_before_parsing() -> None:
    big = "---\nstream: a\n---\n" + "x" * markdown.MAX_FILE_BYTES
    start = time.perf_counter()
    with pytest.raises(BadInput, match=r"big\.md: the file is larger than 1024 KiB") as info:
        markdown.parse(big, "big.md")
    assert time.perf_counter() - start < 0.1
    assert "fix:" in str(info.value)
    # multi-byte text counts in bytes, not characters
    with pytest.raises(BadInput, match="larger than"):
        markdown.parse("---\na: b\n---\n" + "é" * (markdown.MAX_FILE_BYTES // 2 + 1), "u.md")
    markdown.parse("---\na: b\n---\n" + "x" * (markdown.MAX_FILE_BYTES - 100), "ok.md")


def test_deep_nesting_is_a_clear_error() -> None:
    with pytest.raises(BadInput, match=r"n\.md: frontmatter"):
        markdown.parse("---\na: " + "[" * 50000 + "]" * 50000 + "\n---\n", "n.md")


def test_alias_bomb_in_a_stream_file_stops_plan_fast(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(repo, "init").code == 0
    write(repo / ".gitpar/streams/s.md", alias_bomb())
    commit_plan(repo)
    start = time.perf_counter()
    res = run(repo, "plan")
    assert time.perf_counter() - start < 5
    assert res.code == 2, res
    assert ".gitpar/streams/s.md" in res.err and "anchor" in res.err and "fix:" in res.err
    assert "Traceback" not in res.text


def test_alias_in_plan_md_exit_2(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(repo, "init").code == 0
    plan = repo / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("base: main", "base: &b main\nother: *b", 1))
    res = run(repo, "status")
    assert res.code == 2, res
    assert ".gitpar/plan.md" in res.err and "fix:" in res.err


def test_alias_bomb_planted_in_state_is_refused_fast(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    # anyone who can push gitpar/_state can plant one: status must still answer, fast
    assert run(repo, "init").code == 0
    assert run(repo, "stream", "add", "s", "--owns", "src/**").code == 0
    commit_plan(repo)
    assert run(repo, "start", "s").code == 0
    plant_state_file(repo, "progress/s.md", alias_bomb())
    start = time.perf_counter()
    res = run(repo, "status")
    assert time.perf_counter() - start < 5
    assert "progress/s.md" in res.text, res
    assert "Traceback" not in res.text
    git(repo, "rev-parse", "gitpar/_state")
