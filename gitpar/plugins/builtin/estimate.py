"""Built-in estimate: learned from past runs, else the stream's ``estimate`` field."""

from __future__ import annotations

from collections.abc import Sequence

from gitpar.model.history import Estimate, RunRecord, learned_duration
from gitpar.model.plan import Stream
from gitpar.plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def gitpar_estimate(stream: Stream, history: Sequence[RunRecord], command: str | None) -> Estimate | None:
    learned = learned_duration(history, command)
    if learned is not None:
        return Estimate(learned, "history")
    if stream.estimate is not None:
        return Estimate(float(stream.estimate), "estimate")
    return None
