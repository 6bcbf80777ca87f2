"""The MCP tool-call round trip (`gitpar mcp`, plugins/gitpar-mcp) for `who` and `lock`,
against the command line doing the same (a whole `gitpar who` / `gitpar lock` process),
alternating in the same run. Each lock is released before the next (by the same route,
untimed), so every timed lock is a real compare-and-swap commit on gitpar/_state.

Needs plugins/gitpar-mcp installed next to gitpar (pip install plugins/gitpar-mcp).

    python bench/bench_mcp.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import bench_env, gitpar_command  # noqa: E402


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


def timed(work) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    work()
    return (time.perf_counter() - t) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    gitpar = gitpar_command()
    env = bench_env()
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-bench-mcp-"))
    server = None
    try:
        repo = tmp / "r"
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=repo, check=True, env=env)
        for cmd in (["init"], ["stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py"],
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
        mcp, process = {"who": [], "lock": []}, {"who": [], "lock": []}  # type: ignore[var-annotated]
        server.call("who", paths=["src/ui/b.py"])  # warm up both routes
        cli("who", "src/ui/b.py")
        for _ in range(args.runs):
            mcp["who"].append(timed(lambda: server.call("who", paths=["src/ui/b.py"])))
            process["who"].append(timed(lambda: cli("who", "src/ui/b.py")))
            mcp["lock"].append(timed(lambda: server.call("lock", paths=["src/config.py"])))
            server.call("unlock", paths=["src/config.py"])
            process["lock"].append(timed(lambda: cli("lock", "src/config.py")))
            cli("unlock", "src/config.py")
        figures = {t: (statistics.median(mcp[t]), statistics.median(process[t])) for t in mcp}
        for t, (m, c) in figures.items():
            print(f"{t}: MCP tool call {m:.1f} ms; CLI process `gitpar {t}` {c:.1f} ms; "
                  f"ratio {m / c:.2f}")
        print(json.dumps({"bench": "mcp", "runs": args.runs,
                          "tools": {t: {"mcp_ms": round(m, 1), "cli_ms": round(c, 1), "ratio": round(m / c, 2)}
                                    for t, (m, c) in figures.items()}}))
        return 0
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
