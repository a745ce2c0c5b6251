"""The balance check of the H1 TWFE: the firms' reference years, the entropy-balancing
weights carried to the firm-years, the weighted refit, and that weighting removes the
bias of covariate-dependent trends that the unweighted TWFE suffers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ipnstats.estimators.balance import entropy_balance
from ipnstats.estimators.panel import panel_regression
from ipnstats.ipn.balance import balance_findings, firm_reference_rows
from ipnstats.results.vcov import Cluster


def _panel(seed: int = 0, n: int = 600, trend: float = 0.0, tau: float = 0.1) -> pd.DataFrame:
    """Firms 2010-2019; joiners (2013, 2015, 2017) have larger ``size``; the outcome
    trends with ``size`` (``trend`` per year and unit of size)."""
    rng = np.random.default_rng(seed)
    years = np.arange(2010, 2020)
    size = rng.normal(size=n)
    join = rng.uniform(size=n) < 1 / (1 + np.exp(-1.2 * size))
    cohort = np.where(join, rng.choice([2013, 2015, 2017], n), 0)
    age0 = rng.integers(1, 30, n)
    rows = pd.DataFrame({"firm_id": np.repeat(np.arange(n), years.size),
                         "year": np.tile(years, n), "cohort": np.repeat(cohort, years.size)})
    s = np.repeat(size, years.size)
    t = rows["year"].to_numpy() - 2010
    d = (rows["cohort"] > 0) & (rows["year"] >= rows["cohort"])
    rows["age"] = np.repeat(age0, years.size) + t
    rows["log_employees"] = s + rng.normal(scale=0.1, size=s.size)
    rows["log_revenue"] = (np.repeat(rng.normal(size=n), years.size) + 0.02 * t
                           + trend * s * t + tau * d + rng.normal(scale=0.1, size=s.size))
    return rows


def test_reference_years_of_joiners_and_never_members():
    fy = pd.DataFrame({
        "firm_id": ["a"] * 4 + ["b"] * 3 + ["c"] * 3 + ["n1"] * 4 + ["n2"] * 2,
        "year": [2010, 2011, 2012, 2013, 2010, 2012, 2013, 2012, 2013, 2014,
                 2010, 2011, 2012, 2013, 2013, 2014],
        "cohort": [2012] * 4 + [2013] * 3 + [2012] * 3 + [0] * 6,
        "x": np.arange(16, dtype=float)})
    ref = firm_reference_rows(fy, ["x"]).set_index("firm_id")
    # a: the year before joining; b: its last observed year before joining (a gap);
    # c: observed from its joining year only, left out
    assert ref.loc["a", "reference_year"] == 2011 and ref.loc["a", "x"] == 1.0
    assert ref.loc["b", "reference_year"] == 2012 and ref.loc["b", "x"] == 5.0
    assert "c" not in ref.index and ref.attrs["n_always_member"] == 1
    # never-members: nearest to the lower median of the joiners' years (2011)
    assert ref.attrs["never_reference_year"] == 2011
    assert ref.loc["n1", "reference_year"] == 2011 and ref.loc["n2", "reference_year"] == 2013
    assert ref["joiner"].to_dict() == {"a": 1, "b": 1, "n1": 0, "n2": 0}


def test_the_weighted_refit_is_panel_regression_with_the_firm_weights():
    fy = _panel(seed=1)
    covs = ["age", "log_employees"]
    findings, results = balance_findings(fy, covs)
    firms = firm_reference_rows(fy, covs)
    w = entropy_balance(firms, "joiner", covs).weights
    by_firm = pd.Series(w.to_numpy(), index=firms.firm_id)
    data = fy.assign(treated=((fy.cohort > 0) & (fy.year >= fy.cohort)).astype(float),
                     w=fy.firm_id.map(by_firm))
    data = data[data.w.notna()]
    hand = panel_regression(data, "log_revenue ~ treated", unit="firm_id", time="year",
                            vcov=Cluster("firm_id"), weights="w")
    assert findings["weighted"]["estimate"] == pytest.approx(hand.params["treated"], rel=1e-10)
    assert findings["weighted"]["std_error"] == pytest.approx(
        hand.std_errors["treated"], rel=1e-10)
    assert results["balance.twfe_weighted"].params["treated"] == pytest.approx(
        hand.params["treated"], rel=1e-12)
    assert findings["max_abs_smd_after"] < 1e-8 < findings["max_abs_smd_before"]
    assert findings["n_joiners"] + findings["n_never"] == findings["weighted"]["n_firms"]
    json.dumps(findings, allow_nan=False)  # JSON-ready


def test_weighting_removes_the_bias_of_covariate_dependent_trends():
    # joiners are larger and larger firms grow faster: the unweighted TWFE is biased up;
    # balancing the never-members on size removes the never-member part of that bias
    fy = _panel(seed=7, n=1500, trend=0.03, tau=0.1)
    findings, _ = balance_findings(fy, ["log_employees"])
    weighted, unweighted = findings["weighted"], findings["unweighted"]
    assert unweighted["estimate"] - 0.1 > 3 * unweighted["std_error"]
    assert abs(weighted["estimate"] - 0.1) < abs(unweighted["estimate"] - 0.1)
    assert abs(weighted["estimate"] - 0.1) < 3 * weighted["std_error"]


def test_on_the_example_study(study):
    findings, _ = balance_findings(study.firm_year, ("age", "log_employees", "nope"),
                                   moments=2)
    assert findings["covariates"] == ["age", "log_employees"]
    assert findings["max_abs_smd_after"] < 1e-8
    assert findings["n_always_member"] > 0 and 0 < findings["ess_never"] <= findings["n_never"]
    assert set(findings["weighted"]) >= {"estimate", "std_error", "conf_low", "conf_high"}
    json.dumps(findings, allow_nan=False)


def test_what_cannot_be_balanced_is_unavailable():
    fy = _panel(seed=2, n=200)
    f, results = balance_findings(fy, ["nope"])
    assert f["balance"] == {"unavailable": "none of the covariates is a column of the "
                                           "firm-year frame."} and results == {}
    # a covariate whose joiners' mean is beyond every never-member's value
    fy["big"] = np.where(fy.cohort > 0, 10.0, fy.log_employees)
    f, _ = balance_findings(fy, ["big"])
    assert "infeasible" in f["balance"]["unavailable"]
