"""The joblog, in GNU parallel's format (the Host column holds the stream): written as the
run goes, read back by ``--resume``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from gitpar.errors import bad

JOBLOG_HEADER = "Seq\tStream\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"


def read_joblog(path: Path) -> dict[str, int]:
    """The last exit value of each stream in a joblog (signal deaths count as failures)."""
    out: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise bad(str(path), None, f"cannot read the joblog: {exc.strerror}", "check the path") from None
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < 9 or cols[0] == "Seq":
            continue
        try:
            exitval, sig = int(cols[6]), int(cols[7])
        except ValueError:
            continue
        out[cols[1]] = exitval if sig == 0 else 128 + sig
    return out


class Joblog:
    """The joblog being written: one line per finished attempt, flushed as it is written."""

    def __init__(self, path: Path, *, append: bool) -> None:
        """Open ``path``; ``append`` (a resumed run) keeps an existing log's lines."""
        append = append and path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = path.open("a" if append else "w", encoding="utf-8")
        except OSError as exc:
            raise bad(str(path), None, f"cannot write the joblog: {exc.strerror}",
                      "give a writable path to --joblog") from None
        if not append:
            self.file.write(JOBLOG_HEADER)
            self.file.flush()
        self.seq = 0

    def write(self, name: str, start_wall: float, runtime: float, received: int,
              exitval: int, sig: int, argv: Sequence[str]) -> None:
        self.seq += 1
        command = shlex.join(argv).replace("\t", " ").replace("\n", " ")
        self.file.write(f"{self.seq}\t{name}\t{start_wall:.3f}\t{runtime:.3f}\t0\t{received}\t"
                        f"{exitval}\t{sig}\t{command}\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
