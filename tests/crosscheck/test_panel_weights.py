"""Cross-check one family on random designs (hypothesis; tests/crosscheck/properties.py)."""

from .properties import property_test

test_panel_weights = property_test("panel_weights")
