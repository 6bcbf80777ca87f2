"""Run every bench's ``--smoke`` mode: tiny sizes, one round, never a timing.

Each bench under bench/ runs as its own process with ``--smoke``; it passes when it exits
0 (it ran, and gitpar and its anchor did the same work: same owners, same conflicting
pairs, same streams run) and its last JSON line parses and names the bench. A bench that
has no ``--smoke`` mode fails the run. Quiet when all pass unless ``--verbose``; a failing
bench's output is printed.

    python bench/smoke.py [--verbose] [--only NAME ...] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def last_json(out: str) -> dict[str, object] | None:
    for line in reversed(out.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def run_one(path: Path, timeout: float) -> tuple[bool, str, float]:
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        proc = subprocess.run([sys.executable, str(path), "--smoke"], cwd=HERE.parent, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return False, f"{out}\n(timed out after {timeout:.0f}s)", time.perf_counter() - t0
    elapsed = time.perf_counter() - t0
    out = proc.stdout + ("\n" + proc.stderr if proc.stderr.strip() else "")
    if proc.returncode != 0:
        return False, f"{out}\n(exit {proc.returncode})", elapsed
    record = last_json(proc.stdout)
    if record is None:
        return False, f"{out}\n(no JSON line that parses)", elapsed
    if record.get("same_work") is False:
        return False, f"{out}\n(the JSON line says gitpar and its anchor did different work)", elapsed
    return True, out, elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", action="store_true", help="print every bench's output")
    ap.add_argument("--only", nargs="+", default=[], help="these benches only (bench_x or x)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per bench")
    args = ap.parse_args(argv)
    only = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
    failed: list[str] = []
    lines: list[str] = []
    t0 = time.perf_counter()
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if only and name not in only:
            continue
        source = path.read_text()
        if "add_smoke(" not in source and "--smoke" not in source:
            failed.append(name)
            lines.append(f"  FAIL  {name}: has no --smoke mode (every bench needs one)")
            continue
        ok, out, elapsed = run_one(path, args.timeout)
        lines.append(f"  {'ok  ' if ok else 'FAIL'}  {name} ({elapsed:.1f}s)")
        if not ok:
            failed.append(name)
        if not ok or args.verbose:
            print(f"--- {name} --smoke\n{out.rstrip()}\n")
    total = time.perf_counter() - t0
    if failed or args.verbose:
        print("\n".join(lines))
    print(f"bench smoke: {len(failed)} failed ({', '.join(failed) or 'none'}) in {total:.0f}s",
          file=sys.stderr if not failed else sys.stdout)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
