"""gitpar-mcp's tests use gitpar.testing's fixtures (real repositories, hermetic git);
the package itself is imported from this checkout when it is not installed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
pytest_plugins = ["gitpar.testing"]
