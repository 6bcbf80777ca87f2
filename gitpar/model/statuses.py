"""A stream's status, as its progress file says, and the sets of statuses the rules ask about."""

STATUSES = ("pending", "in_progress", "blocked", "completed", "failed")
ACTIVE = ("in_progress", "blocked")  # at work: the main worktree leaves its owned files alone
CLAIMED = ("in_progress", "blocked", "failed", "completed")  # its gitpar/<name> branch is its own
