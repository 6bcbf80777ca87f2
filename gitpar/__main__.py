"""``python -m gitpar``."""

import sys

from gitpar.cli.launch import main

sys.exit(main())
