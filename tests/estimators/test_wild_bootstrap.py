"""wild_bootstrap against Stata boottest's Gruber-Poterba numbers (REFERENCE.md §5), a
brute-force refit over every sign vector, the wildboottest package, and simulated truth."""

import dataclasses
from itertools import product

import numpy as np
import pandas as pd
import pytest
from reference import load

import ipnstats
from ipnstats import Cluster, SpecificationError, panel_regression, wild_bootstrap

FORMULA = "hasinsurance ~ selfemployed + post + post_self"
BOOTTEST = load("boottest/gruber_poterba")  # Stata boottest (tests/reference/boottest)
H0 = BOOTTEST["h0"]
WCR = BOOTTEST["wcr"]
TERMS = ["Intercept", "selfemployed", "post", "post_self"]


def _mc_se(p: float, reps: int) -> float:
    return float(np.sqrt(p * (1 - p) / reps))


@pytest.fixture(scope="module")
def gruber(reference_data):
    return pd.read_csv(reference_data / "roodman_collapsed.csv")


@pytest.fixture(scope="module")
def gp_result(gruber):
    # 16 rows: year x self-employed; "selfemployed" serves as the unit column.
    return panel_regression(gruber, FORMULA, unit="selfemployed", time="year",
                            estimator="pooled", panel_effects=(), vcov=Cluster("year"))


def _gp(result, **kw):
    return wild_bootstrap(result, "post_self", cluster="year", h0=H0, **kw)


# --- boottest's published numbers -------------------------------------------------------

def test_analytic_t_statistics_match_stata(gp_result):
    boot = _gp(gp_result, weights="webb", n_boot=999, ci=False)
    assert boot.statistic == pytest.approx(BOOTTEST["t"]["cluster"], abs=5e-5)  # t(7)
    assert boot.n_clusters == 8
    for vcov in ("hc1", "iid"):  # t(12)
        t = BOOTTEST["t"][vcov]
        res = gp_result.with_vcov(vcov)
        stat = (res.params["post_self"] - H0) / res.std_errors["post_self"]
        assert stat == pytest.approx(t, abs=5e-5)
        assert res.df_inference == 12


def test_webb_wcr_p_value(gp_result):
    boot = _gp(gp_result, weights="webb", n_boot=99_999, seed=1)
    assert not boot.enumerated and boot.reps == 99_999
    published = WCR["webb"]["p_value"]
    assert abs(boot.p_value - published) < 3 * _mc_se(published, 99_999)  # ~0.0025


def test_webb_enumeration_reproduces_boottest_ten_million_draws(gp_result):
    # boottest drew 9,999,999 Webb vectors; 6^8 = 1,679,616 <= reps, so ipnstats uses
    # each possible vector once and gets the exact p-value.
    boot = _gp(gp_result, weights="webb", n_boot=9_999_999)
    assert boot.enumerated and boot.reps == 6**8
    assert boot.p_value == pytest.approx(0.075742, abs=1e-6)
    published = WCR["webb"]["p_value"]
    assert WCR["webb"]["reps"] == 9_999_999
    assert abs(boot.p_value - published) < 3 * _mc_se(published, 9_999_999) + 5e-5
    # test inversion, exact bounds
    assert boot.conf_low == pytest.approx(0.038499, abs=2e-6)
    assert boot.conf_high == pytest.approx(0.071059, abs=2e-6)


def test_webb_confidence_interval(gp_result):
    # boottest's [0.03877, 0.06997] comes from 999 draws: over 200 seeds the bounds of a
    # 999-draw interval vary with SD 0.0005 (low) and 0.0004 (high); allow about 3 SD.
    low, high = WCR["webb_999"]["conf_int"]
    boot = _gp(gp_result, weights="webb", n_boot=99_999, seed=2)
    assert boot.conf_low == pytest.approx(low, abs=0.0015)
    assert boot.conf_high == pytest.approx(high, abs=0.0015)
    assert boot.conf_low < H0 < boot.conf_high  # p = 0.076 > 0.05: 0.04 not rejected
    small = _gp(gp_result, weights="webb", n_boot=WCR["webb_999"]["reps"], seed=3)
    assert small.conf_low == pytest.approx(low, abs=0.0015)
    assert small.conf_high == pytest.approx(high, abs=0.0015)


def test_mammen_wcr_p_value(gp_result):
    published = WCR["mammen"]
    boot = _gp(gp_result, weights="mammen", n_boot=published["reps"], seed=4)
    # the published p is itself from 9,999 draws: the difference has SD sqrt(2) MC SE
    p = published["p_value"]
    assert abs(boot.p_value - p) < 3 * np.sqrt(2) * _mc_se(p, published["reps"])
    assert not boot.enumerated


# --- full enumeration against a brute-force refit ---------------------------------------

def _cluster_t(X, y, codes, j, centre):
    """OLS by lstsq and the Stata cluster-robust t of coefficient j against ``centre``."""
    n, k = X.shape
    g = codes.max() + 1
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    u = y - X @ b
    bread = np.linalg.inv(X.T @ X)
    scores = np.array([X[codes == c].T @ u[codes == c] for c in range(g)])
    cov = g / (g - 1) * (n - 1) / (n - k) * bread @ scores.T @ scores @ bread
    return (b[j] - centre) / np.sqrt(cov[j, j]), b, u


def _brute_force(X, y, codes, j, h0, impose_null):
    """Every Rademacher sign vector, each bootstrap sample refitted from scratch."""
    t, b, u = _cluster_t(X, y, codes, j, h0)
    if impose_null:  # restricted fit: regress y - h0 x_j on the other columns
        others = np.delete(np.arange(X.shape[1]), j)
        y_r = y - h0 * X[:, j]
        g_r = np.linalg.lstsq(X[:, others], y_r, rcond=None)[0]
        u = y_r - X[:, others] @ g_r
        b = np.insert(g_r, j, h0)
    centre = h0 if impose_null else b[j]
    stars = [_cluster_t(X, X @ b + np.array(v)[codes] * u, codes, j, centre)[0]
             for v in product([-1.0, 1.0], repeat=codes.max() + 1)]
    return t, np.abs(np.array(stars))


@pytest.mark.parametrize("impose_null", [True, False])
def test_rademacher_enumeration_is_exact(gruber, gp_result, impose_null):
    X = np.column_stack([np.ones(len(gruber)), gruber[["selfemployed", "post", "post_self"]]])
    codes = pd.factorize(gruber["year"])[0]
    t, stars = _brute_force(X, gruber["hasinsurance"].to_numpy(), codes, 3, H0, impose_null)
    ties = np.isclose(stars, abs(t), rtol=1e-7)
    exceed = (stars > abs(t)) & ~ties
    runs = [_gp(gp_result, n_boot=9999, seed=s, impose_null=impose_null) for s in (1, 2)]
    assert all(r.enumerated and r.reps == 256 for r in runs)
    assert runs[0].p_value == runs[1].p_value == exceed.mean()
    assert runs[0].statistic == pytest.approx(t, rel=1e-10)
    if impose_null:  # all-ones and all-minus-ones vectors reproduce |t|
        assert ties.sum() == 2
        assert runs[0].p_value == pytest.approx(0.0703125)  # 18 / 256
    assert any("Full enumeration" in n for n in runs[0].notes)
    assert any("weights='webb'" in n for n in runs[0].notes)  # 8 clusters


def test_wcu_is_centred_on_the_estimate(gp_result):
    wcr = _gp(gp_result, weights="webb", n_boot=9999)
    wcu = _gp(gp_result, weights="webb", n_boot=9999, impose_null=False)
    assert wcu.method == "WCU" and wcr.method == "WCR"
    assert wcu.p_value != wcr.p_value
    assert wcu.statistic == wcr.statistic  # same analytic t
    # WCU t* does not depend on h0: the interval is estimate -/+ a quantile times se
    est = wcu.estimate
    assert est - wcu.conf_low == pytest.approx(wcu.conf_high - est, rel=1e-6)
    at_estimate = wild_bootstrap(gp_result, "post_self", cluster="year", h0=est,
                                 weights="webb", n_boot=9999, impose_null=False, ci=False)
    assert at_estimate.statistic == pytest.approx(0, abs=1e-12)
    assert at_estimate.p_value == 1.0


# --- peer package: wildboottest ----------------------------------------------------------

def _simulated(n_clusters, n, seed, beta=0.02):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_clusters, n)
    x1 = rng.normal(size=n) + rng.normal(size=n_clusters)[g]
    x2 = rng.normal(size=n)
    y = 1 + beta * x1 + 0.5 * x2 + rng.normal(size=n_clusters)[g] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g, "row": np.arange(n), "t": 0})


def _wildboottest(df, reps, impose_null):
    from wildboottest.wildboottest import WildboottestCL

    X = df[["x1", "x2"]].assign(one=1.0)[["one", "x1", "x2"]].to_numpy()
    wb = WildboottestCL(X=X, Y=df["y"].to_numpy(), cluster=df["g"].to_numpy(),
                        R=np.array([0.0, 1.0, 0.0]), B=reps, seed=7, parallel=False)
    wb.get_scores(bootstrap_type="11", impose_null=impose_null)
    _, used, _ = wb.get_weights(weights_type="rademacher")
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    wb.get_vcov()
    wb.get_tstat()
    wb.get_pvalue(pval_type="two-tailed")
    return float(np.squeeze(wb.t_stat)), float(wb.pvalue), used


@pytest.mark.parametrize("n_clusters, impose_null", [(10, True), (10, False), (20, True)])
def test_matches_wildboottest(n_clusters, impose_null):
    pytest.importorskip("wildboottest")
    df = _simulated(n_clusters, 1000, seed=n_clusters)
    res = panel_regression(df, "y ~ x1 + x2", unit="row", time="t", estimator="pooled",
                           panel_effects=(), vcov=Cluster("g"))
    ours = wild_bootstrap(res, "x1", cluster="g", n_boot=4999, impose_null=impose_null)
    t, p, used = _wildboottest(df, 4999, impose_null)
    assert ours.statistic == pytest.approx(t, rel=1e-10)
    if n_clusters == 10:  # both enumerate the 1,024 sign vectors: identical p-values
        assert ours.enumerated and used == ours.reps == 1024
        assert ours.p_value == pytest.approx(p, abs=1e-12)
    else:  # independent draws: the difference has SD sqrt(2) MC SE
        assert abs(ours.p_value - p) < 3 * np.sqrt(2) * _mc_se(p, 4999)


# --- other estimators and simulated truth ------------------------------------------------

def _firm_panel(seed, n_firms=15, n_years=8):
    """Firm and year effects, AR(1) errors and regressor within firm; true slope 0."""
    rng = np.random.default_rng(seed)
    firm, year = np.divmod(np.arange(n_firms * n_years), n_years)
    e, x = np.zeros(firm.size), np.zeros(firm.size)
    shocks, xs = rng.normal(size=firm.size), rng.normal(size=firm.size)
    for i in range(firm.size):
        first = year[i] == 0
        e[i] = shocks[i] + (0 if first else 0.7 * e[i - 1])
        x[i] = xs[i] + (0 if first else 0.7 * x[i - 1])
    y = rng.normal(size=n_firms)[firm] + 0.3 * rng.normal(size=n_years)[year] + e
    return pd.DataFrame({"firm": firm, "year": year, "x": x + rng.normal(size=n_firms)[firm],
                         "z": rng.normal(size=firm.size), "y": y})


def test_within_result_statistic_matches_analytic_cluster_t():
    res = panel_regression(_firm_panel(0), "y ~ x + z", unit="firm", time="year",
                           vcov=Cluster("firm"))
    boot = wild_bootstrap(res, "x", cluster="firm", weights="webb", n_boot=999)
    assert boot.statistic == pytest.approx(res.tidy().set_index("term").loc["x", "statistic"])
    assert boot.conf_low < boot.estimate < boot.conf_high
    assert 0 <= boot.p_value <= 1


@pytest.mark.parametrize("effects, cluster, n_firms, n_years", [
    (("unit", "time"), "firm", 6, 5),  # year effects not nested: projected via dummies
    (("time",), "firm", 6, 5),  # the same with no nested effect
    (("unit", "time"), "year", 10, 6),  # firm effects not nested: per-cluster within
    (("unit",), "firm", 6, 5),  # nested: the demeaned data suffice
])
@pytest.mark.parametrize("impose_null", [True, False])
def test_within_equals_refitting_with_dummies(effects, cluster, n_firms, n_years, impose_null):
    # Every sign vector, each bootstrap sample refitted with explicit fixed-effect dummies,
    # so that effects not nested in the clusters are re-estimated in every sample.
    df = _firm_panel(7, n_firms, n_years)
    res = panel_regression(df, "y ~ x + z", unit="firm", time="year", panel_effects=effects)
    firms = np.eye(n_firms)[df["firm"]] if "unit" in effects else np.ones((len(df), 1))
    years = np.eye(n_years)[df["year"]][:, 1:] if "time" in effects else np.empty((len(df), 0))
    X = np.column_stack([df[["x", "z"]].to_numpy(), firms, years])
    codes = pd.factorize(df[cluster])[0]
    t, stars = _brute_force(X, df["y"].to_numpy(), codes, 0, 0.1, impose_null)
    exceed = (stars > abs(t)) & ~np.isclose(stars, abs(t), rtol=1e-7)
    boot = wild_bootstrap(res, "x", cluster=cluster, h0=0.1, n_boot=9999,
                          impose_null=impose_null, ci=False)
    assert boot.enumerated and boot.reps == 2 ** (codes.max() + 1)
    assert boot.p_value == exceed.mean()


def test_within_p_values_are_uniform_under_the_null():
    from scipy import stats

    pvals = []
    for seed in range(300):
        res = panel_regression(_firm_panel(seed), "y ~ x + z", unit="firm", time="year")
        pvals.append(wild_bootstrap(res, "x", cluster="firm", weights="webb", n_boot=199,
                                    ci=False, seed=seed).p_value)
    pvals = np.array(pvals)
    for level in (0.05, 0.10):  # rejection rate within ~3.5 binomial SE of the level
        assert abs((pvals <= level).mean() - level) < 3.5 * _mc_se(level, pvals.size)
    assert stats.kstest(pvals, "uniform").pvalue > 0.001


@pytest.mark.parametrize("estimator, effects", [("random", None), ("first_difference", None),
                                                ("between", None), ("pooled", ("time",))])
def test_other_linear_estimators(estimator, effects):
    df = _firm_panel(1)
    res = panel_regression(df, "y ~ x + z", unit="firm", time="year", estimator=estimator,
                           panel_effects=effects, vcov=Cluster("firm"))
    boot = wild_bootstrap(res, "x", cluster="firm", weights="webb", n_boot=499, ci=False)
    assert boot.statistic == pytest.approx(res.tidy().set_index("term").loc["x", "statistic"])
    assert 0 <= boot.p_value <= 1


# --- the result object -------------------------------------------------------------------

def test_result_tidy_and_text(gp_result):
    boot = _gp(gp_result, weights="webb", n_boot=999, seed=5)
    row = boot.tidy()
    assert list(row.columns[:7]) == ["term", "estimate", "std_error", "statistic", "p_value",
                                     "conf_low", "conf_high"]
    assert row.loc[0, "method"] == "WCR" and row.loc[0, "weights"] == "webb"
    assert row.loc[0, "reps"] == 999 and row.loc[0, "seed"] == 5
    assert row.loc[0, "estimate"] == pytest.approx(gp_result.params["post_self"])
    text = str(boot)
    assert "WCR" in text and "post_self = 0.04" in text and "95% CI" in text
    assert dataclasses.is_dataclass(boot)
    with pytest.raises(dataclasses.FrozenInstanceError):
        boot.p_value = 0.5
    off = _gp(gp_result, weights="webb", n_boot=99, ci=False,
              seed=np.random.default_rng(0))
    assert np.isnan(off.conf_low) and np.isnan(off.conf_high) and off.seed is None
    assert "CI" not in str(off)


# --- bad input ---------------------------------------------------------------------------

def test_bad_input_messages(gp_result):
    with pytest.raises(SpecificationError, match=r"unknown term 'post_sef'.*post_self"):
        wild_bootstrap(gp_result, "post_sef", cluster="year")
    with pytest.raises(SpecificationError, match=r"weights must be one of 'rademacher', "
                                                 r"'webb', 'mammen'; got 'normal'"):
        wild_bootstrap(gp_result, "post_self", cluster="year", weights="normal")
    with pytest.raises(SpecificationError, match="n_boot must be a positive integer"):
        wild_bootstrap(gp_result, "post_self", cluster="year", n_boot=0)
    with pytest.raises(SpecificationError, match="two-way clustering is not supported"):
        wild_bootstrap(gp_result, "post_self", cluster=Cluster("year", "selfemployed"))
    with pytest.raises(SpecificationError, match="'yaer' is not in the data"):
        wild_bootstrap(gp_result, "post_self", cluster="yaer")
    with pytest.raises(SpecificationError, match="needs a linear model from panel_regression"):
        wild_bootstrap(dataclasses.replace(gp_result, engine=None), "post_self", cluster="year")
    with pytest.raises(ValueError, match="conf_level"):
        wild_bootstrap(gp_result, "post_self", cluster="year", conf_level=95)


def test_lazy_export():
    assert ipnstats.wild_bootstrap is wild_bootstrap
