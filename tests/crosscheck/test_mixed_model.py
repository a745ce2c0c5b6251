"""Cross-check mixed_model on random designs (hypothesis; see tests/crosscheck/properties.py).

A random slope on a column of scale 1e6 is left out here: ipnstats' optimiser does not
reach statsmodels' optimum there (a known defect, the xfail test below pins it;
``make crosscheck`` still draws such designs)."""

import warnings

import pytest

pytest.importorskip("hypothesis")

from .design import Design  # noqa: E402
from .mixed import check  # noqa: E402
from .properties import property_test  # noqa: E402

test_mixed_model = property_test("mixed_model", {"scale": (1.0, 1.0, 1e-6)})


@pytest.mark.xfail(strict=True, reason="random slope on a column of scale 1e6: the REML "
                   "optimum is not reached (theta is not scale-free); issue 19")
def test_a_random_slope_on_a_column_of_scale_1e6_reaches_the_optimum():
    design = Design(seed=24, n_units=21, n_periods=3, n_singletons=1, constant=True,
                    scale=1e6, categorical=True, n_clusters=3, unit_sd=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = check(design)
    assert outcome.status in ("agree", "convention"), outcome.details
