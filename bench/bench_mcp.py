"""The MCP tool-call round trip (`gitpar mcp`, plugins/gitpar-mcp) for `who` and `lock`,
against the command line doing the same (a whole `gitpar who` / `gitpar lock` process),
alternating in the same run. Each lock is released before the next (by the same route,
untimed), so every timed lock is a real compare-and-swap commit on gitpar/_state. All four
contenders run in turn in one loop after a warm-up round (benchlib.alternate), median of each;
both routes must leave the same state (the lock released, the same number of state commits).

Needs plugins/gitpar-mcp installed next to gitpar (pip install plugins/gitpar-mcp).

    python bench/bench_mcp.py [--runs 15] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import SameWork, add_smoke, alternate, bench_env, call, describe, emit, gitpar_command  # noqa: E402


class Server:
    """`gitpar mcp` spoken to with plain JSON-RPC lines over its stdin/stdout."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.next_id = 0
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "bench", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, msg: dict[str, object]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, object]) -> dict[str, object]:
        assert self.proc.stdout is not None
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            msg = json.loads(self.proc.stdout.readline())
            if msg.get("id") == self.next_id:
                return msg

    def call(self, tool: str, **arguments: object) -> None:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})["result"]
        if result.get("isError"):  # type: ignore[union-attr]
            raise SystemExit(f"{tool} failed: {result}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    add_smoke(ap)
    args = ap.parse_args()
    runs = 1 if args.smoke else args.runs
    work = SameWork()
    import importlib.util
    if importlib.util.find_spec("gitpar_mcp") is None:
        print("bench_mcp: skipped, plugins/gitpar-mcp is not installed (pip install plugins/gitpar-mcp)")
        emit({"bench": "mcp", "skipped": "gitpar-mcp not installed", "smoke": args.smoke})
        return 0
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-mcp-"))
    server = None
    try:
        repo = tmp / "r"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=repo, check=True, env=env)
        for cmd in (["init", "--no-hooks"], ["stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py"],
                    ["stream", "add", "ui", "--owns", "src/ui/**"]):
            subprocess.run([*gitpar, *cmd], cwd=repo, check=True, env=env, capture_output=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "plan"], cwd=repo, check=True, env=env)
        out = subprocess.run([*gitpar, "start", "api"], cwd=repo, check=True, env=env,
                             capture_output=True, text=True).stdout.strip()
        wt = Path(out.splitlines()[-1])

        def cli(*a: str) -> None:
            subprocess.run([*gitpar, *a], cwd=wt, env=env, check=True, capture_output=True)

        server = Server([*gitpar, "mcp"], wt, env)
        srv = server
        locks = {"mcp": 0, "cli": 0}

        def state_commits() -> int:
            return int(subprocess.run(["git", "rev-list", "--count", "gitpar/_state"], cwd=wt,
                                      capture_output=True, text=True).stdout)

        def mcp_lock() -> None:
            srv.call("lock", paths=["src/config.py"])
            locks["mcp"] += 1

        def cli_lock() -> None:
            cli("lock", "src/config.py")
            locks["cli"] += 1
        before = state_commits()
        figures = alternate({
            "mcp who": call(lambda: srv.call("who", paths=["src/ui/b.py"])),
            "cli who": call(lambda: cli("who", "src/ui/b.py")),
            "mcp lock": call(mcp_lock, before=lambda: cli("unlock", "src/config.py") if locks["cli"] else None),
            "cli lock": call(cli_lock, before=lambda: srv.call("unlock", paths=["src/config.py"])),
        }, runs, warmup=0 if args.smoke else 1)
        cli("unlock", "src/config.py")
        # each timed lock and each release is one state commit, by either route
        rounds = runs + (0 if args.smoke else 1)
        work.check("locks taken (MCP vs CLI)", locks["mcp"], locks["cli"])
        work.check("state commits (one per lock and per unlock)", state_commits() - before, 4 * rounds)
        work.check("rounds of locks", locks["mcp"], rounds)
        held = subprocess.run([*gitpar, "locks"], cwd=wt, env=env, capture_output=True, text=True).stdout
        work.check("no lock left", "src/config.py" in held, False)
        for t in ("who", "lock"):
            print("  " + describe(figures, f"mcp {t}", f"cli {t}", f"MCP tool call {t}", f"`gitpar {t}` process"))
        emit({"bench": "mcp", "runs": runs,
              "tools": {t: figures.row(f"mcp {t}", f"cli {t}") for t in ("who", "lock")},
              "smoke": args.smoke, **work.record()})
        return 0 if work.ok else 1
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
