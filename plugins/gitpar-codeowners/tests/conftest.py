"""gitpar-codeowners's tests: the fixtures of gitpar.testing, and the plugin importable from a checkout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["gitpar.testing"]
