"""Make the repository's packages importable when pytest is run as `pytest`, not only `python -m pytest`."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
