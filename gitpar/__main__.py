"""``python -m gitpar``."""

from gitpar.launch import run

run()
