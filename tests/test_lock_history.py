"""The lock-history index answers "who held this path's lock then" as a walk over every hold would."""

from __future__ import annotations

import marshal
import random

import pytest

from gitpar.core.lock_history import (
    Held,
    LockHistory,
    _Index,
    held_at,
    index_from_plain,
    index_to_plain,
)


def _index(holds: dict[str, list[Held]]) -> _Index:
    from gitpar.core.lock_history import _Holds

    index = _Index(tip="t", last_tree=None, current={}, closed={}, names=[])
    for path, spans in holds.items():
        for h in spans:
            if h.stream not in index.names:
                index.names.append(h.stream)
            index.closed.setdefault(path, _Holds()).add(h.start, h.end, index.names.index(h.stream))
    return index


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binary_search_agrees_with_a_walk_over_every_hold(seed: int) -> None:
    rng = random.Random(seed)
    holds: dict[str, list[Held]] = {}
    for path in ("a", "b", "c"):
        t = 1000.0
        spans = []
        for _ in range(rng.randint(1, 300)):
            t += rng.choice([0, 1, 2, 5, 30])
            end = t + rng.choice([0, 1, 3, 60, 600])
            if rng.random() < 0.05:  # a clock set back: starts out of order, holds overlapping
                t -= rng.choice([10, 100])
            spans.append(Held(rng.choice(["s1", "s2", "s3"]), t, end))
            t = max(t, end)
        holds[path] = spans
    # the walk the index replaces, over the holds in order of start (as the index keeps them)
    ordered = {p: sorted(v, key=lambda h: h.start) for p, v in holds.items()}
    index = index_from_plain(marshal.loads(marshal.dumps(index_to_plain(_index(holds)))))  # as the cache keeps it
    assert index is not None
    history = LockHistory(index, now=0.0)
    assert {p: sorted(history[p], key=lambda h: (h.start, h.end)) for p in history} == \
        {p: sorted(v, key=lambda h: (h.start, h.end)) for p, v in holds.items()}
    for _ in range(400):
        path = rng.choice(["a", "b", "c", "d"])
        times = tuple(rng.uniform(990, 1000 + 40 * 300) for _ in range(rng.randint(1, 2)))
        stream = rng.choice(["s1", "s2", "s3", None])
        expected = held_at(ordered, path, times, stream)  # a plain mapping: the walk
        assert history.held_at(path, times, stream) == expected, (path, times, stream)
