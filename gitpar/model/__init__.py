"""The bottom layer: the value types the other layers pass to each other.

The plan (``model.plan``), a lock (``model.lock``), a violation (``model.violation``), a run
record and an estimate (``model.history``), durations (``model.durations``) and the values
that travel through the plugin hooks (``model.hooks``). These modules import nothing of
gitpar but ``gitpar.errors`` (``tests/test_layers.py`` holds them to it), so the core, the
plugins and the command line can all depend on them without depending on each other.
Nothing is imported here: the git hook imports only the one it needs.
"""
