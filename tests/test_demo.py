"""gitpar demo: the whole flow runs end to end with the installed tool, each step's exit as expected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_end_to_end_and_shows_the_rewrite(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gitpar", "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.rstrip().endswith("demo: done")
    # the forecast step: ui rewrote the line api changed, built on api's version by the lock chain
    step = proc.stdout.split("[shop]$ gitpar conflicts\n", 1)[1].split("\n## ", 1)[0]
    assert "Rewrites" in step and "src/config.py (ui replaced line 5 of api's version" in step, step
    confirmed = proc.stdout.split("Gitpar-Replaces: api src/config.py'\n[shop]$ gitpar conflicts\n", 1)[1]
    assert "Overlaps without conflict" in confirmed.split("\n## ", 1)[0], confirmed[:2000]
