"""``gitpar guard``: may this stream write these paths now? The edit-time check for agents.

The verdict is the commit-time check's (:func:`gitpar.core.rules.judge`, and the plugins'
path policies through :func:`gitpar.core.check.check_paths`), asked before the edit
instead of at the commit: an agent learns that a file is not its own before it has done
the work. On top of it, a path outside the worktree is denied, and each denial carries
the command that is the way out (``gitpar lock PATH``, ``gitpar progress --need ...``).

Also here: the harness hook contracts (what a PreToolUse/BeforeTool hook receives on
stdin, and what it answers), as plain data in, data out. Everything on this path runs
before every edit an agent makes, so it imports only the standard library and the rule
matcher (``dataclasses``, ``json`` and ``shlex`` are not free either).
"""

from __future__ import annotations

import os

from gitpar.core.rules import Rules, judge

TYPE_CHECKING = False  # typing costs import time here; mypy treats this name like typing's
if TYPE_CHECKING:
    from typing import Any

    from gitpar.core.rules import Violation

# the tools that write a file, per harness contract, and where their input names it
CLAUDE_TOOLS = {"Edit": "file_path", "MultiEdit": "file_path", "Write": "file_path",
                "NotebookEdit": "notebook_path"}
GEMINI_TOOLS = {"write_file": "file_path", "replace": "file_path"}
CODEX_PATCH_TOOL = "apply_patch"  # Codex's one edit tool; the patch is in tool_input.command
PATCH_HEADERS = ("*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: ")
# the shell tool, per harness (Codex names its shell tool Bash in hooks); the command is tool_input.command
SHELL_TOOLS = {"claude": "Bash", "codex": "Bash", "gemini": "run_shell_command"}
# the event after a tool call, per harness: the worktree is checked then (guard --changed)
AFTER_EVENTS = {"claude": "PostToolUse", "codex": "PostToolUse", "gemini": "AfterTool"}
FORMATS = ("text", "json", "claude", "codex", "gemini")
HARNESSES = ("claude", "codex", "gemini")


class Verdict:
    """May ``path`` be written? ``rule`` says why not (a Violation's rule, or ``outside``)."""

    __slots__ = ("path", "rel", "allowed", "rule", "message", "fix", "owner")

    def __init__(self, path: str, rel: str | None, allowed: bool, rule: str = "", message: str = "",
                 fix: str = "", owner: str | None = None) -> None:
        self.path, self.rel, self.allowed = path, rel, allowed
        self.rule, self.message, self.fix, self.owner = rule, message, fix, owner

    def __repr__(self) -> str:
        return f"Verdict({self.path!r}, allowed={self.allowed}, rule={self.rule!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "repo_path": self.rel, "allowed": self.allowed,
                "rule": self.rule or None, "message": self.message or None, "fix": self.fix or None,
                "owner": self.owner}


class HookInputError(ValueError):
    """The harness sent something that is not the hook contract's input."""


def worktree_path(raw: str, cwd: str, root: str) -> str | None:
    """``raw`` (absolute, or relative to ``cwd``) as a path of the worktree at ``root``.

    None when it lands outside the worktree or inside git's own directory. Symbolic
    links are followed: what counts is the file the edit would change.
    """
    if not raw or "\0" in raw:
        return None
    full = os.path.realpath(os.path.join(cwd, raw))
    top = os.path.realpath(root)
    if not full.startswith(top.rstrip(os.sep) + os.sep):
        return None
    rel = full[len(top.rstrip(os.sep)) + 1:].replace(os.sep, "/")
    if rel == ".git" or rel.startswith(".git/"):
        return None
    return rel


def shell_word(text: str) -> str:
    """``text`` quoted for a POSIX shell when it needs it (shlex costs an import of re)."""
    safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_"
    if text and all(c in safe for c in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _edit_fix(v: Violation, stream: str | None) -> str:
    """The way out of a denial, as a command the agent can run now."""
    path = shell_word(v.path)
    if v.rule in ("needs-lock", "unowned") and "gitpar lock" in v.fix:
        return (f"take its lock first: gitpar lock {path} --reason 'what you change' "
                f"(then edit, commit, and gitpar unlock {path})")
    if v.rule == "owned" and v.owner:
        return (f"leave it to stream {v.owner}; if your work needs a change there, ask for it: "
                f'gitpar progress --need "{v.owner}: <the change you need in {v.path}>"')
    if v.rule == "locked" and v.owner:
        return (f"wait until {v.owner} releases it ('gitpar locks' shows until when), or ask: "
                f'gitpar progress --need "{v.owner}: release {v.path}"')
    return v.fix


def decide(rules: Rules, stream: str | None, paths: list[str], cwd: str, root: str,
           holders: dict[str, str], *, policies: bool = True, base: str = "") -> list[Verdict]:
    """The verdict on each of ``paths``, in order, by the rules the commit will be judged by.

    ``policies``: whether to ask the plugins' path policies too (as the commit check
    does); the caller may skip loading the plugin manager when it knows none has one.
    """
    rels = [worktree_path(p, cwd, root) for p in paths]
    inside = sorted({r for r in rels if r is not None})
    first = _first_violations(rules, stream, inside, holders, base, policies)
    out = []
    for raw, rel in zip(paths, rels, strict=True):
        if rel is None:
            where = f"stream {stream}'s worktree" if stream else "this worktree"
            out.append(Verdict(raw, None, False, "outside", f"{raw} is outside {where} ({root})",
                               "edit files inside the worktree only; another stream's files are changed "
                               "in its own worktree, by its own worker"))
        elif rel in first:
            v = first[rel]
            out.append(Verdict(raw, rel, False, v.rule, v.message, _edit_fix(v, stream), v.owner))
        else:
            out.append(Verdict(raw, rel, True))
    return out


def guard(repo: Any, paths: list[str], cwd: str | None = None) -> list[Verdict]:
    """The full path: the plan from the base branch, the live locks, the plugins' policies."""
    from gitpar.core.check import lock_holders
    from gitpar.core.verdict import base_rules
    from gitpar.errors import Refused

    root = repo.here or repo.main_root
    if root is None:
        raise Refused("this repository has no worktree to write paths in")
    from gitpar.core.identity import of_branch

    rules, base = base_rules(repo)
    who = of_branch(rules, repo.current_branch(), base)  # as the commit hook judges it
    return decide(who.rules, who.stream, paths, cwd or os.getcwd(), str(root),
                  lock_holders(repo), policies=True, base=base)


# -- the harnesses' hook contracts ------------------------------------------------------------


class Request:
    """What a hook call asks: the paths a tool would write (``shell``: read from a shell
    command, a best effort), or, after the tool ran (``after``), to check the worktree."""

    __slots__ = ("paths", "cwd", "shell", "after")

    def __init__(self, paths: list[str], cwd: str | None, *, shell: bool = False, after: bool = False) -> None:
        self.paths, self.cwd, self.shell, self.after = paths, cwd, shell, after


def hook_request(fmt: str, data: object, *, changed: bool = False) -> Request | None:
    """What the hook's stdin (``data``, parsed) asks; None: a tool call that writes no file.

    The event after a tool call (``PostToolUse``, Gemini's ``AfterTool``), or ``changed``
    (``guard --changed``), asks for the worktree's check; before it, the paths the tool
    would write. Raises :class:`HookInputError` when the input is not the contract's shape.
    """
    if not isinstance(data, dict):
        raise HookInputError(f"the hook input is a JSON {type(data).__name__}, not an object")
    cwd = data.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise HookInputError("the hook input's cwd is not a string")
    if changed or data.get("hook_event_name") == AFTER_EVENTS[fmt]:
        return Request([], cwd, after=True)
    tool = data.get("tool_name")
    if tool == SHELL_TOOLS[fmt]:
        tool_input = data.get("tool_input")
        if not isinstance(tool_input, dict) or not isinstance(tool_input.get("command"), str):
            raise HookInputError(f"the {tool} call has no tool_input.command")
        command = tool_input["command"]
        where = cwd
        folder = tool_input.get("dir_path", tool_input.get("directory"))  # Gemini's shell tool takes one
        if isinstance(folder, str) and folder and where is not None:
            where = os.path.join(where, folder)
        from gitpar.core.guard_shell import shell_writes

        return Request(shell_writes(command, where or os.getcwd()), where, shell=True)
    found = edit_request(fmt, data)
    return None if found is None else Request(found[0], found[1])


def edit_request(fmt: str, data: object) -> tuple[list[str], str | None] | None:
    """The paths a file tool call would write, and the ``cwd`` the harness names; None: no file.

    ``data`` is the hook's stdin, parsed. Raises :class:`HookInputError` when it is not
    the contract's shape (which the caller answers by blocking: a guard that cannot
    read the request must not wave the edit through).
    """
    if not isinstance(data, dict):
        raise HookInputError(f"the hook input is a JSON {type(data).__name__}, not an object")
    tool = data.get("tool_name")
    tool_input = data.get("tool_input")
    cwd = data.get("cwd")
    if not isinstance(tool, str):
        raise HookInputError("the hook input has no tool_name")
    if cwd is not None and not isinstance(cwd, str):
        raise HookInputError("the hook input's cwd is not a string")
    tools = GEMINI_TOOLS if fmt == "gemini" else CLAUDE_TOOLS
    if tool in tools or (fmt == "codex" and tool == CODEX_PATCH_TOOL):
        if not isinstance(tool_input, dict):
            raise HookInputError(f"the {tool} call has no tool_input object")
        if tool == CODEX_PATCH_TOOL:
            patch = tool_input.get("command", tool_input.get("patch", tool_input.get("input")))
            if not isinstance(patch, str):
                raise HookInputError("the apply_patch call has no patch text in tool_input.command")
            # Codex's own parser trims each line before it reads a header: so does this one
            paths = [line.strip()[len(h):].strip() for line in patch.splitlines() for h in PATCH_HEADERS
                     if line.strip().startswith(h)]
            if not paths:
                raise HookInputError("the apply_patch call's patch names no file")
            return paths, cwd
        path = tool_input.get(tools[tool])
        if not isinstance(path, str) or not path:
            raise HookInputError(f"the {tool} call has no tool_input.{tools[tool]}")
        return [path], cwd
    return None


def denial_reason(verdicts: list[Verdict], stream: str | None) -> str:
    """One text for the agent: what is refused, why, and what to do instead."""
    denied = [v for v in verdicts if not v.allowed]
    who = f"stream {stream}" if stream else "this branch (no stream)"
    lines = [f"gitpar: {who} may not write {', '.join(v.rel or v.path for v in denied)} now."]
    for v in denied:
        lines.append(f"- {v.message}. Instead: {v.fix}.")
    lines.append("(The same rule refuses the commit; 'gitpar brief' shows what this stream owns.)")
    return "\n".join(lines)


def harness_answer(fmt: str, verdicts: list[Verdict], stream: str | None) -> dict[str, Any] | None:
    """What the hook prints: None when every path is allowed (the harness's own permission
    flow goes on, untouched), else the contract's denial."""
    if all(v.allowed for v in verdicts):
        return None
    reason = denial_reason(verdicts, stream)
    if fmt == "gemini":
        return {"decision": "deny", "reason": reason}
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": reason}}


# -- after the tool call: what the worktree now holds (guard --changed) ------------------------


def _undo(path: str, kind: str) -> str:
    word = shell_word(path)
    if kind == "created":
        return f"remove what you created: git clean -f -- {word}"
    return f"undo it: git checkout HEAD -- {word}"


def judge_changed(rules: Rules, stream: str | None, changes: list[tuple[str, str]], holders: dict[str, str],
                  excused: Any = None, *, policies: bool = True, base: str = "") -> list[Verdict]:
    """The verdicts on the worktree's changes (``(path, kind)``, from
    :func:`gitpar.store.worktree_changes.worktree_changes`) by the commit check's rules: one
    per change that the commit hook would refuse. ``excused(paths)``: those of the tracked
    suspects whose content is back to the base's or the fork point's (the net-effect rule)."""
    paths = sorted({p for p, _ in changes})
    if not paths:
        return []
    first = _first_violations(rules, stream, paths, holders, base, policies)
    kinds = dict(changes)
    if first and excused is not None:
        for p in excused(sorted(p for p in first if kinds.get(p) != "created")):
            first.pop(p, None)
    out = []
    for path in sorted(first):
        v = first[path]
        verdict = Verdict(path, path, False, v.rule, v.message, f"{_undo(path, kinds[path])}; or {_edit_fix(v, stream)}",
                          v.owner)
        verdict.message = f"{v.message} ({kinds[path]})"
        out.append(verdict)
    return out


def changed_reason(verdicts: list[Verdict], stream: str | None) -> str:
    """The text for the agent after a tool call left changes the commit will refuse."""
    who = f"stream {stream}" if stream else "this branch (no stream)"
    lines = [f"gitpar: the worktree now holds changes {who} may not make: "
             f"{', '.join(v.rel or v.path for v in verdicts)}."]
    for v in verdicts:
        lines.append(f"- {v.message}. To fix: {v.fix}.")
    lines.append("gitpar reverted nothing; the commit hook refuses these changes until they are undone "
                 "('gitpar guard --changed' checks again).")
    return "\n".join(lines)


def after_answer(fmt: str, verdicts: list[Verdict], stream: str | None) -> dict[str, Any] | None:
    """What the after-the-tool-call hook prints: None when the worktree is clean by the rules,
    else the harness's blocking form (Claude Code and Codex: ``decision: block`` with the
    reason, which the agent is shown; Gemini CLI: ``decision: deny``, whose reason replaces
    the tool's result)."""
    if not verdicts:
        return None
    reason = changed_reason(verdicts, stream)
    if fmt == "gemini":
        return {"decision": "deny", "reason": reason}
    return {"decision": "block", "reason": reason,
            "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": reason}}


def _first_violations(rules: Rules, stream: str | None, paths: list[str], holders: dict[str, str],
                      base: str, policies: bool) -> dict[str, Violation]:
    """The first violation of each of ``paths`` an edit by ``stream`` would make, by the commit
    check's rules (with the plugins' path policies when ``policies``)."""
    if policies:
        from gitpar.core.check import check_paths

        violations = check_paths(rules, stream, paths, holders, "edit", base).violations
    else:
        violations = judge(rules, stream, paths, holders.get)
    first: dict[str, Violation] = {}
    for v in violations:
        first.setdefault(v.path, v)
    return first
