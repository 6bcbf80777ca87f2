"""gitpar's own behaviour, registered as plugins like any other (as llm and datasette do).

Each module is one plugin, named ``gitpar.<module>``; they are registered before the
installed plugins, and their hookimpls are ``trylast``, so an installed plugin that
answers a ``firstresult`` hook overrides them.
"""

from __future__ import annotations

# module, plugin name
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("gitpar.plugins.builtin.estimate", "gitpar.estimate"),
    ("gitpar.plugins.builtin.locks", "gitpar.locks"),
    ("gitpar.plugins.builtin.integration", "gitpar.integration"),
    ("gitpar.plugins.builtin.brief", "gitpar.brief"),
)
# the hooks those modules implement (a test checks it against the loaded plugins): with no
# other plugin loadable, a hook not among them has no answer, and nothing need be loaded
HOOKS: frozenset[str] = frozenset({"gitpar_estimate", "gitpar_lock_strategies",
                                   "gitpar_conflict_strategies", "gitpar_render_brief"})
