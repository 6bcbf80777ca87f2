"""What plugins cost: loading them, calling a hook, and nothing at all for `gitpar --help`.

1. Loading: in a fresh process that has done what a command does before it asks a hook
   (imported the CLI, read the plan), the time of the first ``manager.load()`` — gitpar's built-in
   plugins only, then with the three packages of plugins/ installed (pip --target).
   Goal: at most 30 ms.
2. ``gitpar --help`` and a built-in command (``gitpar stream list``): whole-process time
   with and without the plugins installed, and whether pluggy or the manager was imported
   at all. Goal: no difference, nothing imported.
3. A hook call once loaded: ``manager.estimate`` (a firstresult hook answered by the
   built-in), per call.

    python bench/bench_plugins.py [--runs 15] [--no-packages]

Bytecode is written and warmed first (the repository's environment may set
PYTHONDONTWRITEBYTECODE; an installed gitpar has its .pyc files).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import SameWork, add_smoke, emit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gitpar-python", "gitpar-codeowners", "gitpar-agents")

LOAD = """
import json, sys, time
import gitpar.cli.main, gitpar.core.streams
from gitpar.core.repo import open_repo
open_repo().load_plan()  # what a command that asks hooks has done first
from gitpar.plugins import manager
t = time.perf_counter()
state = manager.load()
took = time.perf_counter() - t
print(json.dumps({"ms": took * 1000, "plugins": sorted(state.infos)}))
"""

IMPORTS = """
import sys
from gitpar.cli.main import main
from gitpar.cli.cmd_plugins import add_plugin_commands
args = sys.argv[1:]
add_plugin_commands(args)
try:
    main(args)
except SystemExit:
    pass
print("LOADED" if {"pluggy", "gitpar.plugins.manager"} & set(sys.modules) else "CLEAN", file=sys.stderr)
"""

CALLS = """
import json, time
from gitpar.core.plan import Plan, Settings, Stream
from gitpar.plugins import manager
plan = Plan(settings=Settings(), streams={f"s{i}": Stream(name=f"s{i}", estimate=60.0) for i in range(1000)})
manager.load()
t = time.perf_counter()
for s in plan.streams.values():
    manager.estimate(s, plan, [])
per_call = (time.perf_counter() - t) / len(plan.streams)
print(json.dumps({"us": per_call * 1e6}))
"""


def median_ms(cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
        times.append(time.perf_counter() - t)
        if proc.returncode not in (0, 2):
            raise SystemExit(f"{cmd} failed: {proc.stderr.decode()[-400:]}")
    return statistics.median(times) * 1000


def python(code: str, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)


def load_ms(cwd: Path, env: dict[str, str], runs: int) -> tuple[float, list[str]]:
    values, names = [], []
    for _ in range(runs):
        proc = python(LOAD, cwd, env)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-800:])
        data = json.loads(proc.stdout)
        values.append(data["ms"])
        names = data["plugins"]
    return statistics.median(values), names


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-packages", action="store_true", help="Do not install plugins/ packages.")
    add_smoke(ap)
    args = ap.parse_args()
    if args.smoke:
        args.runs = 1
    work = SameWork()
    out: dict[str, object] = {"bench": "plugins", "runs": 0}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GITPAR_DISABLED_PLUGINS")}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="b@example.com", NO_COLOR="1")
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-plugins-"))
    try:
        repo = tmp / "r"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "a.py").write_text("a = 1\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True, env=env)
        subprocess.run([sys.executable, "-m", "gitpar", "init", "--no-hooks"], cwd=repo, check=True, env=env,
                       capture_output=True)
        envs = {"built-in plugins only": env}
        if not args.no_packages:
            site = tmp / "site"
            sources = []
            for name in PACKAGES:
                shutil.copytree(ROOT / "plugins" / name, tmp / "src" / name,
                                ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
                sources.append(str(tmp / "src" / name))
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                            *sources], check=True, capture_output=True)
            envs["with the 3 plugin packages"] = dict(env, PYTHONPATH=str(site))
        for e in envs.values():  # write and warm the bytecode
            python(LOAD, repo, e)
            python(IMPORTS, repo, e, "--help")
        print(f"{args.runs} runs each, medians; Python {sys.version.split()[0]}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print("\n1. manager.load() after the CLI is imported and the plan read (goal <= 30 ms)")
        loaded: dict[str, int] = {}
        for label, e in envs.items():
            ms, names = load_ms(repo, e, args.runs)
            loaded[label] = len(names)
            out[f"load_ms {label}"] = round(ms, 1)
            print(f"   {label:28} {ms:6.1f} ms   ({len(names)} plugins)")
        if len(loaded) == 2:
            work.expect("the plugin packages loaded beside the built-ins",
                        loaded["with the 3 plugin packages"] >= loaded["built-in plugins only"] + len(PACKAGES),
                        loaded)
        print("\n2. whole process, and was pluggy or the manager imported?")
        floor = median_ms([sys.executable, "-c", "pass"], repo, env, args.runs)
        print(f"   {'python -c pass':45} {floor:6.1f} ms")
        for label, e in envs.items():
            for cmd in (["--help"], ["stream", "list"]):
                ms = median_ms([sys.executable, "-c", IMPORTS, *cmd], repo, e, args.runs)
                seen = python(IMPORTS, repo, e, *cmd).stderr.strip().splitlines()[-1]
                print(f"   gitpar {' '.join(cmd):14} {label:28} {ms:6.1f} ms   {seen}")
                out[f"{' '.join(cmd)} ms {label}"] = round(ms, 1)
        print("\n3. a hook call once loaded")
        data = json.loads(python(CALLS, repo, env).stdout)
        print(f"   manager.estimate (firstresult, built-in answers): {data['us']:.1f} us per call")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit({**out, "runs": args.runs, "python_floor_ms": round(floor, 1), "estimate_us": round(data["us"], 1),
          "smoke": args.smoke, **work.record()})
    return 0 if work.ok else 1


if __name__ == "__main__":
    sys.exit(main())
