"""Plugins: the manager, the built-in plugins, the plugins command, errors that name the plugin."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, git, gitpar

from gitpar.core.locks import Lock
from gitpar.model.hooks import ConflictCase, Contention, Proposal, Resolution
from gitpar.plugins import hookimpl, hookspecs, manager
from gitpar.testing import plugin_registered
from gitpar.testing import run as run_with_plugins

BUILTINS = ["gitpar.estimate", "gitpar.locks", "gitpar.integration", "gitpar.brief"]


@pytest.fixture(autouse=True)
def fresh_manager(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Each test loads the plugins anew, without the plugins installed on this machine."""
    installed = [ep.name for ep in manager.find_entry_points()]
    if installed:
        monkeypatch.setenv("GITPAR_DISABLED_PLUGINS", ",".join(installed))
    manager.reset()
    yield
    manager.reset()


def plan_of(r: Path):  # type: ignore[no-untyped-def]
    from gitpar.core.repo import open_repo

    return open_repo(r).load_plan()


def set_plugins(r: Path, block: str) -> None:
    """Add a ``plugins:`` block (YAML lines) to plan.md's frontmatter."""
    plan = r / ".gitpar/plan.md"
    text = plan.read_text()
    end = text.index("\n---", 4)
    plan.write_text(text[:end] + "\nplugins:\n" + textwrap.indent(block.strip("\n"), "  ") + text[end:])


# -- listing and blocking -------------------------------------------------------------------


def test_plugins_json_lists_the_builtins_with_their_hooks(planned: Path, run) -> None:
    r = run(planned, "plugins", "--json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["version"] == 1
    by_name = {p["name"]: p for p in data["plugins"]}
    assert list(by_name)[:5] == BUILTINS
    assert by_name["gitpar.estimate"]["hooks"] == ["gitpar_estimate"]
    assert by_name["gitpar.locks"]["strategies"] == ["locks:collaborative", "locks:priority", "locks:wait"]
    assert by_name["gitpar.integration"]["strategies"] == ["conflicts:review", "conflicts:stop"]
    assert all(by_name[n]["source"] == "builtin" and not by_name[n]["blocked"] for n in BUILTINS)


def test_plugins_text_lists_each_plugin(planned: Path, run) -> None:
    r = run(planned, "plugins")
    assert r.code == 0, r
    assert re.search(r"gitpar\.locks\s+builtin\s+0\.1\.0\s+lock_strategies", r.out)


def test_disabled_plugins_are_marked_and_unknown_names_warned(planned: Path) -> None:
    r = gitpar(planned, "plugins", "--json", env={"GITPAR_DISABLED_PLUGINS": "gitpar.estimate, nosuch"})
    assert r.code == 0, r
    data = json.loads(r.out)
    est = next(p for p in data["plugins"] if p["name"] == "gitpar.estimate")
    assert est["blocked"] is True and est["hooks"] == []
    assert data["disabled"] == ["gitpar.estimate", "nosuch"]
    assert "'nosuch', which is not installed" in r.err
    assert "Traceback" not in r.err


def test_a_disabled_builtin_is_not_asked(planned: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_of(planned)
    assert manager.estimate(plan.streams["api"], plan, []).seconds == 3600.0  # type: ignore[union-attr]
    monkeypatch.setenv("GITPAR_DISABLED_PLUGINS", "gitpar.estimate")
    manager.reset()
    assert manager.estimate(plan.streams["api"], plan, []) is None


def test_help_and_builtin_commands_load_no_plugin(planned: Path) -> None:
    code = ("import sys\nfrom gitpar.cli.main import main\nfrom gitpar.cli.cmd_plugins import add_plugin_commands\n"
            "for args in (['--help'], ['stream', 'list'], ['status']):\n"
            "    add_plugin_commands(args)\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "print('LOADED' if 'pluggy' in sys.modules or 'gitpar.plugins.manager' in sys.modules else 'CLEAN',"
            " file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=planned, capture_output=True, text=True)
    assert proc.stderr.strip().endswith("CLEAN"), proc.stderr


# -- a plugin registered for one test ----------------------------------------------------------


class Estimator:
    @hookimpl
    def gitpar_estimate(self, stream):  # type: ignore[no-untyped-def]
        return 42 if stream.name == "ui" else None


def test_a_plugin_overrides_a_builtin_and_is_listed(planned: Path, run) -> None:
    plan = plan_of(planned)
    with plugin_registered(Estimator(), "estimator"):
        est = manager.estimate(plan.streams["ui"], plan, [])
        assert est is not None and est.seconds == 42 and est.source == "plugin estimator"
        # the others fall through to the built-in, which reads the stream's estimate field
        api = manager.estimate(plan.streams["api"], plan, [])
        assert api is not None and (api.seconds, api.source) == (3600.0, "estimate")
        listed = json.loads(run(planned, "plugins", "--json").out)["plugins"]
        assert {"name": "estimator", "hooks": ["gitpar_estimate"]}.items() <= listed[-1].items()
    assert "estimator" not in [p.name for p in manager.plugin_list()]


def test_estimates_for_every_stream_agree_with_asking_one_by_one(planned: Path) -> None:
    # manager.estimates skips pluggy's dispatch while only the built-in answers; with a
    # plugin registered it asks through pluggy: both must give what estimate() gives
    from gitpar.core.history import RunRecord

    plan = plan_of(planned)
    history = {"ui": [RunRecord("2026-01-01T00:00:00Z", 120.0, 0, "make", finish=True)]}

    def one_by_one() -> dict[str, object]:
        return {n: manager.estimate(s, plan, history.get(n, ())) for n, s in plan.streams.items()}

    alone = manager.estimates(plan, history)
    assert alone == one_by_one() and alone["ui"].source == "history"  # type: ignore[union-attr]
    with plugin_registered(Estimator(), "estimator"):
        with_plugin = manager.estimates(plan, history)
        assert with_plugin == one_by_one() and with_plugin["ui"].seconds == 42  # type: ignore[union-attr]


def test_builtin_estimate_learns_from_history(planned: Path) -> None:
    from gitpar.core.history import RunRecord

    plan = plan_of(planned)
    runs = [RunRecord("2026-01-01T00:00:00Z", d, 0, "make", finish=True) for d in (100.0, 300.0, 200.0)]
    est = manager.estimate(plan.streams["ui"], plan, runs)
    assert est is not None and (est.seconds, est.source) == (200.0, "history")
    assert manager.estimate(plan.streams["ui"], plan, []) is None  # no estimate, no history: core decides


class WrongType:
    @hookimpl
    def gitpar_estimate(self):  # type: ignore[no-untyped-def]
        return "two hours"


class Raises:
    @hookimpl
    def gitpar_render_brief(self):  # type: ignore[no-untyped-def]
        raise KeyError("brief")


def test_wrong_answers_and_errors_name_the_plugin(planned: Path) -> None:
    plan = plan_of(planned)
    with plugin_registered(WrongType(), "wrong-type"):
        with pytest.raises(manager.PluginError) as info:
            manager.estimate(plan.streams["api"], plan, [])
    assert "plugin 'wrong-type' returned 'two hours' from gitpar_estimate" in str(info.value)
    assert "GITPAR_DISABLED_PLUGINS=wrong-type" in str(info.value)
    assert info.value.exit_code == 2
    with plugin_registered(Raises(), "raises"):
        with pytest.raises(manager.PluginError, match=r"plugin 'raises' failed in gitpar_render_brief: KeyError"):
            manager.render_brief({}, plan.streams["api"], plan)


class BadSignature:
    @hookimpl
    def gitpar_estimate(self, stream, nonsense):  # type: ignore[no-untyped-def]
        return 1


class UnknownHook:
    @hookimpl
    def gitpar_estimat(self, stream):  # type: ignore[no-untyped-def]
        return 1


def test_plugins_that_do_not_fit_the_hooks(planned: Path) -> None:
    with pytest.raises(manager.PluginError, match=r"plugin 'bad-sig' does not fit gitpar's hooks.*nonsense"):
        manager.register(BadSignature(), "bad-sig")
    manager.reset()
    loaded = manager.load()
    with plugin_registered(UnknownHook(), "typo"):
        manager._check_pending(loaded)
        assert any("implements gitpar_estimat, which this gitpar does not know" in w
                   for w in manager.take_warnings())


class Command:
    @hookimpl
    def gitpar_register_commands(self, app):  # type: ignore[no-untyped-def]
        @app.command()
        def hello(name: str = "world") -> None:
            """Say hello."""
            print(f"hello {name}")

        @app.command("status")
        def not_yours() -> None:
            print("hijacked")


class BrokenCommands:
    @hookimpl
    def gitpar_register_commands(self, app):  # type: ignore[no-untyped-def]
        raise RuntimeError("no typer here")


def test_plugin_commands_load_only_for_unknown_commands(planned: Path) -> None:
    with plugin_registered(Command(), "hello-plugin"):
        r = run_with_plugins(planned, "hello", "--name", "you")
        assert (r.code, r.out) == (0, "hello you\n"), r
        assert "a plugin's command 'status' is ignored" in r.err
        r = run_with_plugins(planned, "status", "--json")
        assert r.code == 0 and "hijacked" not in r.out
    r = run_with_plugins(planned, "hello")
    assert r.code == 2 and "No such command" in r.text
    with plugin_registered(BrokenCommands(), "broken"):
        r = run_with_plugins(planned, "anything")
    assert r.code == 2
    assert "plugin 'broken' failed in gitpar_register_commands: RuntimeError: no typer here" in r.err


# -- strategies ------------------------------------------------------------------------------


def held(stream: str = "ui", expires: str = "2099-01-01T00:00:00Z") -> Lock:
    return Lock(path="src/config.py", stream=stream, agent="", acquired="2026-01-01T00:00:00Z", expires=expires)


def test_wait_is_the_default_lock_strategy(planned: Path) -> None:
    plan = plan_of(planned)
    assert manager.lock_strategy(plan).name == "wait"
    c = Contention(path="src/config.py", stream="api", priority=0, holder=held())
    assert manager.decide_contention(plan, c).action == "wait"
    stale = Contention(path="src/config.py", stream="api", priority=0, holder=held(), stale="expired at ...")
    d = manager.decide_contention(plan, stale)
    assert d.action == "take_over" and "stale: expired" in d.reason


def test_priority_strategy_lets_the_higher_priority_stream_go_first(planned: Path) -> None:
    set_plugins(planned, "locks: priority")
    plan = plan_of(planned)
    free = Contention(path="src/config.py", stream="api", priority=1, holder=None, waiting={"ui": 3})
    d = manager.decide_contention(plan, free)
    assert d.action == "wait" and "stream ui (priority 3)" in d.reason
    first = Contention(path="src/config.py", stream="ui", priority=3, holder=None, waiting={"api": 1})
    assert manager.decide_contention(plan, first).action == "take_over"
    live = Contention(path="src/config.py", stream="ui", priority=3, holder=held("api"))
    assert manager.decide_contention(plan, live).action == "wait"


def test_collaborative_strategy_escalates_after_its_timeout(planned: Path) -> None:
    set_plugins(planned, "locks: collaborative\ncollaborative: {timeout: 5m}")
    plan = plan_of(planned)
    c = Contention(path="src/config.py", stream="api", priority=0, holder=held("ui"), waited=60)
    assert manager.decide_contention(plan, c).action == "wait"
    late = Contention(path="src/config.py", stream="api", priority=0, holder=held("ui"), waited=300)
    d = manager.decide_contention(plan, late)
    assert d.action == "escalate" and d.attention == ("api", "ui")
    assert "waited 5m" in d.reason and "need a person" in d.reason


def test_bad_strategy_settings_name_the_plan_field(planned: Path, run) -> None:
    set_plugins(planned, "locks: fastest")
    with pytest.raises(Exception, match=r"plugins.locks: no strategy named 'fastest' \(known: collaborative, "
                                        r"priority, wait\)") as info:
        manager.lock_strategy(plan_of(planned))
    assert info.value.exit_code == 2  # type: ignore[attr-defined]
    (planned / ".gitpar/plan.md").write_text((planned / ".gitpar/plan.md").read_text()
                                             .replace("locks: fastest", "locks: collaborative\n  collaborative: {timeout: soon}"))
    c = Contention(path="x", stream="api", priority=0, holder=held())
    with pytest.raises(Exception, match=r"plugins.collaborative.timeout: 'soon' is not a duration"):
        manager.decide_contention(plan_of(planned), c)


class Copycat:
    @hookimpl
    def gitpar_lock_strategies(self):  # type: ignore[no-untyped-def]
        class Mine:
            name = "priority"
            description = "mine"

            def decide(self, contention):  # type: ignore[no-untyped-def]
                return "wait"
        return [Mine()]


def test_two_plugins_claiming_a_strategy_name(planned: Path, run) -> None:
    with plugin_registered(Copycat(), "copycat"):
        with pytest.raises(manager.PluginError,
                           match=r"(?s)plugins 'copycat' and 'gitpar.locks' both offer a strategy named 'priority'"
                                 r".*GITPAR_DISABLED_PLUGINS=copycat"):
            manager.lock_strategies()
        r = run(planned, "plugins", "--json")  # listing still works, and says what is wrong
        assert r.code == 0 and "both offer a strategy named 'priority'" in r.err


def test_a_strategy_returning_the_wrong_type_is_named(planned: Path) -> None:
    class Mine:
        name = "mine"
        description = "returns text"

        def decide(self, contention):  # type: ignore[no-untyped-def]
            return "wait"

    class Offers:
        @hookimpl
        def gitpar_lock_strategies(self):  # type: ignore[no-untyped-def]
            return [Mine()]

    set_plugins(planned, "locks: mine")
    with plugin_registered(Offers(), "offers"):
        c = Contention(path="x", stream="api", priority=0, holder=held())
        with pytest.raises(manager.PluginError, match=r"plugin 'offers': strategy 'mine' returned 'wait'"):
            manager.decide_contention(plan_of(planned), c)


def test_conflicts_stop_by_default_and_review_takes_a_side_only_where_configured(planned: Path) -> None:
    from gitpar.core.ownership import matches

    case = ConflictCase(stream="ui", target="main", paths=("docs/x.md",),
                        other_side={"docs/x.md": ["stream api (1234567890)"]}, match=matches)
    assert manager.resolve_conflict(plan_of(planned), case).action == "stop"
    set_plugins(planned, "conflicts: review")
    r = manager.resolve_conflict(plan_of(planned), case)
    assert r.action == "stop" and "plugins.review.take" in r.reason
    (planned / ".gitpar/plan.md").write_text((planned / ".gitpar/plan.md").read_text()
                                             .replace("conflicts: review", 'conflicts: review\n  review: {take: ["docs/**"]}'))
    r = manager.resolve_conflict(plan_of(planned), case)
    assert r.action == "take_stream" and r.paths == ("docs/x.md",)
    assert "took ui's side" in r.review and "stream api" in r.review and "review" in r.review
    both = ConflictCase(stream="ui", target="main", paths=("docs/x.md", "src/config.py"), match=matches)
    r = manager.resolve_conflict(plan_of(planned), both)
    assert r.action == "stop" and "src/config.py" in r.reason


def test_a_side_is_never_taken_silently(planned: Path) -> None:
    class Silent:
        name = "silent"
        description = "takes a side, says nothing"

        def resolve(self, case):  # type: ignore[no-untyped-def]
            return Resolution("take_stream", "because", paths=case.paths)

    class Offers:
        @hookimpl
        def gitpar_conflict_strategies(self):  # type: ignore[no-untyped-def]
            return [Silent()]

    set_plugins(planned, "conflicts: silent")
    with plugin_registered(Offers(), "silent-plugin"):
        with pytest.raises(manager.PluginError, match="never taken silently"):
            manager.resolve_conflict(plan_of(planned), ConflictCase(stream="ui", target="main", paths=("a",)))


# -- worktrees, briefs, checks, events, proposals ------------------------------------------------


def test_render_brief_builtin_is_what_gitpar_brief_prints(planned: Path, run) -> None:
    from gitpar.core import streams
    from gitpar.core.repo import open_repo

    repo = open_repo(planned)
    data = streams.brief(repo, "api")
    plan = repo.load_plan()
    assert manager.render_brief(data, plan.streams["api"], plan) == run(planned, "brief", "api").out


class Preparer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Path, int, str]] = []

    @hookimpl
    def gitpar_prepare_worktree(self, name, worktree, port, brief):  # type: ignore[no-untyped-def]
        self.seen.append((name, worktree, port, brief["branch"]))
        (worktree / "NOTES.txt").write_text(f"stream {name}\n")
        return [f"wrote NOTES.txt in {worktree.name}"]


def test_prepare_worktree_gets_the_stream_and_its_brief(planned: Path, run) -> None:
    from conftest import worktree_of

    from gitpar.core import streams
    from gitpar.core.repo import open_repo

    assert run(planned, "start", "api").code == 0
    wt = worktree_of(planned, "api")
    repo = open_repo(planned)
    p = Preparer()
    with plugin_registered(p, "preparer"):
        lines = manager.prepare_worktree(repo, repo.load_plan(), "api", wt, 20000, streams.brief(repo, "api"))
    assert lines == [f"wrote NOTES.txt in {wt.name}"]
    assert p.seen == [("api", wt, 20000, "gitpar/api")]
    assert (wt / "NOTES.txt").read_text() == "stream api\n"


class NoVendor:
    @hookimpl
    def gitpar_check_paths(self, stream, paths):  # type: ignore[no-untyped-def]
        from gitpar.model.violation import Violation

        return [Violation(p, "vendored", f"{p} is vendored code", "change it upstream")
                for p in paths if p.startswith("vendor/")]


def test_check_paths_adds_the_plugins_violations(planned: Path) -> None:
    from gitpar.core.rules import Rules

    rules = Rules.from_plan(plan_of(planned))
    assert manager.check_paths("api", ["src/api/a.py"], rules) == []
    with plugin_registered(NoVendor(), "no-vendor"):
        found = manager.check_paths("api", ["src/api/a.py", "vendor/lib.py"], rules)
        assert [(v.path, v.rule) for v in found] == [("vendor/lib.py", "vendored")]
        assert manager.implementers("gitpar_check_paths") == ["no-vendor"]
    assert manager.implementers("gitpar_check_paths") == []


def test_the_builtin_hooks_are_the_ones_the_builtins_implement(planned: Path, monkeypatch) -> None:
    """``builtin.HOOKS`` is what lets a command skip loading the plugins when only gitpar's
    own could answer: it must be exactly the hooks they implement."""
    from gitpar.plugins.builtin import HOOKS

    monkeypatch.chdir(planned)
    state = manager.load()
    implemented = {hook for hook in dir(state.pm.hook) if not hook.startswith("_")
                   and any(manager.is_builtin(state, impl.plugin_name)
                           for impl in getattr(state.pm.hook, hook).get_hookimpls())}
    assert implemented == HOOKS


def _without_this_machines_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins looked up as on a machine where none is installed: the folders on sys.path
    that hold an installed plugin's entry point are left out of the lookup (and only of it:
    their modules stay importable), so a folder a test prepends still counts."""
    import os
    import sys

    from gitpar.plugins import discovery, loading

    find = discovery.find_entry_points
    mine = {p for p in sys.path if find(path=[p])}
    monkeypatch.delenv("GITPAR_DISABLED_PLUGINS", raising=False)

    def isolated(group: str = discovery.ENTRY_POINT_GROUP, path=None):  # type: ignore[no-untyped-def]
        return find(group, [p for p in sys.path if p not in mine and (p or os.getcwd()) not in mine]
                    if path is None else path)
    monkeypatch.setattr(discovery, "find_entry_points", isolated)
    monkeypatch.setattr(loading, "find_entry_points", isolated)
    manager.reset()
    assert not discovery.find_entry_points()


def test_only_builtins_answers_without_loading_and_knows_when_others_may_answer(
        planned: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With nothing but gitpar's own plugins loadable, the path policies and the estimates
    are answered without loading a plugin; a repository plugin opted into on the base, a
    disabled name or an installed plugin each make the plugins load (and be asked)."""
    from gitpar.core.rules import Rules
    from gitpar.plugins import loading

    _without_this_machines_plugins(monkeypatch)
    monkeypatch.chdir(planned)
    monkeypatch.delenv("GITPAR_DISABLED_PLUGINS", raising=False)
    plan, rules = plan_of(planned), Rules.from_plan(plan_of(planned))
    assert manager.only_builtins()
    assert manager.check_paths("api", ["vendor/lib.py"], rules) == []
    quick = manager.estimates(plan, {})
    assert loading._loaded is None  # answered without loading a plugin
    assert quick["api"] == manager.estimate(plan.streams["api"], plan, [])  # that one loads them
    assert not manager.only_builtins()  # loaded: asking them is now the cheap way
    manager.reset()
    monkeypatch.setenv("GITPAR_DISABLED_PLUGINS", "gitpar.estimate")
    assert not manager.only_builtins()
    monkeypatch.delenv("GITPAR_DISABLED_PLUGINS")
    (planned / ".gitpar/plugins").mkdir()
    (planned / ".gitpar/plugins/team.py").write_text(REPO_PLUGIN)
    before = (planned / ".gitpar/plan.md").read_text()
    set_plugins(planned, "load: [.gitpar/plugins/team.py]")
    assert manager.only_builtins()  # opted in on disk only: the base has not
    commit_all(planned)
    # keyed by the base commit, not by the folder or the process: the same process (a
    # long-lived one, like the MCP server) sees the opt-in at once, and loads the plugin
    assert not manager.only_builtins()
    assert "team.py" in " ".join(manager.load().infos)
    assert manager.estimates(plan_of(planned), {})["api"].seconds == 7  # type: ignore[union-attr]
    (planned / ".gitpar/plan.md").write_text(before)
    commit_all(planned, "no repository plugins")
    manager.reset()
    assert manager.only_builtins()
    site = tmp_path / "site"
    site.mkdir()
    fake_install(site, "gitpar-no-vendor", "gitpar_no_vendor_policy", """
        from gitpar.plugins import hookimpl
        from gitpar.model.violation import Violation

        @hookimpl
        def gitpar_check_paths(stream, paths):
            return [Violation(p, "vendored", f"{p} is vendored", "change it upstream")
                    for p in paths if p.startswith("vendor/")]
    """)
    monkeypatch.syspath_prepend(str(site))
    manager.reset()
    assert not manager.only_builtins()
    found = manager.check_paths("api", ["src/api/a.py", "vendor/lib.py"], rules)
    assert [(v.path, v.rule) for v in found] == [("vendor/lib.py", "vendored")]


def test_events_reach_every_plugin(planned: Path) -> None:
    from gitpar.core.repo import open_repo

    heard: list[tuple[str, str | None, str | None, dict]] = []  # type: ignore[type-arg]

    class Listener:
        @hookimpl
        def gitpar_event(self, event):  # type: ignore[no-untyped-def]
            heard.append((event.kind, event.stream, event.path, dict(event.data)))

    repo = open_repo(planned)
    with plugin_registered(Listener(), "listener"):
        manager.emit("lock.taken", repo=repo, stream="api", path="src/config.py", reason="edit")
        manager.emit("stream.finished", repo=repo, stream="api")
        with pytest.raises(ValueError):
            manager.emit("stream.exploded", repo=repo)
    assert heard == [("lock.taken", "api", "src/config.py", {"reason": "edit"}),
                     ("stream.finished", "api", None, {})]


def test_suggest_without_a_proposing_plugin_says_what_to_install(planned: Path, run) -> None:
    r = run(planned, "suggest")
    assert r.code == 2 and "pip install gitpar-python" in r.err


def test_suggest_shows_and_writes_proposals(planned: Path, run) -> None:
    class Proposer:
        @hookimpl
        def gitpar_propose_streams(self, files):  # type: ignore[no-untyped-def]
            assert "docs/x.md" in files
            return [Proposal("docs", owns=("docs/**",), description="the docs"),
                    Proposal("site", owns=("site/**",), depends_on=("docs",))]

    with plugin_registered(Proposer(), "proposer"):
        r = run(planned, "suggest", "--json")
        assert r.code == 0, r
        data = json.loads(r.out)
        assert [(s["name"], s["plugin"]) for s in data["streams"]] == [("docs", "proposer"), ("site", "proposer")]
        assert data["written"] == []
        r = run(planned, "suggest", "--write")
        assert r.code == 0, r
        assert "depends_on: [docs]" in (planned / ".gitpar/streams/site.md").read_text()
        r = run(planned, "suggest", "--write")  # again: existing streams are kept, and said so
        assert r.code == 0 and "stream 'docs' already exists" in r.err


def test_two_plugins_proposing_one_name(planned: Path) -> None:
    class A:
        @hookimpl
        def gitpar_propose_streams(self):  # type: ignore[no-untyped-def]
            return [Proposal("core", owns=("a/**",))]

    class B:
        @hookimpl
        def gitpar_propose_streams(self):  # type: ignore[no-untyped-def]
            return [Proposal("core", owns=("b/**",))]

    with plugin_registered(A(), "a"), plugin_registered(B(), "b"):
        with pytest.raises(manager.PluginError, match="both propose a stream named 'core'"):
            manager.propose_streams(planned, [])


# -- installed and repository plugins --------------------------------------------------------------


def fake_install(site: Path, dist: str, module: str, code: str) -> None:
    """What pip leaves for a plugin: the module and a dist-info with the entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(code))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[console_scripts]\nx = y:z\n\n[gitpar]\n{dist} = {module}\n")


def test_installed_plugins_are_found_by_entry_point(planned: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    fake_install(site, "gitpar-hello", "gitpar_hello", """
        from gitpar.plugins import hookimpl

        @hookimpl
        def gitpar_register_commands(app):
            @app.command()
            def hello():
                print("hello from an installed plugin")
    """)
    assert manager.find_entry_points(path=[str(site)]) == [
        manager.EntryPoint("gitpar-hello", "gitpar_hello", "gitpar_hello", "1.2.3")]
    env = {"PYTHONPATH": str(site)}
    r = gitpar(planned, "plugins", "--json", env=env)
    hello = next(p for p in json.loads(r.out)["plugins"] if p["name"] == "gitpar-hello")
    assert hello["source"] == "installed" and hello["version"] == "1.2.3"
    assert hello["hooks"] == ["gitpar_register_commands"]
    r = gitpar(planned, "plugins", "--json", env={**env, "GITPAR_DISABLED_PLUGINS": "gitpar-hello"})
    assert next(p for p in json.loads(r.out)["plugins"] if p["name"] == "gitpar-hello")["blocked"]


def test_a_plugin_that_fails_to_import_is_named(planned: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    fake_install(site, "gitpar-broken", "gitpar_broken", "import no_such_module_here\n")
    r = gitpar(planned, "plugins", env={"PYTHONPATH": str(site)})
    assert r.code == 2, r
    assert "plugin 'gitpar-broken' failed to load: ModuleNotFoundError" in r.err
    assert "GITPAR_DISABLED_PLUGINS=gitpar-broken" in r.err and "Traceback" not in r.err
    r = gitpar(planned, "plugins", env={"PYTHONPATH": str(site), "GITPAR_DISABLED_PLUGINS": "gitpar-broken"})
    assert r.code == 0, r


REPO_PLUGIN = """
from gitpar.plugins import hookimpl

@hookimpl
def gitpar_estimate(stream):
    return 7
"""


def commit_all(r: Path, message: str = "plugins") -> None:
    git(r, "add", "-A")
    git(r, "commit", "-q", "--no-verify", "-m", message)


def test_repository_plugins_load_only_when_the_plan_opts_in(planned: Path, run) -> None:
    (planned / ".gitpar/plugins").mkdir()
    (planned / ".gitpar/plugins/team.py").write_text(REPO_PLUGIN)
    commit_all(planned)
    names = [p["name"] for p in json.loads(run(planned, "plugins", "--json").out)["plugins"]]
    assert ".gitpar/plugins/team.py" not in names
    set_plugins(planned, "load: [.gitpar/plugins/team.py]")
    manager.reset()
    names = [p["name"] for p in json.loads(run(planned, "plugins", "--json").out)["plugins"]]
    assert ".gitpar/plugins/team.py" not in names  # opted in on disk only: the base has not
    commit_all(planned)
    manager.reset()
    listed = json.loads(run(planned, "plugins", "--json").out)["plugins"]
    team = next(p for p in listed if p["name"] == ".gitpar/plugins/team.py")
    assert team["source"] == "repository" and team["hooks"] == ["gitpar_estimate"]
    plan = plan_of(planned)
    assert manager.estimate(plan.streams["api"], plan, []).seconds == 7  # type: ignore[union-attr]


def test_repository_plugins_are_per_repository(planned: Path, tmp_path: Path, run,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from gitpar.core.repo import open_repo

    (planned / ".gitpar/plugins").mkdir()
    (planned / ".gitpar/plugins/team.py").write_text(REPO_PLUGIN)
    set_plugins(planned, "load: [.gitpar/plugins/team.py]")
    commit_all(planned)
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    assert run(other, "init", "--no-hooks").code == 0
    monkeypatch.chdir(planned)
    assert manager.implementers("gitpar_estimate") == [".gitpar/plugins/team.py"]
    monkeypatch.chdir(other)
    assert manager.implementers("gitpar_estimate") == []
    assert manager.implementers("gitpar_estimate", repo=open_repo(planned)) == [".gitpar/plugins/team.py"]


@pytest.mark.parametrize("entry,needle", [("../evil.py", "is outside the repository"),
                                          (".gitpar/plugins/missing.py", "does not exist")])
def test_bad_repository_plugin_paths(planned: Path, run, entry: str, needle: str) -> None:
    set_plugins(planned, f"load: [{entry}]")
    commit_all(planned)
    r = run(planned, "plugins")
    assert r.code == 2 and "plugins.load" in r.err and needle in r.err


def test_repository_plugin_code_is_read_from_the_base_not_the_working_tree(
        planned: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(planned)
    (planned / ".gitpar/plugins").mkdir()
    (planned / ".gitpar/plugins/team.py").write_text(REPO_PLUGIN)
    set_plugins(planned, "load: [.gitpar/plugins/team.py]")
    commit_all(planned)
    # an edit on disk (or on a branch being judged) is not what runs: the committed code is
    (planned / ".gitpar/plugins/team.py").write_text(REPO_PLUGIN.replace("return 7", "return 9"))
    manager.reset()
    plan = plan_of(planned)
    assert manager.estimate(plan.streams["api"], plan, []).seconds == 7  # type: ignore[union-attr]
    commit_all(planned, "plugin edit")
    manager.reset()
    assert manager.estimate(plan.streams["api"], plan, []).seconds == 9  # type: ignore[union-attr]


# -- the reference ------------------------------------------------------------------------------


def hookspec_names() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items() if n.startswith("gitpar_") and callable(f))


def test_every_hook_has_a_docstring_with_its_parameters() -> None:
    for name in hookspec_names():
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert doc, name
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"{name} does not document {param}"
        firstresult = fn.gitpar_spec["firstresult"]
        assert ("``firstresult``" in doc) == firstresult, f"{name}: say whether one answer wins"


def test_every_hook_is_in_the_reference() -> None:
    docs = (ROOT / "docs/plugins.md").read_text()
    documented = set(re.findall(r"^### `(gitpar_\w+)", docs, re.M))
    assert documented == set(hookspec_names())
    for name in hookspec_names():
        params = inspect.signature(getattr(hookspecs, name)).parameters
        section = docs.split(f"### `{name}")[1].split("\n### ")[0]
        for param in params:
            assert f"`{param}`" in section, f"docs/plugins.md: {name} does not mention {param}"


def test_builtins_are_typed_like_the_specs() -> None:
    """A built-in answering with a type the guard refuses would fail every command: each
    built-in hook takes only the spec's arguments and returns only types the spec allows, and the strategy lists hold the specs' classes."""
    import importlib
    import inspect

    from gitpar.plugins.builtin import DEFAULT_PLUGINS

    assert [name for _, name in DEFAULT_PLUGINS] == BUILTINS
    checked = 0
    for module, _name in DEFAULT_PLUGINS:
        for hook, impl in vars(importlib.import_module(module)).items():
            if not hook.startswith("gitpar_") or not callable(impl):
                continue
            spec = getattr(hookspecs, hook)
            assert set(inspect.signature(impl).parameters) <= set(inspect.signature(spec).parameters), hook
            def members(annotation: str) -> set[str]:
                return {m.strip() for m in annotation.split(" | ")}
            # each type the built-in may return is one the spec allows
            assert members(impl.__annotations__["return"]) <= members(spec.__annotations__["return"]), hook
            checked += 1
    assert checked == 4
    from gitpar.plugins.strategies import conflict_strategies, lock_strategies

    for strategies, method in ((lock_strategies(), "decide"), (conflict_strategies(), "resolve")):
        assert strategies
        for name, (_plugin, strategy) in strategies.items():
            assert strategy.name == name and isinstance(strategy.description, str) and strategy.description
            assert callable(getattr(strategy, method)), name


class Listener:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, str | None]] = []

    @hookimpl
    def gitpar_event(self, event):  # type: ignore[no-untyped-def]
        self.seen.append((event.kind, event.stream, event.path))


def test_events_reach_a_plugin(planned: Path, run) -> None:
    listener = Listener()
    with plugin_registered(listener, "listener"):
        assert run(planned, "start", "api").code == 0
        assert run(planned, "lock", "src/config.py", "--stream", "api").code == 0
        assert run(planned, "unlock", "src/config.py", "--stream", "api").code == 0
        assert run(planned, "lock", "src/config.py", "--stream", "api").code == 0
        assert run(planned, "unlock", "src/config.py", "--stream", "ui", "--force").code == 0
        assert run(planned, "progress", "--stream", "api", "--blocked", "waiting").code == 0
        assert run(planned, "finish", "api").code == 0
    assert listener.seen == [
        ("stream.started", "api", None),
        ("lock.taken", "api", "src/config.py"),
        ("lock.released", "api", "src/config.py"),
        ("lock.taken", "api", "src/config.py"),
        ("lock.broken", "ui", "src/config.py"),
        ("stream.blocked", "api", None),
        ("stream.finished", "api", None),
    ]
