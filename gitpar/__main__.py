"""``python -m gitpar``."""

import sys

from gitpar.launch import main

sys.exit(main())
