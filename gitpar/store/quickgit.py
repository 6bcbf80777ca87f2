"""Running git from the pre-commit hook without the ``subprocess`` module.

``subprocess`` pulls in ``signal``, ``threading``, ``selectors``, ``locale`` and ``re``:
more import time than the hook's whole check. The hook runs two short git commands, so
it spawns them directly (posix_spawn) with pipes; other platforms use ``subprocess``.
"""

from __future__ import annotations

import os


def git_output(args: list[str], cwd: str, stdin: bytes = b"") -> tuple[int, bytes]:
    """Run ``git -C cwd args`` with this environment; its exit code and standard output.

    Standard error goes to the hook's own (git shows it to the user). ``stdin`` must be
    small (it is written before the output is read).
    """
    argv = ["git", "-C", cwd, *args]
    if not hasattr(os, "posix_spawnp"):
        import subprocess

        proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE)
        return proc.returncode, proc.stdout
    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    try:
        pid = os.posix_spawnp("git", argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_CLOSE, in_w), (os.POSIX_SPAWN_CLOSE, out_r)])
    finally:
        os.close(in_r)
        os.close(out_w)
    try:
        if stdin:
            os.write(in_w, stdin)
    finally:
        os.close(in_w)
    chunks = []
    try:
        while True:
            chunk = os.read(out_r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(out_r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks)


def git_dir(cwd: str) -> str:
    """The git directory of the worktree at ``cwd`` (``GIT_DIR``, a ``.git`` file or folder)."""
    env = os.environ.get("GIT_DIR")
    if env:
        return os.path.realpath(os.path.join(cwd, env))
    return worktree_git_dir(cwd)


def worktree_git_dir(worktree: str) -> str:
    """The git directory of the worktree folder ``worktree``, from its ``.git`` file or folder,
    whatever ``GIT_DIR`` says (a hook runs with the pushing worktree's)."""
    dot = os.path.join(worktree, ".git")
    if os.path.isfile(dot):
        with open(dot, encoding="utf-8") as f:
            text = f.read().strip()
        if text.startswith("gitdir:"):
            return os.path.realpath(os.path.join(worktree, text[len("gitdir:"):].strip()))
    return os.path.realpath(dot)


def common_dir(gitdir: str) -> str:
    """The common git directory of the worktree whose git directory is ``gitdir``."""
    f = os.path.join(gitdir, "commondir")
    if os.path.isfile(f):
        with open(f, encoding="utf-8") as fh:
            return os.path.realpath(os.path.join(gitdir, fh.read().strip()))
    return gitdir


def clean_tree(root: str, sub: str) -> str | None:
    """The id of the tree ``HEAD:sub`` when the worktree at ``root`` has nothing under ``sub``
    that differs from it (changed, staged, untracked or ignored files: ``git status``, which
    also sees an edit that kept a file's size and modification time); None otherwise."""
    code, out = git_output(["--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=all",
                            "--ignored", "--", sub], root)
    if code != 0 or out:
        return None
    code, out = git_output(["rev-parse", "--verify", "--quiet", f"HEAD:{sub}"], root)
    tree = out.decode("ascii", "replace").strip()
    return tree if code == 0 and tree else None


def ref_value(common: str, ref: str) -> str | None:
    """The object ``ref`` (``refs/heads/main``) names, read from the ref files as git reads
    them, without running git: its loose file when there is one (it wins over a packed line),
    else its line in ``packed-refs`` (a tag's own object, not the ``^`` line of what it
    peels to). None when neither holds a plain object id — a symbolic ref, no such ref, or
    another ref store (reftable): the caller then asks git."""
    try:
        with open(os.path.join(common, ref), "rb") as f:
            value = f.read().strip().decode("ascii", "replace")
        return value if len(value) in (40, 64) and _hex(value) else None
    except FileNotFoundError:
        pass
    except OSError:
        return None  # a folder, or refs/heads is a file (reftable): not this reader's
    try:
        with open(os.path.join(common, "packed-refs"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    want = b" " + ref.encode("utf-8", "surrogateescape")
    for line in data.splitlines():
        if line.endswith(want) and not line.startswith((b"#", b"^")):
            value = line[:-len(want)].decode("ascii", "replace")
            return value if len(value) in (40, 64) and _hex(value) else None
    return None


def _hex(value: str) -> bool:
    return all(c in "0123456789abcdef" for c in value)
