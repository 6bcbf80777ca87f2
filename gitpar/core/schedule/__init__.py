"""Static scheduling of a task DAG onto identical workers.

Pure functions, standard library only.  Given tasks with durations and
dependencies, compute waves, bottom/top levels, the critical path, a lower
bound on the makespan and good schedules for ``workers`` identical workers
(no communication cost, no preemption).

The main entry point is :func:`schedule`: a portfolio of list-scheduling
rules (forward and backward, non-delay and serial/insertion), then
forward-backward justification, then seeded randomised list scheduling
interleaved with restarted exact depth-first searches (pruned by tail,
idle-time and dominance bounds), stopping as soon as the makespan equals a
proven lower bound or the effort budget is spent.  On the Standard Task
Graph set (Kasahara lab, 50 tasks, 2-16 workers) it finds the known optimum
in all cases, in a few milliseconds on average.

The package, by job: ``graph`` (the model and the index-based graph), ``lists`` (list
scheduling and the graph's levels; :func:`list_schedule` is what ``gitpar run`` follows),
``bounds`` (lower bounds, among them the packing bound that proves a small plan's schedule
optimal at once; it imports only ``graph``), ``exact`` (the optimised :func:`schedule`),
``resources`` (the search for graphs whose tasks need exclusive resources; it imports
``bounds``, never the other way round). The baselines it is
measured against (ready order, as ``make -j``; waves with barriers) are in
``bench/bench_schedule.py``.
"""

from __future__ import annotations

from gitpar.core.schedule.bounds import lower_bound
from gitpar.core.schedule.exact import makespan, schedule
from gitpar.core.schedule.graph import Graph, Schedule, Slot, Task
from gitpar.core.schedule.lists import (
           bottom_levels,
           critical_path,
           list_schedule,
           top_levels,
           waves,
)

__all__ = ["Graph", "Schedule", "Slot", "Task", "bottom_levels", "critical_path", "list_schedule",
           "lower_bound", "makespan", "schedule", "top_levels", "waves"]
