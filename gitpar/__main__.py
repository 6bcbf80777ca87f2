"""``python -m gitpar``."""

import sys

from gitpar.cli.main import main

sys.exit(main())
