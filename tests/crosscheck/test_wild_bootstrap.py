"""Cross-check one family on random designs (hypothesis; tests/crosscheck/properties.py)."""

import pytest

pytest.importorskip("hypothesis")

from .properties import property_test  # noqa: E402

test_wild_bootstrap = property_test("wild_bootstrap")
