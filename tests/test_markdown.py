"""The frontmatter reader's fast path must read exactly what YAML reads, or step aside."""

from __future__ import annotations

import random

import frontmatter
import pytest

from gitpar.core import markdown
from gitpar.errors import BadInput

TOKENS = ["x # c", "\"a # b\" # c", "[a, b] # c", "#x", "a#b", "api", "a-b", "in_progress", "2h", "1h30m", "90s", "0", "7", "-5", "010", "1e3", "12.5",
          "yes", "no", "on", "off", "y", "n", "~", "null", "true", "false", "True", "NULL", "0x1f",
          "2026-11-24T15:33:19Z", "2026-11-24", '"quoted, with comma"', '"a\\u00e9b"', '"x"', '""',
          "478b42524aba05b414abc856f6618da557e4cf5b", "1234567890123456789012345678901234567890",
          "src/api", "# comment", ".5", "+1", "1_000", "a:b", "@x", "*x", "&x", "!x", "%x", "'x'"]


def reference(text: str) -> tuple[dict[str, object], str]:
    """What YAML reads (the reader's own PyYAML path), checked against python-frontmatter
    where that one has an answer (it keeps the last of a repeated key; gitpar refuses)."""
    meta, body = markdown._parse_yaml(text, "f.md")
    post = frontmatter.loads(text)
    assert ({k: markdown._normalise(v) for k, v in post.metadata.items()}, post.content) == (meta, body)
    return meta, body


def random_doc(rng: random.Random) -> str:
    lines = []
    for i in range(rng.randint(1, 5)):
        if rng.random() < 0.3:
            value = "[" + ", ".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 3))) + "]"
        else:
            value = rng.choice(TOKENS)
        key = f"k{rng.randint(0, i)}" if rng.random() < 0.1 else f"k{i}"  # sometimes a repeated key
        lines.append(f"{key}: {value}")
    return "---\n" + "\n".join(lines) + "\n---\nbody " + rng.choice(TOKENS) + "\n"


def test_fast_path_agrees_with_yaml() -> None:
    rng = random.Random(1)
    fast_used = 0
    for _ in range(3000):
        text = random_doc(rng)
        fast = markdown._parse_fast(text)
        if fast is None:
            continue
        fast_used += 1
        try:
            ref = reference(text)
        except Exception:  # noqa: BLE001 — YAML refuses it, so the fast path must not accept it
            pytest.fail(f"fast path accepted what YAML rejects: {text!r}")
        assert fast == ref, text
    assert fast_used > 300  # the fast path is really exercised


def test_what_gitpar_writes_takes_the_fast_path() -> None:
    text = markdown.render({"stream": "api", "agent": "", "status": "in_progress", "completion": 40,
                            "started": "2026-11-24T15:33:19Z", "owns": ["src/api/**", "b"],
                            "worktree": "/work/x y", "base_commit": "478b42524aba05b414abc856f6618da557e4cf5b",
                            "estimate": "1h30m", "port": 20000}, "## Completed\n- x")
    fast = markdown._parse_fast(text)
    assert fast is not None
    assert fast == reference(text)


def test_one_table_writer_escapes_every_cell() -> None:
    from gitpar.core.markdown import code, table

    lines = table(["path", "why"], [[code("a|b.py"), "two\nlines | and a pipe"], ["x", None]])
    assert lines == ["| path | why |", "|---|---|", "| `a\\|b.py` | two lines \\| and a pipe |", "| x |  |"]


def test_a_repeated_key_is_refused_by_both_paths() -> None:
    fast_shape = "---\nstream: ui\nstatus: pending\nstatus: in_progress\n---\n"
    slow_shape = "---\nstream: ui\nstatus: pending # first\nstatus: in_progress\n---\n"
    assert markdown._parse_fast(fast_shape) is None  # steps aside, so YAML's refusal holds
    for text in (fast_shape, slow_shape):
        with pytest.raises(BadInput, match=r"p\.md: frontmatter: the key 'status' is written twice \(line 4\)"):
            markdown.parse(text, "p.md")


@pytest.mark.parametrize(("text", "problem"), [
    ("---\nbase: main\nunowned: deny\n", "no closing '---' line"),
    ("notes\n---\nbase: main\n---\n", "text before the opening '---'"),
    ("---\nbase: main\n...\nbody\n", "ends with '...'"),
    ("+++\nbase = 'main'\n+++\n", "TOML"),
    ('{"base": "main"}\n', "JSON"),
    ("base: main\nunowned: deny\n", "no opening '---' line"),
], ids=["unclosed", "text-before", "dots", "toml", "json", "no-opening"])
def test_an_unreadable_block_is_bad_input_naming_file_problem_fix(text: str, problem: str) -> None:
    with pytest.raises(BadInput) as info:
        markdown.parse(text, ".gitpar/plan.md")
    message = str(info.value)
    assert message.startswith(".gitpar/plan.md: frontmatter: ") and problem in message, message
    assert "fix: " in message, message
    assert info.value.exit_code == 2


def test_a_byte_order_mark_is_read_as_nothing() -> None:
    text = '---\nowns: ["src/ui/**"]\ndescription: "x # y"\n---\nbody\n'
    assert markdown.parse("\ufeff" + text, "s.md") == markdown.parse(text, "s.md") == (
        {"owns": ["src/ui/**"], "description": "x # y"}, "body")
    slow = "---\nowns:\n  - src/ui/**\n---\n"  # a block list: PyYAML's path
    assert markdown.parse("\ufeff" + slow, "s.md") == ({"owns": ["src/ui/**"]}, "")


def test_a_file_with_no_frontmatter_at_all_is_its_text() -> None:
    assert markdown.parse("just prose\n\nmore\n", "n.md") == ({}, "just prose\n\nmore")
    assert markdown.parse("", "n.md") == ({}, "")


def test_the_history_files_fast_reader_agrees_with_the_one_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """history.py's fast path (a file exactly as gitpar writes it) reads what the one
    frontmatter reader reads, also for hand edits that still look like gitpar's lines."""
    from gitpar.core import history

    rng = random.Random(7)
    starts = ["2026-11-24T15:33:19Z", "2026-11-24T15:33:19+02:00", "2026-11-24T15:33:19.5Z", "2026-11-24"]
    texts = []
    for _ in range(200):
        runs = [history.RunRecord(started=rng.choice(starts), duration_s=rng.choice([0.0, 1.5, 12, 1e3, -1.0]),
                                  exit=rng.choice([0, 1, -9]), command=rng.choice(["make test", 'a "q"', "é # x", ""]),
                                  outcome=rng.choice(["ok", "failed", "timeout"]), finish=rng.random() < 0.3)
                for _ in range(rng.randint(0, 3))]
        texts.append(history.render_history("api", runs))
    fast = [history._fast_parse(t) for t in texts]
    assert sum(f is not None for f in fast) > 40  # the fast path is really exercised
    monkeypatch.setattr(history, "_fast_parse", lambda _text: None)
    for text, got in zip(texts, fast, strict=True):
        if got is not None:
            assert got == history.parse_history("api", text), text
