"""Cross-check one family on random designs (hypothesis; tests/crosscheck/properties.py)."""

from .properties import property_test

test_did_cs = property_test("did_cs")
