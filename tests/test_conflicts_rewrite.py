"""The forecast's rewrite rule: a stream that took a shared file's lock builds on the previous
holder's version (the lock chain), so the two merge cleanly at integration. Where the later
stream replaced or deleted lines the earlier one had changed, the merge silently keeps the
later lines: ``gitpar conflicts`` reports that as a collision (kind ``rewrite``, exit 1),
while appends in turns and edits of other lines stay clean overlaps."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import edit_config, git, worktree_of

CONFIG = "src/config.py"


def _under_lock(repo: Path, run, name: str, change, *, finish: bool = True) -> str:  # type: ignore[no-untyped-def]
    """Start ``name``, lock the config (the plan's chain: a finished holder's version is
    brought in), change it with ``change(worktree)``, commit, unlock; finish. The lock's output."""
    assert run(repo, "start", name).code == 0
    wt = worktree_of(repo, name)
    res = run(wt, "lock", CONFIG)
    assert res.code == 0, res
    change(wt)
    git(wt, "commit", "-qam", f"{name}: config")
    assert run(wt, "unlock", CONFIG).code == 0
    if finish:
        assert run(wt, "finish").code == 0
    return res.out


def _append(text: str):  # type: ignore[no-untyped-def]
    def change(wt: Path) -> None:
        with (wt / CONFIG).open("a") as f:
            f.write(text + "\n")
    return change


def _line(n: int, text: str):  # type: ignore[no-untyped-def]
    return lambda wt: edit_config(wt, n, text)


def _forecast(repo: Path, run) -> tuple[int, dict, str]:  # type: ignore[no-untyped-def]
    res = run(repo, "conflicts", "--json")
    text = run(repo, "conflicts")
    assert res.code == text.code, (res, text)
    return res.code, json.loads(res.out), text.out + text.err


def test_rewriting_the_line_the_holder_changed_is_a_collision(planned: Path, run) -> None:
    assert _under_lock(planned, run, "api", _line(5, "line5 api")) == ""
    said = _under_lock(planned, run, "ui", _line(5, "line5 ui"), finish=False)
    assert said == f"{CONFIG}: brought in api's version (3-way merge)\n"  # the chain brought it in
    assert git(planned, "show", f"gitpar/ui:{CONFIG}").splitlines()[4] == "line5 ui"
    code, data, text = _forecast(planned, run)
    assert code == 1, text
    pair = next(p for p in data["pairs"] if {p["a"], p["b"]} == {"api", "ui"})
    [c] = pair["conflicts"]
    assert (c["path"], c["kind"], c["by"], c["over"]) == (CONFIG, "rewrite", "ui", "api")
    # line 5 of api's version, which replaced line 5 of the base; ui has its line 5 there
    assert c["regions"] == [{"base": [5, 5], "ours": [5, 5], "theirs": [5, 5]}]
    assert data["rewrites"] == 1
    assert "Rewrites" in text and "Conflicts (these merges would stop)" not in text
    assert f"{CONFIG} (ui replaced line 5 of api's version, which api had changed)" in text
    assert "coordinate with api" in text
    # the integration itself is clean (the chain), and keeps ui's line
    res = run(planned, "integrate", "--streams", "api", "--test", "true")
    assert res.code == 0, res
    code, data, text = _forecast(planned, run)  # api integrated: still forecast against it
    assert code == 1, text
    [pair] = [p for p in data["pairs"] if p["conflicts"]]
    assert pair["a"] == "ui" and pair["with_integration"] and pair["conflicts"][0]["kind"] == "rewrite"


def test_deleting_the_holders_lines_is_a_rewrite_too(planned: Path, run) -> None:
    _under_lock(planned, run, "api", _line(5, "line5 api\nline5b api"))

    def drop(wt: Path) -> None:
        lines = (wt / CONFIG).read_text().splitlines(keepends=True)
        (wt / CONFIG).write_text("".join(lines[:5] + lines[6:]))  # api's second new line goes
    _under_lock(planned, run, "ui", drop, finish=False)
    code, data, text = _forecast(planned, run)
    assert code == 1, text
    [c] = [c for p in data["pairs"] for c in p["conflicts"]]
    assert c["kind"] == "rewrite" and c["regions"][0]["theirs"] == [6, 6]
    assert c["regions"][0]["ours"] == [6, 5]  # nothing in its place: deleted


def test_appends_in_turns_are_a_clean_overlap(planned: Path, run) -> None:
    _under_lock(planned, run, "api", _append("api = 1"))
    _under_lock(planned, run, "ui", _append("ui = 1"), finish=False)
    assert git(planned, "show", f"gitpar/ui:{CONFIG}").endswith("api = 1\nui = 1\n")
    code, data, text = _forecast(planned, run)
    assert code == 0, text
    [pair] = data["pairs"]
    assert pair["overlapping"] == [CONFIG] and pair["conflicts"] == [] and data["rewrites"] == 0
    assert "Overlaps without conflict" in text


def test_editing_lines_the_holder_did_not_change_is_clean(planned: Path, run) -> None:
    _under_lock(planned, run, "api", _line(5, "line5 api"))
    _under_lock(planned, run, "ui", _line(6, "line6 ui"), finish=False)  # next to api's line
    code, data, text = _forecast(planned, run)
    assert code == 0, text
    assert [p["conflicts"] for p in data["pairs"]] == [[]]
    # and the integration agrees: clean, both lines kept
    assert run(worktree_of(planned, "ui"), "finish").code == 0
    res = run(planned, "integrate", "--test", "true")
    assert res.code == 0, res
    lines = git(planned, "show", f"gitpar/_integration:{CONFIG}").splitlines()
    assert lines[4:6] == ["line5 api", "line6 ui"]


def test_without_the_chain_the_same_line_is_an_ordinary_conflict(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    api = worktree_of(planned, "api")
    assert run(api, "lock", CONFIG).code == 0
    edit_config(api, 5, "line5 api")
    git(api, "commit", "-qam", "api")
    assert run(api, "finish").code == 0
    assert run(planned, "start", "ui").code == 0
    ui = worktree_of(planned, "ui")
    assert run(ui, "lock", CONFIG, "--no-chain").code == 0
    edit_config(ui, 5, "line5 ui")
    git(ui, "commit", "-qam", "ui")
    code, data, text = _forecast(planned, run)
    assert code == 1, text
    [c] = [c for p in data["pairs"] for c in p["conflicts"]]
    assert c["kind"] == "content" and "Conflicts (these merges would stop)" in text


def test_a_rewrite_of_work_already_on_the_base_is_forecast_against_the_base(planned: Path, run) -> None:
    _under_lock(planned, run, "api", _line(5, "line5 api"))
    _under_lock(planned, run, "ui", _line(5, "line5 ui"), finish=False)
    res = run(planned, "integrate", "--streams", "api", "--into", "main", "--test", "true")
    assert res.code == 0, res
    assert git(planned, "show", f"main:{CONFIG}").splitlines()[4] == "line5 api"
    code, data, text = _forecast(planned, run)
    assert code == 1, text
    [pair] = [p for p in data["pairs"] if p["conflicts"]]
    assert (pair["a"], pair["b"], pair["with_base"]) == ("ui", "main", True)
    assert [(c["kind"], c["by"], c["over"]) for c in pair["conflicts"]] == [("rewrite", "ui", "api")]
    assert "ui <> main (base):" in text


def test_the_builder_confirms_the_rewrite_with_a_trailer(planned: Path, run) -> None:
    _under_lock(planned, run, "api", _line(5, "line5 api"))
    _under_lock(planned, run, "ui", _line(5, "line5 ui"), finish=False)
    code, _, text = _forecast(planned, run)
    assert code == 1 and "-m 'Gitpar-Replaces: api src/config.py'" in text, text
    ui = worktree_of(planned, "ui")
    # a trailer for another file, or another stream, confirms nothing here
    git(ui, "commit", "-q", "--allow-empty", "-m", "ui: replace", "--trailer", "Gitpar-Replaces: api other.py")
    git(ui, "commit", "-q", "--allow-empty", "-m", "ui: replace", "--trailer", "Gitpar-Replaces: docs")
    assert _forecast(planned, run)[0] == 1
    # the command the forecast says, run by the hooks as any commit
    git(ui, "commit", "-q", "--allow-empty", "-m", "ui: replace api's change", "-m", f"Gitpar-Replaces: api {CONFIG}")
    code, data, text = _forecast(planned, run)
    assert code == 0, text
    [pair] = data["pairs"]
    assert pair["conflicts"] == [] and pair["overlapping"] == [CONFIG]
