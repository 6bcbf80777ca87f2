"""The hook cache's plugin set: an installed plugin (a real ``pip install -e`` in a real
virtual environment) changes the commit hook's verdict whether its cache is warm or cold;
``GITPAR_DISABLED_PLUGINS`` too; an unrelated change to ``site-packages`` does not empty it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

from conftest import ROOT, git, worktree_of, write
from test_warm_cold import commit_verdict, drop_caches

PLUGIN = "gitpar-no-foo"
MODULE = textwrap.dedent('''
    from gitpar.plugins import hookimpl
    try:
        from gitpar.model import Violation
    except ImportError:
        from gitpar.core.rules import Violation


    @hookimpl
    def gitpar_check_paths(stream, paths):
        return [Violation(p, "no-foo", f"{p} is a .foo file", "rename it") for p in paths if p.endswith(".foo")]
''')


def _venv(tmp_path: Path) -> tuple[Path, Path]:
    """A virtual environment that imports this gitpar and its dependencies (a ``.pth`` file
    naming this checkout and this interpreter's site-packages): its python and site folder."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "gitpar-under-test.pth").write_text(f"{ROOT}\n{sysconfig.get_paths()['purelib']}\n")
    return py, site


def _pip(py: Path, *args: str) -> None:
    proc = subprocess.run([str(py), "-m", "pip", "-q", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _cache_bytes(repo: Path) -> bytes | None:
    try:
        return (repo / ".git/gitpar/cache/hook-rules.marshal").read_bytes()
    except OSError:
        return None


def test_an_editable_plugin_counts_in_the_commit_hook_warm_and_cold(started: Path, tmp_path: Path) -> None:
    py, site = _venv(tmp_path)
    hooks = subprocess.run([str(py), "-m", "gitpar", "hooks", "install"], cwd=started, capture_output=True, text=True)
    assert hooks.returncode == 0, hooks.stderr
    api = worktree_of(started, "api")
    write(api / "src/api/x.foo", "foo\n")
    git(api, "add", "-A")
    assert commit_verdict(api) == 0  # no plugin yet: api's own file; the hook's cache is built
    before = _cache_bytes(started)
    assert before is not None

    # something unrelated installed beside it: the cache stays (no folder mtime counts)
    other = site / "unrelated-1.0.dist-info"
    other.mkdir()
    (other / "entry_points.txt").write_text("[console_scripts]\nunrelated = unrelated:main\n")
    os.utime(site)
    assert commit_verdict(api) == 0 and _cache_bytes(started) == before

    plugin = tmp_path / "plugin"
    write(plugin / "gitpar_no_foo.py", MODULE)
    write(plugin / "pyproject.toml", textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{PLUGIN}"
        version = "0.1.0"

        [project.entry-points.gitpar]
        {PLUGIN} = "gitpar_no_foo"

        [tool.setuptools]
        py-modules = ["gitpar_no_foo"]
    '''))
    _pip(py, "install", "--no-deps", "-e", str(plugin))
    warm = commit_verdict(api)
    drop_caches(started)
    cold = commit_verdict(api)
    assert warm == cold != 0, (warm, cold)  # the plugin refuses x.foo, whichever process built the cache

    env = {**os.environ, "GITPAR_DISABLED_PLUGINS": PLUGIN}
    verdicts = []
    for _ in range(2):  # warm, then cold
        verdicts.append(subprocess.run(["git", "commit", "-qm", "probe"], cwd=api, env=env,
                                       capture_output=True).returncode)
        if verdicts[-1] == 0:
            git(api, "reset", "-q", "--soft", "HEAD~1")
        drop_caches(started)
    assert verdicts == [0, 0]  # disabled: as if not installed

    assert commit_verdict(api) != 0  # enabled again (the cache was built with it disabled)
    _pip(py, "uninstall", "-y", PLUGIN)
    assert commit_verdict(api) == 0  # removed: the warm cache does not keep its verdict
