"""Cross-check one family on random designs (hypothesis; tests/crosscheck/properties.py)."""

from .properties import property_test

test_wild_bootstrap = property_test("wild_bootstrap")
