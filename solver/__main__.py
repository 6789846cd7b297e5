"""``python -m solver train ...``: see :mod:`solver.learning.cli`."""

import sys

from .learning.cli import main

if __name__ == "__main__":
    sys.exit(main())
