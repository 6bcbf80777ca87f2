"""What the benchmarks share: the gitpar command, its environment, and one way to time.

Every row of a benchmark measures gitpar and its anchor the same way: the contenders run
in turn, A B A B ..., in one loop (so a machine that slows down slows both), after one
warm-up round, and each is quoted by the median of its rounds. :func:`alternate` is that
loop; :func:`process` and :func:`call` make its contenders; :class:`Figures` holds what it
measured. Fixtures that take long to make (100,000 state commits) are kept between runs
by :func:`fixture`, keyed by their parameters.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Bump when what a fixture holds changes, so that old kept fixtures are made again.
FIXTURE_VERSION = 1

#: The hook's rules cache, in the common git directory (gitpar/hookentry.py).
HOOK_CACHE = "gitpar/cache/hook-rules.marshal"

#: A contender runs once and returns its wall-clock seconds, or (wall, CPU) seconds when it
#: can tell the CPU time too (a loaded machine stretches wall time more than CPU time).
Contender = Callable[[], "float | tuple[float, float]"]


def gitpar_command() -> list[str]:
    """The installed ``gitpar`` script beside this interpreter, else ``python -m gitpar``."""
    exe = Path(sys.executable).with_name("gitpar")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gitpar"]


def bench_env() -> dict[str, str]:
    """This environment with a fixed git identity and no colour, and gitpar as installed.

    ``pip install .`` compiles gitpar's bytecode; an editable checkout compiles it on first
    use, unless ``PYTHONDONTWRITEBYTECODE`` forbids it, when every process compiles each
    module it imports again (about 90 of them for a command: more than the command does).
    The anchors' libraries come compiled, so gitpar is measured compiled too: the variable
    is dropped, and the warm-up round writes the bytecode.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return dict(env, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
                GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com", NO_COLOR="1")


def run(cmd: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, *,
        ok: tuple[int, ...] = (0,), stdin: str | None = None) -> str:
    """Run ``cmd`` untimed (set-up work); its stdout. Stops the benchmark when it fails."""
    proc = subprocess.run(list(cmd), cwd=cwd, env=None if env is None else dict(env), input=stdin,
                          capture_output=True, text=True)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd} ({proc.returncode}): {proc.stderr[-800:]}")
    return proc.stdout


def process(cmd: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, *,
            before: Callable[[], None] | None = None, ok: tuple[int, ...] = (0,)) -> Contender:
    """A contender timing ``cmd`` as a whole process (wall time, and the CPU time of it and
    the processes it waited for); ``before`` runs first, untimed."""
    def timed() -> tuple[float, float]:
        if before is not None:
            before()
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(list(cmd), cwd=cwd, env=None if env is None else dict(env),
                                    stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode not in ok:
                err.seek(0)
                tail = err.read().decode(errors="replace")[-800:]
                raise SystemExit(f"{' '.join(cmd)} failed in {cwd} ({proc.returncode}): {tail}")
        return elapsed, usage.ru_utime + usage.ru_stime
    return timed


def call(work: Callable[[], object], *, before: Callable[[], None] | None = None) -> Contender:
    """A contender timing ``work()`` in this process (wall time, and the CPU time of this
    process and of the processes it ran and waited for); ``before`` runs first, untimed."""
    def timed() -> tuple[float, float]:
        if before is not None:
            before()
        t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
        work()
        return time.perf_counter() - t0, time.process_time() - c0 + _children_cpu() - k0
    return timed


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def both(first: Contender, second: Contender) -> Contender:
    """A contender running ``first`` then ``second``, their times added."""
    def timed() -> tuple[float, float] | float:
        a, b = first(), second()
        if isinstance(a, tuple) and isinstance(b, tuple):
            return a[0] + b[0], a[1] + b[1]
        return (a[0] if isinstance(a, tuple) else a) + (b[0] if isinstance(b, tuple) else b)
    return timed


@dataclass
class Figures:
    """Seconds per round of each contender, in the order they ran."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def ms(self, name: str, digits: int = 1) -> float:
        return round(self.median(name) * 1000, digits)

    def ratio(self, name: str, anchor: str) -> float:
        """The median of ``name`` over the median of ``anchor``."""
        return self.median(name) / self.median(anchor)

    def spread(self, name: str) -> tuple[float, float]:
        """The fastest and slowest round of ``name``, in ms (a wide range: a noisy machine)."""
        return min(self.samples[name]) * 1000, max(self.samples[name]) * 1000

    def cpu_ratio(self, name: str, anchor: str) -> float | None:
        """The median CPU time of ``name`` over that of ``anchor``, when both are known."""
        a, b = self.cpu.get(name), self.cpu.get(anchor)
        if not a or not b or statistics.median(b) <= 0:
            return None
        return statistics.median(a) / statistics.median(b)

    def row(self, name: str, anchor: str) -> dict[str, float]:
        """``name`` against ``anchor``: both medians in ms and their ratio (and the ratio of
        their CPU times, when known), for the JSON line."""
        out = {"ms": self.ms(name, 2), "anchor_ms": self.ms(anchor, 2), "ratio": round(self.ratio(name, anchor), 2)}
        cpu = self.cpu_ratio(name, anchor)
        if cpu is not None:
            out["cpu_ms"] = round(statistics.median(self.cpu[name]) * 1000, 2)
            out["cpu_ratio"] = round(cpu, 2)
        return out


def alternate(contenders: Mapping[str, Contender], runs: int, *, warmup: int = 1,
              only: Mapping[str, int] | None = None) -> Figures:
    """Run the contenders in turn, ``warmup`` uncounted rounds then ``runs`` counted ones.

    ``only`` limits a slow contender to its first few counted rounds (it still runs in the
    same loop as the others, and is still quoted by its median).
    """
    figures = Figures({name: [] for name in contenders})
    for r in range(warmup + runs):
        for name, contender in contenders.items():
            counted = r - warmup
            if counted >= 0 and only is not None and counted >= only.get(name, runs):
                continue
            if counted < 0 and only is not None and only.get(name, runs) < runs:
                continue  # a contender too slow to repeat is not warmed up either
            got = contender()
            if counted >= 0:
                figures.samples[name].append(got[0] if isinstance(got, tuple) else got)
                if isinstance(got, tuple):
                    figures.cpu.setdefault(name, []).append(got[1])
    return figures


def describe(figures: Figures, name: str, anchor: str, label: str, anchor_label: str) -> str:
    """One printed line: gitpar's median, the anchor's, the ratio and the number of rounds."""
    lo, hi = figures.spread(name)
    cpu = figures.cpu_ratio(name, anchor)
    return (f"{label}: {figures.ms(name)} ms (range {lo:.0f}-{hi:.0f}) vs {anchor_label}: "
            f"{figures.ms(anchor)} ms -> {figures.ratio(name, anchor):.2f}x"
            + (f", CPU time {cpu:.2f}x" if cpu is not None else "")
            + f" (median of {len(figures.samples[name])} / {len(figures.samples[anchor])}, alternated)")


def verdict(name: str, value: float, limit: float, unit: str = "x", *, at_most: bool = True) -> bool:
    """Print ``PASS``/``FAIL`` for one goal; whether it holds."""
    good = value <= limit if at_most else value >= limit
    sign = "<=" if at_most else ">="
    print(f"{'PASS' if good else 'FAIL'}  {name}: {value:.2f}{unit} (goal {sign} {limit:g}{unit})")
    return good


def emit(record: Mapping[str, Any]) -> None:
    """The benchmark's one JSON line."""
    print(json.dumps(record, sort_keys=False))


def common_dir(repo: Path) -> Path:
    """The common git directory of ``repo`` (a worktree's main repository's ``.git``)."""
    out = run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], repo)
    return Path(out.strip())


def drop_hook_cache(repo: Path) -> Callable[[], None]:
    """A ``before`` that deletes the hook's rules cache: the next commit takes the cold path."""
    path = common_dir(repo) / HOOK_CACHE
    return lambda: path.unlink(missing_ok=True)


def drop_caches(repo: Path) -> Callable[[], None]:
    """A ``before`` that deletes every gitpar cache of ``repo`` (a first command's state)."""
    folder = common_dir(repo) / "gitpar" / "cache"
    return lambda: shutil.rmtree(folder, ignore_errors=True)


def fixture(key: str, build: Callable[[Path], None], *, fresh: bool = False) -> Path:
    """A folder made by ``build(folder)`` once and kept for later runs under the temp dir.

    ``key`` names the parameters that make it (a different key: a different fixture). A
    folder whose build did not finish is made again; ``fresh`` makes it again anyway. It is
    built in place (worktrees record absolute paths, so it cannot be moved afterwards).
    """
    folder = Path(tempfile.gettempdir()) / "gitpar-bench-fixtures" / f"v{FIXTURE_VERSION}-{key}"
    done = folder / ".complete"
    if fresh or not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        build(folder)
        done.write_text(f"built in {time.perf_counter() - t0:.1f}s\n")
        print(f"made fixture {folder.name} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return folder


def reset_state(repo: Path) -> None:
    """Put ``repo``'s state branch back where the kept fixture's first use found it (saved in
    ``refs/bench/fixture-state``), so that what earlier runs committed there (progress
    reports, lock pairs, contention) does not make later runs' history longer; and install
    its hooks again with the gitpar under test: a hook shim records the interpreter and the
    paths of the gitpar that installed it, so a kept fixture would otherwise go on running
    the gitpar that made it."""
    saved = "refs/bench/fixture-state"
    have = subprocess.run(["git", "rev-parse", "-q", "--verify", saved], cwd=repo, capture_output=True, text=True)
    if have.returncode != 0:
        run(["git", "update-ref", saved, "refs/heads/gitpar/_state"], repo)
    else:
        run(["git", "update-ref", "refs/heads/gitpar/_state", have.stdout.strip()], repo)
    run([*gitpar_command(), "hooks", "install"], repo, bench_env())


def worktree_of(repo: Path, stream: str) -> Path:
    """The worktree of ``stream``'s branch."""
    where = ""
    for line in run(["git", "worktree", "list", "--porcelain"], repo).splitlines():
        if line.startswith("worktree "):
            where = line[len("worktree "):]
        if line == f"branch refs/heads/gitpar/{stream}":
            return Path(where)
    raise SystemExit(f"no worktree for {stream} in {repo}")


def streams_repo(repo: Path, n: int, env: Mapping[str, str], *, started: Sequence[str] = ("s0000", "s0001")
                 ) -> Path:
    """A repository at ``repo`` with ``n`` streams (``s0000``...), each owning ``src/<name>/**``
    and sharing ``shared/**`` (eight files), the plan committed and ``started`` started."""
    gitpar = gitpar_command()
    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo, env)
    for i in range(n):
        d = repo / "src" / f"s{i:04d}"
        d.mkdir(parents=True)
        (d / "f.txt").write_text("x\n")
    (repo / "shared").mkdir()
    for i in range(8):
        (repo / "shared" / f"f{i}.txt").write_text("0\n")
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "init"], repo, env)
    run([*gitpar, "init"], repo, env)
    streams = repo / ".gitpar" / "streams"
    for i in range(n):
        (streams / f"s{i:04d}.md").write_text(
            f'---\nowns: ["src/s{i:04d}/**"]\nshares: ["shared/**"]\nestimate: 1h\n---\nwork on s{i:04d}\n')
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "plan"], repo, env)
    for s in started:
        run([*gitpar, "start", s], repo, env)
    return repo


def floor_pair(git_dir: Path, path: str, text: str, ref: str = "refs/bench/floor") -> Callable[[], None]:
    """The floor of a lock+unlock pair: two bare pygit2 changes to the state tree, each a
    blob + nested trees + commit + reference-transaction compare-and-swap of ``ref`` — the
    first adds ``path`` with ``text`` (a lock file's size), the second deletes it."""
    import pygit2

    git = pygit2.Repository(str(git_dir))
    state = git.references["refs/heads/gitpar/_state"].target
    if ref not in git.references:
        git.references.create(ref, state)
    sig = pygit2.Signature("bench", "b@example.com")
    parts = path.split("/")

    def put(tree: pygit2.Tree | None, names: list[str], blob: pygit2.Oid | None) -> pygit2.Oid:
        builder = git.TreeBuilder(tree) if tree is not None else git.TreeBuilder()
        name = names[0]
        if len(names) == 1:
            if blob is None:
                if tree is not None and name in tree:
                    builder.remove(name)
            else:
                builder.insert(name, blob, pygit2.enums.FileMode.BLOB)
        else:
            sub = tree[name] if tree is not None and name in tree else None
            builder.insert(name, put(sub if isinstance(sub, pygit2.Tree) else None, names[1:], blob),
                           pygit2.enums.FileMode.TREE)
        return builder.write()

    def change(blob: pygit2.Oid | None) -> None:
        old = git.references[ref].target
        tree = put(git[old].peel(pygit2.Tree), parts, blob)
        new = git.create_commit(None, sig, sig, "floor", tree, [old])
        with git.transaction() as txn:
            txn.lock_ref(ref)
            if git.references[ref].target != old:  # the compare of compare-and-swap
                raise SystemExit(f"{ref} moved under the floor")
            txn.set_target(ref, new, message="floor")

    def pair() -> None:
        change(git.create_blob(f"{text}{time.time()}".encode()))
        change(None)
    return pair


# --- smoke mode: a bench that cannot rot ------------------------------------------------

#: The help of every bench's ``--smoke`` flag.
SMOKE_HELP = ("tiny sizes, one round, no warm-up: checks only that the bench runs, that gitpar and its "
              "anchor did the same work and that its JSON line parses (never a timing); bench/smoke.py "
              "runs every bench this way")


def add_smoke(parser: Any) -> None:
    """Give a bench's argument parser the ``--smoke`` flag."""
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP)


class SameWork:
    """What a smoke run judges: that gitpar and its anchor did the same work.

    Each :meth:`check` compares what gitpar did (owners found, conflicting pairs, streams
    run, files committed) with what the anchor did, prints one line, and remembers a
    difference; :attr:`ok` is whether all were the same. A row whose gitpar did less than
    its anchor measures nothing, in a full run as in a smoke run.
    """

    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, what: str, gitpar: object, anchor: object) -> bool:
        same = gitpar == anchor
        if not same:
            self.failed.append(what)
            shown_g, shown_a = repr(gitpar)[:300], repr(anchor)[:300]
            print(f"DIFFERENT  {what}: gitpar {shown_g} vs anchor {shown_a}")
        else:
            print(f"same work  {what}")
        return same

    def expect(self, what: str, holds: bool, detail: object = "") -> bool:
        """One condition on gitpar's own work (all tasks ran, every item recorded)."""
        if not holds:
            self.failed.append(what)
            print(f"NOT MET    {what} {detail}".rstrip())
        else:
            print(f"met        {what}")
        return holds

    @property
    def ok(self) -> bool:
        return not self.failed

    def record(self) -> dict[str, object]:
        """For the JSON line: whether the work was the same, and what was not."""
        return {"same_work": self.ok, "different": list(self.failed)}


def smoke_exit(work: SameWork, timed_ok: bool, smoke: bool) -> int:
    """A bench's exit code: in a smoke run only the work counts, in a full run the goals too."""
    if smoke:
        return 0 if work.ok else 1
    return 0 if work.ok and timed_ok else 1
