"""Equivalence tests (TOST) and minimum detectable effects (issue 20).

TOST against a hand computation and statsmodels' ``ttost_ind``/``ttost_paired`` on the
same estimate, SE and df; the MDE against the normal closed form, the noncentral-t
power equation and Monte Carlo rejection rates over many replications (its standard
error gives the tolerance, not a tuned seed).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from ipnstats.core.errors import SpecificationError
from ipnstats.inference.equivalence import minimum_detectable_effect, tost


def test_tost_by_hand_normal():
    r = tost(0.03, 0.04, None, -0.1, 0.1)
    assert r.p_lower == pytest.approx(stats.norm.sf((0.03 + 0.1) / 0.04), rel=1e-12)
    assert r.p_upper == pytest.approx(stats.norm.cdf((0.03 - 0.1) / 0.04), rel=1e-12)
    assert r.p_value == max(r.p_lower, r.p_upper)
    z = stats.norm.ppf(0.95)
    assert (r.conf_low, r.conf_high) == pytest.approx((0.03 - z * 0.04, 0.03 + z * 0.04))
    assert r.equivalent  # the 90% CI (-0.036, 0.096) lies inside (-0.1, 0.1)


def test_tost_equivalent_iff_interval_inside_bounds():
    rng = np.random.default_rng(1)
    for _ in range(200):
        est, se, df = rng.normal(0, 0.1), rng.uniform(0.01, 0.1), rng.choice([None, 5, 40])
        r = tost(est, se, df, -0.1, 0.1)
        inside = r.conf_low > -0.1 and r.conf_high < 0.1
        assert r.equivalent == inside


def test_tost_matches_statsmodels_ttost_ind():
    rng = np.random.default_rng(7)
    x1, x2 = rng.normal(0.1, 1, 40), rng.normal(0, 1, 35)
    p_sm, (t1, p1, _), (t2, p2, _) = ttost_ind(x1, x2, -0.5, 0.5)
    n1, n2 = len(x1), len(x2)
    df = n1 + n2 - 2
    pooled = ((n1 - 1) * x1.var(ddof=1) + (n2 - 1) * x2.var(ddof=1)) / df
    se = np.sqrt(pooled * (1 / n1 + 1 / n2))
    r = tost(x1.mean() - x2.mean(), se, df, -0.5, 0.5)
    assert (r.p_value, r.p_lower, r.p_upper) == pytest.approx((p_sm, p1, p2), rel=1e-10)


def test_tost_matches_statsmodels_ttost_paired():
    rng = np.random.default_rng(3)
    x1 = rng.normal(0, 1, 25)
    x2 = x1 + rng.normal(0.05, 0.3, 25)
    p_sm, (_, p1, _), (_, p2, _) = ttost_paired(x1, x2, -0.2, 0.2)
    d = x1 - x2
    r = tost(d.mean(), d.std(ddof=1) / np.sqrt(len(d)), len(d) - 1, -0.2, 0.2)
    assert (r.p_value, r.p_lower, r.p_upper) == pytest.approx((p_sm, p1, p2), rel=1e-10)


def test_tost_bad_bounds_are_clear_errors():
    with pytest.raises(SpecificationError, match="low < high"):
        tost(0.0, 1.0, None, 0.1, -0.1)
    with pytest.raises(SpecificationError, match="df must be positive"):
        tost(0.0, 1.0, 0, -0.1, 0.1)
    assert np.isnan(tost(0.0, np.nan, None, -1, 1).p_value)


def test_mde_normal_closed_form():
    z = stats.norm.ppf
    one = minimum_detectable_effect(0.5, None, 0.05, 0.8, "greater")
    assert one == pytest.approx((z(0.95) + z(0.8)) * 0.5, rel=1e-10)
    assert minimum_detectable_effect(0.5, None, 0.05, 0.8, "less") == pytest.approx(one)
    two = minimum_detectable_effect(0.5, None, 0.05, 0.8)
    # exact two-sided: a hair below the textbook (z_{.975} + z_{.8}) se
    assert two == pytest.approx((z(0.975) + z(0.8)) * 0.5, abs=1e-5)
    assert two < (z(0.975) + z(0.8)) * 0.5
    d = two / 0.5
    assert stats.norm.sf(z(0.975) - d) + stats.norm.cdf(-z(0.975) - d) == pytest.approx(0.8)


def test_mde_noncentral_t():
    df, se = 12, 0.3
    mde = minimum_detectable_effect(se, df, 0.05, 0.9)
    crit = stats.t.ppf(0.975, df)
    nct = stats.nct(df, mde / se)
    assert nct.sf(crit) + nct.cdf(-crit) == pytest.approx(0.9, abs=1e-9)
    assert mde > minimum_detectable_effect(se, None, 0.05, 0.9)  # t is wider than normal


@pytest.mark.parametrize("df", [None, 8])
def test_mde_monte_carlo_power(df):
    """At the MDE, the level-.05 two-sided test rejects in 80% of replications."""
    reps, se = 40_000, 1.0
    rng = np.random.default_rng(20)
    mde = minimum_detectable_effect(se, df, 0.05, 0.8)
    law = stats.norm if df is None else stats.t(df)
    # the t statistic of an estimate with df: normal numerator over a chi-square SE
    num = rng.normal(mde, se, reps)
    scale = 1.0 if df is None else np.sqrt(rng.chisquare(df, reps) / df)
    t = num / (se * scale)
    crit = law.ppf(0.975)
    rate = np.mean(np.abs(t) > crit)
    assert abs(rate - 0.8) < 4 * np.sqrt(0.8 * 0.2 / reps)


def test_tost_monte_carlo_size():
    """At the bound, TOST declares equivalence in at most alpha of the replications."""
    reps = 40_000
    rng = np.random.default_rng(21)
    est = rng.normal(0.1, 0.05, reps)
    p = np.array([tost(e, 0.05, None, -0.1, 0.1).p_value for e in est[:4000]])
    rate = np.mean(p < 0.05)
    assert rate < 0.05 + 4 * np.sqrt(0.05 * 0.95 / 4000)


def test_mde_bad_input():
    with pytest.raises(SpecificationError, match="alternative"):
        minimum_detectable_effect(1.0, None, 0.05, 0.8, "both")
    with pytest.raises(SpecificationError, match="alpha < power"):
        minimum_detectable_effect(1.0, None, 0.05, 0.01)
    assert np.isnan(minimum_detectable_effect(np.nan))
