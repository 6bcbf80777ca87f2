"""The one table of light commands (``gitpar/cli/quick.py``'s LIGHT) against typer's own
parameters: the command line answered before typer loads accepts exactly what typer
accepts (the same option spellings, the same flags and valued options, types, defaults and
paths), so the two cannot read a command line differently. And the one parser that reads
the table, against click reading the same command lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click.exceptions import UsageError

from gitpar.cli import quick
from gitpar.cli.main import app
from gitpar.testing import git, worktree_of

KINDS = {"str": "str", "text": "str", "float": "float", "percent": "percent"}


def typer_table(command: Any) -> tuple[bool, dict[str, tuple[str, str, bool, Any]]]:
    """What typer's click command accepts, written as a row of quick.LIGHT."""
    takes_paths, options = False, {}
    for p in command.params:
        if p.param_type_name == "argument":
            assert p.nargs == -1, (command.name, p.name)  # the light commands take PATH...
            takes_paths = True
            continue
        default = list(p.default) if isinstance(p.default, (list, tuple)) else p.default
        kind = "flag" if p.is_flag else KINDS.get(p.type.name, p.type.name)
        for spelling in p.opts:
            options[spelling] = (p.name, kind, p.multiple, default)
        for spelling in p.secondary_opts:
            options[spelling] = (p.name, "unflag", False, default)
    return takes_paths, options


def test_the_table_accepts_exactly_what_typer_accepts() -> None:
    top = typer.main.get_command(app)
    assert set(quick.HELP) == set(top.context_settings["help_option_names"])
    for name, (takes_paths, options) in quick.LIGHT.items():
        command = top if name == "" else top.commands[name]
        want_paths, want = typer_table(command)
        if name == "":
            want_paths = False  # the subcommand's name is not a path
        assert (takes_paths, options) == (want_paths, want), name
        assert not set(options) & set(quick.HELP)  # -h/--help: typer answers them
    assert set(quick.HANDLERS) == set(quick.LIGHT)


def test_a_table_that_drifts_from_typer_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: a table missing an option, or with a flag where typer
    takes a value, differs from what typer declares."""
    top = typer.main.get_command(app)
    paths, options = quick.LIGHT["status"]
    assert typer_table(top.commands["status"]) == (paths, options)
    for broken in ({k: v for k, v in options.items() if k != "--publish"},
                   {**options, "--dirty": ("dirty", "flag", False, "auto")}):
        assert typer_table(top.commands["status"]) != (paths, broken)


def click_reads(name: str, args: list[str]) -> tuple[list[str], dict[str, Any]] | str:
    """What typer's click command makes of ``args``: the paths and the options, or the
    usage error's message."""
    command = typer.main.get_command(app).commands[name]
    try:
        ctx = command.make_context(f"gitpar {name}", list(args))
    except UsageError as exc:
        return f"usage error: {exc.format_message()}"
    values = dict(ctx.params)
    paths = values.pop("paths", None) or []
    return list(paths), {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


@pytest.mark.parametrize(("name", "args"), [
    ("guard", ["a.py", "--format", "claude", "b.py"]),
    ("guard", ["--json", "--stream=api", "--", "--weird", "-"]),
    ("guard", ["--changed", "--stream", "api"]),
    ("guard", ["--format", "--json"]),  # as click: --format takes the next word
    ("check", ["--json", "--format", "text"]),  # --json wins in both, whatever the order
    ("check", ["--staged", "-s", "api", "--format=github"]),
    ("status", ["--watch", "2.5", "--dirty=none", "--offline"]),
    ("plan", ["-w", "3", "--json", "--workers=5"]),  # the last one given counts
    ("progress", ["--done", "a", "--done=b", "--next", "c", "--clear", "next", "-s", "api", "--completion", "40"]),
    ("who", ["x", "--resource", "db", "--resource", "gpu:0", "--json"]),
])
def test_the_parser_reads_what_click_reads(name: str, args: list[str]) -> None:
    parsed = quick.parse(name, args)
    assert parsed is not None, args
    assert parsed == click_reads(name, args)


@pytest.mark.parametrize(("name", "args"), [
    ("status", ["--bogus"]), ("status", ["--json=1"]), ("status", ["--dirty"]), ("status", ["--watch", "x"]),
    ("status", ["extra"]), ("plan", ["-h"]), ("plan", ["--help"]), ("plan", ["-w3"]), ("check", ["a.py"]),
    ("progress", ["--done"]),
])
def test_what_the_table_does_not_know_goes_to_typer(name: str, args: list[str]) -> None:
    """None: typer reads it, and says what is wrong (or prints the help)."""
    assert quick.parse(name, args) is None
    if args[0] not in ("-h", "--help", "-w3"):
        assert isinstance(click_reads(name, args), str), args  # click refuses each of them too


def fast(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitpar", *args], cwd=cwd,
                          capture_output=True, text=True)
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:")}
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    return proc, modules


def test_check_json_wins_over_format_before_typer_loads_as_in_it(started: Path) -> None:
    """``check --json --format text`` was text before the table (the old parser let the last
    one win) and JSON from typer."""
    api = worktree_of(started, "api")
    (api / "src/api/a.py").write_text("a = 2\n")
    git(api, "add", "-A")
    fast(api, "check", "--json", "--format", "text")
    got, modules = fast(api, "check", "--json", "--format", "text")
    assert "typer" not in modules and got.returncode == 0
    assert json.loads(got.stdout)["ok"] is True


def test_progress_is_written_without_typer_as_with_it(started: Path, run) -> None:
    api = worktree_of(started, "api")
    got, modules = fast(api, "progress", "--done", "one", "--completion", "30", "--json")
    assert got.returncode == 0, got.stderr
    assert not modules & {"typer", "click", "gitpar.cli.main"}
    assert json.loads(got.stdout)["completion"] == 30
    assert "one" in git(started, "show", "gitpar/_state:progress/api.md")
    for args in (["--completion", "140"], ["--completion", "x"], ["--clear", "nothing"], ["--status", "napping"]):
        light, modules = fast(api, "progress", *args)
        full = run(api, "progress", *args)
        assert light.returncode == full.code == 2, args
        assert light.stderr.strip() == full.err.strip() and "Traceback" not in light.stderr, args
        assert "typer" not in modules, args
    for args in (["--completion", "x", "--bogus"], ["--completion", "140", "extra"]):
        light, _ = fast(api, "progress", *args)  # what is wrong with the line is said before the value
        full = run(api, "progress", *args)
        assert light.returncode == full.code == 2 and light.stderr.strip() == full.err.strip(), args
    light, modules = fast(api, "progress", "--completion")
    assert light.returncode == 2 and "requires an argument" in light.stderr and "typer" in modules


def test_lock_and_unlock_are_written_without_typer_as_with_it(started: Path, run) -> None:
    api = worktree_of(started, "api")
    got, modules = fast(api, "lock", "src/config.py", "--reason", "edit")
    assert got.returncode == 0, got.stderr
    assert not modules & {"typer", "click", "gitpar.cli.main"}
    assert "api holds src/config.py" in got.stderr
    assert "api" in git(started, "show", "gitpar/_state:locks/src/config.py.lock")
    got, modules = fast(api, "unlock", "src/config.py")
    assert got.returncode == 0 and "released src/config.py" in got.stderr and "typer" not in modules
    for args in (["lock"], ["lock", "x.py", "--ttl", "forever"], ["lock", "x.py", "--resource", "db"],
                 ["lock", "x.py", "--wait", "-1"], ["unlock"], ["unlock", "--resource", "BAD NAME"]):
        light, modules = fast(api, *args)
        full = run(api, *args)
        assert light.returncode == full.code == 2, (args, light.stderr, full.err)
        assert light.stderr.strip() == full.err.strip() and "Traceback" not in light.stderr, args
        assert "typer" not in modules, args


def test_top_level_help_from_its_cache_is_typers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for columns in ("60", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        typer_says = subprocess.run([sys.executable, "-c", "import sys; from gitpar.cli.main import main; "
                                     "sys.exit(main(['--help']))"], capture_output=True, text=True)
        assert typer_says.returncode == 0 and "Commands:" in typer_says.stdout
        for flag in ("--help", "-h", "--help"):
            got, modules = fast(tmp_path, flag)
            assert got.returncode == 0 and got.stdout == typer_says.stdout, (columns, flag)
        assert not modules & {"typer", "click", "gitpar.cli.main"}  # the last one read the cache
    assert len(list((tmp_path / "cache/gitpar").glob("help-*.txt"))) == 2  # one per width


def test_the_help_cache_is_keyed_by_the_command_lines_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited command module (its size or time) names another cache file: the help is made
    again, never read from the one an older command line wrote."""
    monkeypatch.setenv("COLUMNS", "100")
    before = quick._help_key()
    module = Path(quick.__file__).with_name("cmd_plan.py")
    st = module.stat()
    try:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
        assert quick._help_key() != before
    finally:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert quick._help_key() == before
    monkeypatch.setenv("COLUMNS", "70")
    assert quick._help_key() != before
