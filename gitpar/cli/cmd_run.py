"""Commands: gitpar run."""

from __future__ import annotations

from gitpar.cli.main import app  # noqa: F401  (commands register on it)
