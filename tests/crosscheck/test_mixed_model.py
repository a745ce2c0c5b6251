"""Cross-check mixed_model on random designs (hypothesis; tests/crosscheck/properties.py)."""

import warnings

from .design import Design
from .mixed import check
from .properties import property_test

test_mixed_model = property_test("mixed_model")


def test_a_random_slope_on_a_column_of_scale_1e6_reaches_the_optimum():
    """Found by the campaign: ipnstats stopped far below statsmodels' REML optimum (or ran
    for minutes) with a random slope on a column of scale 1e6."""
    design = Design(seed=24, n_units=21, n_periods=3, n_singletons=1, constant=True,
                    scale=1e6, categorical=True, n_clusters=3, unit_sd=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = check(design)
    assert outcome.status in ("agree", "convention"), outcome.details
