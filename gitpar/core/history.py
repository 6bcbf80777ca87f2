"""Run records (``history/<stream>.md`` on the state branch) and the estimates learned from them.

``gitpar run`` appends one record per finished command: when it started, how long it
took, its exit code and the command as typed (placeholders unsubstituted, so runs of the
same command in different streams compare). Estimates come from the recent successful
runs of the same command; a stream with none falls back to its ``estimate`` field, then
to the median of the streams whose duration is known, then to one hour.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping, Sequence

from gitpar.core import markdown
from gitpar.core.plan import Plan
from gitpar.core.repo import Repo

# the value types live in gitpar.model; re-exported here while other modules still import them from here
from gitpar.model.history import LEARN_FROM as LEARN_FROM
from gitpar.model.history import Estimate as Estimate
from gitpar.model.history import RunRecord as RunRecord
from gitpar.model.history import learned_duration as learned_duration
from gitpar.plugins import manager as plugins
from gitpar.store.state import Snapshot, StateStore

HISTORY_DIR = "history"
KEEP_RUNS = 20  # per stream; older records are dropped when a new one is written
DEFAULT_ESTIMATE_S = 3600.0


def history_path(name: str) -> str:
    return f"{HISTORY_DIR}/{name}.md"


# One run as render_history writes it; anything else (a hand edit) goes through YAML.
# ``started`` only in the one spelling YAML reads back as itself (UTC, whole seconds)
_RUN_LINE = re.compile(r'  - \{started: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), duration_s: (-?[0-9.eE+\-]+), exit: (-?\d+), '
                       r'outcome: ([a-z_]+)(, finish: true)?, command: (".*")\}')


def _fast_parse(text: str) -> list[RunRecord] | None:
    """The records of a file exactly as gitpar writes it, without a YAML parser (a plan of
    500 streams reads 500 history files per run); None when the file looks different."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != "---" or not lines[1].startswith("stream: ") or lines[2] != "runs:":
        return None
    out: list[RunRecord] = []
    for line in lines[3:]:
        if line == "---":
            return out
        m = _RUN_LINE.fullmatch(line)
        if m is None:
            return None
        try:
            command = json.loads(m.group(6))
        except ValueError:
            return None
        out.append(RunRecord(started=m.group(1), duration_s=float(m.group(2)), exit=int(m.group(3)),
                             command=command, outcome=m.group(4), finish=bool(m.group(5))))
    return None


def parse_history(name: str, text: str) -> list[RunRecord]:
    """The records in a history file; entries gitpar cannot read are skipped, not fatal."""
    fast = _fast_parse(text)
    if fast is not None:
        return fast
    meta, _body = markdown.parse(text, f"gitpar/_state:{history_path(name)}")
    runs = meta.get("runs")
    out: list[RunRecord] = []
    if not isinstance(runs, list):
        return out
    for item in runs:
        if not isinstance(item, dict):
            continue
        try:
            out.append(RunRecord(
                started=str(item["started"]),
                duration_s=float(item["duration_s"]),
                exit=int(item["exit"]),
                command=str(item.get("command", "")),
                outcome=str(item.get("outcome", "ok" if int(item["exit"]) == 0 else "failed")),
                finish=bool(item.get("finish", False)),
            ))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def render_history(name: str, runs: Sequence[RunRecord]) -> str:
    """The text of ``history/<name>.md``: one flow mapping per run, oldest first."""
    lines = ["---", f"stream: {markdown.scalar(name)}", "runs:"]
    for run in runs:
        fields = [
            f"started: {markdown.scalar(run.started)}",
            f"duration_s: {json.dumps(round(run.duration_s, 3))}",
            f"exit: {run.exit}",
            f"outcome: {markdown.scalar(run.outcome)}",
        ]
        if run.finish:
            fields.append("finish: true")
        fields.append(f"command: {json.dumps(run.command, ensure_ascii=False)}")
        lines.append("  - {" + ", ".join(fields) + "}")
    lines.append("---")
    return ("\n".join(lines) + "\nRuns of `gitpar run` in this stream, oldest first; gitpar "
            "learns estimates from them.\n")


def read_history(snap: Snapshot) -> dict[str, list[RunRecord]]:
    """Every stream's run records on the state branch at ``snap``."""
    out: dict[str, list[RunRecord]] = {}
    for path, text in snap.list(HISTORY_DIR).items():
        name = path[len(HISTORY_DIR) + 1:-3]
        if path.endswith(".md") and "/" not in name:
            out[name] = parse_history(name, text)
    return out


def record_runs(repo: Repo, records: Mapping[str, Sequence[RunRecord]], message: str) -> None:
    """Append ``records`` (by stream) to their history files in one CAS commit."""
    records = {name: list(runs) for name, runs in records.items() if runs}
    if not records:
        return

    def change(snap: Snapshot) -> tuple[dict[str, str | None], str]:
        files: dict[str, str | None] = {}
        for name, new in records.items():
            text = snap.read(history_path(name))
            old = parse_history(name, text) if text is not None else []
            files[history_path(name)] = render_history(name, (old + list(new))[-KEEP_RUNS:])
        return files, message

    StateStore(repo).update(change)


def estimates(plan: Plan, history: Mapping[str, Sequence[RunRecord]],
              command: str | None = None) -> dict[str, Estimate]:
    """Every stream's estimate: learned from history, else its ``estimate`` field, else the
    median of the known ones (one hour when none is known)."""
    # gitpar's own answer (history, then the estimate field) is the built-in plugin's
    known = {name: found for name, found in plugins.estimates(plan, history, command).items()
             if found is not None}
    if known:
        fallback = Estimate(float(statistics.median(e.seconds for e in known.values())), "median")
    else:
        fallback = Estimate(DEFAULT_ESTIMATE_S, "default")
    return {name: known.get(name, fallback) for name in plan.streams}
