"""The repository with its plan: what the core reads the plan through.

``store.repo.Repo`` knows git (refs, trees, worktrees); this subclass adds reading and
validating the plan, which is the core's business, so the store never imports the core.
"""

from __future__ import annotations

from pathlib import Path

from gitpar.core.plan import PLAN_DIR, PLAN_FILE, Plan, load_plan, parse_settings
from gitpar.errors import bad
from gitpar.store import repo as store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gitpar.store.repo import Oid


class Repo(store.Repo):
    """A repository as gitpar sees it, with its plan."""

    def load_plan_at(self, commit: Oid) -> Plan | None:
        """The plan committed in ``commit`` (None when it has none)."""
        files = self.plan_files_at(commit)
        return self._noted(load_plan(files)) if files else None

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
        if source == "worktree" and self.main_root is not None:
            files = self.plan_files_in_dir(self.main_root)
            if files:
                return self._noted(load_plan(files))
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
        if tip is None:
            return None
        files = self.plan_files_at(tip)
        if not files:
            return None
        return self._noted(load_plan(files))

    def configured_base(self) -> str:
        """The base branch named by the main worktree's plan.md, else by the plan committed on
        main or master (a bare repository, a fresh clone), else main."""
        if self.main_root is not None:
            path = self.main_root / PLAN_FILE
            if path.is_file():
                settings, _ = parse_settings(path.read_text(encoding="utf-8"))
                return settings.base
        for candidate in ("main", "master"):
            tip = self.tip(candidate)
            if tip is not None:
                files = self.plan_files_at(tip)
                if PLAN_FILE in files:
                    return parse_settings(files[PLAN_FILE])[0].base
        return "main"




def open_repo(cwd: Path | str | None = None) -> Repo:
    """The repository around ``cwd``; BadInput when there is none."""
    return store.open_repo(cwd, factory=Repo)
