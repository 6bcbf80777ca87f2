"""gitpar check as GitHub Actions runs it: env, event payload, annotations, job summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, git, gitpar, write


@pytest.fixture
def prs(repo: Path, run) -> Path:
    """Branches as pull requests would bring them: clean, violating, self-granting."""
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    assert run(repo, "stream", "add", "ui", "--owns", "src/ui/**").code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan")
    git(repo, "checkout", "-q", "-b", "gitpar/api")
    write(repo / "src/api/a.py", "a = 3\n")
    git(repo, "commit", "-qam", "ok")
    git(repo, "checkout", "-q", "-b", "gitpar/ui", "main")
    write(repo / "src/ui/b.py", "b = 9\n")
    write(repo / "src/api/a.py", "a = 9\n")
    git(repo, "commit", "-qam", "bad")
    git(repo, "checkout", "-q", "-b", "gitpar/widen", "gitpar/api")
    write(repo / ".gitpar/streams/api.md", '---\nowns: ["src/**"]\n---\n')
    write(repo / "src/ui/b.py", "b = 8\n")
    git(repo, "commit", "-qam", "widen")
    git(repo, "checkout", "-q", "-b", "gitpar/grab", "main")
    write(repo / ".gitpar/streams/grab.md", '---\nowns: ["src/**"]\n---\n')
    write(repo / "src/ui/b.py", "b = 7\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "grab")
    git(repo, "checkout", "-q", "-b", "feature", "main")
    write(repo / "docs/x.md", "docs\n")
    git(repo, "commit", "-qam", "docs")
    git(repo, "checkout", "-q", "main")
    # a stream branch counts as its stream's only once the stream is started (core.identity)
    assert run(repo, "start", "api", "--force").code == 0
    assert run(repo, "start", "ui", "--force").code == 0
    return repo


def actions_env(tmp: Path, head: str, **extra: str) -> dict[str, str]:
    summary = tmp / "summary.md"
    summary.touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_BASE_REF": "main",
            "GITHUB_HEAD_REF": head, **extra}


def test_clean_branch_passes(prs: Path, tmp_path: Path) -> None:
    env = actions_env(tmp_path, "gitpar/api")
    res = gitpar(prs, "check", "--base", "main", "--head", "gitpar/api", "--format", "github", env=env)
    assert res.code == 0, res
    summary = (tmp_path / "summary.md").read_text()
    assert "gitpar check passed" in summary and "```mermaid" in summary and "| api |" in summary


def test_violations_become_annotations_and_a_summary(prs: Path, tmp_path: Path) -> None:
    env = actions_env(tmp_path, "gitpar/ui")
    res = gitpar(prs, "check", "--base", "main", "--head", "gitpar/ui", "--format", "github", env=env)
    assert res.code == 1, res
    lines = [line for line in res.out.splitlines() if line.startswith("::error")]
    assert lines == [lines[0]] and lines[0].startswith("::error file=src/api/a.py,title=gitpar%3A owned::")
    summary = (tmp_path / "summary.md").read_text()
    assert "| `src/api/a.py` | owned |" in summary and "❌" in summary


def test_the_plan_comes_from_the_base(prs: Path, tmp_path: Path) -> None:
    env = actions_env(tmp_path, "gitpar/widen")
    res = gitpar(prs, "check", "--base", "main", "--head", "gitpar/widen", "--format", "github", env=env)
    assert res.code == 1
    assert "file=src/ui/b.py" in res.out and "file=.gitpar/streams/api.md" in res.out
    res = gitpar(prs, "check", "--base", "main", "--head", "gitpar/grab", "--format", "github",
                 env=actions_env(tmp_path, "gitpar/grab"))
    # a branch named like a stream the base plan does not define owns nothing
    assert res.code == 1 and "names no stream defined" in res.out and "file=src/ui/b.py" in res.out


def test_a_branch_that_is_no_stream(prs: Path, run, tmp_path: Path) -> None:
    # other_branches: strict (the default): an unowned file under 'unowned: lock' is refused
    res = gitpar(prs, "check", "--base", "main", "--head", "feature", "--json")
    assert res.code == 1, res
    v = json.loads(res.out)["violations"]
    assert [(x["path"], x["rule"]) for x in v] == [("docs/x.md", "unowned")]
    # the plan's explicit choice of today's looser rule: only active streams' files are refused
    write(prs / ".gitpar/plan.md", (prs / ".gitpar/plan.md").read_text().replace(
        "other_branches: strict", "other_branches: active"))
    git(prs, "commit", "-qam", "looser", "--no-verify")
    res = gitpar(prs, "check", "--base", "main", "--head", "feature", "--json")
    assert res.code == 0, res
    git(prs, "checkout", "-q", "feature")
    write(prs / "src/ui/b.py", "from a feature branch\n")
    git(prs, "commit", "-q", "--no-verify", "-am", "feature edits ui")
    git(prs, "checkout", "-q", "main")
    res = gitpar(prs, "check", "--base", "main", "--head", "feature", "--json")
    assert res.code == 1
    v = json.loads(res.out)["violations"]
    assert [(x["path"], x["rule"], x["owner"]) for x in v] == [("src/ui/b.py", "protected", "ui")]


def test_event_payload(prs: Path, tmp_path: Path) -> None:
    git(prs, "checkout", "-q", "--detach", "gitpar/ui")  # as actions/checkout leaves it
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"ref": "main"}, "head": {"ref": "gitpar/ui"}}}))
    env = actions_env(tmp_path, "gitpar/ui", GITHUB_EVENT_PATH=str(event), GITHUB_EVENT_NAME="pull_request")
    res = gitpar(prs, "check", "--format", "github", env=env)
    assert res.code == 1 and "file=src/api/a.py" in res.out
    event.write_text("{not json")
    res = gitpar(prs, "check", "--format", "github", env=env)
    assert res.code == 2 and "not JSON" in res.err and "Traceback" not in res.text


def test_bad_refs(prs: Path) -> None:
    res = gitpar(prs, "check", "--base", "main", "--head", "nosuchbranch")
    assert res.code == 2 and "nosuchbranch" in res.err
    res = gitpar(prs, "check", "--base", "nosuchbase", "--head", "gitpar/api")
    assert res.code == 2 and "nosuchbase" in res.err


def test_shallow_clone_says_to_fetch_more(prs: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{prs}", str(clone))
    res = gitpar(clone, "check", "--base", "origin/main", "--head", "origin/gitpar/ui")
    assert res.code == 2 and "fetch-depth: 0" in res.err


def test_annotations_are_escaped_and_capped(prs: Path, tmp_path: Path) -> None:
    git(prs, "checkout", "-q", "-b", "gitpar/many", "gitpar/api")
    for i in range(14):
        write(prs / f"src/ui/f,{i}:x.py", "x\n")
    write(prs / "src/ui/100%.py", "x\n")
    git(prs, "add", "-A")
    git(prs, "commit", "-q", "--no-verify", "-m", "many")
    git(prs, "checkout", "-q", "main")
    env = actions_env(tmp_path, "gitpar/api")
    res = gitpar(prs, "check", "--base", "main", "--head", "gitpar/many", "--stream", "api",
                 "--format", "github", env=env)
    assert res.code == 1
    errors = [line for line in res.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 10
    assert "6 more violations" in errors[-1]
    assert any("file=src/ui/f%2C0%3Ax.py" in e for e in errors)
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("| `src/ui/") == 15


def test_workflows_pass_actionlint() -> None:
    exe = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    if not os.path.exists(exe):
        pytest.fail("actionlint is missing: pip install -e '.[test]' installs it")
    files = sorted(str(p) for p in (ROOT / ".github/workflows").glob("*.yml"))
    assert any("gitpar-check.yml" in f for f in files)
    res = subprocess.run([exe, *files], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    reusable = (ROOT / ".github/workflows/gitpar-check.yml").read_text()
    assert "workflow_call" in reusable and "paths" not in reusable and "fetch-depth: 0" in reusable


def test_state_branch_readme_is_published_on_request(planned: Path, run) -> None:
    """A state change leaves README.md alone (its cost must not grow with the streams);
    ``status --publish`` rewrites it with the current status, in one state commit."""
    assert run(planned, "start", "api").code == 0
    before = git(planned, "show", "gitpar/_state:README.md")
    assert run(planned, "lock", "src/config.py", "--stream", "api", "--reason", "bump").code == 0
    assert git(planned, "show", "gitpar/_state:README.md") == before
    tip = git(planned, "rev-parse", "gitpar/_state").strip()
    res = run(planned, "status", "--publish")
    assert res.code == 0 and "published" in res.err
    assert git(planned, "rev-parse", "gitpar/_state~1").strip() == tip
    readme = git(planned, "show", "gitpar/_state:README.md")
    assert "[report.html](report.html)" in readme
    page = git(planned, "show", "gitpar/_state:report.html")
    assert "<svg" in page and "api" in page and "src/config.py" in page
    assert "| api | in_progress |" in readme and "| ui | pending |" in readme
    assert "```mermaid" in readme and "-->" in readme
    assert "| `src/config.py` | api |" in readme and "bump" in readme
    assert run(planned, "finish", "api").code == 0
    assert run(planned, "status", "--publish").code == 0
    readme = git(planned, "show", "gitpar/_state:README.md")
    assert "| api | completed | 100% |" in readme and "No locks held." in readme


def test_the_check_never_installs_the_code_it_judges(tmp_path: Path) -> None:
    """This repository's workflow installs the base's gitpar; the reusable one refuses a local
    folder as gitpar-version (the pull request's own checkout would judge itself)."""
    import yaml

    own = yaml.safe_load((ROOT / ".github/workflows/gitpar.yml").read_text())
    with_ = own["jobs"]["gitpar"]["with"]
    assert with_.get("gitpar-from-base") is True and with_.get("gitpar-version", "gitpar") != "."
    reusable = yaml.safe_load((ROOT / ".github/workflows/gitpar-check.yml").read_text())
    steps = reusable["jobs"]["check"]["steps"]
    install = next(s for s in steps if s.get("name", "").startswith("Install gitpar"))
    assert "git archive" in install["run"] and "pip install ." not in install["run"]
    for local in (".", "./gitpar", "/work/gitpar", "file:///x", "-e ."):
        env = {**os.environ, "GITPAR_REQUIREMENT": local, "FROM_BASE": "false", "RUNNER_TEMP": str(tmp_path)}
        res = subprocess.run(["bash", "-e", "-c", install["run"]], env=env, capture_output=True, text=True,
                             cwd=tmp_path)
        assert res.returncode == 1 and "would run the code it judges" in res.stdout, (local, res)


def test_a_stream_branch_before_anything_was_started(repo: Path, run) -> None:
    """With no stream's progress on the state branch (the plan not run through gitpar yet),
    there is no claim to ask for: gitpar/api is judged as api."""
    assert run(repo, "init", "--no-hooks").code == 0
    assert run(repo, "stream", "add", "api", "--owns", "src/api/**").code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan")
    git(repo, "checkout", "-q", "-b", "gitpar/api")
    write(repo / "src/api/a.py", "a = 3\n")
    git(repo, "commit", "-qam", "ok")
    assert gitpar(repo, "check", "--base", "main", "--head", "gitpar/api").code == 0
