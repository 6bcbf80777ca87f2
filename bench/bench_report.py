"""`gitpar report --html` on 500 streams, 250 started, 200 progress commits, beside `gitpar status`.

Builds the repository as bench_status.py does, adds progress updates (each one a commit
on the state branch, which the report's timeline walks), then times whole processes of
`gitpar report --html` and its anchor `gitpar status --json` in the same run.

    python bench/bench_report.py [--streams 500] [--started 250] [--updates 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_status import build, timed  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--started", type=int, default=250)
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for key, value in (("GIT_AUTHOR_NAME", "bench"), ("GIT_AUTHOR_EMAIL", "b@example.com"),
                       ("GIT_COMMITTER_NAME", "bench"), ("GIT_COMMITTER_EMAIL", "b@example.com")):
        os.environ.setdefault(key, value)
    from gitpar.core import streams
    from gitpar.core.progress import ProgressUpdate
    from gitpar.core.repo import open_repo

    with tempfile.TemporaryDirectory() as tmp:
        repo_dir = build(Path(tmp), args.streams, args.started)
        repo = open_repo(repo_dir)
        for k in range(args.updates):
            streams.report(repo, f"s{k % args.started}", ProgressUpdate(completion=(k * 3) % 100))
        page = Path(tmp) / "report.html"
        report_s, _ = timed([sys.executable, "-m", "gitpar", "report", "--html", str(page)], repo_dir,
                            args.runs)
        status_s, _ = timed([sys.executable, "-m", "gitpar", "status", "--json"], repo_dir, args.runs)
        size = page.stat().st_size
    print(f"gitpar report --html: {report_s:.2f} s ({size / 1e6:.1f} MB page); "
          f"gitpar status --json: {status_s:.2f} s ({report_s / status_s:.1f}x)")
    print(json.dumps({"bench": "report", "streams": args.streams, "started": args.started,
                      "updates": args.updates, "report_s": round(report_s, 3),
                      "status_s": round(status_s, 3), "page_bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
