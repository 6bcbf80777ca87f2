"""Tests for gitpar.core.ownership: CODEOWNERS pattern semantics and the fast index.

"GitHub docs" below means GitHub Docs, "About code owners", section "CODEOWNERS syntax"
(its example CODEOWNERS file and its list of gitignore rules that do not work).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitpar.core.ownership import (
    OwnershipIndex,
    PatternError,
    Rule,
    matches,
    overlapping,
    pattern_matches_nothing,
    validate_pattern,
)


def owns(pattern: str, path: str) -> bool:
    """Oracle and index must agree on every hand-written case too."""
    expected = matches(pattern, path)
    via_index = bool(OwnershipIndex([Rule("s", "owns", pattern)]).match(path))
    assert via_index == expected, (pattern, path)
    return expected


# ----------------------------------------------------------------- GitHub's examples

@pytest.mark.parametrize(("path", "expected"), [
    ("app.js", True),
    ("src/deep/er/app.js", True),
    ("app.jsx", False),
    ("app.js.map", False),
])
def test_star_extension_matches_at_any_depth(path: str, expected: bool) -> None:
    # GitHub docs: "*.js @js-owner" -- a pattern without a slash matches anywhere.
    assert owns("*.js", path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("build/logs/a.log", True),
    ("build/logs/2024/01/a.log", True),  # "and any of its subdirectories"
    ("src/build/logs/a.log", False),  # leading '/' anchors to the root
    ("build/logs", False),  # trailing '/' = directory; a *file* build/logs is not inside it
    ("build/logsx/a.log", False),
])
def test_anchored_directory(path: str, expected: bool) -> None:
    # GitHub docs: "/build/logs/ @doctocat" owns "any files in the build/logs directory
    # at the root of the repository and any of its subdirectories".
    assert owns("/build/logs/", path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("docs/getting-started.md", True),
    ("docs/build-app/troubleshooting.md", False),
    ("docs/a/b/c.md", False),
    ("src/docs/x.md", False),  # the middle slash anchors docs/* to the root
    ("docs", False),
])
def test_docs_star_is_not_recursive(path: str, expected: bool) -> None:
    # GitHub docs: "The docs/* pattern will match files like docs/getting-started.md
    # but not further nested files like docs/build-app/troubleshooting.md".
    # This DIFFERS from .gitignore, where docs/* also matches the directory
    # docs/build-app and so everything under it.
    assert owns("docs/*", path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("docs/getting-started.md", True),
    ("docs/build-app/troubleshooting.md", True),
    ("docs/a/b/c.md", True),
    ("src/docs/x.md", False),
    ("docs", False),
])
def test_docs_double_star_is_recursive(path: str, expected: bool) -> None:
    # gitignore(5): "A trailing /** matches everything inside".
    assert owns("docs/**", path) is expected


def test_root_star_owns_only_root_files() -> None:
    # The docs/* rule at the root: /* is every top-level file, not the whole tree
    # (in a .gitignore /* would match every top-level directory too).
    assert owns("/*", "README.md")
    assert not owns("/*", "src/a.py")


def test_other_final_segments_still_match_directories() -> None:
    # Only a final lone '*' is file-only (hmarr/codeowners does the same); a name
    # pattern like *.md also owns the contents of a directory so named (gitignore).
    assert owns("docs/*.md", "docs/x.md")
    assert owns("docs/*.md", "docs/x.md/inner.txt")
    assert not owns("docs/*.md", "docs/sub/x.md")


@pytest.mark.parametrize(("path", "expected"), [
    ("apps/main.js", True),
    ("src/apps/main.js", True),  # "anywhere in your repository"
    ("a/b/c/apps/deep/main.js", True),
    ("apps", False),  # trailing '/': directories only, a file named apps is not owned
    ("src/apps", False),
    ("myapps/main.js", False),
])
def test_trailing_slash_directory_anywhere(path: str, expected: bool) -> None:
    # GitHub docs: "apps/ @octocat" owns "any file in an apps directory anywhere in
    # your repository" (the trailing slash does not anchor: gitignore rule).
    assert owns("apps/", path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("docs/index.md", True),
    ("docs/a/b/index.md", True),
    ("src/docs/index.md", False),
])
def test_leading_and_trailing_slash(path: str, expected: bool) -> None:
    # GitHub docs: "/docs/ @doctocat" owns "any file in the /docs directory in the
    # root of your repository and any of its subdirectories".
    assert owns("/docs/", path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("logs/a.log", True),
    ("build/logs/a.log", True),
    ("scripts/logs/a.log", True),
    ("deeply/nested/logs/a/b.log", True),
    ("build/other/a.log", False),
    ("build/logsx/a.log", False),
])
def test_double_star_logs(path: str, expected: bool) -> None:
    # GitHub docs: "**/logs @octocat" owns "any file in a /logs directory such as
    # /build/logs, /scripts/logs, and /deeply/nested/logs".
    assert owns("**/logs", path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    ("docs", True),  # a file named docs
    ("docs/a.md", True),  # a directory named docs at the root ...
    ("src/docs/a.md", True),  # ... or at any depth
    ("src/docs", True),
    ("docsx/a.md", False),
    ("src/mydocs/a.md", False),
])
def test_bare_name_matches_file_or_directory_at_any_depth(path: str, expected: bool) -> None:
    # gitignore(5): no slash -> matches at any level; no trailing slash -> files and
    # directories. GitHub docs defer to gitignore for this.
    assert owns("docs", path) is expected


def test_middle_slash_anchors() -> None:
    # gitignore(5): "a separator at the beginning or middle ... relative to the
    # directory level of the .gitignore" -- docs/build is /docs/build.
    assert owns("docs/build", "docs/build/a.txt")
    assert owns("docs/build", "docs/build")
    assert not owns("docs/build", "src/docs/build/a.txt")


def test_double_star_in_the_middle_and_ending_dir() -> None:
    # gitignore(5): "a/**/b" matches a/b, a/x/b, a/x/y/b.
    for path in ("a/b", "a/x/b", "a/x/y/b/c.txt"):
        assert owns("a/**/b", path)
    assert not owns("a/**/b", "x/a/b")
    # a/**/ = a and every directory inside it: everything below a (GitHub's meaning;
    # git check-ignore wants two levels, a difference the git-oracle test skips).
    assert owns("a/**/", "a/f")
    assert owns("a/**/", "a/x/f")
    assert not owns("a/**/", "a")
    assert not owns("a/**/", "b/a/f")


def test_question_mark_and_case() -> None:
    assert owns("src/?.py", "src/a.py")
    assert not owns("src/?.py", "src/ab.py")
    assert not owns("src/?.py", "src//.py")
    # GitHub docs: "CODEOWNERS paths are case sensitive".
    assert not owns("Docs/", "docs/a.md")


def test_escaped_hash() -> None:
    # gitignore(5): "Put a backslash in front of the first hash for patterns that begin
    # with a hash". GitHub docs list exactly this escape among gitignore rules that do
    # NOT work in CODEOWNERS (there '#...' is always a comment). gitpar patterns are not
    # CODEOWNERS lines, so gitpar keeps the gitignore meaning: '\#file' is '#file'.
    validate_pattern("\\#file")
    assert owns("\\#file", "#file")
    assert owns("\\#file", "src/#file")
    assert not owns("\\#file", "file")
    # A '#' that is not first is plain text and needs no escape.
    assert owns("docs/#notes.md", "docs/#notes.md")
    # Unescaped leading '#' would be a comment line: rejected with the fix.
    with pytest.raises(PatternError, match=r"\\#"):
        validate_pattern("#file")


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    # GitHub docs: "[ ] to define a character range" does not work in CODEOWNERS, so the
    # brackets are plain characters (Next.js dynamic routes: app/[slug]/page.tsx).
    ("app/[slug]/page.tsx", "app/[slug]/page.tsx", True),
    ("app/[slug]/page.tsx", "app/s/page.tsx", False),
    ("app/[slug]/", "app/[slug]/page.tsx", True),
    ("app/[slug]/**", "app/[slug]/a/b.tsx", True),
    ("pages/[id].js", "pages/[id].js", True),
    ("*.[ch]", "x/a.[ch]", True),
    ("*.[ch]", "a.c", False),
    ("[ab]", "a", False),
    ("[ab]", "src/[ab]", True),
    # GitHub's editor asks for '\[' '\]': the same literal bracket
    ("app/\\[slug\\]/page.tsx", "app/[slug]/page.tsx", True),
    # '\*' and '\?' are a literal '*' and '?' (gitignore's escape)
    ("src/\\*.py", "src/*.py", True),
    ("src/\\*.py", "src/a.py", False),
    ("src/\\?.py", "src/?.py", True),
    ("src/\\?.py", "src/a.py", False),
    ("\\*", "x/*", True),
    ("\\*", "x/a", False),
    ("\\!important", "!important", True),
    ("a\\ b", "a b", True),
    ("a\\\\b", "a\\b", True),
    # foo/**/ owns everything below foo/
    ("foo/**/", "foo/a", True),
    ("foo/**/", "foo/a/b/c", True),
    ("foo/**/", "foo", False),
    ("foo/**/", "x/foo/a", False),
    ("/foo/bar/**/", "foo/bar/x", True),
])
def test_github_meaning_of_brackets_escapes_and_trailing_double_star(
        pattern: str, path: str, expected: bool) -> None:
    assert owns(pattern, path) is expected
    assert bool(OwnershipIndex([Rule("s", "owns", pattern)]).match(path)) is expected


def test_leading_slash_is_repo_root_not_filesystem() -> None:
    validate_pattern("/src/**")
    validate_pattern("/etc/passwd")  # the repository file etc/passwd
    assert owns("/etc/passwd", "etc/passwd")
    assert not owns("/etc/passwd", "x/etc/passwd")


def test_whole_repository_patterns() -> None:
    for pattern in ("*", "**", "/**"):
        assert owns(pattern, "a")
        assert owns(pattern, "a/b/c")
    assert not owns("**/", "a")
    assert owns("**/", "a/b")
    assert not owns("*/", "a")
    assert owns("*/", "a/b/c")


# ----------------------------------------------------------------- validation

@pytest.mark.parametrize(("pattern", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    # GitHub docs: "Using ! to negate a pattern" does not work in CODEOWNERS.
    ("!src/**", "negation"),
    ("!*.md", "negation"),
    ("../**", r"'\.\.'"),
    ("src/../../etc", r"'\.\.'"),
    ("..", r"'\.\.'"),
    ("src\\api\\*.py", "backslash"),
    ("src/a\\", "backslash"),
    ("src/\\a.py", "backslash"),
    ("C:\\src", "Windows"),
    ("C:/src/**", "Windows"),
    ("src/a\x00b", "control character"),
    ("src/\n*.py", "control character"),
    ("\tsrc/**", "control character"),
    (" src/**", "whitespace"),
    ("src/** ", "whitespace"),
    ("#comment", "comment"),
    ("./src/**", "'\\.'"),
    ("src//api", "empty path component"),
    ("/", "empty path component"),
    ("a/***", "three or more"),
])
def test_invalid_patterns_are_rejected(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message) as info:
        validate_pattern(pattern)
    assert isinstance(info.value, ValueError)
    assert "fix:" in str(info.value)
    assert info.value.pattern == pattern
    # Every public entry point refuses the same patterns.
    with pytest.raises(PatternError):
        matches(pattern, "src/a.py")
    with pytest.raises(PatternError):
        OwnershipIndex([Rule("s", "owns", pattern)])


@pytest.mark.parametrize(("pattern", "hit", "miss"), [
    ("src/api/**", "src/api/a.py", "src/ui/a.py"), ("/src/**", "src/a.py", "lib/src/a.py"),
    ("*.py", "deep/x/a.py", "a.pyc"), ("Makefile", "sub/Makefile", "Makefile.am"),
    ("docs/", "x/docs/a.md", "docsx/a.md"), ("/docs/", "docs/a/b.md", "x/docs/a.md"),
    ("**/logs", "a/b/logs/x.txt", "a/logsx"), ("docs/*", "docs/a.md", "docs/a/b.md"),
    ("a/**/b", "a/x/y/b", "a/x/c"), ("src/?.py", "src/a.py", "src/ab.py"), ("\\#file", "#file", "file"),
    ("docs/#x", "docs/#x", "docs/x"), ("a b/c", "a b/c", "a/c"), ("a**b", "axyb", "ba"),
    ("src/ünï/**", "src/ünï/a", "src/uni/a"), ("/etc/passwd", "etc/passwd", "etc/shadow"),
    ("app/[slug]/page.tsx", "app/[slug]/page.tsx", "app/s/page.tsx"),
    ("*.[ch]", "x/a.[ch]", "a.c"),  # brackets are text, as in CODEOWNERS: no character classes
    ("src/\\*.py", "src/*.py", "src/a.py"), ("src/\\?", "src/?", "src/a"), ("\\[x\\]", "[x]", "x"),
    ("\\!x", "!x", "x"), ("a\\ b", "a b", "ab"), ("a\\\\b", "a\\b", "ab"),
    ("foo/**/", "foo/x/y.txt", "bar/x/y.txt"),
])
def test_valid_patterns(pattern: str, hit: str, miss: str) -> None:
    validate_pattern(pattern)  # accepted, and it means what CODEOWNERS means
    assert matches(pattern, hit)
    assert not matches(pattern, miss)
    index = OwnershipIndex([Rule("s", "owns", pattern)])  # the index the rules use agrees
    assert [r.stream for r in index.match(hit)] == ["s"] and index.match(miss) == []


def test_non_string_pattern_rejected() -> None:
    with pytest.raises(PatternError, match="string"):
        validate_pattern(3)  # type: ignore[arg-type]


def test_rule_kind_checked() -> None:
    Rule("s", "shares", "a/**")
    with pytest.raises(ValueError, match="owns"):
        Rule("s", "own", "a/**")


def test_pattern_matches_nothing() -> None:
    tree = ["src/a.py", "docs/x.md", "README.md"]
    assert pattern_matches_nothing("lib/**", tree)
    assert not pattern_matches_nothing("*.md", tree)
    assert pattern_matches_nothing("docs/*", [])
    with pytest.raises(PatternError):
        pattern_matches_nothing("!x", tree)


# ----------------------------------------------------------------- the index

def test_match_order_and_shared_patterns() -> None:
    rules = [
        Rule("docs", "owns", "docs/**"),
        Rule("api", "owns", "src/api/**"),
        Rule("all", "shares", "*"),
        Rule("md", "owns", "*.md"),
        Rule("api2", "shares", "src/api/**"),  # same pattern, other stream
        Rule("api", "owns", "src/api/**"),  # exact duplicate: reported again
    ]
    index = OwnershipIndex(rules)
    assert index.rules == tuple(rules)
    assert index.match("src/api/a.py") == [rules[1], rules[2], rules[4], rules[5]]
    assert index.match("docs/a.md") == [rules[0], rules[2], rules[3]]
    assert index.match("x.txt") == [rules[2]]
    got = index.match_many(["src/api/a.py", "x.txt", "x.txt", ""])
    assert list(got) == ["src/api/a.py", "x.txt", ""]
    assert got[""] == []
    # Results are fresh lists: mutating one must not leak into another.
    got["x.txt"].append(rules[0])
    assert index.match("x.txt") == [rules[2]]
    assert OwnershipIndex([]).match("a") == []


def test_overlapping() -> None:
    tree = ["src/api/a.py", "src/api/b.md", "src/web/c.py", "docs/d.md", "src/api/a.py"]
    assert overlapping(["src/api/**"], ["*.md"], tree) == ["src/api/b.md"]
    assert overlapping(["src/**"], ["src/api/", "docs/"], tree) == ["src/api/a.py",
                                                                     "src/api/b.md"]
    assert overlapping(["src/web/**"], ["docs/**"], tree) == []
    assert overlapping(["*.py"], ["*.py"], tree) == ["src/api/a.py", "src/web/c.py"]
    assert overlapping([], ["*"], tree) == []


_NAMES = ["a", "b", "src", "docs", "logs", "x.md", "a.md", "b.py", "#n", "ab", "a.b.md",
          "apps", "m", "[s]"]
_GLOBS = ["*", "?", "*.md", "a*", "*b*", "**", "a?", "*.py", "*.b.md", "**", "\\#n", "a**",
          "[s]*", "\\[s\\]", "a\\*"]


def _random_pattern(rng: random.Random) -> str:
    segs = [rng.choice(_NAMES if rng.random() < 0.55 else _GLOBS)
            for _ in range(rng.choice([1, 1, 2, 2, 3, 4]))]
    pattern = "/".join(segs)
    if rng.random() < 0.3:
        pattern = "/" + pattern
    if rng.random() < 0.3:
        pattern += "/"
    return pattern


def _random_path(rng: random.Random) -> str:
    return "/".join(rng.choice(_NAMES) for _ in range(rng.randint(1, 5)))


def _generated(seed: int, n_patterns: int, n_paths: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    patterns: list[str] = []
    while len(patterns) < n_patterns:
        pattern = _random_pattern(rng)
        try:
            validate_pattern(pattern)
        except PatternError:
            continue
        patterns.append(pattern)
    paths = sorted({_random_path(rng) for _ in range(n_paths)})
    return patterns, paths


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_index_agrees_with_oracle(seed: int) -> None:
    patterns, paths = _generated(seed, 150, 600)
    rules = [Rule(f"s{i % 7}", "owns" if i % 3 else "shares", p) for i, p in enumerate(patterns)]
    got = OwnershipIndex(rules).match_many(paths)
    for path in paths:
        expected = [r for r in rules if matches(r.pattern, path)]
        assert got[path] == expected, path


def test_index_agrees_with_oracle_one_pattern_at_a_time() -> None:
    patterns, paths = _generated(99, 300, 300)
    for pattern in patterns:
        index = OwnershipIndex([Rule("s", "owns", pattern)])
        got = index.match_many(paths)
        for path in paths:
            assert bool(got[path]) == matches(pattern, path), (pattern, path)


def test_index_with_deep_and_prefixed_globs() -> None:
    # Shapes the random generator rarely builds: deep globs under a literal prefix,
    # irregular patterns under a prefix, and a large mixed set.
    patterns = ["src/**/*.py", "src/**/tests/", "src/*/x/**", "src/**/a/*.md",
                "**/a/*/b", "*/docs/**", "lib/**/", "/m/*", "**/*", "?/**"]
    rng = random.Random(7)
    paths = sorted({_random_path(rng) for _ in range(2000)} | {
        "src/a/b.py", "src/tests/x", "src/p/tests/q/r", "src/q/x/y", "src/a/a/q.md",
        "lib/x", "lib/x/y", "m/a", "m/a/b"})
    rules = [Rule("s", "owns", p) for p in patterns]
    got = OwnershipIndex(rules).match_many(paths)
    for path in paths:
        assert got[path] == [r for r in rules if matches(r.pattern, path)], path


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_index_agrees_with_oracle_anchored_only(seed: int) -> None:
    # When every pattern starts with a literal directory, the index takes its trie-only
    # fast paths (no name can match at any depth); check those too.
    rng = random.Random(seed)
    patterns: list[str] = []
    while len(patterns) < 120:
        pattern = _random_pattern(rng)
        first = pattern.lstrip("/").split("/")[0]
        if "/" not in pattern.strip("/") and not pattern.startswith("/") or \
                "*" in first or "?" in first:
            continue  # floating, or not under a literal first directory
        try:
            validate_pattern(pattern)
        except PatternError:
            continue
        patterns.append(pattern)
    paths = sorted({_random_path(rng) for _ in range(800)})
    rules = [Rule(f"s{i}", "owns", p) for i, p in enumerate(patterns)]
    index = OwnershipIndex(rules)
    assert index._root_state.fast  # white-box: this test is about that path
    expected = {path: [r for r in rules if matches(r.pattern, path)] for path in paths}
    assert index.match_many(paths) == expected
    # The index keeps per-directory results on its trie between calls: a second call,
    # in another order and one path at a time, must still agree.
    shuffled = list(reversed(paths))
    assert index.match_many(shuffled) == {p: expected[p] for p in shuffled}
    for path in paths[::7]:
        assert index.match(path) == expected[path]


def test_realistic_mixed_config() -> None:
    rules = [
        Rule("core", "owns", "/src/core/"),
        Rule("api", "owns", "src/api/**"),
        Rule("api", "shares", "docs/api/*.md"),
        Rule("web", "owns", "web/"),
        Rule("docs", "owns", "docs/*"),
        Rule("docs", "shares", "*.md"),
        Rule("build", "owns", "/Makefile"),
        Rule("build", "owns", "**/CMakeLists.txt"),
        Rule("tests", "owns", "src/**/tests/"),
        Rule("ci", "owns", "/.github/**"),
    ]
    index = OwnershipIndex(rules)
    paths = ["src/core/a.py", "src/core/tests/t.py", "src/api/v1/h.py", "src/api/tests/t.py",
             "docs/api/x.md", "docs/api/img/y.png", "docs/index.md", "docs/guide/z.md",
             "web/app.js", "pkg/web/app.js", "Makefile", "sub/Makefile", "CMakeLists.txt",
             "src/x/CMakeLists.txt", ".github/workflows/ci.yml", "README.md", "src/web"]
    got = index.match_many(paths)
    for path in paths:
        assert got[path] == [r for r in rules if matches(r.pattern, path)], path
    assert [r.stream for r in got["src/api/tests/t.py"]] == ["api", "tests"]
    assert got["docs/guide/z.md"] == [rules[5]]  # *.md only: docs/* is not recursive
    assert got["docs/index.md"] == [rules[4], rules[5]]
    assert got["sub/Makefile"] == []  # /Makefile is anchored
    assert got["src/web"] == []  # web/ only matches directories


# ----------------------------------------------------------------- git as a second oracle

def _git_ignored(tmp_path: Path, pattern: str, paths: list[str]) -> set[str]:
    """Paths that git itself considers matched by a .gitignore holding ``pattern``."""
    (tmp_path / ".gitignore").write_text(pattern + "\n")
    out = subprocess.run(
        ["git", "-c", "core.quotePath=false", "check-ignore", "--no-index", "-z", "--stdin"],
        cwd=tmp_path, input="\0".join(paths) + "\0", capture_output=True, text=True,
        check=False)
    assert out.returncode in (0, 1), out.stderr
    return {p for p in out.stdout.split("\0") if p}


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_oracle_agrees_with_git_where_codeowners_follows_gitignore(tmp_path: Path) -> None:
    # GitHub docs: patterns follow "most of the same rules used in gitignore files". So
    # apart from the documented/exampled differences (final lone '*'; '!', '[ ]', which
    # are rejected anyway), the oracle must agree with git's own matcher.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    rng = random.Random(2024)
    paths = sorted({_random_path(rng) for _ in range(250)})
    # A name cannot be both a file and a directory on disk: keep only leaf-consistent paths.
    dirs = {p.rsplit("/", 1)[0] for p in paths if "/" in p}
    for d in list(dirs):
        parts = d.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    paths = [p for p in paths if p not in dirs]
    for p in paths:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).touch()
    patterns, _ = _generated(11, 120, 0)
    patterns += ["*.md", "docs/", "/docs/", "**/logs", "a/**/b", "a/**/", "**/", "*/",
                 "\\#n", "a**", "src/**", "/a/?/*.md"]
    checked = 0
    for pattern in patterns:
        if pattern.split("/")[-1] == "*" or pattern.endswith("/**/") or "[" in pattern:
            continue  # the CODEOWNERS docs/*, foo/**/ and [ ] differences, tested above
        if any("**" in seg and seg != "**" for seg in pattern.split("/")):
            # gitignore(5) says a '**' inside a name is a plain '*', but git's matcher
            # strips a pattern's literal prefix first, so '/a**/x' acts like 'a' + '**/x'
            # and crosses directories. gitpar follows the documented rule.
            continue
        expected = _git_ignored(tmp_path, pattern, paths)
        assert {p for p in paths if matches(pattern, p)} == expected, pattern
        checked += 1
    assert checked > 50


# ----------------------------------------------------------------- cheap import

def test_import_does_not_load_pathspec() -> None:
    # The module is imported by a git hook on every commit.
    code = "import sys, gitpar.core.ownership; print('pathspec' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_rules_index_for_a_few_paths_agrees_with_the_oracle(seed: int) -> None:
    # The hook judges a commit's few paths with an index of only the patterns whose
    # literal directory holds them (``Rules.index_for``): it must answer as the full one.
    from gitpar.core.rules import Rules

    patterns, paths = _generated(seed, 400, 400)
    patterns += [f"pkg/p{i}/**" for i in range(400)] + ["pkg/p1/x.md", "/pkg", "pkg/"]
    paths += ["pkg/p1/a", "pkg/p1/x.md", "pkg/p7/q/r", "pkg/p1"]
    triples = [(f"s{i % 9}", "owns" if i % 4 else "shares", p) for i, p in enumerate(patterns)]
    rules = Rules.from_json(Rules(triples).to_json())
    assert rules.dirs is not None and len(rules.dirs) == len(patterns)
    rng = random.Random(seed)
    for _ in range(60):
        few = rng.sample(paths, rng.randint(1, 4))
        index = Rules.from_json(rules.to_json()).index_for(few)
        assert len(index.rules) < len(patterns)  # the point: not every pattern
        got = index.match_many(few)
        for path in few:
            expected = [(s, k, p) for s, k, p in triples if matches(p, path)]
            assert [tuple(r) for r in got[path]] == expected, path


def test_literal_dir_fast_path_agrees_with_the_normalised_form() -> None:
    from gitpar.core.ownership.patterns import _is_literal, _split, _unescape, literal_dir

    def slow(pattern: str) -> str:
        segs, _ = _split(pattern)
        n = 0
        while n < len(segs) and segs[n] != "**" and _is_literal(segs[n]):
            n += 1
        return "/".join(_unescape(s) for s in segs[:n - (n == len(segs))])

    patterns, _ = _generated(41, 800, 0)
    patterns += ["apps/", "/docs", "docs/build", "src/api/**", "a/b/c/", "/a/**/b", "x/*.md"]
    for pattern in patterns:
        assert literal_dir(pattern) == slow(pattern), pattern
    assert literal_dir("src/api/**") == "src/api" and literal_dir("apps/") == ""


@pytest.mark.parametrize("seed", [51, 52])
def test_find_overlaps_prunes_without_losing_a_pair(seed: int) -> None:
    # find_overlaps indexes only the patterns whose literal directories meet another
    # stream's; it must find every pair an index of all the patterns finds.
    from gitpar.core.overlap import find_overlaps
    from gitpar.core.plan import Plan, Settings, Stream

    patterns, paths = _generated(seed, 60, 500)
    rng = random.Random(seed)
    patterns += [f"pkg/p{i}/**" for i in range(200)] + ["pkg/p3/x/**", "pkg/**/y"]
    paths += ["pkg/p3/x/a", "pkg/p5/q/y", "pkg/p9/z"]
    owns: dict[str, list[str]] = {}
    for pattern in patterns:
        owns.setdefault(f"s{rng.randrange(80)}", []).append(pattern)
    streams = {n: Stream(name=n, owns=tuple(p)) for n, p in sorted(owns.items())}
    plan = Plan(settings=Settings(), streams=streams)
    naive: dict[tuple[str, str], list[str]] = {}
    index = OwnershipIndex([Rule(n, "owns", p) for n, s in streams.items() for p in s.owns])
    for path, found in index.match_many(paths).items():
        owners = sorted({r.stream for r in found})
        for i, a in enumerate(owners):
            for b in owners[i + 1:]:
                naive.setdefault((a, b), []).append(path)
    got = {(o.a, o.b): o.files for o in find_overlaps(plan, paths)}
    assert got == naive and naive
