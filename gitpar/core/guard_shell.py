"""The files a shell command would write, as far as its text shows: the guard's Bash check.

A best effort, and said to be one: the command is read, never run, so what a script,
a code generator, ``make``, ``git reset --hard``, a variable or command substitution writes is
not seen here. What is seen: output redirections (``>``, ``>>``, ``>|``, ``&>``, ``&>>``) into
named paths, ``tee``, ``sed -i`` / ``perl -i``, the targets of ``cp``/``mv``/``install``/``ln``,
``rm``/``unlink``/``touch``/``truncate``/``shred``, ``dd of=``, ``git checkout [REV] -- FILE``,
``git restore``, ``git rm`` and ``git mv``; through ``sudo``/``env``/``command``/``nohup``/
``time``/``nice``/``exec`` prefixes, ``VAR=value`` assignments, ``cd DIR`` and ``git -C DIR``,
and ``bash -c '...'``. The check after the tool call (``gitpar guard --changed``) is the
guarantee: it sees what the command did, whatever it was.
"""

from __future__ import annotations

import glob
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

SEPARATORS = {";", "&&", "||", "|", "&", "|&", "(", ")", ";;", "{", "}", "!"}
WRITE_REDIRECTS = {">", ">>", ">|", "&>", "&>>", ">&"}
READ_REDIRECTS = {"<", "<<", "<<<", "<<-", "<&"}
PREFIXES = {"sudo", "doas", "env", "command", "nohup", "time", "nice", "exec", "builtin", "stdbuf", "ionice"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}
DELETES = {"rm", "unlink", "touch", "shred", "truncate"}
MAX_DIR_FILES = 2000  # an rm -r of a folder names its files, up to this many


def shell_writes(command: str, cwd: str) -> list[str]:
    """The paths (absolute) that ``command``, run in ``cwd``, visibly writes, in order."""
    out: list[str] = []
    state = {"cwd": cwd}
    for tokens in _commands(command):
        for path in _writes(tokens, state):
            if path not in out:
                out.append(path)
    return out


def _lines(command: str) -> Iterator[str]:
    """The command's lines, a here-document's body left out (it is data, not commands); the
    whole text when a line does not parse on its own (a quote spanning lines)."""
    import shlex

    lines = command.split("\n")
    try:
        for line in lines:
            shlex.split(line, comments=True)
    except ValueError:
        yield command
        return
    i = 0
    while i < len(lines):
        line = lines[i]
        yield line
        i += 1
        for word in _heredoc_words(line):
            while i < len(lines) and lines[i].strip() != word:
                i += 1
            i += 1


def _heredoc_words(line: str) -> list[str]:
    tokens = _tokens(line)
    return [tokens[j + 1].strip("'\"") for j, t in enumerate(tokens[:-1]) if t in ("<<", "<<-")]


def _tokens(text: str) -> list[str]:
    import shlex

    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        return list(lex)
    except ValueError:
        return []


def _commands(command: str) -> Iterator[list[str]]:
    """Each simple command's tokens (words and redirections), split at ``;``, ``&&``, ``|``..."""
    for line in _lines(command):
        current: list[str] = []
        for tok in _tokens(line):
            if tok in SEPARATORS:
                if current:
                    yield current
                current = []
            else:
                current.append(tok)
        if current:
            yield current


def _unknowable(word: str) -> bool:
    """A word whose value only the shell knows (a variable, a substitution)."""
    return "$" in word or "`" in word


def _paths(word: str, cwd: str) -> list[str]:
    if _unknowable(word) or not word:
        return []
    word = os.path.expanduser(word)
    full = os.path.join(cwd, word)
    if any(c in word for c in "*?["):
        found = sorted(glob.glob(full))
        return found or [full]
    return [full]


def _with_files_below(path: str) -> list[str]:
    """``path``, or when it is a folder the files in it (an ``rm -r`` removes them all)."""
    if not os.path.isdir(path) or os.path.islink(path):
        return [path]
    found: list[str] = []
    for top, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        found.extend(os.path.join(top, f) for f in files)
        if len(found) > MAX_DIR_FILES:
            break
    return found


def _writes(tokens: list[str], state: dict[str, str]) -> list[str]:
    cwd = state["cwd"]
    words: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok in WRITE_REDIRECTS:
            if words and words[-1].isdigit():
                words.pop()  # `2>file`: the digit is the descriptor, not an argument
            if nxt is not None and not (tok == ">&" and (nxt.isdigit() or nxt == "-")):
                out.extend(_paths(nxt, cwd))
            i += 2
            continue
        if tok in READ_REDIRECTS or tok.startswith("<"):
            if words and words[-1].isdigit():
                words.pop()
            i += 2
            continue
        words.append(tok)
        i += 1
    while words and "=" in words[0] and not words[0].startswith("=") and words[0].split("=")[0].isidentifier():
        words.pop(0)  # VAR=value before the command
    while words and os.path.basename(words[0]) in PREFIXES:
        words.pop(0)
        while words and (words[0].startswith("-") or ("=" in words[0] and words[0].split("=")[0].isidentifier())):
            words.pop(0)
    if not words:
        return out
    name, args = os.path.basename(words[0]), words[1:]
    if name == "cd":
        target = next((a for a in args if not a.startswith("-")), "~")
        if not _unknowable(target):
            state["cwd"] = os.path.join(cwd, os.path.expanduser(target))
    elif name in SHELLS and "-c" in args[:-1]:
        inner = args[args.index("-c") + 1]
        out.extend(shell_writes(inner, cwd))
    elif name == "tee":
        out.extend(p for a in _operands(args) for p in _paths(a, cwd))
    elif name in ("sed", "gsed"):
        out.extend(_sed_files(args, cwd))
    elif name == "perl" and any(a.startswith("-") and not a.startswith("--") and "i" in a for a in args):
        out.extend(_perl_files(args, cwd))
    elif name in ("cp", "mv", "install", "ln"):
        out.extend(_copy_targets(name, args, cwd))
    elif name in DELETES:
        skip = {"-s", "--size", "-r", "--reference", "-n", "--iterations"} if name in ("truncate", "shred") else set()
        for a in _operands(args, skip):
            for p in _paths(a, cwd):
                out.extend(_with_files_below(p) if name == "rm" else [p])
    elif name == "dd":
        out.extend(p for a in args if a.startswith("of=") for p in _paths(a[3:], cwd))
    elif name == "git":
        out.extend(_git_writes(args, cwd))
    return out


def _operands(args: list[str], with_value: set[str] | None = None) -> list[str]:
    """The non-option arguments (everything after ``--``; options in ``with_value`` take the next)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out.extend(args[i + 1:])
            break
        if a.startswith("-") and a != "-":
            i += 2 if with_value and a in with_value else 1
            continue
        out.append(a)
        i += 1
    return out


def _sed_files(args: list[str], cwd: str) -> list[str]:
    in_place = any(a.startswith("--in-place") or (a.startswith("-") and not a.startswith("--") and "i" in a)
                   for a in args)
    if not in_place:
        return []
    script_given = any(a in ("-e", "-f") or a.startswith(("--expression", "--file")) for a in args)
    operands = _operands(args, {"-e", "-f", "-l", "--expression", "--file", "--line-length"})
    files = operands if script_given else operands[1:]
    return [p for a in files for p in _paths(a, cwd)]


def _perl_files(args: list[str], cwd: str) -> list[str]:
    operands = _operands(args, {"-e", "-E", "-I", "-M"})
    script_given = any(a in ("-e", "-E") or (a.startswith("-") and not a.startswith("--") and a.endswith("e"))
                       for a in args)
    if script_given:
        # the script is the argument after the option ending in e (`-pi -e S`, `-pie S`)
        for j, a in enumerate(args):
            if a.startswith("-") and not a.startswith("--") and a.endswith("e") and j + 1 < len(args):
                if args[j + 1] in operands:
                    operands.remove(args[j + 1])
                break
    files = operands if script_given else operands[1:]
    return [p for a in files for p in _paths(a, cwd)]


def _copy_targets(name: str, args: list[str], cwd: str) -> list[str]:
    target_dir = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-t", "--target-directory") and i + 1 < len(args):
            target_dir = args[i + 1]
            i += 2
            continue
        if a.startswith("--target-directory="):
            target_dir = a.split("=", 1)[1]
        elif a == "--":
            rest.extend(args[i + 1:])
            break
        elif not (a.startswith("-") and a != "-"):
            rest.append(a)
        i += 1
    if target_dir is None:
        if len(rest) < 2:
            return []
        *sources, dest = rest
    else:
        sources, dest = rest, target_dir
    out: list[str] = []
    dests = _paths(dest, cwd)
    if not dests:
        return []
    into = dests[0]
    as_dir = target_dir is not None or os.path.isdir(into) or dest.endswith("/") or len(sources) > 1
    for src in sources:
        out.append(os.path.join(into, os.path.basename(src.rstrip("/"))) if as_dir else into)
        if name == "mv":
            out.extend(_paths(src, cwd))  # moved away: its old place changes too
    return out


def _git_writes(args: list[str], cwd: str) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-C" and i + 1 < len(args):
            cwd = os.path.join(cwd, args[i + 1])
            i += 2
        elif args[i] in ("-c", "--git-dir", "--work-tree", "--namespace") and i + 1 < len(args):
            i += 2
        else:
            i += 1
    if i >= len(args):
        return []
    sub, rest = args[i], args[i + 1:]
    if sub == "checkout":
        if "--" in rest:
            files = rest[rest.index("--") + 1:]
        else:  # `git checkout FILE` without `--`: what names an existing path
            files = [a for a in _operands(rest) if os.path.lexists(os.path.join(cwd, a))]
        return [p for a in files for p in _paths(a, cwd)]
    if sub == "restore":
        opts = [a for a in rest if a.startswith("-")]
        if ("--staged" in opts or "-S" in opts) and not ("--worktree" in opts or "-W" in opts):
            return []  # the index only
        return [p for a in _operands(rest, {"-s", "--source"}) for p in _paths(a, cwd)]
    if sub == "rm" and "--cached" not in rest:
        return [q for a in _operands(rest) for p in _paths(a, cwd) for q in _with_files_below(p)]
    if sub == "mv":
        return _copy_targets("mv", rest, cwd)
    return []
