"""``gitpar who`` and ``gitpar check --staged`` answered before the command line loads
(``gitpar/cli/quick.py``): the same output, code and messages as the full commands, and
really without typer or pygit2 once the caches are warm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gitpar.testing import Result, git, worktree_of

FULL = "import sys; from gitpar.cli.main import main; sys.exit(main())"  # never the fast path


def fast(cwd: Path, *args: str) -> tuple[Result, set[str]]:
    """``python -m gitpar ARGS`` (the entry point users run), and the modules it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitpar", *args], cwd=cwd,
                          capture_output=True, text=True)
    modules, err = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            modules.add(line.rsplit("|", 1)[-1].strip())
        else:
            err.append(line)
    return Result(proc.returncode, proc.stdout, "\n".join(err) + ("\n" if err else "")), modules


def full(cwd: Path, *args: str) -> Result:
    proc = subprocess.run([sys.executable, "-c", FULL, *args], cwd=cwd, capture_output=True, text=True)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def light(modules: set[str]) -> bool:
    return not modules & {"typer", "click", "rich", "pygit2"}


def test_who_fast_answers_as_the_full_command(started: Path, run) -> None:
    assert run(started, "lock", "src/config.py", "--stream", "api").code == 0
    api = worktree_of(started, "api")
    for cwd, args in ((started, ["src/api/a.py", "src/config.py", "docs/x.md", ".gitpar/plan.md"]),
                      (api / "src", ["api/a.py", "config.py"])):
        for extra in ([], ["--json"]):
            fast(cwd, "who", *args, *extra)  # the first one may fill the caches
            got, modules = fast(cwd, "who", *args, *extra)
            assert light(modules), sorted(modules & {"typer", "click", "rich", "pygit2"})
            assert got == full(cwd, "who", *args, *extra)
    rows = {r["path"]: r for r in json.loads(fast(started, "who", "src/config.py", "--json")[0].out)["paths"]}
    assert rows["src/config.py"]["locked_by"] == "api"
    assert run(started, "unlock", "src/config.py", "--stream", "api").code == 0
    rows = {r["path"]: r for r in json.loads(fast(started, "who", "src/config.py", "--json")[0].out)["paths"]}
    assert rows["src/config.py"]["locked_by"] is None  # the lock cache follows the state branch


def test_who_follows_an_uncommitted_plan_edit(started: Path) -> None:
    fast(started, "who", "docs/x.md")
    assert "-" in fast(started, "who", "docs/x.md")[0].out.splitlines()[1]
    ui = started / ".gitpar/streams/ui.md"
    ui.write_text(ui.read_text().replace('owns: ["src/ui/**"]', 'owns: ["src/ui/**", "docs/**"]', 1))
    got, _ = fast(started, "who", "docs/x.md", "--json")
    assert json.loads(got.out)["paths"][0]["owners"] == ["ui"], ui.read_text()
    again, modules = fast(started, "who", "docs/x.md", "--json")
    assert again == got and not light(modules)  # an edited plan folder is parsed, never cached
    git(started, "commit", "-qm", "docs to ui", "--", ".gitpar")
    fast(started, "who", "docs/x.md", "--json")  # the first one fills the cache
    third, modules = fast(started, "who", "docs/x.md", "--json")
    assert third == got and light(modules)  # committed: keyed by its tree id, cached


def test_who_keeps_showing_plan_warnings(started: Path) -> None:
    plan = started / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("---\n", "---\nshiny: 1\n", 1))
    for _ in range(2):
        got, _ = fast(started, "who", "docs/x.md")
        assert got.code == 0 and "unknown setting 'shiny'" in got.err


def test_who_bad_path_is_refused_by_the_fast_path_too(started: Path) -> None:
    fast(started, "who", "docs/x.md")
    got, modules = fast(started, "who", "../elsewhere")
    assert got.code == 2 and "outside the repository" in got.err and "Traceback" not in got.err
    assert light(modules)


def test_check_staged_fast_answers_as_the_full_command(started: Path) -> None:
    api = worktree_of(started, "api")
    (api / "src/api/a.py").write_text("a = 2\n")
    (api / "src/ui/b.py").write_text("b = 2\n")
    git(api, "add", "-A")
    for args in (["check"], ["check", "--staged"], ["check", "--staged", "--format", "json"],
                 ["check", "--json"], ["check", "--staged", "--format=github"]):
        fast(api, *args)
        got, modules = fast(api, *args)
        assert light(modules), (args, sorted(modules & {"typer", "click", "rich", "pygit2"}))
        assert got == full(api, *args), args
        assert got.code == 1
    assert "src/ui/b.py is owned by stream ui" in fast(api, "check")[0].out
    git(api, "reset", "-q", "src/ui/b.py")
    got, _ = fast(api, "check", "--staged")
    assert got.code == 0 and "ok (1 staged paths, stream api" in got.err


def test_check_options_it_does_not_know_go_to_the_full_command(started: Path) -> None:
    api = worktree_of(started, "api")
    got, modules = fast(api, "check", "--staged", "--stream", "ui")
    assert got.code == 0 and "typer" in modules
    got, modules = fast(api, "check", "--format", "yaml")
    assert got.code == 2 and "'yaml' is not a format" in got.err


def test_without_a_state_branch_git_says_nothing(planned: Path) -> None:
    """No state branch yet (a fresh clone): no locks, and none of git's complaints about the
    missing branch reach the user."""
    git(planned, "branch", "-D", "gitpar/_state")
    for args in (["check", "--staged"], ["who", "src/api/a.py"], ["who", "src/api/a.py"]):
        got, _ = fast(planned, *args)
        assert got.code == 0 and "fatal" not in got.err, (args, got)


def test_read_commands_end_at_once_with_all_their_output(started: Path, monkeypatch) -> None:
    """``plan`` and ``status`` end the process without the interpreter's teardown
    (``gitpar.launch.run``): every byte of their output, their exit code and their messages
    still come out, through a pipe as on a terminal."""
    monkeypatch.setenv("GITPAR_NOW", "2030-01-01T00:00:00Z")  # one moment for both processes
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # output waits in buffers, as usual
    for args in (["plan", "--json"], ["status", "--json"], ["plan", "-w", "3", "--json"],
                 ["status", "--json", "--dirty=all", "--offline"]):
        (got, modules), want = fast(started, *args), full(started, *args)
        assert got.code == want.code == 0 and got.err == want.err
        assert json.loads(got.out) == json.loads(want.out)
        assert not modules & {"typer", "click"}, args  # their plain forms skip the command line
    for args in (["plan"], ["status", "--dirty", "none"]):
        (got, modules), want = fast(started, *args), full(started, *args)
        assert got == want and not modules & {"typer", "click"}
    for args in (["plan", "--workers", "0"], ["plan", "--workers=x"], ["status", "--dirty", "some"]):
        got, want = fast(started, *args)[0], full(started, *args)
        assert got.code == want.code == 2 and got.err == want.err and "fix:" in got.err
    for args in (["status", "--markdown"], ["plan", "--bogus"], ["status", "--dirty"]):
        (got, modules), want = fast(started, *args), full(started, *args)
        assert got == want and "typer" in modules  # the full command line answers the rest
    plan = started / ".gitpar/plan.md"
    plan.write_text(plan.read_text().replace("---\n", "---\nbase: [\n", 1))
    for args in (["plan"], ["status"]):
        got, want = fast(started, *args)[0], full(started, *args)
        assert got.code == want.code == 2 and got.err == want.err and "plan.md" in got.err


def test_version_answered_before_the_command_line_loads_says_what_the_full_one_says() -> None:
    import subprocess
    import sys

    from gitpar import __version__

    quick = subprocess.run([sys.executable, "-m", "gitpar", "--version"], capture_output=True, text=True)
    full = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['gitpar', '--version']\n"
                           "from gitpar.cli.main import main; sys.exit(main())"], capture_output=True, text=True)
    assert quick.returncode == full.returncode == 0, (quick.stderr, full.stderr)
    assert quick.stdout == full.stdout == f"gitpar {__version__}\n"
    loaded = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['gitpar', '--version']\n"
                             "from gitpar.launch import main; main(); print(sorted(m for m in sys.modules "
                             "if m.startswith(('typer', 'click', 'gitpar.cli.main', 'gitpar.cli.app', 'pygit2'))))"],
                            capture_output=True, text=True)
    assert loaded.stdout.strip().endswith("[]"), loaded.stdout
