"""Plan analysis: waves, critical path, schedule, ETA, bottleneck; gitpar plan and graph."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import git, write

from gitpar.core.analysis import analyse, eta_factors, render_dot, render_mermaid
from gitpar.core.history import (
    RunRecord,
    estimates,
    learned_duration,
    parse_history,
    render_history,
)
from gitpar.core.plan import load_plan
from gitpar.core.progress import Progress

FIVE = {"a": ("1h", []), "b": ("30m", []), "c": ("2h", ["a", "b"]), "d": ("1h", ["c"]), "e": ("3h", [])}


def plan_files(streams: dict[str, tuple[str | None, list[str]]]) -> dict[str, str]:
    files = {".gitpar/plan.md": "---\nbase: main\n---\n"}
    for name, (estimate, deps) in streams.items():
        est = f"estimate: {estimate}\n" if estimate else ""
        files[f".gitpar/streams/{name}.md"] = (f'---\nowns: ["{name}/**"]\ndepends_on: {json.dumps(deps)}\n'
                                               f"{est}---\nBrief of {name}.\n")
    return files


@pytest.fixture
def bare_plan(tmp_path: Path) -> Path:
    """A repository with the five-stream plan committed by hand: no init, no state branch."""
    r = tmp_path / "r"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    for path, text in plan_files(FIVE).items():
        write(r / path, text)
    git(r, "add", "-A")
    git(r, "commit", "-qm", "plan")
    return r


NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)


def iso(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- gitpar plan ------------------------------------------------------------------------------


def test_plan_json_on_a_repository_without_state(bare_plan: Path, run) -> None:
    res = run(bare_plan, "plan", "--workers", "2", "--json")
    assert res.code == 0, res
    d = json.loads(res.out)
    assert d["waves"] == [["a", "b", "e"], ["c"], ["d"]]
    assert d["critical_path"] == ["a", "c", "d"]
    assert d["critical_path_s"] == 14400
    assert d["makespan_s"] == 14400
    assert d["state_branch"] is False
    streams = {s["name"]: s for s in d["streams"]}
    assert set(streams) == set(FIVE)
    for s in streams.values():  # a feasible schedule: every stream after its dependencies
        assert s["finish_s"] - s["start_s"] == s["estimate_s"]
        for dep in s["depends_on"]:
            assert s["start_s"] >= streams[dep]["finish_s"]
    assert max(s["finish_s"] for s in streams.values()) == 14400
    assert d["eta"]["p50_s"] == 14400 and d["eta"]["p90_s"] >= d["eta"]["p50_s"]
    assert d["eta"]["calibrated"] is False
    assert d["bottleneck"]["streams"] == ["a", "c", "d"] and d["bottleneck"]["best"] == "c"
    one = run(bare_plan, "plan", "--workers", "1", "--json")
    assert re.search(r'"makespan_s": 27000\b', one.out), one.out


def test_plan_text_names_the_critical_path_eta_and_bottleneck(bare_plan: Path, run) -> None:
    res = run(bare_plan, "plan", "-w", "2")
    assert res.code == 0, res
    assert "critical path: a -> c -> d (4h)" in res.out
    assert "schedule on 2 workers: 4h" in res.out
    assert "ETA: P50 in 4h" in res.out and "P90 in 6h" in res.out
    assert "bottleneck: a, c, d; c taking half as long would finish 30m earlier" in res.out


@pytest.mark.parametrize("change, words", [
    ({"a": ("1h", ["d"])}, ["a -> d -> c -> a", "cycle"]),
    ({"b": ("30m", ["zz"])}, ["unknown stream 'zz'", "depends_on"]),
    ({"e": ("2 weeks-ish", [])}, ["e.md", "estimate", "2 weeks-ish"]),
])
def test_plan_refuses_bad_plans(bare_plan: Path, run, change: dict, words: list[str]) -> None:
    for path, text in plan_files({**FIVE, **change}).items():
        write(bare_plan / path, text)
    for args in (("plan",), ("plan", "--json"), ("graph",)):
        res = run(bare_plan, *args)
        assert res.code == 2, res
        assert res.out == ""
        for word in words:
            assert word in res.err
        assert "Traceback" not in res.err


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5"])
def test_plan_refuses_bad_worker_counts(bare_plan: Path, run, value: str) -> None:
    res = run(bare_plan, "plan", "--workers", value)
    assert res.code == 2, res
    assert "--workers" in res.err


def test_plan_uses_the_state_branch_when_there_is_one(planned: Path, run) -> None:
    # api (1h) is completed; ui (no estimate: the median of known, 1h) remains
    assert run(planned, "start", "api").code == 0
    assert run(planned, "finish", "api", "--force").code == 0
    d = json.loads(run(planned, "plan", "--workers", "1", "--json").out)
    assert d["state_branch"] is True
    streams = {s["name"]: s for s in d["streams"]}
    assert streams["api"]["status"] == "completed" and streams["api"]["start_s"] is None
    assert streams["ui"]["estimate_source"] == "median"
    assert d["critical_path"] == ["ui"] and d["makespan_s"] == 3600


# -- gitpar graph -----------------------------------------------------------------------------


def test_graph_mermaid_and_dot(bare_plan: Path, run) -> None:
    res = run(bare_plan, "graph", "--format", "mermaid")
    assert res.code == 0, res
    lines = res.out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    s0["a<br/>pending, 1h"]' in lines
    assert "    class s0,s2,s3 critical" in lines  # a, c, d
    assert any(line.startswith("    linkStyle ") for line in lines)
    dot = run(bare_plan, "graph", "--format", "dot")
    assert dot.code == 0, dot
    assert dot.out.startswith("digraph gitpar {")
    assert '"a" -> "c" [color="#d32f2f", penwidth=3];' in dot.out
    assert '"b" -> "c";' in dot.out
    bad = run(bare_plan, "graph", "--format", "png")
    assert bad.code == 2 and "mermaid" in bad.err


def test_graph_ids_and_labels_are_safe_for_any_stream_name() -> None:
    # mermaid keywords and punctuation as names: ids stay s0.., labels are quoted
    names = {"end": ("1h", []), "graph": ("1h", ["end"]), "a.b-c_d": ("1h", ["graph"]),
             "subgraph": ("1h", [])}
    a = analyse(load_plan(plan_files(names)), workers=2, now=NOW)
    text = render_mermaid(a)
    for line in text.splitlines()[1:]:
        assert re.match(r"    (s\d+\[\".*\"\]|s\d+ --> s\d+|classDef |class |linkStyle )", line), line
    assert '"a.b-c_d<br/>pending, 1h"' in text
    dot = render_dot(a)
    assert '"end" -> "graph"' in dot and '"a.b-c_d"' in dot


def test_graph_colours_by_status(planned: Path, run) -> None:
    assert run(planned, "start", "api").code == 0
    res = run(planned, "graph")
    assert "class s0 in_progress" in res.out and "class s1 pending" in res.out


# -- the model --------------------------------------------------------------------------------


def test_remaining_work_of_streams_in_progress_and_completed() -> None:
    plan = load_plan(plan_files(FIVE))
    progress = {
        "a": Progress("a", status="completed", completion=100, started=iso(3), updated=iso(2)),
        "b": Progress("b", status="completed", completion=100, started=iso(3), updated=iso(2.5)),
        "e": Progress("e", status="in_progress", completion=50, started=iso(1)),
    }
    a = analyse(plan, workers=2, progress=progress, now=NOW)
    assert a.streams["e"].remaining_s == 5400  # half of 3h left
    assert a.streams["a"].start_s is None and a.streams["a"].remaining_s == 0
    assert a.critical_path == ["c", "d"] and a.critical_path_s == 3 * 3600
    assert a.makespan_s == 3 * 3600
    # a took 1h of 1h, b 30m of 30m, e is at 50% after 1h of a 3h estimate (pace 0.67)
    assert a.eta.calibrated and a.eta.samples == 3
    assert a.eta.p50_factor == pytest.approx(1.0)
    assert a.eta.p50_s == pytest.approx(3 * 3600)
    assert a.eta.p90_s >= a.eta.p50_s * 1.5 - 1e-6  # few samples keep the prior's spread
    assert a.waves == [["a", "b", "e"], ["c"], ["d"]]  # the structure of the whole plan


def test_eta_calibrates_on_how_late_streams_were() -> None:
    plan = load_plan(plan_files({**FIVE, **{f"x{i}": ("1h", []) for i in range(6)}}))
    # six finished 1h streams took 1.5h to 2.5h
    took = [1.5, 1.5, 2.0, 2.0, 2.0, 2.5]
    progress = {f"x{i}": Progress(f"x{i}", status="completed", completion=100,
                                  started=iso(10), updated=iso(10 - t)) for i, t in enumerate(took)}
    a = analyse(plan, workers=2, progress=progress, now=NOW)
    assert a.eta.samples == 6 and a.eta.p50_factor == pytest.approx(2.0)
    assert a.eta.p90_factor == pytest.approx(2.25)
    assert a.eta.p50_s == pytest.approx(2 * a.makespan_s)
    assert a.eta.p90_s == pytest.approx(2.25 * a.makespan_s)


def test_eta_factors_without_data_and_with_little() -> None:
    assert eta_factors([]) == (1.0, 1.5, False)
    p50, p90, calibrated = eta_factors([2.0])
    assert (p50, p90, calibrated) == (2.0, 3.0, True)


def test_estimates_from_history_then_field_then_median() -> None:
    plan = load_plan(plan_files({"a": ("1h", []), "b": (None, []), "c": ("3h", []), "d": ("2h", [])}))
    runs = [RunRecord("2026-01-01T00:00:00Z", s, 0, "make", finish=True) for s in (600, 620, 9000)]
    est = estimates(plan, {"a": runs})
    assert est["a"].source == "history" and est["a"].seconds == 620  # the outlier does not count
    assert est["c"].seconds == 3 * 3600 and est["c"].source == "estimate"
    assert est["b"].source == "median" and est["b"].seconds == 2 * 3600  # of 620s, 2h, 3h
    none = load_plan(plan_files({"x": (None, [])}))
    assert estimates(none, {})["x"].seconds == 3600 and estimates(none, {})["x"].source == "default"


def test_learned_duration_is_robust_to_one_outlier() -> None:
    def runs(*durations: float, command: str = "t", exit: int = 0) -> list[RunRecord]:
        return [RunRecord("2026-01-01T00:00:00Z", d, exit, command) for d in durations]

    assert learned_duration(runs(10, 11, 500), "t") == 11
    assert learned_duration(runs(10, 500), "t") == 10
    assert learned_duration(runs(1, 10, 11, 12), "t") == 10
    assert learned_duration(runs(10, 11) + runs(1, exit=1), "t") == 10  # failures do not count
    assert learned_duration(runs(10, command="other"), "t") is None
    assert learned_duration(runs(10), None) is None  # only --finish runs measure a stream's work


def test_history_file_round_trip() -> None:
    records = [RunRecord("2026-11-22T12:00:00Z", 1.25, 0, "sh -c 'echo {stream} \"x\"'"),
               RunRecord("2026-11-22T12:01:00Z", 3.0, -9, "make", outcome="timeout", finish=False),
               RunRecord("2026-11-22T12:02:00Z", 60.0, 0, "agent", finish=True)]
    text = render_history("api", records)
    assert text.startswith("---\nstream: api\nruns:\n  - {started: 2026-11-22T12:00:00Z")
    assert parse_history("api", text) == records


def test_hand_edited_history_still_reads() -> None:
    text = ("---\nstream: api\nruns:\n- started: 2026-11-22T12:00:00Z\n  duration_s: 2\n  exit: 0\n"
            "  command: make\n- {started: x}\n---\n")
    assert parse_history("api", text) == [RunRecord("2026-11-22T12:00:00Z", 2.0, 0, "make")]
