"""Ownership patterns: which stream's ``owns``/``shares`` patterns match which files.

Patterns use GitHub CODEOWNERS pattern syntax. Sources:

* GitHub Docs, "About code owners", section "CODEOWNERS syntax" and its example file
  (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
  patterns "follow most of the same rules used in gitignore files", except that
  escaping a leading ``#`` with ``\\``, ``!`` negation and ``[ ]`` character ranges
  do not work. So ``[`` and ``]`` are ordinary characters: ``app/[slug]/page.tsx`` (the
  Next.js convention) owns exactly that file (GitHub's editor asks for ``\\[``/``\\]``;
  both spellings mean the literal bracket here).
* git's gitignore(5), "PATTERN FORMAT" (https://git-scm.com/docs/gitignore), for
  everything the GitHub page does not spell out.
* Where GitHub's own example contradicts gitignore (``docs/*``), the rule is
  generalised the way hmarr/codeowners (a widely used matcher written to mirror
  GitHub, ``match.go``) does it.

Rules implemented (a *path* is a repo-relative POSIX path of a file, as git prints
it: ``src/api/a.py``; no leading ``/`` or ``./``, no trailing ``/``):

1. ``*`` matches any run of characters except ``/``; ``?`` matches one character
   except ``/``. Matching is case sensitive (GitHub: "CODEOWNERS paths are case
   sensitive").
2. A pattern with no ``/`` except possibly a trailing one (``*.js``, ``docs``,
   ``Makefile``, ``apps/``) matches at any depth, like gitignore: ``*.js`` owns every
   ``.js`` file, ``docs`` owns a file or directory named ``docs`` anywhere.
3. A leading ``/`` anchors the pattern to the repository root (``/docs/`` only the
   top-level ``docs``). A ``/`` in the middle anchors it too: ``docs/build`` is
   ``/docs/build``, never ``src/docs/build`` (gitignore rule; GitHub's ``/build/logs/``).
4. A pattern that matches a directory matches every file under it (gitignore: a
   matched directory excludes its contents; GitHub: ``/build/logs/`` owns "any files
   in the build/logs directory ... and any of its subdirectories").
5. A trailing ``/`` matches directories only, so ``apps/`` owns the files under any
   ``apps`` directory but not a file named ``apps`` (GitHub example ``apps/``).
6. ``**``: a leading ``**/`` matches in every directory (``**/logs`` = ``logs``,
   GitHub example); a trailing ``/**`` matches everything inside (``abc/**``); a
   middle ``/**/`` matches zero or more directories (``a/**/b`` matches ``a/b``,
   ``a/x/y/b``). ``**`` inside a segment (``a**b``) is an ordinary ``*`` (gitignore).
   ``a/**/`` owns everything below ``a``: ``**`` may match zero directories, so it
   names ``a`` itself and every directory inside it (GitHub's meaning; git's own
   check-ignore differs here and wants files two levels down).
7. CODEOWNERS difference from gitignore: a final path segment that is exactly ``*``
   (and no trailing ``/``) matches files only, never directories, so ``docs/*`` owns
   ``docs/getting-started.md`` but NOT ``docs/build-app/troubleshooting.md`` (GitHub's
   example; in a .gitignore ``docs/*`` would match the whole subtree). ``/*`` thus
   owns only files at the root. Other final segments still match directories:
   ``docs/*.md`` owns ``docs/x.md/y`` (gitignore and hmarr/codeowners agree).
   Write ``docs/**`` (or ``/docs/``) for the whole subtree.
8. A backslash escapes the next character: ``\\*``, ``\\?``, ``\\[``, ``\\]``, ``\\!``,
   ``\\ `` and ``\\\\`` match a literal ``*``, ``?``, ``[``, ``]``, ``!``, space and backslash
   (gitignore's escape, which GitHub keeps). ``\\#`` is a literal ``#``. GitHub documents that this escape does NOT work in a
   CODEOWNERS file (there a line starting with ``#`` is always a comment); gitpar
   patterns live in stream files, not CODEOWNERS lines, so it is accepted with its
   gitignore meaning. Caveat: such a pattern cannot be copied verbatim into a GitHub
   CODEOWNERS file. A ``#`` that is not the first character needs no escape.

Rejected by :func:`validate_pattern` (:class:`PatternError`): empty or blank patterns;
leading/trailing whitespace; control characters (NUL, newline, tab...); a leading
``!`` (CODEOWNERS has no negation); a backslash before any other character, or at the
end (``src\\api``: use ``/`` as separator); a leading unescaped ``#``
(a comment in CODEOWNERS/gitignore: write ``\\#``); ``..`` components (escape the
repository); ``.`` components and empty components (``a//b``, lone ``/``), which
can never match a git path; runs of three or more ``*``; Windows drive paths
(``C:\\x``, ``C:/x``). A leading ``/`` is legal anchoring: ``/etc/passwd`` is the
repo file ``etc/passwd``.

Speed: :class:`OwnershipIndex` never loops over every rule for every path. Anchored
patterns hang in a trie keyed by their literal leading directory components
(``pkg/mod/**`` needs no regex at all: it is "under this trie node"); floating names
and extensions sit in dicts; one-segment globs after a literal prefix
(``docs/x/*.md``) test a single path segment. A path only walks its own directories;
each distinct directory is resolved once per call (and trie-node results are memoised
on the index), so most paths cost one ``rpartition`` and one dict lookup. Only
patterns too irregular for those shapes get a full regular expression, tried only on
paths the trie says could match.
"""

from gitpar.core.ownership.index import OwnershipIndex, overlapping
from gitpar.core.ownership.patterns import (
    RULE_KINDS,
    PatternError,
    Rule,
    literal_dir,
    matches,
    pattern_matches_nothing,
    validate_pattern,
)

__all__ = [
    "RULE_KINDS",
    "OwnershipIndex",
    "PatternError",
    "Rule",
    "literal_dir",
    "matches",
    "overlapping",
    "pattern_matches_nothing",
    "validate_pattern",
]
