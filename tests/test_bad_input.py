"""A catalogue of bad input, across every command and every file gitpar reads.

Each case plants its bad input (a file in the plan, a file on the state branch, or just
options), runs one command in-process, and asserts: the exit code (2 for bad input, 1 for a
refusal), a message naming the file or option and the fix, no traceback, and nothing
changed (every ref including gitpar/_state, the worktree list, the working trees).

Speed: one template repository is built per module (plan committed, stream ``api``
started) and copied per case with shutil.copytree; ``git worktree repair`` re-links the
copied worktree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hostile import plant_state_file

from gitpar.core.markdown import MAX_FILE_BYTES
from gitpar.testing import hermetic, make_repo, run


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


RANDOM = bytes((i * 7919 + 13) % 256 for i in range(2048))
OVERSIZE = "x" * (MAX_FILE_BYTES + 10)


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    needles: list[str]  # the file or option the message must name
    where: str = "main"  # main | api (the worktree the command runs in)
    files: dict[str, str | bytes] = field(default_factory=dict)  # worktree files to write
    state: dict[str, str | bytes] = field(default_factory=dict)  # state-branch files to plant
    symlinks: dict[str, str] = field(default_factory=dict)
    fix: str = "fix:"  # what says how to fix it
    commit: bool = False  # commit the written files to main (a committed plan) first


PLAN = ".gitpar/plan.md"
API = ".gitpar/streams/api.md"
PLAN_HEAD = "---\nbase: main\nworktrees: ../{repo}.gitpar/{stream}\n"
STREAM_HEAD = '---\nowns: ["src/api/**"]\nshares: ["src/config.py"]\n'

# (id, plan.md frontmatter lines after the defaults or a whole text, the field named)
PLAN_BAD: list[tuple[str, str | bytes, str]] = [
    ("yaml", PLAN_HEAD + "lock_ttl: [2h\n---\n", PLAN),
    ("alias", PLAN_HEAD + "lock_ttl: &t 2h\nstale_after: *t\n---\n", "anchor"),
    ("alias-bomb", PLAN_HEAD + alias_bomb() + "---\n", "anchor"),
    ("oversize", PLAN_HEAD + "---\n" + OVERSIZE, "larger than"),
    ("random-bytes", RANDOM, PLAN),
    ("base-dotdot", "---\nbase: ../x\n---\n", "base"),
    ("base-dash", "---\nbase: -x\n---\n", "base"),
    ("base-list", "---\nbase: [main]\n---\n", "base"),
    ("worktrees-no-stream", "---\nbase: main\nworktrees: ../wt\n---\n", "worktrees"),
    ("unowned", PLAN_HEAD + "unowned: maybe\n---\n", "unowned"),
    ("other-branches", PLAN_HEAD + "other_branches: bogus\n---\n", "other_branches"),
    ("other-branches-list", PLAN_HEAD + "other_branches: [strict]\n---\n", "other_branches"),
    ("other-branches-bool", PLAN_HEAD + "other_branches: true\n---\n", "other_branches"),
    ("port-low", PLAN_HEAD + "port_base: 80\n---\n", "port_base"),
    ("port-text", PLAN_HEAD + "port_base: many\n---\n", "port_base"),
    ("lock-ttl-word", PLAN_HEAD + "lock_ttl: forever\n---\n", "lock_ttl"),
    ("lock-ttl-huge", PLAN_HEAD + "lock_ttl: 999999999d\n---\n", "lock_ttl"),
    ("stale-after-negative", PLAN_HEAD + "stale_after: -1h\n---\n", "stale_after"),
    ("setup-number", PLAN_HEAD + "setup: 5\n---\n", "setup"),
    ("copy-outside", PLAN_HEAD + "copy: [../secret]\n---\n", "copy"),
    ("copy-absolute", PLAN_HEAD + "copy: [/etc/passwd]\n---\n", "copy"),
    ("remote-number", PLAN_HEAD + "remote: 5\n---\n", "remote"),
    ("not-a-mapping", "---\n- base\n- main\n---\n", "mapping"),
    ("python-tag", PLAN_HEAD + "x: !!python/object/apply:os.system [id]\n---\n", PLAN),
]
PLAN_COMMANDS = [["plan"], ["status"], ["stream", "list"]]

STREAM_BAD: list[tuple[str, str | bytes, str]] = [
    ("yaml", STREAM_HEAD + "depends_on: [x\n---\n", API),
    ("alias-bomb", STREAM_HEAD + alias_bomb() + "---\n", "anchor"),
    ("alias", '---\nowns: &o ["src/api/**"]\nshares: *o\n---\n', "anchor"),
    ("oversize", STREAM_HEAD + "---\n" + OVERSIZE, "larger than"),
    ("random-bytes", RANDOM, API),
    ("not-a-mapping", '---\n- "src/api/**"\n---\n', "mapping"),
    ("owns-number", "---\nowns: 5\n---\n", "owns"),
    ("owns-dotdot", '---\nowns: ["../x/**"]\n---\n', "owns"),
    ("owns-negation", '---\nowns: ["!src/**"]\n---\n', "owns"),
    ("owns-backslash", '---\nowns: ["src\\\\api"]\n---\n', "owns"),
    ("owns-empty", '---\nowns: [""]\n---\n', "owns"),
    ("owns-double-slash", '---\nowns: ["src//api"]\n---\n', "owns"),
    ("owns-triple-star", '---\nowns: ["src/***"]\n---\n', "owns"),
    ("owns-drive", '---\nowns: ["C:/src"]\n---\n', "owns"),
    ("shares-comment", '---\nowns: ["src/api/**"]\nshares: ["#x"]\n---\n', "shares"),
    ("unknown-dependency", STREAM_HEAD + "depends_on: [nosuch]\n---\n", "nosuch"),
    ("self-cycle", STREAM_HEAD + "depends_on: [api]\n---\n", "api"),
    ("cycle", STREAM_HEAD + "depends_on: [ui]\n---\n", "cycle"),
    ("priority-word", STREAM_HEAD + "priority: high\n---\n", "priority"),
    ("estimate-word", STREAM_HEAD + "estimate: forever\n---\n", "estimate"),
    ("estimate-huge", STREAM_HEAD + "estimate: 999999999d\n---\n", "estimate"),
    ("overlap", '---\nowns: ["src/api/**", "docs/**"]\n---\n', "docs/x.md"),
]
ONLY_PLAN = {"overlap"}  # 'stream show' shows one stream; the plan as a whole is judged by 'plan'
STREAM_COMMANDS = [["plan"], ["stream", "show", "api"]]

PROGRESS = "progress/api.md"
PROGRESS_BAD: list[tuple[str, str | bytes, str]] = [
    ("random-bytes", RANDOM, PROGRESS),
    ("yaml", "---\nstatus: [x\n---\n", PROGRESS),
    ("alias", "---\nstream: api\nstatus: &s in_progress\nagent: *s\n---\n", "anchor"),
    ("alias-bomb", "---\nstream: api\n" + alias_bomb() + "---\n", "anchor"),
    ("oversize", "---\nstream: api\n---\n" + OVERSIZE, "larger than"),
    ("status", "---\nstream: api\nstatus: dancing\n---\n", "status"),
    ("completion", "---\nstream: api\ncompletion: 500\n---\n", "completion"),
    ("no-frontmatter", "just text\n", PROGRESS),
]
PROGRESS_COMMANDS: list[tuple[list[str], str]] = [
    (["progress", "--completion", "5"], "api"), (["finish"], "api"), (["plan"], "main")]

LOCK = "locks/src/config.py.lock"
LOCK_OK = ("---\npath: src/config.py\nstream: ui\nagent: \"\"\nacquired: 2026-01-01T00:00:00Z\n"
           "expires: 2999-01-01T00:00:00Z\n---\n")
LOCK_BAD: list[tuple[str, str | bytes]] = [
    ("random-bytes", RANDOM),
    ("yaml", "---\nstream: [ui\n---\n"),
    ("missing-fields", "---\nreason: r\n---\n"),
    ("expires-never", LOCK_OK.replace("2999-01-01T00:00:00Z", "never")),
    ("alias", LOCK_OK.replace("stream: ui", "stream: &s ui\nagent2: *s")),
    ("oversize", LOCK_OK + OVERSIZE),
    ("empty", ""),
]

HISTORY = "history/api.md"
HISTORY_BAD: list[tuple[str, str | bytes, str]] = [
    ("yaml", "---\nruns: [x\n---\n", HISTORY),
    ("alias", "---\na: &x 1\nb: *x\n---\n", "anchor"),
    ("oversize", "---\na: 1\n---\n" + OVERSIZE, "larger than"),
]

USAGE = "Try 'gitpar"
OPTION_CASES: list[Case] = [
    # unknown streams
    Case("start-unknown", ["start", "nosuch"], 2, ["nosuch"]),
    Case("show-unknown", ["stream", "show", "nosuch"], 2, ["nosuch"]),
    Case("rm-unknown", ["stream", "rm", "nosuch"], 2, ["nosuch"]),
    Case("progress-unknown", ["progress", "--stream", "nosuch", "--completion", "1"], 2, ["nosuch"]),
    Case("finish-unknown", ["finish", "nosuch"], 2, ["nosuch"]),
    Case("brief-unknown", ["brief", "nosuch"], 2, ["nosuch"]),
    Case("sync-unknown", ["sync", "nosuch"], 2, ["nosuch"]),
    Case("integrate-unknown", ["integrate", "--streams", "nosuch"], 2, ["nosuch"]),
    Case("lock-unknown-stream", ["lock", "src/config.py", "--stream", "nosuch"], 2, ["nosuch"]),
    Case("remove-no-worktree", ["remove", "ui"], 2, ["ui"], fix="worktree"),
    Case("remove-ghost", ["remove", "ghost"], 2, ["ghost"], fix="worktree"),
    # invalid names
    Case("name-space", ["stream", "add", "Bad Name", "--owns", "x/**"], 2, ["stream name"]),
    Case("name-dotdot", ["stream", "add", "a..b", "--owns", "x/**"], 2, ["stream name"]),
    Case("name-slash", ["stream", "add", "a/b", "--owns", "x/**"], 2, ["stream name"]),
    Case("name-underscore", ["stream", "add", "_state", "--owns", "x/**"], 2, ["stream name"]),
    Case("name-long", ["stream", "add", "x" * 300, "--owns", "x/**"], 2, ["stream name"]),
    Case("name-lock", ["stream", "add", "x.lock", "--owns", "x/**"], 2, ["stream name"]),
    Case("name-exists", ["stream", "add", "api", "--owns", "x/**"], 2, [API]),
    Case("start-bad-name", ["start", "../x"], 2, ["stream name"]),
    # invalid patterns
    *[Case(f"pattern-{i}", ["stream", "add", "new", "--owns", p], 2, ["owns"])
      for i, p in enumerate(["../**", "!src/**", "", "src//api", "src\\api", "C:\\x", "a/***",
                             "#x", " x", "x\ny", "/", "./src"])],
    Case("pattern-shares", ["stream", "add", "new", "--owns", "n/**", "--shares", "!x"], 2, ["shares"]),
    Case("add-overlap", ["stream", "add", "new", "--owns", "src/**"], 2, ["src/api/a.py"]),
    Case("add-unknown-dep", ["stream", "add", "new", "--owns", "n/**", "--depends-on", "nosuch"], 2,
         ["nosuch"]),
    Case("add-estimate-word", ["stream", "add", "new", "--owns", "n/**", "--estimate", "soon"], 2,
         ["estimate"]),
    Case("add-estimate-huge", ["stream", "add", "new", "--owns", "n/**", "--estimate", "999999999d"], 2,
         ["estimate"]),
    Case("add-priority-word", ["stream", "add", "new", "--owns", "n/**", "--priority", "high"], 2,
         ["--priority"], fix=USAGE),
    # progress options
    *[Case(f"completion-{v}", ["progress", "--completion", v], 2, ["--completion"], where="api")
      for v in ["101", "-1", "abc", "nan", "inf", "12.5.1"]],
    Case("status-bogus", ["progress", "--status", "dancing"], 2, ["--status"], where="api"),
    Case("clear-bogus", ["progress", "--clear", "everything"], 2, ["--clear"], where="api"),
    *[Case(f"text-long{opt}", ["progress", opt, "x" * 5000], 2, [opt], where="api")
      for opt in ["--done", "--current", "--blocked", "--next", "--need", "--agent"]],
    Case("progress-outside", ["progress", "--completion", "5"], 2, ["--stream"]),
    # lock options and paths
    *[Case(f"wait-{v}", ["lock", "src/config.py", "--wait", v], 2, ["--wait"], where="api",
           fix=USAGE if v == "abc" else "fix:") for v in ["nan", "-1", "inf", "abc", "-inf"]],
    *[Case(f"ttl-{v}", ["lock", "src/config.py", "--ttl", v], 2, ["--ttl"], where="api")
      for v in ["forever", "999999999d", "0s", "-1h", "nan", "1e9s"]],
    Case("lock-plan", ["lock", PLAN], 2, ["plan"], where="api"),
    Case("lock-stream-file", ["lock", API], 2, ["plan"], where="api"),
    Case("lock-outside", ["lock", "../outside.txt"], 2, ["outside"], where="api"),
    Case("lock-absolute", ["lock", "/etc/passwd"], 2, ["outside"], where="api"),
    Case("lock-empty", ["lock", ""], 2, ["path"], where="api"),
    Case("lock-dotgit", ["lock", ".git/config"], 2, [".git"], where="api"),
    Case("lock-symlink-dir", ["lock", "linked/config.py"], 2, ["symlinked"], where="api",
         symlinks={"linked": "src"}),
    Case("lock-symlink-out", ["lock", "out/x.txt"], 2, ["symlinked"], where="api",
         symlinks={"out": ".."}),  # a folder outside the worktree
    Case("lock-reason-long", ["lock", "src/config.py", "--reason", "r" * 5000], 2, ["--reason"], where="api"),
    Case("lock-owned-by-other", ["lock", "src/ui/b.py"], 1, ["src/ui/b.py"], where="api", fix="shares"),
    Case("lock-outside-worktree", ["lock", "src/config.py"], 2, ["--stream"]),
    Case("unlock-outside", ["unlock", "../x"], 2, ["outside"], where="api"),
    Case("unlock-others", ["unlock", "src/config.py"], 2, ["ui"], where="api",
         state={LOCK: LOCK_OK}),
    Case("who-outside", ["who", "../x"], 2, ["outside"]),
    # status, plan, graph, run, check options
    *[Case(f"watch-{v}", ["status", "--watch", v], 2, ["--watch"], fix=USAGE if v == "abc" else "fix:")
      for v in ["-1", "nan", "0", "inf", "abc", "100000"]],
    Case("dirty-bogus", ["status", "--dirty", "some"], 2, ["--dirty"]),
    *[Case(f"workers-{v}", ["plan", "--workers", v], 2, ["--workers"]) for v in ["0", "-1", "abc", "1.5"]],
    Case("graph-format", ["graph", "--format", "png"], 2, ["--format"]),
    Case("run-jobs-0", ["run", "-j", "0"], 2, ["-j"]),
    Case("run-timeout-nan", ["run", "--timeout", "nan"], 2, ["--timeout"]),
    Case("check-base-unknown", ["check", "--base", "nosuch"], 2, ["nosuch"]),
    Case("check-range-unknown", ["check", "--range", "a..b"], 2, ["'a'"]),
    Case("unknown-option", ["status", "--bogus"], 2, ["--bogus"], fix=USAGE),
    Case("unknown-command", ["bogus"], 2, ["bogus"], fix=USAGE),
]


def _all_cases() -> list[Case]:
    cases: list[Case] = []
    for kid, text, needle in PLAN_BAD:
        for args in PLAN_COMMANDS:
            cases.append(Case(f"plan.md-{kid}-{'-'.join(args)}", args, 2, [needle], files={PLAN: text}))
    for kid, text, needle in STREAM_BAD:
        for args in STREAM_COMMANDS[:1] if kid in ONLY_PLAN else STREAM_COMMANDS:
            cases.append(Case(f"api.md-{kid}-{'-'.join(args)}", args, 2, [needle], files={API: text}))
    for kid, text, needle in PROGRESS_BAD:
        for args, where in PROGRESS_COMMANDS:
            cases.append(Case(f"progress-{kid}-{args[0]}", args, 2, [needle], where=where,
                              state={PROGRESS: text}))
    for kid, text in LOCK_BAD:
        # fail closed: held by whoever it names, never free
        cases.append(Case(f"lock-file-{kid}", ["lock", "src/config.py"], 1, ["src/config.py"],
                          where="api", state={LOCK: text}, fix="unlock --force"))
    for kid, text, needle in HISTORY_BAD:
        cases.append(Case(f"history-{kid}", ["plan"], 2, [needle], state={HISTORY: text}))
    cases.extend(OPTION_CASES)
    cases.extend(LOCKPROOF_CASES)
    return cases


# the lock proof (issue 26): identity is the branch for writes, a bounded TTL, a trusted base
NO_BASE = "---\nbase: nosuch\nworktrees: ../{repo}.gitpar/{stream}\n---\n"
STREAM_BASE = "---\nbase: gitpar/api\nworktrees: ../{repo}.gitpar/{stream}\n---\n"
LOCKPROOF_CASES: list[Case] = [
    Case("identity-lock", ["lock", "src/config.py", "--stream", "ui"], 2, ["--stream", "stream api's worktree"],
         where="api"),
    Case("identity-unlock", ["unlock", "src/config.py", "--stream", "ui"], 2, ["--stream", "api"], where="api"),
    Case("identity-progress", ["progress", "--stream", "ui", "--completion", "9"], 2, ["--stream", "api"],
         where="api"),
    Case("identity-finish", ["finish", "ui"], 2, ["--stream", "api"], where="api"),
    Case("ttl-too-long", ["lock", "src/config.py", "--ttl", "31d"], 2, ["--ttl", "30 days"], where="api"),
    Case("plan-lock-ttl-too-long", ["lock", "src/config.py"], 2, ["lock_ttl"], where="api",
         files={PLAN: "---\nbase: main\nworktrees: ../{repo}.gitpar/{stream}\nlock_ttl: 60d\n---\n"},
         commit=True),
    *[Case(f"base-nosuch-{'-'.join(args)}", args, 2, [PLAN, "nosuch"], where=where, files={PLAN: NO_BASE},
           commit=True)
      for args, where in ((["status"], "main"), (["plan"], "main"), (["who", "src/config.py"], "main"),
                          (["lock", "src/config.py"], "api"), (["progress", "--completion", "5"], "api"))],
    Case("base-stream-branch-status", ["status"], 2, [PLAN, "gitpar/api"], files={PLAN: STREAM_BASE},
         commit=True),
]


CASES = _all_cases()


def test_catalogue_is_big_enough() -> None:
    assert len(CASES) >= 140, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)


# -- the template and its copies -------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    top = tmp_path_factory.mktemp("template")
    with hermetic(top / "home"):
        repo = make_repo(top / "t" / "repo", streams={
            "api": {"owns": "src/api/**", "shares": "src/config.py"},
            "ui": {"owns": "src/ui/**", "shares": "src/config.py", "depends_on": "api"},
            "docs": {"owns": "docs/**"},
        })
        res = run(repo, "start", "api")
        assert res.code == 0, res
    yield top / "t"


@pytest.fixture
def copy(template: Path, tmp_path: Path) -> Callable[[], tuple[Path, Path]]:
    def make() -> tuple[Path, Path]:
        dest = tmp_path / "t"
        shutil.copytree(template, dest, symlinks=True)
        repo, api = dest / "repo", dest / "repo.gitpar" / "api"
        # re-link the copied worktree both ways (what 'git worktree repair' does, minus its
        # habit of following the copied link back to the template)
        admin = repo / ".git" / "worktrees" / "api"
        (api / ".git").write_text(f"gitdir: {admin}\n")
        (admin / "gitdir").write_text(f"{api / '.git'}\n")
        (admin / "commondir").write_text(f"{repo / '.git'}\n")
        common = _git(api, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
        assert Path(common) == repo / ".git", common  # the copy never touches the template
        return repo, api

    return make


def fingerprint(repo: Path, api: Path) -> tuple[str, ...]:
    return (_git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
            _git(repo, "worktree", "list", "--porcelain"),
            _git(repo, "status", "--porcelain", "--untracked-files=all"),
            _git(api, "status", "--porcelain", "--untracked-files=all"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, copy: Callable[[], tuple[Path, Path]]) -> None:
    repo, api = copy()
    for rel, text in case.files.items():
        target = repo / rel
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
    if case.commit:
        _git(repo, "commit", "-qam", "plan change", "--no-verify")
    for rel, text in case.state.items():
        plant_state_file(repo, rel, text)
    cwd = api if case.where == "api" else repo
    for name, target in case.symlinks.items():
        os.symlink(target, cwd / name)
    before = fingerprint(repo, api)
    res = run(cwd, *case.args)
    assert res.code == case.code, res
    assert "Traceback" not in res.text, res
    for needle in case.needles:
        assert needle in res.err, (needle, res)
    assert case.fix in res.err, res
    assert fingerprint(repo, api) == before, "the command changed something"


def test_exit_2_for_what_is_bad_input_not_a_refusal(tmp_path: Path) -> None:
    """remove of a stream with no worktree, init in a bare repository, a lock without a state
    branch and integrate --continue with nothing stopped: exit 2 with the fix, nothing changed."""
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    res = run(bare, "init")
    assert res.code == 2 and "bare repository" in res.err and "fix:" in res.err, res
    assert not (bare / ".gitpar").exists()
    r = make_repo(tmp_path / "r", streams={"api": {"owns": ["src/api/**"], "shares": ["src/config.py"]}})
    for args, needle in ((["remove", "ghost"], "ghost"), (["integrate", "--continue"], "--continue")):
        res = run(r, *args)
        assert res.code == 2 and needle in res.err and "fix:" in res.err and "Traceback" not in res.err, res
    subprocess.run(["git", "branch", "-q", "-D", "gitpar/_state"], cwd=r, check=True)
    res = run(r, "lock", "src/config.py", "--stream", "api")
    assert res.code == 2 and "gitpar/_state" in res.err and "gitpar init" in res.err, res
    assert subprocess.run(["git", "rev-parse", "-q", "--verify", "gitpar/_state"], cwd=r).returncode != 0
