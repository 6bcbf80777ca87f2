"""The state-history index (lock holds and streams' statuses, extended from the last state
tip read) answers as a walk of the whole history does, after each of a random sequence of
real state changes, a rewritten state branch and a hand-written state file among them."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from conftest import git, worktree_of
from hostile import plant_state_file

from gitpar.core import clock, report
from gitpar.core.lock_history import lock_history
from gitpar.core.repo import open_repo

STATE = "gitpar/_state"


def _answers(repo_dir: Path, now: float) -> tuple[object, ...]:
    repo = open_repo(repo_dir)
    history = lock_history(repo, now)
    return (report.status_history(repo, now), {p: history[p] for p in history},
            [(s.commit, s.why) for s in history.suspects])


def test_the_state_history_index_answers_as_the_whole_walk(started: Path, run) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(28)
    ui = worktree_of(started, "ui")
    tips = [git(started, "rev-parse", STATE).strip()]
    cache = started / ".git/gitpar/cache"

    def progress() -> None:
        run(ui, "progress", *rng.choice([["--completion", str(rng.randint(1, 99))], ["--blocked", "waiting"],
                                         ["--unblocked"], ["--completion", "100"]]))

    def lock() -> None:
        run(started, "lock", rng.choice(["src/config.py", "docs/x.md"]), "--stream", rng.choice(["api", "ui"]))

    def unlock() -> None:
        for stream in ("api", "ui"):
            run(started, "unlock", "src/config.py", "docs/x.md", "--stream", stream)

    def rewrite() -> None:  # the state branch set back to an earlier commit
        git(started, "update-ref", f"refs/heads/{STATE}", rng.choice(tips))

    def hostile() -> None:
        plant_state_file(started, "progress/ui.md", rng.choice(["---\nstatus: [\n", "---\nstream: ui\nstatus: failed\n---\n"]))

    ops = [progress, lock, unlock, rewrite, hostile]
    sequence = [progress, lock, progress, unlock, rewrite, hostile, progress]
    sequence += [rng.choice(ops) for _ in range(6)]
    now = clock.real_now() + 3600
    for step, op in enumerate(sequence):
        op()
        tips.append(git(started, "rev-parse", STATE).strip())
        warm = _answers(started, now)  # the index extended from the step before
        shutil.rmtree(cache, ignore_errors=True)
        cold = _answers(started, now)
        done = [o.__name__ for o in sequence[:step + 1]]
        assert warm == cold, f"after {done}"
    assert cold[0] and cold[1]  # the walk found statuses and holds: the comparison compared something


def test_the_page_shows_each_files_newest_holds(planned: Path, run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """However long the state history, the page shows each file's ``HOLDS_SHOWN`` newest
    holds and every hold held now, and says how many older ones it left out."""
    from gitpar.core import report_html

    monkeypatch.setattr(report_html, "HOLDS_SHOWN", 3)
    for i in range(5):
        assert run(planned, "lock", "src/config.py", "--stream", "api", "--reason", f"round {i}").code == 0
        assert run(planned, "unlock", "src/config.py", "--stream", "api").code == 0
    assert run(planned, "lock", "docs/x.md", "--stream", "ui").code == 0
    r = report.gather(open_repo(planned), workers=2)
    assert len([h for h in r.lock_holds if h.path == "src/config.py"]) == 5  # the data has them all
    shown, hidden = report_html.shown_holds(r)
    newest = sorted((h for h in r.lock_holds if h.path == "src/config.py"), key=lambda h: h.start)[-3:]
    assert hidden == 2 and [h for h in shown if h.path == "src/config.py"] == newest
    assert [h.path for h in shown if h.live] == ["docs/x.md"]
    page = report_html.render(r)
    assert page.count('<g class="hold" data-path="src/config.py"') == 3
    assert "2 older holds not shown" in page
    bounded = report.gather(open_repo(planned), workers=2, holds_per_file=3)  # what --html reads
    assert bounded.lock_holds_left_out == 2

    def same(h):  # type: ignore[no-untyped-def]
        return h.path, h.stream, h.start, h.live, None if h.live else h.end  # an open hold ends now

    assert [same(h) for h in bounded.lock_holds] == [same(h) for h in sorted(shown, key=lambda h: (h.path, h.start))]
    assert report_html.shown_holds(bounded) == (bounded.lock_holds, 2)
    history = lock_history(open_repo(planned), clock.real_now())
    for n in range(8):
        newest_n, older = history.newest("src/config.py", n)
        assert newest_n == history["src/config.py"][len(history["src/config.py"]) - len(newest_n):]
        assert len(newest_n) == min(n, 5) and older == 5 - len(newest_n)
