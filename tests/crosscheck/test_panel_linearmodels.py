"""Cross-check one family on random designs (hypothesis; tests/crosscheck/properties.py)."""

import pytest

pytest.importorskip("hypothesis")

from .properties import property_test  # noqa: E402

test_panel_linearmodels = property_test("panel_linearmodels")
