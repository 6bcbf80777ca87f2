"""The life of a stream: define, start, report progress, finish, remove.

The work is in one module per job: ``stream_plan`` (init, stream add and rm),
``stream_progress`` (read and report progress; whose write it is), ``stream_start`` (start,
the worktree, the brief) and ``stream_finish`` (finish, remove, the branch's violations).
This module is their public face, for the command line and the callers that name
``streams.X``; modules of the core import from the one that does the job, so that no import
circle runs through here.
"""

from gitpar.core.stream_finish import (
    FinishChecked,
    Removal,
    describe_violations,
    finish,
    finish_checks,
    push_finished,
    record_finish,
    record_finishes,
    remove,
    violations_on_branch,
)
from gitpar.core.stream_plan import check_overlaps, init, plan_files, stream_add, stream_rm
from gitpar.core.stream_progress import (
    all_progress,
    read_progress,
    report,
    statuses,
    stream_of,
    writer_of,
)
from gitpar.core.stream_start import (
    Started,
    brief,
    claimed_elsewhere,
    copy_files,
    open_dependencies,
    run_setup,
    start,
    worktree_path,
)

__all__ = ["FinishChecked", "Removal", "finish_checks", "record_finish", "record_finishes", "Started", "all_progress", "brief", "check_overlaps",
           "claimed_elsewhere", "copy_files", "describe_violations", "finish", "init",
           "open_dependencies", "plan_files", "push_finished", "read_progress", "remove", "report",
           "run_setup", "start", "statuses", "stream_add", "stream_of", "stream_rm", "violations_on_branch",
           "worktree_path", "writer_of"]
