"""Confirmatory factor analysis against lavaan 0.6.14 / semTools 0.5.6 on Holzinger &
Swineford (1939) (tests/reference/lavaan), plus notes, errors and a coverage check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.measurement.cfa import cfa
from ipnstats.estimators.measurement.cfa_fit import Pattern, minimise
from ipnstats.estimators.measurement.cfa_partable import build_partable
from ipnstats.estimators.measurement.cfa_result import chisq_difference
from ipnstats.estimators.measurement.cfa_spec import parse_model
from ipnstats.estimators.measurement.method_factor import harman_test, ulmc
from tests.reference import load

holzinger39 = pytest.importorskip("semopy.examples.holzinger39")

HS = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
CROSS = """# a cross-loading and a correlated residual
visual =~ x1 + x2 + x3 + x9
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
x2 ~~ x3"""
ITEMS = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger39.get_data()


def _r_name(key: str) -> str:
    name = key.replace("_", ".")
    return {"loglik": "logl", "unrestricted.loglik": "unrestricted.logl"}.get(name, name)


def check_fit(fit, ref_fit, tol=1e-5, keys=None):
    measures = fit.fit_measures()
    compared = 0
    for key in keys or measures:
        ref = ref_fit.get(_r_name(key))
        if ref is None or key.endswith("pvalue") and ref == 0:
            continue
        assert measures[key] == pytest.approx(ref, abs=tol, rel=tol), key
        compared += 1
    assert compared >= 15


def check_params(fit, ref_par, tol=5e-5):
    ours = fit.parameters()
    ref = pd.DataFrame(ref_par).fillna({"rhs": ""})
    both = ours.merge(ref, on=["lhs", "op", "rhs", "group"], validate="one_to_one")
    assert len(both) == len(ours) == len(ref)
    for a, b in (("estimate", "est"), ("std_error", "se"), ("std_all", "std.all"),
                 ("std_lv", "std.lv")):
        np.testing.assert_allclose(both[a], both[b], atol=tol, err_msg=a)


def test_data_rows_equal_lavaan(hs):
    data = load("lavaan/hs_ml")["data"]
    assert len(hs) == 301
    np.testing.assert_array_equal(hs["id"], data["id"])
    for item in ITEMS:
        np.testing.assert_allclose(hs[item], data[item], atol=1e-12)


def test_ml_matches_lavaan(hs):
    ref = load("lavaan/hs_ml")
    fit = cfa(hs, HS)
    check_fit(fit, ref["fit"])
    check_params(fit, ref["par"])
    m = fit.fit_measures()
    # the printed numbers
    assert (m["chisq"], m["df"], m["baseline_chisq"], m["baseline_df"]) == pytest.approx(
        (85.305, 24, 918.852, 36), abs=1e-3)
    assert [round(m[k], 3) for k in ("cfi", "tli", "rmsea", "rmsea_ci_lower",
                                     "rmsea_ci_upper", "srmr")] == [
        .931, .896, .092, .071, .114, .065]
    assert (m["loglik"], m["aic"], m["bic"]) == pytest.approx((-3737.745, 7517.490, 7595.339),
                                                              abs=1e-3)
    rel = fit.reliability().set_index("factor")
    for f in ("visual", "textual", "speed"):
        assert rel.loc[f, "omega"] == pytest.approx(ref["omega"][f], abs=1e-6)
        assert rel.loc[f, "ave"] == pytest.approx(ref["ave"][f], abs=1e-6)
    assert rel["ave"].round(3).tolist() == [.371, .721, .424]
    assert fit.converged and fit.notes == ()


def test_ml_from_dict_and_result_tables(hs):
    fit = cfa(hs, {"visual": ITEMS[:3], "textual": ITEMS[3:6], "speed": ITEMS[6:]})
    ref = load("lavaan/hs_ml")
    check_fit(fit, ref["fit"])
    ld = fit.loadings()
    assert list(ld.columns) == ["factor", "item", "estimate", "std_error", "z", "p_value",
                                "std_all"]
    assert "std_all" not in fit.loadings(standardized=False)
    par = pd.DataFrame(ref["par"])
    std = par[par["op"] == "=~"]["std.all"].to_numpy()
    np.testing.assert_allclose(ld["std_all"], std, atol=1e-5)
    corr = fit.factor_correlations()
    r = par[(par["lhs"] == "visual") & (par["rhs"] == "textual")]["std.all"].iloc[0]
    assert corr.loc["textual", "visual"] == pytest.approx(r, abs=1e-5)
    tidy = fit.tidy()
    assert len(tidy) == 21 and list(tidy.columns) == [
        "term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    g = fit.glance()
    assert len(g) == 1 and g["nobs"].iloc[0] == 301 and g["converged"].iloc[0]


def test_std_lv_matches_lavaan(hs):
    ref = load("lavaan/hs_stdlv")
    fit = cfa(hs, HS, std_lv=True)
    check_fit(fit, ref["fit"])
    check_params(fit, ref["par"])
    rel = fit.reliability().set_index("factor")
    for f in ("visual", "textual", "speed"):   # lavaan's std.lv optimum is 1e-6 off
        assert rel.loc[f, "omega"] == pytest.approx(ref["omega"][f], abs=5e-6)
        assert rel.loc[f, "ave"] == pytest.approx(ref["ave"][f], abs=5e-6)


def test_std_lv_across_groups_matches_lavaan(hs):
    ref = load("lavaan/hs_stdlv_groups")
    fit = cfa(hs, HS, std_lv=True, group="school", group_equal=("loadings", "intercepts"))
    check_fit(fit, ref["fit"])
    check_params(fit, ref["par"])


def test_mlr_matches_lavaan(hs):
    ref = load("lavaan/hs_mlr")
    fit = cfa(hs, HS, estimator="mlr")
    assert ref["options"]["information"][0] == "observed"
    check_fit(fit, ref["fit"], tol=2e-5)
    check_params(fit, ref["par"])
    m = fit.fit_measures()
    for key in ("chisq_scaled", "chisq_scaling_factor", "baseline_chisq_scaled", "cfi_robust",
                "tli_robust", "cfi_scaled", "tli_scaled", "rmsea_scaled", "rmsea_robust",
                "rmsea_ci_lower_robust", "rmsea_ci_upper_robust", "rmsea_pvalue_robust",
                "rmsea_ci_lower_scaled", "rmsea_ci_upper_scaled", "rmsea_pvalue_scaled"):
        assert m[key] == pytest.approx(ref["fit"][_r_name(key)], rel=2e-6), key


def test_cross_loading_correlated_residual_and_lrt(hs):
    ref = load("lavaan/hs_cross")
    fit = cfa(hs, CROSS)
    check_fit(fit, ref["fit"])
    check_params(fit, ref["par"])
    lrt = chisq_difference(fit, cfa(hs, HS))
    np.testing.assert_allclose(lrt["chisq_diff"].iloc[1], ref["lrt_ml"]["chisq_diff"][1],
                               rtol=1e-7)
    assert lrt["p_diff"].iloc[1] == pytest.approx(ref["lrt_ml"]["p_diff"][1], rel=1e-5)
    mlr = cfa(hs, CROSS, estimator="mlr")
    check_fit(mlr, ref["fit_mlr"], tol=2e-5)
    d = mlr.chisq_diff(cfa(hs, HS, estimator="mlr"))
    assert d["chisq_diff"].iloc[1] == pytest.approx(ref["lrt_mlr"]["chisq_diff"][1], rel=1e-5)
    assert list(d["df"]) == ref["lrt_mlr"]["df"]


def with_missing(hs: pd.DataFrame) -> pd.DataFrame:
    """The rule of hs39.R: by the 1-based row number r, x1 missing when r % 7 == 0, x5
    when r % 11 == 0, x9 when r % 13 == 3, x2 and x3 when r % 17 == 5."""
    data = hs.copy()
    r = np.arange(1, len(data) + 1)
    data.loc[r % 7 == 0, "x1"] = np.nan
    data.loc[r % 11 == 0, "x5"] = np.nan
    data.loc[r % 13 == 3, "x9"] = np.nan
    data.loc[r % 17 == 5, ["x2", "x3"]] = np.nan
    return data


def test_fiml_mlr_matches_lavaan(hs):
    ref = load("lavaan/hs_fiml_mlr")
    fit = cfa(with_missing(hs), HS, missing="fiml", estimator="mlr")
    check_fit(fit, ref["fit"], tol=2e-5)
    check_params(fit, ref["par"])
    m = fit.fit_measures()
    for key in ("chisq_scaled", "chisq_scaling_factor", "baseline_chisq_scaling_factor",
                "cfi_scaled", "tli_scaled", "rmsea_scaled", "rmsea_ci_lower_scaled"):
        assert m[key] == pytest.approx(ref["fit"][_r_name(key)], rel=1e-6), key
    assert "cfi_robust" not in m   # lavaan's FIML-corrected robust indices: not reproduced


def test_fiml_matches_lavaan(hs):
    ref = load("lavaan/hs_fiml")
    data = with_missing(hs)
    assert int(data[ITEMS].isna().sum().sum()) == ref["n_missing"]
    fit = cfa(data, HS, missing="fiml")
    check_fit(fit, ref["fit"])
    check_params(fit, ref["par"])
    listwise = cfa(data, HS)
    assert listwise.has_note("missing_dropped") and listwise.nobs < 301


def test_harman_matches_lavaan(hs):
    ref = load("lavaan/hs_harman")
    h = harman_test(hs, ITEMS)
    check_fit(h.fit, ref["fit"])
    check_params(h.fit, ref["par"])
    assert h.first_component_share == pytest.approx(ref["first_component_share"], rel=1e-10)
    assert h.first_factor_share == pytest.approx(ref["first_factor_share"], abs=1e-6)
    assert h.table()["first_factor_share"].iloc[0] < 0.5


def test_ulmc_matches_lavaan_and_notes_non_positive_definite(hs):
    ref = load("lavaan/hs_ulmc")
    u = ulmc(hs, HS)
    check_fit(u.method_fit, ref["fit"])
    check_params(u.method_fit, ref["par"])
    cmp = u.comparison()
    assert cmp["chisq_diff"].iloc[1] == pytest.approx(ref["lrt"]["chisq_diff"][1], rel=1e-6)
    shares = u.item_shares()
    par = pd.DataFrame(ref["par"])
    meth = par[(par["lhs"] == "method") & (par["op"] == "=~")]["std.all"].to_numpy()
    np.testing.assert_allclose(shares["method_share"], meth ** 2, atol=1e-5)
    assert u.method_fit.has_note("latent_not_positive_definite")
    assert any(n.code == "latent_not_positive_definite" for n in u.notes)


def test_heywood_case_is_a_note_not_an_error():
    # sample correlations r_ab = r_ac = .8, r_bc = .5: one factor needs a standardized
    # loading of sqrt(.8 * .8 / .5) = 1.13 on a, so a's residual variance is negative
    rng = np.random.default_rng(5)
    z = rng.normal(size=(300, 3))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, bias=True))).T
    target = np.array([[1, .8, .8], [.8, 1, .5], [.8, .5, 1]])
    df = pd.DataFrame(z @ np.linalg.cholesky(target).T, columns=list("abc"))
    fit = cfa(df, {"f": ["a", "b", "c"]})
    assert fit.has_note("heywood_case")
    assert fit.parameters().query("lhs == 'a' and op == '~~'")["estimate"].iloc[0] < 0


def test_non_convergence_is_a_note(hs):
    spec = parse_model(HS)
    pt = build_partable(spec)
    y = hs[ITEMS].to_numpy(float)
    S = np.cov(y, rowvar=False, bias=True)
    pat = [Pattern(0, np.arange(9), len(y), y.mean(0), S, np.arange(len(y)))]
    opt = minimise(pt, pat, np.full(pt.npar, 0.5), [y.mean(0)], len(y), max_iter=1)
    assert not opt.converged
    # through cfa: a factor whose two items are uncorrelated with everything else
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(50, 6)), columns=list("abcdef"))
    fit = cfa(df, {"F1": list("abc"), "F2": list("def")})
    assert isinstance(fit.notes, tuple)   # fits (possibly with notes), never raises


@pytest.mark.parametrize("model, match", [
    ("visual =~ x1 + x2 + x33", "did you mean 'x3'"),
    ("visual = x1 + x2 + x3", "cannot parse"),
    ("visual =~ x1 + + x2", "empty term"),
    ("visual ~ x1", "not supported"),
    ("visual =~ x1; textual =~ x4 + x5 + x6", "one indicator"),
    ("visual =~ x1 + x2", "two indicators"),
    ("visual =~ x1 + x2 + x3\nfoo ~~ x1", "neither a factor"),
    ("visual =~ x1 + x2 + x3\nvisual ~~ x1", "factor and an item"),
    ("visual =~ 2a*x1 + x2 + x3", "cannot parse modifier"),
    ("", "no '=~' line"),
    ({"visual": "x1"}, "list of column"),
])
def test_bad_models_give_clear_errors(hs, model, match):
    with pytest.raises(SpecificationError, match=match):
        cfa(hs, model)


def test_bad_options_give_clear_errors(hs):
    with pytest.raises(SpecificationError, match="estimator"):
        cfa(hs, HS, estimator="wls")
    with pytest.raises(SpecificationError, match="group_equal"):
        cfa(hs, HS, group="school", group_equal=("slopes",))
    with pytest.raises(SpecificationError, match="group column"):
        cfa(hs, HS, group="schol")
    with pytest.raises(SpecificationError, match="DataFrame"):
        cfa(hs[ITEMS].to_numpy(), HS)
    with pytest.raises(SpecificationError, match="needs a group"):
        cfa(hs, HS, group_equal=("loadings",))
    collinear = hs.assign(x3=hs["x1"] + hs["x2"])
    with pytest.raises(SpecificationError, match="linear combination"):
        cfa(collinear, HS)


def _coverage(reps: int, n: int, seed: int) -> np.ndarray:
    """Coverage of 95% Wald intervals of the free loadings of a 2-factor congeneric
    model, fitted by the same optimiser and expected information as ``cfa``."""
    lam = np.array([[1.0, 0.0], [0.8, 0.0], [0.6, 0.0], [0.0, 1.0], [0.0, 0.7], [0.0, 0.5]])
    phi = np.array([[1.0, 0.4], [0.4, 1.0]])
    theta = np.array([0.5, 0.6, 0.7, 0.4, 0.6, 0.8])
    pt = build_partable(parse_model({"f1": ["a", "b", "c"], "f2": ["d", "e", "f"]}))
    truth = {(0, 1): 0.8, (0, 2): 0.6, (1, 4): 0.7, (1, 5): 0.5}
    rows = [np.flatnonzero((pt.mat == 0) & (pt.col == j) & (pt.row == i))[0]
            for (j, i) in truth]
    idx, true = pt.free[rows], np.array(list(truth.values()))
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(lam @ phi @ lam.T + np.diag(theta))
    x0 = np.concatenate([true, theta, [1.0, 1.0, 0.4]])   # the table's order of free rows
    hits = np.zeros((reps, len(idx)), dtype=bool)
    y = rng.standard_normal((reps, n, 6)) @ chol.T
    for r in range(reps):
        m = y[r].mean(0)
        S = np.cov(y[r], rowvar=False, bias=True)
        pat = [Pattern(0, np.arange(6), n, m, S, np.arange(n))]
        opt = minimise(pt, pat, x0, [m], n)
        assert opt.converged
        se = np.sqrt(np.diag(np.linalg.inv(opt.info) / n))[idx]
        hits[r] = np.abs(opt.x[idx] - true) <= 1.959964 * se
    return hits.mean(axis=0)


def test_loading_intervals_cover_the_truth():
    cover = _coverage(reps=500, n=300, seed=20261207)
    assert np.all((cover >= 0.93) & (cover <= 0.97)), cover
