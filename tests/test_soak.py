"""Soak, 10-second version: 16 processes mixing locks, progress and status (bench/bench_soak.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_soak  # noqa: E402


@pytest.mark.slow
def test_soak_16_processes_10_seconds(tmp_path: Path) -> None:
    f = bench_soak.soak(16, 10.0, work=tmp_path)
    assert f["double_grants"] == 0, f["double_grant_examples"]
    assert f["lost_items"] == 0, f["lost_examples"]
    assert f["locks_left"] == []
    # the soak really contended and really reported
    assert f["grants"] == f["marker_grants"] and f["grants"] > 10, f  # type: ignore[operator]
    assert f["items"] > 10 and f["status"] > 5, f  # type: ignore[operator]
