"""``gitpar demo``: a throwaway repository and the whole flow, each command shown as run.

Every step runs the real ``gitpar`` (and ``git``) in a subprocess, exactly as a user
would type it, so the demo doubles as a smoke test of the installed tool.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gitpar.cli import output as o


class DemoFailed(Exception):
    pass


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = dict(os.environ)
        # a throwaway identity, so the demo works on a machine where git has none
        for key, value in (("GIT_AUTHOR_NAME", "gitpar demo"), ("GIT_AUTHOR_EMAIL", "demo@example.com"),
                           ("GIT_COMMITTER_NAME", "gitpar demo"),
                           ("GIT_COMMITTER_EMAIL", "demo@example.com")):
            self.env.setdefault(key, value)
        self.env["NO_COLOR"] = "1"
        self.env.pop("GIT_DIR", None)
        self.env.pop("GIT_INDEX_FILE", None)

    def say(self, text: str) -> None:
        o.out("")
        o.out(f"## {text}")

    def run(self, args: Sequence[str], cwd: Path, *, expect: int | None = 0, show: bool = True) -> str:
        shown = " ".join(shlex.quote(a) for a in args)
        where = os.path.relpath(cwd, self.root)
        o.out(f"[{where}]$ {shown}")
        argv = list(args)
        if argv[0] == "gitpar":
            argv = [sys.executable, "-m", "gitpar", *argv[1:]]
        proc = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True)
        text = (proc.stdout + proc.stderr).rstrip()
        if show and text:
            for line in text.splitlines():
                o.out(f"    {line}")
        if expect is not None and proc.returncode != expect:
            raise DemoFailed(f"{shown} exited {proc.returncode}, expected {expect}:\n{text}")
        if expect is None:
            o.out(f"    (exit {proc.returncode})")
        return proc.stdout


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run(*, keep: bool = False) -> int:
    """Run the demo; 0 when every step behaved as expected."""
    tmp = Path(tempfile.mkdtemp(prefix="gitpar-demo-"))
    try:
        _flow(Demo(tmp))
    except DemoFailed as exc:
        o.err(f"demo failed: {exc}")
        o.err(f"the demo repository is kept at {tmp}")
        return 1
    if keep:
        o.out(f"\nThe demo repository is kept at {tmp / 'shop'}; its report is "
              f"{tmp / 'shop' / 'gitpar-report.html'}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    o.out("\ndemo: done")
    return 0


def _flow(d: Demo) -> None:
    repo = d.root / "shop"
    repo.mkdir()
    d.say("A small repository: an API, a UI, a shared config")
    write(repo / "src/api/orders.py", "def orders():\n    return []\n")
    write(repo / "src/ui/page.py", "TITLE = 'Shop'\n")
    write(repo / "src/config.py", "".join(f"SETTING_{i} = {i}\n" for i in range(1, 11)))
    write(repo / "docs/index.md", "# Shop\n")
    d.run(["git", "init", "-q", "-b", "main"], repo)
    d.run(["git", "add", "-A"], repo)
    d.run(["git", "commit", "-qm", "initial"], repo)

    d.say("The orchestrator writes a plan: three streams, one waiting for another")
    d.run(["gitpar", "init"], repo)
    d.run(["gitpar", "stream", "add", "api", "--owns", "src/api/**", "--shares", "src/config.py",
           "--estimate", "2h", "--agent", "backend", "--brief", "Add the orders endpoints."], repo)
    d.run(["gitpar", "stream", "add", "ui", "--owns", "src/ui/**", "--shares", "src/config.py",
           "--depends-on", "api",
           "--estimate", "1h", "--brief", "Show the orders."], repo)
    d.run(["gitpar", "stream", "add", "docs", "--owns", "docs/**", "--estimate", "30m"], repo)
    d.run(["cat", ".gitpar/streams/api.md"], repo)
    d.run(["git", "add", ".gitpar"], repo)
    d.run(["git", "commit", "-qm", "plan: api, ui, docs"], repo)
    d.run(["gitpar", "stream", "add", "bad..name"], repo, expect=2)
    d.run(["gitpar", "next"], repo)

    d.say("Streams start in their own worktrees; ui waits for api")
    d.run(["gitpar", "start", "ui"], repo, expect=1)
    api = Path(d.run(["gitpar", "start", "api"], repo).strip().splitlines()[-1])
    docs = Path(d.run(["gitpar", "start", "docs"], repo).strip().splitlines()[-1])
    d.run(["gitpar", "brief", "api"], repo)

    d.say("What decides the finish: waves, critical path, a 2-worker schedule")
    d.run(["gitpar", "plan", "--workers", "2"], repo)
    d.run(["gitpar", "graph", "--format", "mermaid"], repo)

    d.say("Hooks enforce ownership: api may not touch ui's files")
    write(api / "src/api/orders.py", "def orders():\n    return ['order-1']\n")
    d.run(["git", "commit", "-qam", "api: list orders"], api)
    write(api / "src/ui/page.py", "TITLE = 'Hacked'\n")
    d.run(["git", "commit", "-qam", "api edits the ui"], api, expect=1)
    d.run(["git", "checkout", "-q", "--", "src/ui/page.py"], api)
    d.run(["gitpar", "who", "src/ui/page.py", "src/config.py"], repo)

    d.say("A shared file is changed under a lock the whole repository sees")
    config = (api / "src/config.py").read_text().replace("SETTING_5 = 5", "SETTING_5 = 50")
    write(api / "src/config.py", config)
    d.run(["git", "commit", "-qam", "api: bigger setting 5"], api, expect=1)
    d.run(["gitpar", "lock", "src/config.py", "--reason", "raise SETTING_5"], api)
    d.run(["gitpar", "locks"], repo)
    d.run(["git", "commit", "-qam", "api: bigger setting 5"], api)
    d.run(["gitpar", "unlock", "src/config.py"], api)

    d.say("Workers report progress from inside their worktrees")
    d.run(["gitpar", "progress", "--completion", "60", "--done", "list orders",
           "--current", "order details", "--next", "tests"], api)
    d.run(["gitpar", "progress", "--completion", "20", "--need", "api: document the order fields"], docs)
    d.run(["gitpar", "status"], repo)

    d.say("api finishes; ui can start; its lock builds on api's version of the shared file, "
          "so the two merge cleanly -- but ui rewrites the very line api changed (SETTING_5), and "
          "the forecast says so (exit 1): a rewrite, for api and ui to agree on before it lands")
    d.run(["gitpar", "finish"], api)
    d.run(["gitpar", "next"], repo)
    ui = Path(d.run(["gitpar", "start", "ui"], repo).strip().splitlines()[-1])
    d.run(["gitpar", "lock", "src/config.py", "--reason", "ui needs setting 5 too"], ui)
    config = (ui / "src/config.py").read_text().replace("SETTING_5 = 5", "SETTING_5 = 7")
    write(ui / "src/config.py", config)
    d.run(["git", "commit", "-qam", "ui: setting 5 for the page"], ui)
    d.run(["gitpar", "unlock", "src/config.py"], ui)
    d.run(["gitpar", "conflicts"], repo, expect=1)
    d.say("ui meant to replace api's SETTING_5, and says so in a commit: the forecast is clear again")
    d.run(["git", "commit", "-q", "--allow-empty", "-m", "ui: replace api's SETTING_5",
           "-m", "Gitpar-Replaces: api src/config.py"], ui)
    d.run(["gitpar", "conflicts"], repo)

    d.say("Run a command in every stream's worktree, dependency-aware")
    d.run(["gitpar", "run", "--streams", "docs,ui", "--tag", "--",
           "sh", "-c", "echo building {stream} on port {port}"], repo)

    d.say("Integrate finished streams in dependency order, behind a test gate")
    d.run(["gitpar", "integrate", "--test", "test -f src/api/orders.py"], repo)
    d.run(["git", "log", "--oneline", "-3", "gitpar/_integration"], repo)

    d.say("Removing a worktree never loses work")
    write(docs / "docs/notes.md", "an untracked draft\n")
    d.run(["gitpar", "remove", "docs"], repo, expect=1)
    d.run(["gitpar", "remove", "docs", "--dry-run"], repo, expect=1)
    d.run(["git", "add", "docs/notes.md"], docs)
    d.run(["git", "commit", "-qm", "docs: notes"], docs)
    d.run(["gitpar", "remove", "docs"], repo, expect=1)
    d.run(["gitpar", "remove", "docs", "--force"], repo)
    d.run(["git", "log", "--oneline", "-1", "gitpar/docs"], repo)
    d.run(["gitpar", "status", "--markdown"], repo)
    d.run(["git", "log", "--format=%s", "gitpar/_state"], repo)

    d.say("A picture of it all: one self-contained HTML page")
    d.run(["gitpar", "report", "--html", "gitpar-report.html"], repo)
