"""Merge completed streams into a target branch, in dependency order, with a test gate.

Every merge is made in memory first (the forecast): a conflict stops the run before
anything moves, naming the stream, the files and the already-merged stream that wrote
the other side. A clean merge is written as a merge commit without any checkout; with a
test command, the command runs in a temporary detached worktree of that commit, removed
afterwards. Only then does the target move, by compare-and-swap from the commit the
merge was made on; a worktree that has the target checked out (``--into main``) must be
clean and gets its files updated with it. So the target is always at its last good
merge, and no worktree is ever left half-merged. The run is remembered (in
``.git/gitpar/integrate.json``) until it completes, for ``--continue``.

The package, by job: ``select`` (the target, the test command, the streams in dependency
order, the remembered run), ``run`` (:func:`integrate`: the refusals, the loop, an
interrupt, ``--cleanup``), ``stream`` (one stream's forecast, merge, test and publication),
``gate`` (the test command in a temporary worktree) and ``result`` (``Step`` and
``Integration``, what the run reports). Their public names are importable from here.
"""

from gitpar.core.integrate.gate import fill_test_command, foreign_code, log_tail, run_test
from gitpar.core.integrate.result import Integration, Progress, Step
from gitpar.core.integrate.run import integrate
from gitpar.core.integrate.select import (
    DEFAULT_TARGET,
    RUN_FILE,
    check_target,
    check_test_command,
    dependency_order,
    saved_run,
)

__all__ = ["DEFAULT_TARGET", "RUN_FILE", "Integration", "Progress", "Step", "check_target",
           "check_test_command", "dependency_order", "fill_test_command", "foreign_code", "integrate",
           "log_tail", "run_test", "saved_run"]
