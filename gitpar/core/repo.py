"""The repository with its plan: what the core reads the plan through.

``store.repo.Repo`` knows git (refs, trees, worktrees); this subclass adds reading and
validating the plan, which is the core's business, so the store never imports the core.
"""

from __future__ import annotations

from pathlib import Path

from gitpar.core import plan_cache
from gitpar.core.plan import PLAN_DIR, PLAN_FILE, Plan, Settings, load_plan, parse_settings
from gitpar.errors import bad
from gitpar.store import repo as store
from gitpar.store.repo import Oid


class Repo(store.Repo):
    """A repository as gitpar sees it, with its plan."""

    worktree_plan_key: str | None = None  # the cache key of the main worktree's plan, once read (None: dirty)

    def load_plan_at(self, commit: Oid) -> Plan | None:
        """The plan committed in ``commit`` (None when it has none).

        Cached by the id of the ``.gitpar`` tree: with thousands of streams, parsing every
        stream file is the cost of a command, and a committed plan never changes.
        """
        tree = self.subtree_at(commit, PLAN_DIR)
        if tree is None:
            return None
        plan = plan_cache.get(self, f"tree-{tree}", lambda: self._parse(self.plan_files_at(commit)))
        return self._noted(plan) if plan is not None else None

    @staticmethod
    def _parse(files: dict[str, str]) -> Plan | None:
        return load_plan(files) if files else None

    def tracked_files(self, rev: str | None = None) -> list[str]:
        """Every file path in the tree of ``rev`` (default: the base branch), or [] if none."""
        tip = self.tip(rev or self.configured_base())
        if tip is None:
            return []
        return [path for path, _ in self.files_at(tip)]

    def load_plan(self, source: str = "worktree") -> Plan:
        """The validated plan.

        ``worktree``: the main worktree's ``.gitpar/`` as it is on disk (the orchestrator's
        copy, committed or not). ``base``: the plan as committed on the base branch — the
        only source enforcement trusts, since a stream cannot change it. A repository with
        no ``.gitpar/`` gets a BadInput telling to run ``gitpar init``.
        """
        root = self.main_root
        self.configured_base()  # a committed base: that names no branch stops every command
        if source == "worktree" and root is not None and (root / PLAN_DIR).is_dir():
            key = plan_cache.worktree_key(str(root))
            self.worktree_plan_key = key
            if key is not None:
                found = plan_cache.get(self, key, lambda: self._parse(self.plan_files_in_dir(root)))
            else:  # edited and not committed: parsed, never cached
                found = self._parse(self.plan_files_in_dir(root))
            if found is not None:
                return self._noted(found)
        plan = self.load_plan_at_base()
        if plan is None:
            raise bad(PLAN_DIR, None, "no plan in this repository",
                      "run 'gitpar init' in the main worktree")
        return plan

    def load_plan_at_base(self, base: str | None = None) -> Plan | None:
        """The plan committed on the base branch (None when there is none)."""
        if base is None:
            base = self.configured_base()
        tip = self.tip(base)
        return None if tip is None else self.load_plan_at(tip)

    def settings_at(self, commit: Oid) -> Settings | None:
        """The settings of the plan.md committed in ``commit`` (that one file, not every
        stream's), or None when it has none; BadInput when it cannot be read."""
        data = self.blob_at(commit, PLAN_FILE)
        if data is None:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise bad(PLAN_FILE, None, "is not UTF-8 text", "save the file as UTF-8") from None
        return parse_settings(text)[0]

    def state_remote(self) -> str | None:
        """``remote:`` of the plan settings (the main worktree's plan.md, else the base's)."""
        if not hasattr(self, "_remote"):
            self._remote = self._settings().remote
        return self._remote

    def _settings(self) -> Settings:
        if self.main_root is not None:
            path = self.main_root / PLAN_FILE
            if path.is_file():
                try:
                    text = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise bad(PLAN_FILE, None, "is not UTF-8 text", "save the file as UTF-8") from None
                return parse_settings(text)[0]
        for candidate in ("main", "master"):
            tip = self.tip(candidate)
            if tip is not None:
                files = self.plan_files_at(tip)
                if PLAN_FILE in files:
                    return parse_settings(files[PLAN_FILE])[0]
        return parse_settings(None)[0]

    def configured_base(self) -> str:
        """The base branch: the ``base:`` of the plan committed on the branch ``gitpar init``
        recorded (:meth:`plan_branch`), else that branch itself when it has no plan yet.

        Never the main worktree's uncommitted plan.md: a worker cannot move the base. A
        ``base:`` that names no branch here, or a stream's branch (``gitpar/...``), is a plan
        error (BadInput naming it), never "nothing to enforce" (docs/lockproof.md)."""
        if not hasattr(self, "_base"):
            self._base = self._trusted_base()
        return self._base

    def plan_branch(self) -> str:
        """The branch whose committed plan names the base: ``gitpar.base`` in the common git
        config (what ``init`` recorded), else in a clone without the record origin's default
        branch (origin/HEAD), else main, else master, else main."""
        recorded = self.recorded_base()
        if recorded is not None:
            return recorded
        for candidate in (self.default_branch(), "main", "master"):
            if candidate and self.tip(candidate) is not None:
                return candidate
        return "main"

    def _trusted_base(self) -> str:
        branch = self.plan_branch()
        tip = self.tip(branch)
        if tip is None:
            if self.recorded_base() is not None and not self.git.head_is_unborn:
                raise bad(".git/config", "gitpar.base", f"names the base branch {branch!r}, which does "
                          "not exist here", f"create or fetch {branch}, or record the base with "
                          "'git config gitpar.base BRANCH' (or run 'gitpar init --base BRANCH')")
            return branch  # a repository with no commits yet: nothing committed to enforce
        text = self.text_at(tip, PLAN_FILE)
        if text is None:
            return branch
        base = parse_settings(text)[0].base
        check_base_name(self, base, f"on {branch}")
        return base


def check_base_name(repo: store.Repo, base: str, where: str) -> None:
    """BadInput unless ``base`` names an existing branch that is no stream's."""
    if base == "gitpar" or base.startswith(("gitpar/", "refs/heads/gitpar/")):
        raise bad(PLAN_FILE, "base", f"{base!r} (committed {where}) is a stream's or gitpar's own branch: "
                  "a stream would then judge itself", "set base: to the branch streams start from "
                  "and merge into (e.g. main) and commit it there")
    if repo.tip(base) is None:
        raise bad(PLAN_FILE, "base", f"names the branch {base!r} (committed {where}), which does not exist "
                  "here, so nothing could be enforced", f"create or fetch {base}, or set base: to an existing "
                  "branch (e.g. main) and commit it")


def open_repo(cwd: Path | str | None = None) -> Repo:
    """The repository around ``cwd``; BadInput when there is none."""
    return store.open_repo(cwd, factory=Repo)


# the plugins open the repository around a folder as this class (store.repo.repo_around):
# they never import the core
store.around_factory = Repo
