"""The ipnstats test suite (a package, so that `python -m tests.fuzz.campaign` finds it)."""
