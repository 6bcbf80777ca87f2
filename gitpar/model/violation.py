"""A violation: one changed path a stream may not change (``gitpar.core.rules`` finds them)."""

from __future__ import annotations

# a plain class, not a dataclass: the git hook imports this module, and dataclasses (with
# typing) cost more import time than the check itself; mypy treats this name like typing's
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Violation:
    """One changed path a stream may not change, with who owns or holds it and the fix.

    ``rule``: owned | locked | needs-lock | unowned | plan | protected | shared-by-others.
    """

    __slots__ = ("path", "rule", "message", "fix", "owner", "commit")

    def __init__(self, path: str, rule: str, message: str, fix: str, owner: str | None = None,
                 commit: str | None = None) -> None:
        self.path, self.rule, self.message, self.fix = path, rule, message, fix
        self.owner, self.commit = owner, commit

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Violation) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Violation({self.path!r}, {self.rule!r}, owner={self.owner!r}, commit={self.commit!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rule": self.rule, "message": self.message, "fix": self.fix,
                "owner": self.owner, "commit": self.commit}
