"""``python -m ipnstats``: the command line (see :mod:`ipnstats.cli`)."""

import sys

from ipnstats.cli import main

if __name__ == "__main__":
    sys.exit(main())
