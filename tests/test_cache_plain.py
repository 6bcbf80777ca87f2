"""The caches hold plain data: every value type a cache keeps goes through explicit
to/from functions, and reading back what was written gives the same value."""

from __future__ import annotations

import marshal
import random

from gitpar.core import plan_cache
from gitpar.core.plan import load_plan

WORDS = ["api", "ui", "db", "docs", "x-1", "a.b", "ü-name"]


def _random_plan_files(rng: random.Random) -> dict[str, str]:
    n = rng.randint(0, 7)
    names = [f"s{i}-{rng.choice(WORDS[:5])}" for i in range(n)]
    plan = ["---", f"base: {rng.choice(['main', 'trunk'])}", f"unowned: {rng.choice(['deny', 'lock', 'allow'])}"]
    if rng.random() < 0.5:
        plan.append(f"lock_ttl: {rng.choice(['1h', '30m', '2d'])}")
    if rng.random() < 0.5:
        plan.append(f"setup: [\"make {rng.randint(0, 9)}\"]")
    if rng.random() < 0.5:
        plan.append(f"remote: {rng.choice(['origin', 'up'])}")
    if rng.random() < 0.4:
        plan.append(f"unknown_{rng.randint(0, 3)}: {rng.choice(['1', 'text', '[1, 2]', '2030-01-01T00:00:00Z'])}")
    plan.append("---")
    files = {".gitpar/plan.md": "\n".join(plan) + "\n# goal\n"}
    for i, name in enumerate(names):
        owns = [f'"src/{name}/**"'] + ([f'"docs/{name}.md"'] if rng.random() < 0.5 else [])
        deps = [names[j] for j in range(i) if rng.random() < 0.3]
        lines = ["---", f"owns: [{', '.join(owns)}]", f"depends_on: [{', '.join(deps)}]",
                 f"priority: {rng.randint(0, 5)}"]
        if rng.random() < 0.5:
            lines.append('shares: ["shared/**"]')
        if rng.random() < 0.5:
            lines.append(f"estimate: {rng.choice(['1h', '45m', '3d'])}")
        if rng.random() < 0.3:
            lines.append("resources: [gpu]")
        if rng.random() < 0.2:
            lines.append("colour: blue")  # unknown: a warning
        lines += ["---", f"{rng.choice(WORDS)} brief {i}"]
        files[f".gitpar/streams/{name}.md"] = "\n".join(lines) + "\n"
    return files


def test_a_plan_read_back_from_plain_data_is_the_same_plan() -> None:
    rng = random.Random(25)
    for _ in range(150):
        plan = load_plan(_random_plan_files(rng))
        plain = plan_cache.plan_to_plain(plan)
        back = plan_cache.plan_from_plain(marshal.loads(marshal.dumps(plain)))  # what the store writes
        assert back == plan
        # the fields equality leaves out, which the rules and the overlap check read
        assert (back.pattern_dirs, back.owns_that_meet, back.rule_patterns) == (
            plan.pattern_dirs, plan.owns_that_meet, plan.rule_patterns)
        assert [type(s) for s in back.streams.values()] == [type(s) for s in plan.streams.values()]


def test_plain_data_of_other_plan_types_reads_as_nothing() -> None:
    plain = plan_cache.plan_to_plain(load_plan(_random_plan_files(random.Random(1))))
    plain["stream_fields"] = (*plain["stream_fields"], "a_new_field")
    assert plan_cache.plan_from_plain(plain) is None
    assert plan_cache.plan_from_plain({"what": 1}) is None


def test_a_lock_history_index_read_back_from_plain_data_is_the_same(started, run) -> None:  # type: ignore[no-untyped-def]
    """A real index (locks taken, replaced and released by real commands, one still held)
    goes through the plain data the cache keeps and answers every question the same."""
    from gitpar.core import clock
    from gitpar.core.lock_history import _load_index, index_from_plain, index_to_plain, lock_history
    from gitpar.core.repo import open_repo

    for stream in ("api", "ui", "api"):
        assert run(started, "lock", "src/config.py", "docs/x.md", "--stream", stream).code == 0
        assert run(started, "unlock", "src/config.py", "docs/x.md", "--stream", stream).code == 0
    assert run(started, "lock", "src/config.py", "--stream", "ui").code == 0
    repo = open_repo(started)
    now = clock.real_now()
    history = lock_history(repo, now)  # builds and saves the index
    index = _load_index(repo)
    assert index is not None and index.current and index.closed
    back = index_from_plain(marshal.loads(marshal.dumps(index_to_plain(index))))
    assert back is not None and index_to_plain(back) == index_to_plain(index)
    assert back.current == index.current
    from gitpar.core.lock_history import LockHistory

    again = LockHistory(back, now)
    assert {p: again[p] for p in again} == {p: history[p] for p in history}
    broken = index_to_plain(index)
    broken["lock_fields"] = ("path",)
    assert index_from_plain(broken) is None
