"""Cross-checks against peer packages (issue 19); see :mod:`tests.crosscheck.registry`."""
