"""Fixtures from gitpar.testing; the package importable from a checkout without installing it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitpar.testing import gitpar_repo, hermetic_git  # noqa: E402, F401
