"""H1f exit_hazard: simulated truth (data/example/truth.toml), standard errors against
statsmodels (Logit cluster covariance, PHReg robust covariance), separation notes and
errors."""

import tomllib

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from conftest import EXAMPLE, covers_truth
from statsmodels.duration.hazard_regression import PHReg

import ipnstats
from ipnstats import Cluster, SpecificationError
from ipnstats.ipn.hazard import exit_hazard

PREDICTORS = ["benchmark_rank_pct", "critiques"]


@pytest.fixture(scope="module")
def fy():
    return ipnstats.load_study(EXAMPLE).firm_year


@pytest.fixture(scope="module")
def logit(fy):
    return exit_hazard(fy)


@pytest.fixture(scope="module")
def sample(fy):
    """The estimation rows rebuilt by hand: member years with exit coded and predictors
    present, less peer groups and years without both exits and stays."""
    rows = fy[(fy["member"] == 1) & fy["exit"].notna()].dropna(subset=PREDICTORS)
    rows = rows.assign(group_id=rows["group_id"].astype(str))
    for col in ("group_id", "year"):
        rate = rows.groupby(col)["exit"].mean()
        rows = rows[rows[col].isin(rate.index[(rate > 0) & (rate < 1)])]
    return rows


def test_logit_covers_truth(logit):
    truth = tomllib.loads((EXAMPLE / "truth.toml").read_text())["H1f"]
    row = logit.tidy().set_index("term").loc["benchmark_rank_pct"]
    assert row["estimate"] < 0
    assert covers_truth(row, truth["benchmark_rank_pct"]["value"])
    assert list(logit.params.index) == PREDICTORS
    assert logit.fixed_effects == ("group_id", "year")
    assert logit.df_inference is None and logit.n_clusters == logit.n_units


def _statsmodels_logit(sample, **cov_kwds):
    groups = pd.factorize(sample["firm_id"])[0]
    model = smf.logit("exit ~ benchmark_rank_pct + critiques + C(group_id) + C(year)", sample)
    return model.fit(method="newton", tol=1e-14, maxiter=200, disp=False, cov_type="cluster",
                     cov_kwds={"groups": groups, **cov_kwds})


def test_logit_matches_statsmodels(fy, logit, sample):
    ref = _statsmodels_logit(sample)  # G/(G-1) (n-1)/(n-K)
    assert logit.nobs == len(sample)
    np.testing.assert_allclose(logit.params, ref.params[PREDICTORS], rtol=1e-9)
    sm_style = exit_hazard(fy, ssc="statsmodels")
    np.testing.assert_allclose(sm_style.std_errors, ref.bse[PREDICTORS], rtol=1e-8)
    # Stata's logit vce(cluster): G/(G-1) only
    plain = _statsmodels_logit(sample, use_correction=False)
    g = sample["firm_id"].nunique()
    np.testing.assert_allclose(logit.std_errors, plain.bse[PREDICTORS] * np.sqrt(g / (g - 1)),
                               rtol=1e-8)
    np.testing.assert_allclose(logit.with_vcov(Cluster("firm_id", adjust=False)).std_errors,
                               plain.bse[PREDICTORS], rtol=1e-8)
    iid = smf.logit("exit ~ benchmark_rank_pct + critiques + C(group_id) + C(year)",
                    sample).fit(method="newton", tol=1e-14, disp=False)
    np.testing.assert_allclose(logit.with_vcov("iid").std_errors, iid.bse[PREDICTORS],
                               rtol=1e-8)
    assert logit.fit["loglik"] == pytest.approx(iid.llf, rel=1e-10)


def test_cox_matches_statsmodels_and_sign(fy, logit, sample):
    cox = exit_hazard(fy, model="cox", vcov=Cluster("firm_id", adjust=False))
    assert np.sign(cox.params["benchmark_rank_pct"]) == np.sign(logit.params["benchmark_rank_pct"])
    years = pd.get_dummies(sample["year"], prefix="y", drop_first=True, dtype=float)
    X = pd.concat([sample[PREDICTORS], years], axis=1).to_numpy(float)
    t = sample["tenure"].to_numpy(float)
    strata = pd.factorize(sample["group_id"])[0]
    model = PHReg(t + 1, X, status=sample["exit"].to_numpy(float), entry=t, strata=strata,
                  ties="efron")
    ref = model.fit()
    np.testing.assert_allclose(cox.params, ref.params[:2], rtol=1e-6)
    # statsmodels' robust covariance is NaN when some rows are never at risk at an event
    # time; those rows add nothing to the fit, so refit without them for the reference
    at_risk = ~np.isnan(model.score_residuals(ref.params)).any(axis=1)
    sub = PHReg(t[at_risk] + 1, X[at_risk], status=sample["exit"].to_numpy(float)[at_risk],
                entry=t[at_risk], strata=strata[at_risk], ties="efron")
    robust = sub.fit(groups=sample["firm_id"].to_numpy()[at_risk])
    np.testing.assert_allclose(robust.params, ref.params, rtol=1e-6)
    np.testing.assert_allclose(cox.std_errors, robust.bse[:2], rtol=1e-6)
    np.testing.assert_allclose(cox.with_vcov("iid").std_errors, ref.bse[:2], rtol=1e-6)


def _toy(n_firms=120, years=range(2010, 2016), seed=0):
    rng = np.random.default_rng(seed)
    rows = [(f"F{i}", y, f"G{i % 6}", rng.random(), rng.poisson(1.0), y - 2010)
            for i in range(n_firms) for y in years]
    data = pd.DataFrame(rows, columns=["firm_id", "year", "group_id", "benchmark_rank_pct",
                                       "critiques", "tenure"])
    eta = 0.0 - 2.0 * data["benchmark_rank_pct"]
    return data.assign(member=1, exit=(rng.random(len(data)) < 1 / (1 + np.exp(-eta))) * 1.0)


def test_separation_gives_notes_not_errors():
    data = _toy()
    data["exit"] = (data["benchmark_rank_pct"] < 0.2).astype(float)
    res = exit_hazard(data)
    assert any("separated" in n for n in res.notes)
    assert any("did not converge" in n for n in res.notes)
    assert res.params["benchmark_rank_pct"] < -10


def test_levels_without_variation_are_left_out():
    data = _toy()
    data.loc[data["group_id"] == "G0", "exit"] = 0.0
    data.loc[data["year"] == 2011, "exit"] = 0.0
    res = exit_hazard(data)
    n_out = int(((data["group_id"] == "G0") | (data["year"] == 2011)).sum())
    assert res.nobs == len(data) - n_out
    notes = " ".join(res.notes)
    assert "'group_id' (G0)" in notes and "'year' (2011)" in notes
    ref = sm.Logit(*_toy_design(data[(data["group_id"] != "G0") & (data["year"] != 2011)])).fit(
        method="newton", tol=1e-14, disp=False)
    np.testing.assert_allclose(res.params, ref.params[:2], rtol=1e-8)


def _toy_design(data):
    X = pd.concat([data[PREDICTORS], pd.Series(1.0, index=data.index, name="const"),
                   pd.get_dummies(data["group_id"], drop_first=True, dtype=float),
                   pd.get_dummies(data["year"], drop_first=True, dtype=float)], axis=1)
    return data["exit"], X


def test_lag_and_exit_timing():
    data = _toy()
    res = exit_hazard(data, lag=1)
    assert list(res.params.index) == ["L1.benchmark_rank_pct", "L1.critiques"]
    assert res.nobs == len(data[data["year"] > 2010])
    with pytest.raises(SpecificationError, match="lag"):
        exit_hazard(data, lag=-1)


def test_hazard_errors(fy):
    with pytest.raises(SpecificationError, match="'benchmark_rank_pct' is not in the data"):
        exit_hazard(fy.drop(columns="benchmark_rank_pct"))
    with pytest.raises(SpecificationError, match="'tenure' is not in the data"):
        exit_hazard(fy.drop(columns="tenure"), model="cox")
    with pytest.raises(SpecificationError, match="model must be"):
        exit_hazard(fy, model="probit")
    with pytest.raises(SpecificationError, match="not available"):
        exit_hazard(fy, vcov="hc3")
    with pytest.raises(SpecificationError, match="0/1"):
        exit_hazard(fy.assign(exit=fy["exit"] * 2))


def test_without_group_effects():
    data = _toy().drop(columns="group_id")
    for model in ("logit", "cox"):
        res = exit_hazard(data, group=None, model=model)
        assert res.fixed_effects == ("year",)
        assert res.params["benchmark_rank_pct"] < 0
    assert "strata" not in res.estimator
