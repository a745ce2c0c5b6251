"""``python -m ipnstats``: the command line (see :mod:`ipnstats.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
