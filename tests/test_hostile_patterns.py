"""GitHub-valid patterns keep GitHub's meaning end to end; hand-written overlaps are caught."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import commit_plan, git, write


def test_nextjs_bracket_path_is_owned(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    write(repo / "app/[slug]/page.tsx", "x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "next")
    assert run(repo, "init").code == 0
    res = run(repo, "stream", "add", "web", "--owns", "app/[slug]/page.tsx")
    assert res.code == 0, res
    assert "matches no file" not in res.err
    commit_plan(repo)
    res = run(repo, "who", "--json", "app/[slug]/page.tsx")
    assert res.code == 0, res
    assert "web" in json.dumps(json.loads(res.out))
    res = run(repo, "who", "--json", "app/s/page.tsx")
    assert "web" not in json.dumps(json.loads(res.out))


def test_hand_written_overlap_reported_by_plan_and_refused_by_start(repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run(repo, "init").code == 0
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    # by hand, not through 'stream add' (which refuses the overlap)
    write(repo / ".gitpar/streams/all.md", '---\nowns: ["src/**"]\n---\n')
    commit_plan(repo)
    res = run(repo, "plan")
    assert res.code == 2, res
    assert ".gitpar/streams/" in res.err and "src/api/a.py" in res.err and "fix:" in res.err
    before = git(repo, "rev-parse", "gitpar/_state")
    res = run(repo, "start", "api")
    assert res.code == 2, res
    assert "src/api/a.py" in res.err and "depends_on" in res.err
    assert git(repo, "rev-parse", "gitpar/_state") == before
    assert "gitpar/api" not in git(repo, "branch", "--list", "gitpar/api")
    # ordered by a dependency, they never run at once: accepted
    write(repo / ".gitpar/streams/all.md", '---\nowns: ["src/**"]\ndepends_on: [api]\n---\n')
    commit_plan(repo)
    assert run(repo, "plan").code == 0
    assert run(repo, "start", "api").code == 0
