"""The in-process pygit2 floor of ``gitpar status``: what status computes, by a short script.

Run as a whole process (``python bench/status_floor.py REPO``) by bench_status.py: it opens
the repository, reads every stream file of the plan on main (its ``owns:`` globs) and every
progress file on the state branch, and for each ``gitpar/<name>`` branch computes ahead and
behind of main, the files it changed since the merge base, and the changed files no
``owns:`` of its stream covers (violations). Prints one JSON line: per stream, ahead,
behind, files changed and violations — the same figures ``status --json`` gives, compared
by the bench. What a careful script doing status's work pays, without gitpar.
"""

from __future__ import annotations

import fnmatch
import json
import sys

import pygit2


def main(path: str) -> int:
    repo = pygit2.Repository(path)
    main_tip = repo.references["refs/heads/main"].peel(pygit2.Commit)
    owns: dict[str, list[str]] = {}
    folder = main_tip.tree[".gitpar"] / "streams"
    for entry in folder:  # type: ignore[attr-defined]
        text = repo[entry.id].data.decode()
        for line in text.splitlines():
            if line.startswith("owns:"):
                owns[entry.name[:-3]] = json.loads(line[5:].strip().replace("'", '"'))
    state = repo.references["refs/heads/gitpar/_state"].peel(pygit2.Commit).tree
    progress = {e.name[:-3]: repo[e.id].data for e in state / "progress"}  # type: ignore[attr-defined]
    out: dict[str, dict[str, int]] = {}
    for ref in repo.references.iterator():
        name = ref.name
        if not name.startswith("refs/heads/gitpar/") or name.endswith("/_state"):
            continue
        stream = name[len("refs/heads/gitpar/"):]
        tip = ref.peel(pygit2.Commit)
        ahead, behind = repo.ahead_behind(tip.id, main_tip.id)
        base = repo.merge_base(tip.id, main_tip.id)
        diff = repo.diff(repo[base].peel(pygit2.Tree), tip.tree) if base else tip.tree.diff_to_tree()
        changed = {d.delta.new_file.path for d in diff}
        globs = [g[:-3] + "/*" if g.endswith("/**") else g for g in owns.get(stream, [])]
        bad = [p for p in changed if not any(fnmatch.fnmatchcase(p, g) for g in globs)]
        out[stream] = {"ahead": ahead, "behind": behind, "files_changed": len(changed), "violations": len(bad),
                       "progress": int(stream in progress)}
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
