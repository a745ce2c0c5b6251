"""The small-sample-correction spec SSC against pyfixest's ``ssc()`` on a random panel
(least squares and fixed-effects Poisson), its defaults, ``with_vcov(ssc=...)`` and its
errors."""

import warnings

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats import SSC, Cluster
from ipnstats.estimators.glm import MLEngine, fit_poisson
from ipnstats.estimators.linear import Absorbed
from ipnstats.estimators.panel import panel_regression

pf = pytest.importorskip("pyfixest")

FIXEF_K = {"nested": "nonnested", "full": "full", "none": "none"}
FORMULA = "y ~ x1 + x2"


@pytest.fixture(scope="module")
def panel():
    """60 firms x 8 years, unbalanced, firm and year effects, firms in 7 regions."""
    rng = np.random.default_rng(20261207)
    firm, year = np.meshgrid(np.arange(60), np.arange(8), indexing="ij")
    df = pd.DataFrame({"firm": firm.ravel(), "year": year.ravel() + 2015})
    df = df[rng.random(len(df)) > 0.15].reset_index(drop=True)
    df["region"] = df["firm"] % 7
    u = rng.normal(size=60)[df["firm"]] + rng.normal(size=8)[df["year"] - 2015]
    df["x1"] = rng.normal(size=len(df)) + 0.5 * u
    df["x2"] = rng.normal(size=len(df))
    df["y"] = 0.4 * df["x1"] - 0.2 * df["x2"] + u + rng.normal(size=len(df)) * (1 + df["x2"] ** 2)
    df["count"] = rng.poisson(np.exp(0.3 * df["x1"] + 0.5 * u / 2))
    return df


def pyfixest_se(df, fml, vcov, ssc, fit=pf.feols) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(fml, data=df, vcov=vcov, ssc=pf.ssc(
            k_adj=ssc.adj, G_adj=ssc.cluster_adj, k_fixef=FIXEF_K[ssc.fixef_k],
            G_df={"min": "min", "conventional": "conventional"}[ssc.cluster_df]))
        return model.tidy()["Std. Error"].to_numpy()


# every value of every field, and the two factors off together (all 24 pass; 8 run)
SOME_SSC = [SSC(), SSC(adj=False), SSC(cluster_adj=False), SSC(fixef_k="full"),
            SSC(fixef_k="none"), SSC(cluster_df="conventional"),
            SSC(adj=False, fixef_k="none", cluster_df="conventional"),
            SSC(adj=False, cluster_adj=False, fixef_k="full", cluster_df="conventional")]


@pytest.mark.parametrize("ssc", SOME_SSC, ids=repr)
def test_clustered_least_squares_match_pyfixest(panel, ssc):
    fit = panel_regression(panel, FORMULA, unit="firm", time="year", ssc=ssc)
    for columns, theirs in (("firm",), "firm"), (("region",), "region"), \
            (("firm", "year"), "firm+year"):
        ours = fit.with_vcov(Cluster(*columns)).std_errors.to_numpy()
        expected = pyfixest_se(panel, FORMULA + " | firm + year", {"CRV1": theirs}, ssc)
        np.testing.assert_allclose(ours, expected, rtol=1e-7, err_msg=f"{columns} {ssc}")


@pytest.mark.parametrize("fixef_k", ["nested", "full", "none"])
@pytest.mark.parametrize("adj", [True, False])
def test_iid_and_hetero_match_pyfixest(panel, fixef_k, adj):
    ssc = SSC(adj=adj, fixef_k=fixef_k)
    fit = panel_regression(panel, FORMULA, unit="firm", time="year", ssc=ssc)
    iid = pyfixest_se(panel, FORMULA + " | firm + year", "iid", ssc)
    np.testing.assert_allclose(fit.std_errors, iid, rtol=1e-7)
    # pyfixest's "hetero" is HC1 with adj and HC0 without: ours names the two
    hetero = pyfixest_se(panel, FORMULA + " | firm + year", "hetero", ssc)
    np.testing.assert_allclose(fit.with_vcov("hc1" if adj else "hc0").std_errors, hetero,
                               rtol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pf.feols(FORMULA + " | firm + year", data=panel, vcov="iid",
                          ssc=pf.ssc(k_adj=adj, k_fixef=FIXEF_K[fixef_k])).tidy()
    np.testing.assert_allclose(fit.tidy()["p_value"], theirs["Pr(>|t|)"], rtol=1e-6)


@pytest.mark.parametrize("ssc", [SSC(), SSC(adj=False), SSC(fixef_k="full"),
                                 SSC(fixef_k="none", cluster_adj=False)], ids=repr)
def test_fixed_effects_poisson_engine_matches_pyfixest_fepois(panel, ssc):
    codes = pd.factorize(panel["firm"])[0]
    X = panel[["x1", "x2"]].to_numpy(float)
    y = panel["count"].to_numpy(float)
    keep = np.bincount(codes, weights=y)[codes] > 0  # firms with no count add nothing
    codes = pd.factorize(codes[keep])[0]
    fit, _ = fit_poisson(X[keep], y[keep], codes)
    g = int(codes.max()) + 1
    engine = MLEngine(fit.scores, fit.bread, panel, np.flatnonzero(keep), np.arange(2), ssc,
                      absorbed=(Absorbed("firm", codes, g),), absorbed_df=g)
    ours = np.sqrt(np.diag(engine.compute(Cluster("firm")).cov))
    expected = pyfixest_se(panel, "count ~ x1 + x2 | firm", {"CRV1": "firm"}, ssc, pf.fepois)
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_defaults_are_todays_conventions(panel):
    fit = panel_regression(panel, FORMULA, unit="firm", time="year", vcov=Cluster("firm"))
    same = panel_regression(panel, FORMULA, unit="firm", time="year", vcov=Cluster("firm"),
                            ssc=SSC())
    np.testing.assert_array_equal(fit.std_errors, same.std_errors)
    assert MLEngine.__dataclass_fields__["ssc"].default == SSC(adj=False)


def test_with_vcov_rechooses_the_ssc_and_keeps_it(panel):
    fit = panel_regression(panel, FORMULA, unit="firm", time="year", vcov=Cluster("firm"))
    plain = fit.with_vcov(Cluster("firm"), ssc=SSC(adj=False, cluster_adj=False))
    np.testing.assert_allclose(plain.std_errors,
                               fit.with_vcov(Cluster("firm", adjust=False)).std_errors)
    # the engine keeps the new corrections for later choices
    np.testing.assert_allclose(plain.with_vcov(Cluster("region")).std_errors,
                               fit.with_vcov(Cluster("region", adjust=False)).std_errors)


def test_moderation_and_mediation_take_an_ssc():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=200), "w": rng.normal(size=200),
                       "g": rng.integers(0, 20, 200)})
    df["m"] = 0.5 * df["x"] + rng.normal(size=200)
    df["y"] = 0.3 * df["x"] * df["w"] + 0.4 * df["m"] + rng.normal(size=200)
    mod = ipnstats.moderation(df, y="y", x="x", w="w", vcov=Cluster("g"))
    adj = ipnstats.moderation(df, y="y", x="x", w="w", vcov=Cluster("g"), ssc=SSC(adj=False))
    k, n = len(mod.params), len(df)
    np.testing.assert_allclose(adj.std_errors ** 2 * (n - 1) / (n - k), mod.std_errors ** 2)
    med = ipnstats.mediation(df, x="x", m="m", y="y", cluster="g", n_boot=50)
    med_adj = ipnstats.mediation(df, x="x", m="m", y="y", cluster="g", n_boot=50,
                                 ssc=SSC(cluster_adj=False))
    assert med_adj.std_errors["a::m"] ** 2 == pytest.approx(
        med.std_errors["a::m"] ** 2 * 19 / 20, rel=1e-10)


@pytest.mark.parametrize("kwargs, match", [
    ({"adj": "yes"}, "adj must be True or False"),
    ({"fixef_k": "nonnested"}, "fixef_k must be"),
    ({"cluster_df": "each"}, "cluster_df must be"),
])
def test_bad_ssc_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SSC(**kwargs)


def test_ssc_errors_at_the_boundary(panel):
    with pytest.raises(ValueError, match="ssc must be ipnstats.SSC"):
        panel_regression(panel, FORMULA, unit="firm", time="year", ssc={"adj": False})
    fit = panel_regression(panel, FORMULA, unit="firm", time="year")
    with pytest.raises(ValueError, match="two different two-way conventions"):
        fit.with_vcov(Cluster("firm", "year", df="each"), ssc=SSC(cluster_df="conventional"))
