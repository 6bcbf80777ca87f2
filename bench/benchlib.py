"""What the whole-process benchmarks share: the gitpar command to time and its environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def gitpar_command() -> list[str]:
    """The installed ``gitpar`` script beside this interpreter, else ``python -m gitpar``."""
    exe = Path(sys.executable).with_name("gitpar")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gitpar"]


def bench_env() -> dict[str, str]:
    """This environment with a fixed git identity and no colour."""
    return dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
                GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com", NO_COLOR="1")
