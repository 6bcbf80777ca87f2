"""``gitpar plan``: the analysis of the plan, as a table or JSON — the command's body,
without the command line's parser: the full command (``cli/cmd_plan.py``) and the one
answered before typer loads (:mod:`gitpar.cli.quick`) both call :func:`run`."""

from __future__ import annotations

from gitpar.cli import output as o
from gitpar.cli.session import _repo, say_state_age

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.core.analysis import Analysis


def workers_of(value: str) -> int:
    from gitpar.errors import bad

    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1 or str(workers) != value.strip():
        raise bad(None, "--workers", f"{value!r} is not a number of workers",
                  "give a whole number of at least 1, e.g. --workers 4")
    return workers


def run(workers: str | None, json_: bool) -> None:
    """Validate the plan; waves, critical path, schedule for N workers, ETA and bottleneck."""
    import os

    from gitpar.core.analysis import analyse_repo
    from gitpar.core.streams import check_overlaps

    count = workers_of(workers) if workers is not None else (os.cpu_count() or 1)
    repo = _repo()
    say_state_age(repo)
    plan = repo.load_plan()
    check_overlaps(repo, plan)  # hand-written owns may overlap: 'stream add' refuses that
    a = analyse_repo(repo, workers=count, plan=plan)
    queue = queue_section(repo, plan) if any(s.status == "completed" for s in a.streams.values()) else None
    if json_:
        o.emit_json({**a.to_dict(), **({"queue": queue} if queue else {})})
        return
    print_plan(a)
    if queue:
        from gitpar.core.integrate.view import describe

        for line in describe(queue):
            o.out(line)


def queue_section(repo, plan):  # type: ignore[no-untyped-def]
    """The merge queue as ``gitpar status`` shows it (core.integrate.view), or None when
    nothing waits to land and nothing was ejected (asked only when a stream is completed:
    the queue holds nothing else)."""
    from gitpar.core.integrate.view import queue_view
    from gitpar.core.streams import all_progress
    from gitpar.store.state import StateStore

    snap = StateStore(repo).snapshot()
    if snap.commit is None:
        return None
    return queue_view(repo, plan, all_progress(snap))


def print_plan(a: Analysis) -> None:
    from gitpar.core.durations import format_duration

    def fd(seconds: float) -> str:
        # a stream in progress leaves odd seconds; people read plans to the minute
        return format_duration(round(seconds / 60) * 60 if seconds >= 600 else seconds)

    counts: dict[str, int] = {}
    for s in a.streams.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    o.out(f"plan: {len(a.streams)} streams valid"
          + "".join(f", {n} {st.replace('_', ' ')}" for st, n in sorted(counts.items())))
    if not a.streams:
        return
    o.out("waves (each can run in parallel once the earlier ones are done):")
    for k, wave in enumerate(a.waves, 1):
        o.out(f"  {k}. {', '.join(wave)}")
    if not a.remaining:
        o.out("every stream is completed")
        return
    o.out(f"critical path: {' -> '.join(a.critical_path)} ({fd(a.critical_path_s)})")
    o.out(f"schedule on {a.workers} worker{'s' if a.workers > 1 else ''}: {fd(a.makespan_s)}"
          f" (no schedule can be shorter than {fd(a.lower_bound_s)})")
    rows = []
    for s in sorted(a.streams.values(), key=lambda s: (s.start_s is None, s.start_s or 0, s.name)):
        if s.start_s is None:
            continue
        rows.append([s.name + (" *" if s.critical else ""), s.status.replace("_", " "),
                     f"{fd(s.estimate.seconds)} ({s.estimate.source})", fd(s.remaining_s),
                     fd(s.start_s), fd(s.finish_s or 0), (s.worker or 0) + 1])
    o.table(["stream", "status", "estimate", "remaining", "start", "finish", "worker"], rows)
    e = a.eta
    basis = (f"calibrated on {e.samples} stream{'s' if e.samples != 1 else ''}: they take "
             f"x{e.p50_factor:.2f} (P50) to x{e.p90_factor:.2f} (P90) their estimates"
             if e.calibrated else "not calibrated yet: no stream has finished or reported "
             "10% with an estimate; assuming x1.0 (P50) and x1.5 (P90)")
    o.out(f"ETA: P50 in {fd(e.p50_s)} ({e.p50_at}), P90 in {fd(e.p90_s)} ({e.p90_at})")
    o.out(f"     {basis}")
    b = a.bottleneck
    if b.best:
        o.out(f"bottleneck: {', '.join(b.streams)}; {b.best} taking half as long would "
              f"finish {fd(b.saves_s)} earlier")
    else:
        o.out(f"bottleneck: {', '.join(b.streams)}; no single stream taking half as long "
              f"would finish earlier with {a.workers} workers (more workers would)")
