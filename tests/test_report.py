"""gitpar report --html: the data it draws, the page, and the page in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import commit_plan, edit_config, git, gitpar, work, worktree_of, write

from gitpar.core import schedule as sch
from gitpar.core.repo import open_repo
from gitpar.core.report import Report, gather
from gitpar.core.report_html import graph_layout, render, timeline_bars


def _busy(repo: Path, run) -> Path:  # type: ignore[no-untyped-def]
    """api finished (changed config line 5 under a lock); ui in progress, holding the lock,
    changed the same line (a conflict with api); docs pending; ui's worktree returned."""
    assert run(repo, "stream", "add", "docs", "--owns", "docs/**", "--estimate", "30m",
               "--description", "the <b>docs</b> & notes").code == 0
    commit_plan(repo)
    api = work(repo, run, "api", {"src/api/a.py": "a = 2\n"}, finish=False)
    assert run(api, "lock", "src/config.py", "--reason", "api setting").code == 0
    edit_config(api, 5, "api = 5")
    git(api, "commit", "-qam", "api: setting")
    assert run(api, "unlock", "src/config.py").code == 0
    assert run(api, "progress", "--completion", "60", "--need", "ui: agree on the field").code == 0
    assert run(api, "finish").code == 0
    ui = work(repo, run, "ui", {"src/ui/b.py": "b = 2\n"}, finish=False)
    assert run(ui, "lock", "src/config.py", "--reason", "ui setting", "--no-chain").code == 0  # on the base's line
    edit_config(ui, 5, "ui = 5")
    git(ui, "commit", "-qam", "ui: setting")
    assert run(ui, "progress", "--completion", "30").code == 0
    return ui


def test_every_stream_lock_and_conflict_is_in_the_data(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    _busy(planned, run)
    r = gather(open_repo(planned), workers=2)
    assert [s.name for s in r.streams] == ["api", "docs", "ui"]
    holds = [(h.path, h.stream, h.live) for h in r.lock_holds]
    assert holds == [("src/config.py", "api", False), ("src/config.py", "ui", True)]
    assert [(lk.path, lk.stream, lk.stale) for lk in r.locks_now] == [("src/config.py", "ui", None)]
    api_hold, ui_hold = r.lock_holds
    assert api_hold.start <= api_hold.end <= ui_hold.start <= ui_hold.end <= r.now + 1
    assert [(c.a, c.b) for c in r.conflicts] == [("api", "ui")]
    assert "src/config.py" in r.conflicts[0].files[0]
    api, docs, ui = r.streams
    assert [seg.status for seg in api.actual] == ["in_progress", "completed"]
    assert api.started is not None and api.completed is not None and api.started <= api.completed
    assert ui.actual[-1].status == "in_progress" and ui.completed is None and ui.forecast is not None
    assert docs.actual == [] and docs.started is None
    assert api.git["ahead"] == 2 and api.git["files_changed"] == 2 and api.last_activity
    assert ("coordination", "ui: agree on the field") in api.attention
    assert any(k == "conflict" and "stream ui" in m for k, m in api.attention)
    assert api.checked and api.violations == [] and ui.checked and not docs.checked
    assert api.owns == ("src/api/**",) and ui.shares == ("src/config.py",)
    assert r.origin == api.started and r.eta_p50 is not None and r.eta_p90 is not None
    assert r.eta_p50 <= r.eta_p90
    data = json.loads(json.dumps(r.to_dict()))
    assert data["version"] == 1 and data["streams"][0]["completed"] == api.completed


def test_a_violation_on_a_branch_is_reported(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    api = work(planned, run, "api", {"src/api/a.py": "a = 2\n"}, finish=False)
    write(api / "src/ui/b.py", "stolen\n")
    git(api, "commit", "-qam", "api edits ui", "--no-verify")
    r = gather(open_repo(planned), workers=1)
    found = r.stream("api").violations
    assert [(v["path"], v["rule"]) for v in found] == [("src/ui/b.py", "owned")]
    page = render(r)
    assert "src/ui/b.py</code> (owned" in page
    # the report's one-pass check of every branch says what gitpar check of each says
    from gitpar.core.check import check_range, check_streams

    one = check_range(open_repo(planned), "main", "refs/heads/gitpar/api", stream="api")
    assert check_streams(open_repo(planned), ["api", "ui"])["api"].violations == one.violations
    assert "ui" not in check_streams(open_repo(planned), ["ui"])  # no branch: not checked


def _diamond(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(repo, "init").code == 0
    for args in (["a", "--estimate", "1h"], ["b", "--estimate", "2h", "--depends-on", "a"],
                 ["c", "--estimate", "30m"], ["d", "--estimate", "45m", "--depends-on", "b,c"],
                 ["e", "--estimate", "3h"]):
        assert run(repo, "stream", "add", *args).code == 0
    commit_plan(repo)


def test_planned_bars_follow_the_schedule(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    _diamond(repo, run)
    r = gather(open_repo(repo), workers=2)
    tasks = [sch.Task("a", 3600, ()), sch.Task("b", 7200, ("a",)), sch.Task("c", 1800, ()),
             sch.Task("d", 2700, ("b", "c")), sch.Task("e", 10800, ())]
    slots = sch.schedule(tasks, 2).slots
    for s in r.streams:
        assert s.planned is not None
        assert (s.planned.start - r.origin, s.planned.end - r.origin) == (slots[s.name].start,
                                                                          slots[s.name].finish)
    planned = {b.stream: b for b in timeline_bars(r) if b.kind == "planned"}
    assert set(planned) == set("abcde")
    by_x = sorted(planned, key=lambda n: (planned[n].x, n))
    assert by_x == sorted(slots, key=lambda n: (slots[n].start, n))
    ends = sorted(planned, key=lambda n: (planned[n].x + planned[n].w, n))
    assert ends == sorted(slots, key=lambda n: (slots[n].finish, n))
    for dep, name in r.edges:  # a stream's bar begins where its dependencies' bars have ended
        assert planned[name].x >= planned[dep].x + planned[dep].w - 0.01
    # bars are proportional to the estimates
    assert planned["b"].w == pytest.approx(2 * planned["a"].w, rel=0.01)


def test_critical_path_nodes_are_marked(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    _diamond(repo, run)
    r = gather(open_repo(repo), workers=2)
    assert r.critical_path == ["a", "b", "d"]
    assert {s.name for s in r.streams if s.critical} == {"a", "b", "d"}
    page = render(r)
    marked = set(re.findall(r'<g class="node critical" data-stream="([^"]+)"', page))
    assert marked == {"a", "b", "d"}
    assert set(re.findall(r'<g class="node" data-stream="([^"]+)"', page)) == {"c", "e"}
    hot = set(re.findall(r'class="edge critical" data-from="(\w)" data-to="(\w)"', page))
    assert hot == {("a", "b"), ("b", "d")}
    layout = graph_layout(r)  # columns are waves
    assert layout["a"].x == layout["c"].x == layout["e"].x < layout["b"].x < layout["d"].x


def test_the_page_is_self_contained_and_escaped(planned: Path, run) -> None:  # type: ignore[no-untyped-def]
    _busy(planned, run)
    out = planned / "out" / "report.html"
    bad = gitpar(planned, "report", "--html", str(out))
    assert bad.code == 2 and "--html" in bad.err and "does not exist" in bad.err and not out.exists()
    assert gitpar(planned, "report").code == 2
    out.parent.mkdir()
    done = gitpar(planned, "report", "--html", str(out))
    assert done.code == 0, done.err
    assert done.out.strip() == str(out.resolve())
    page = out.read_text()
    assert not re.findall(r'(?:src|href|url)\s*[=(]\s*["\']?(?:https?:)?//', page)
    assert "<script" not in page and "@import" not in page
    assert "the &lt;b&gt;docs&lt;/b&gt; &amp; notes" in page and "<b>docs</b>" not in page
    assert page.count("<svg") == 3 and 'viewBox="0 0 ' in page
    data = json.loads(gitpar(planned, "report", "--json").out)
    assert [s["name"] for s in data["streams"]] == ["api", "docs", "ui"]


def test_the_report_works_before_anything_started(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    _diamond(repo, run)
    git(repo, "branch", "-D", "gitpar/_state")
    r = gather(open_repo(repo), workers=1)
    assert not r.state_branch and r.lock_holds == [] and r.conflicts == []
    assert "no state branch yet" in render(r)


def _browser() -> str | None:
    return next((b for b in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))
                 if b), None)


def _png_pixels(data: bytes) -> bytes:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat = 8, b""
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        if data[i + 4:i + 8] == b"IDAT":
            idat += data[i + 8:i + 8 + n]
        i += 12 + n
    return zlib.decompress(idat)


@pytest.mark.skipif(_browser() is None, reason="no chromium to render the page")
def test_chromium_renders_the_page(planned: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _busy(planned, run)
    page = tmp_path / "report.html"
    r: Report = gather(open_repo(planned), workers=2)
    page.write_text(render(r))
    browser = _browser()
    assert browser
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=90)
    pixels = _png_pixels(shot.read_bytes())
    assert len(set(pixels[::97])) > 8, "the screenshot is (almost) one colour"
    assert pixels.count(b"\xff") < 0.97 * len(pixels)
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=90).stdout
    for name in ("api", "ui", "docs"):
        assert re.search(f'<article class="card[^"]*" id="stream-{name}" data-stream="{name}"', dom)
        assert re.search(f'<g class="node[^"]*" data-stream="{name}"', dom)
        assert re.search(f'<g class="bar" data-stream="{name}" data-kind="planned"', dom)
    for h in r.lock_holds:
        assert f'<g class="hold" data-path="{h.path}" data-stream="{h.stream}">' in dom
    lock_table = dom[dom.index('class="lock-history"'):]
    lock_table = lock_table[:lock_table.index("</table>")]
    assert lock_table.count("<code>src/config.py</code>") == 2
    conflicts = dom[dom.index('class="conflicts"'):]
    conflicts = conflicts[:conflicts.index("</table>")]
    assert re.search(r"<td>api</td><td>ui</td><td><code>src/config.py", conflicts)
    # the ui worktree still exists and was not touched by the report
    assert git(worktree_of(planned, "ui"), "status", "--porcelain") == ""


def test_the_reusable_workflow_uploads_the_report() -> None:
    import yaml

    root = Path(__file__).resolve().parents[1]
    steps = yaml.safe_load((root / ".github/workflows/gitpar-check.yml").read_text())["jobs"]["check"]["steps"]
    names = [s.get("run", "") + s.get("uses", "") for s in steps]
    check = next(i for i, n in enumerate(names) if "gitpar check" in n)
    report = next(i for i, n in enumerate(names) if "gitpar report --html gitpar-report.html" in n)
    upload = next(i for i, n in enumerate(names) if n.startswith("actions/upload-artifact@v4"))
    summary = next(i for i, n in enumerate(names) if "GITHUB_STEP_SUMMARY" in n)
    assert check < report < upload < summary
    assert all(steps[i].get("if") == "always()" for i in (report, upload, summary))
    assert steps[upload]["with"] == {"name": "gitpar-report", "path": "gitpar-report.html",
                                     "if-no-files-found": "warn"}
    assert "steps.report.outputs.artifact-url" in str(steps[summary]["env"])


def test_open_hands_the_page_to_the_browser(repo: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _diamond(repo, run)
    opened = tmp_path / "opened.txt"
    browser = f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\" %s"
    page = tmp_path / "r.html"
    env = {"BROWSER": browser}
    assert gitpar(repo, "report", "--html", str(page), env=env).code == 0 and not opened.exists()
    assert gitpar(repo, "report", "--html", str(page), "--open", env=env).code == 0
    assert opened.read_text() == page.resolve().as_uri()
