"""Rubin's rules, D1 and pooled R-squared against R mice 3.15.0 on its nhanes example
(m = 5, seed 123, ``lm(chl ~ age + bmi)``; tests/reference/mice), fed with R's own five
fits and with ipnstats' fits of R's five completed data sets; clear errors for fits that
cannot be pooled."""

import math

import numpy as np
import pandas as pd
import pytest
from reference import load
from scipy import stats

from ipnstats import SpecificationError, panel_regression
from ipnstats.inference.pooled_tests import pool_r_squared, pooled_wald_test, reiter_df
from ipnstats.inference.pooling import RUBIN_COLUMNS, barnard_rubin, pool

MICE = load("mice/nhanes")
TERMS = MICE["terms"]  # "(Intercept)", "age", "bmi"


def _r_fits() -> list[pd.DataFrame]:
    """R's five lm fits as tidy tables."""
    return [pd.DataFrame({"term": TERMS, "estimate": f["estimate"], "std_error": f["std_error"]})
            for f in MICE["fits"]]


@pytest.fixture(scope="module")
def our_fits():
    """ipnstats' OLS on R's five completed data sets (terms Intercept, age, bmi)."""
    fits = []
    for completed in MICE["completed"]:
        df = pd.DataFrame(completed).astype(float).assign(unit=np.arange(25), time=0)
        fits.append(panel_regression(df, "chl ~ age + bmi", unit="unit", time="time",
                                     estimator="pooled"))
    return fits


def test_rubin_rules_match_mice_pool_on_r_fits():
    res = pool(_r_fits(), dfcom=22)
    rubin, tidy = res.rubin().set_index("term"), res.tidy().set_index("term")
    # the numbers printed in mice's documentation
    assert rubin.loc["age", "estimate"] == pytest.approx(27.505289, abs=5e-7)
    assert tidy.loc["age", "std_error"] == pytest.approx(10.784999, abs=5e-7)
    assert rubin.loc["age", "df"] == pytest.approx(9.748109, abs=5e-7)
    assert rubin.loc["age", "fmi"] == pytest.approx(0.44003, abs=5e-6)
    expected = pd.DataFrame(MICE["pool"], index=TERMS)
    for col in RUBIN_COLUMNS[1:]:
        np.testing.assert_allclose(rubin[col].to_numpy(float), expected[col], rtol=1e-6,
                                   atol=1e-9, err_msg=col)
    for col in ("std_error", "statistic", "p_value", "df", "conf_low", "conf_high", "fmi"):
        np.testing.assert_allclose(tidy[col].to_numpy(float), expected[col], rtol=1e-6,
                                   err_msg=col)
    assert list(res.tidy().columns) == ["term", "estimate", "std_error", "statistic",
                                        "p_value", "df", "conf_low", "conf_high", "fmi"]
    assert res.m == 5 and res.dfcom == 22 and (rubin.m == 5).all()


def test_pooling_ipnstats_fits_takes_dfcom_from_their_residual_df(our_fits):
    res = pool(our_fits, seed=123)
    assert res.dfcom == 22 and not res.notes
    rubin = res.rubin()
    assert list(rubin.term) == ["Intercept", "age", "bmi"]
    expected = pd.DataFrame(MICE["pool"])
    for col in ("estimate", "ubar", "b", "t", "df", "riv", "lambda", "fmi"):
        np.testing.assert_allclose(rubin[col].to_numpy(float), expected[col], rtol=1e-6,
                                   err_msg=col)
    glance = res.glance().iloc[0]
    assert glance.nobs == 25 and glance.m == 5 and glance.seed == 123
    assert glance.fmi_max == pytest.approx(max(MICE["pool"]["fmi"]), rel=1e-6)
    assert "m=5" in repr(res) and "fmi" in res._repr_html_()


def test_d1_matches_mice_for_one_and_two_terms(our_fits):
    for key, terms in (("d1_age_bmi", ["age", "bmi"]), ("d1_bmi", ["bmi"])):
        ref = MICE[key]
        got = pooled_wald_test(our_fits, terms).tidy().iloc[0]
        assert got.statistic == pytest.approx(ref["F"], rel=1e-6)
        assert (got.df_num, got.dfcom) == (ref["df1"], ref["dfcom"])
        assert got.df_denom == pytest.approx(ref["df2"], rel=1e-6)
        assert got.p_value == pytest.approx(ref["p_value"], rel=1e-6)
        assert got.riv == pytest.approx(ref["riv"], rel=1e-6)


def test_d1_with_the_fits_of_a_nested_model(our_fits):
    nested = [panel_regression(f_data, "chl ~ age", unit="unit", time="time",
                               estimator="pooled")
              for f_data in (pd.DataFrame(c).astype(float).assign(unit=np.arange(25), time=0)
                             for c in MICE["completed"])]
    got = pooled_wald_test(our_fits, null=nested)
    assert got.terms == ("bmi",)
    assert got.statistic == pytest.approx(MICE["d1_bmi"]["F"], rel=1e-6)


def test_reiter_df_without_dfcom_is_li_raghunathan_rubin():
    k, m, r = 2, 5, 0.7
    t = k * (m - 1)
    assert reiter_df(k, m, r, math.inf) == pytest.approx(
        4 + (t - 4) * (1 + (1 - 2 / t) / r) ** 2)
    # Reiter's df grows to the large-sample df as dfcom grows
    assert reiter_df(k, m, r, 1e9) == pytest.approx(reiter_df(k, m, r, math.inf), rel=1e-3)


def test_pooled_r_squared_matches_mice(our_fits):
    for adjusted, key in ((False, "r_squared"), (True, "adj_r_squared")):
        ref = MICE[key]
        got = pool_r_squared(our_fits, adjusted=adjusted).tidy().iloc[0]
        assert got.term == ("r2_adj" if adjusted else "r2")
        assert got.estimate == pytest.approx(ref["est"], rel=1e-9)
        assert got.fmi == pytest.approx(ref["fmi"], rel=1e-9)
        # mice rounds the normal quantile to 1.96; ipnstats uses 1.959964
        assert got.conf_low == pytest.approx(ref["lo95"], abs=2e-5)
        assert got.conf_high == pytest.approx(ref["hi95"], abs=2e-5)


def test_barnard_rubin_limits():
    b, t, m = np.array([1.0]), np.array([3.0]), 5
    lam = (1 + 1 / m) * b / t
    assert barnard_rubin(m, b, t, math.inf) == pytest.approx((m - 1) / lam**2)
    assert barnard_rubin(m, b, t, 1e12) == pytest.approx((m - 1) / lam**2, rel=1e-6)
    # no between variance: lambda is floored at 1e-4, the df are the complete-data df's
    assert barnard_rubin(m, np.array([0.0]), t, 30) == pytest.approx(
        31 / 33 * 30 * (1 - 1e-4), rel=1e-3)


def test_large_sample_df_and_a_note_without_residual_df():
    res = pool(_r_fits())
    assert math.isinf(res.dfcom) and res.has_note("dfcom_large_sample")
    rubin = res.rubin()
    lam = rubin["lambda"].to_numpy()
    np.testing.assert_allclose(rubin.df, 4 / lam**2)
    tidy = res.tidy(conf_level=0.9)
    crit = stats.t.ppf(0.95, rubin.df)
    np.testing.assert_allclose(tidy.conf_high - tidy.estimate, crit * np.sqrt(rubin.t))


def test_missing_keys_match_whatever_their_missing_value():
    def fit(shift, missing):
        return pd.DataFrame({"term": ["a", "b"], "mediator": ["m", missing],
                             "estimate": [1.0 + shift, 2.0], "std_error": [0.5, 0.5]})

    res = pool([fit(0.0, None), fit(0.1, np.nan), fit(0.2, pd.NA)], dfcom=50)
    assert list(res.tidy().term) == ["a", "b"]
    assert res.tidy().estimate.iloc[0] == pytest.approx(1.1)


def test_rows_are_matched_by_key_not_by_position():
    fits = _r_fits()
    shuffled = [fits[0]] + [f.iloc[::-1].reset_index(drop=True) for f in fits[1:]]
    a, b = pool(fits, dfcom=22).rubin(), pool(shuffled, dfcom=22).rubin()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(("fits", "match"), [
    ([pd.DataFrame({"term": ["a"], "estimate": [1.0], "std_error": [1.0]})], "at least 2"),
    (pd.DataFrame({"term": ["a"], "estimate": [1.0], "std_error": [1.0]}), "list of fits"),
    ([pd.DataFrame({"term": ["a"], "estimate": [1.0]})] * 2, "std_error"),
    ([object(), object()], "tidy"),
    ([pd.DataFrame({"term": ["a"], "estimate": [1.0], "std_error": [1.0]}),
      pd.DataFrame({"term": ["b"], "estimate": [1.0], "std_error": [1.0]})], "same rows"),
    ([pd.DataFrame({"term": ["a", "a"], "estimate": [1.0, 2], "std_error": [1.0, 1]})] * 2,
     "not unique"),
])
def test_fits_that_cannot_be_pooled_are_clear_errors(fits, match):
    with pytest.raises(SpecificationError, match=match):
        pool(fits)


def test_bad_options_are_clear_errors(our_fits):
    with pytest.raises(SpecificationError, match="dfcom"):
        pool(our_fits, dfcom=-1)
    with pytest.raises(SpecificationError, match="by="):
        pool(_r_fits(), by=["label"])
    with pytest.raises(SpecificationError, match="one of the two"):
        pooled_wald_test(our_fits)
    with pytest.raises(SpecificationError, match="unknown terms"):
        pooled_wald_test(our_fits, ["x"])
    with pytest.raises(SpecificationError, match="params and cov"):
        pooled_wald_test(_r_fits(), ["age"])
    with pytest.raises(SpecificationError, match="r2"):
        pool_r_squared(_r_fits())
