"""Dyadic-robust standard errors (``Dyadic``; Aronow, Samii & Assenova 2015): the node-sum
kernel against a brute-force double sum, its special cases (one-way and two-way
clustering), the least-squares and logit paths, the errors, and a Monte-Carlo on exchange
data where firms are both senders and receivers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats import SSC, Cluster
from ipnstats.core.errors import SpecificationError
from ipnstats.estimators.linear import LinearEngine, ols
from ipnstats.estimators.moderation import moderation
from ipnstats.estimators.panel import panel_regression
from ipnstats.inference.dyadic import dyadic_meat, dyadic_vcov, node_codes, pair_codes
from ipnstats.inference.sandwich import cluster_meat, clustered_vcov, intersection_codes
from ipnstats.results.vcov import Dyadic, parse_vcov
from tests.reference import load


def brute_meat(scores: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The definition: sum of s_d s_d'^T over all pairs (d, d') sharing a node."""
    share = ((a[:, None] == a[None, :]) | (a[:, None] == b[None, :])
             | (b[:, None] == a[None, :]) | (b[:, None] == b[None, :]))
    return scores.T @ share.astype(float) @ scores


def random_dyads(rng, n_nodes: int, n: int):
    """``n`` random directed dyads among ``n_nodes`` firms (no self-dyads; repeated pairs
    and both directions of a pair occur)."""
    a = rng.integers(0, n_nodes, 3 * n)
    b = rng.integers(0, n_nodes, 3 * n)
    keep = a != b
    return a[keep][:n], b[keep][:n]


@pytest.fixture(scope="module")
def exchanges():
    """300 exchanges among 25 firms (each both sender and receiver), with a year."""
    rng = np.random.default_rng(20261207)
    a, b = random_dyads(rng, 25, 300)
    u = rng.normal(size=25)
    df = pd.DataFrame({"sender": a, "receiver": b, "year": rng.integers(2018, 2023, 300)})
    df["x"] = u[a] - u[b] + rng.normal(size=300)
    df["w"] = rng.normal(size=300)
    df["y"] = 0.3 * df["x"] + u[a] + u[b] + rng.normal(size=300)
    df["z"] = (df["y"] + rng.logistic(size=300) > 0).astype(float)
    df["row"] = np.arange(300)
    return df


# ------------------------------------------------------------------ the kernel


@pytest.mark.parametrize("n_nodes", [5, 30])
def test_meat_equals_brute_force_double_sum(n_nodes):
    rng = np.random.default_rng(n_nodes)
    a, b = random_dyads(rng, n_nodes, 400)
    scores = rng.normal(size=(400, 3)) * (1 + rng.random((400, 1)))
    brute = brute_meat(scores, a, b)
    np.testing.assert_allclose(dyadic_meat(scores, a, b), brute, rtol=1e-10, atol=1e-10)


def test_meat_is_asa_multiway_decomposition():
    """ASA's sum_i V_Ci - V_D - (N - 2) V_0, each V_Ci clustering the observations that
    involve node i and leaving the rest alone (R dyadRobust, Stata dyadclust)."""
    rng = np.random.default_rng(3)
    a, b = random_dyads(rng, 12, 150)
    scores = rng.normal(size=(150, 2))
    total = sum(cluster_meat(scores, np.where((a == i) | (b == i), -1, np.arange(150)) + 1)
                for i in range(12))
    asa = total - cluster_meat(scores, pair_codes(a, b)) - 10 * scores.T @ scores
    np.testing.assert_allclose(dyadic_meat(scores, a, b), asa, rtol=1e-10, atol=1e-10)


def test_direction_and_role_do_not_matter():
    rng = np.random.default_rng(4)
    a, b = random_dyads(rng, 10, 200)
    scores = rng.normal(size=(200, 2))
    flip = rng.random(200) < 0.5
    a2, b2 = np.where(flip, b, a), np.where(flip, a, b)
    np.testing.assert_allclose(dyadic_meat(scores, a2, b2), dyadic_meat(scores, a, b),
                               rtol=1e-12)


def test_one_way_when_every_receiver_is_its_own():
    """Each observation has a receiver of its own that never sends: dyadic = clustered
    by sender (no pair repeats, receivers add only each observation's own term)."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 15, 120)
    b = 100 + np.arange(120)
    scores = rng.normal(size=(120, 3))
    np.testing.assert_allclose(dyadic_meat(scores, a, b), cluster_meat(scores, a),
                               rtol=1e-10, atol=1e-12)


def test_two_way_when_no_firm_has_both_roles():
    """Senders never receive (a bipartite network): dyadic = Cameron-Gelbach-Miller
    two-way by sender and receiver, the pair (intersection) term subtracted."""
    rng = np.random.default_rng(6)
    a = rng.integers(0, 20, 300)
    b = 50 + rng.integers(0, 20, 300)
    scores = rng.normal(size=(300, 2))
    two_way = (cluster_meat(scores, a) + cluster_meat(scores, b - 50)
               - cluster_meat(scores, intersection_codes(a, b - 50)))
    np.testing.assert_allclose(dyadic_meat(scores, a, b), two_way, rtol=1e-10, atol=1e-12)
    bread = np.linalg.inv(rng.normal(size=(2, 2)) @ np.eye(2) + 5 * np.eye(2))
    no_factor, _ = clustered_vcov(bread, scores, [a, b - 50], 300, 2, SSC(), adjust=False)
    np.testing.assert_allclose(dyadic_vcov(bread, scores, a, b, n=300, k=2, adjust=False),
                               no_factor, rtol=1e-10, atol=1e-14)


def test_hc0_when_no_two_observations_share_a_node():
    rng = np.random.default_rng(7)
    a, b = np.arange(0, 200, 2), np.arange(1, 200, 2)
    scores = rng.normal(size=(100, 2))
    np.testing.assert_allclose(dyadic_meat(scores, a, b), scores.T @ scores, rtol=1e-12)


def test_small_sample_factor():
    rng = np.random.default_rng(8)
    a, b = random_dyads(rng, 9, 100)
    scores = rng.normal(size=(100, 2))
    bread = np.eye(2)
    raw = dyadic_vcov(bread, scores, a, b, n=100, k=2, adjust=False)
    np.testing.assert_allclose(dyadic_vcov(bread, scores, a, b, n=100, k=2),
                               raw * 9 / 8 * 99 / 98, rtol=1e-12)
    np.testing.assert_allclose(dyadic_vcov(bread, scores, a, b, n=100, k=2,
                                           ssc=SSC(adj=False)), raw * 9 / 8, rtol=1e-12)


# ------------------------------------------------------------ estimators


def test_panel_regression_equals_brute_force(exchanges):
    res = panel_regression(exchanges, "y ~ x + w", unit="sender", time="row",
                           estimator="pooled", vcov=Dyadic("sender", "receiver"))
    X = np.column_stack([np.ones(300), exchanges[["x", "w"]].to_numpy()])
    bread = np.linalg.inv(X.T @ X)
    resid = exchanges["y"].to_numpy() - X @ (bread @ X.T @ exchanges["y"].to_numpy())
    a, b = exchanges["sender"].to_numpy(), exchanges["receiver"].to_numpy()
    want = bread @ brute_meat(X * resid[:, None], a, b) @ bread * 25 / 24 * 299 / 297
    np.testing.assert_allclose(res.cov.to_numpy(), want, rtol=1e-10)
    assert res.df_inference == 24 and res.n_clusters == 25
    assert res.has_note("few_clusters")
    assert res.glance()["vcov"].iloc[0] == "Dyadic (sender, receiver)"
    again = res.with_vcov("hc1").with_vcov(Dyadic("receiver", "sender"))
    np.testing.assert_allclose(again.cov.to_numpy(), want, rtol=1e-10)


def test_fixed_effects_match_dummies(exchanges):
    """Absorbed sender effects: the within scores give the slope block of the
    dummy-variable regression's dyadic covariance (brute force), K counting the absorbed
    levels. (The dummy regression's own result is not compared: its 27 x 27 covariance
    from 25 nodes is not positive semi-definite, and the repair moves the slope block.)"""
    within = panel_regression(exchanges, "y ~ x + w | sender", unit="sender", time="row",
                              estimator="pooled", vcov=Dyadic("sender", "receiver"))
    dummies = pd.get_dummies(exchanges["sender"], drop_first=True, dtype=float).to_numpy()
    Z = np.column_stack([exchanges[["x", "w"]].to_numpy(), np.ones(300), dummies])
    bread = np.linalg.inv(Z.T @ Z)
    y = exchanges["y"].to_numpy()
    resid = y - Z @ (bread @ Z.T @ y)
    meat = brute_meat(Z * resid[:, None], exchanges["sender"].to_numpy(),
                      exchanges["receiver"].to_numpy())
    want = (bread @ meat @ bread)[:2, :2] * 25 / 24 * 299 / (300 - Z.shape[1])
    np.testing.assert_allclose(within.cov.to_numpy(), want, rtol=1e-8)
    assert not within.has_note("covariance_repaired")


def test_logit_equals_brute_force(exchanges):
    """A maximum-likelihood (logit) fit: scores and bread of the fit, factor N/(N-1)."""
    res = moderation(exchanges, y="z", x="x", w="w", family="binomial", center=False)
    dyad = res.with_vcov(Dyadic("sender", "receiver"))
    engine = res.engine
    want = engine.bread @ brute_meat(engine.scores, exchanges["sender"].to_numpy(),
                                     exchanges["receiver"].to_numpy()) @ engine.bread
    np.testing.assert_allclose(dyad.cov.to_numpy(), want * 25 / 24, rtol=1e-10)
    assert dyad.df_inference is None
    direct = moderation(exchanges, y="z", x="x", w="w", family="binomial", center=False,
                        vcov=Dyadic("sender", "receiver"))
    np.testing.assert_allclose(direct.cov.to_numpy(), dyad.cov.to_numpy(), rtol=1e-12)


def asa_rows() -> pd.DataFrame:
    """The deterministic exchanges of tests/reference/dyadic/asa.R."""
    i = np.arange(1, 301)
    d = pd.DataFrame({"sender": (i * 7) % 23, "receiver": (i * 11 + 3) % 23, "i": i})
    d = d[d["sender"] != d["receiver"]].reset_index(drop=True)
    d["x"], d["w"] = np.sin(d["i"]), np.cos(1.3 * d["i"])
    d["y"] = 0.5 * d["x"] + np.sin(d["sender"]) + np.cos(d["receiver"]) + np.sin(2.1 * d["i"])
    d["z"] = (d["y"] > 0.3).astype(float)
    return d


@pytest.mark.parametrize(("case", "outcome", "family"),
                         [("ols", "y", "gaussian"), ("logit", "z", "binomial")])
def test_matches_r_sandwich_asa_decomposition(case, outcome, family):
    """R: sum_i V_Ci - V_D - (N - 2) V_0 from sandwich's unadjusted vcovCL/vcovHC
    (dyadRobust's computation) equals Dyadic(..., adjust=False)."""
    ref = load("dyadic/asa")[case]
    d = asa_rows()
    assert len(d) == ref["nobs"]
    res = moderation(d, y=outcome, x="x", w="w", family=family, center=False,
                     vcov=Dyadic("sender", "receiver", adjust=False))
    np.testing.assert_allclose(res.params, ref["estimate"], rtol=1e-9)
    np.testing.assert_allclose(res.cov.to_numpy(), np.array(ref["vcov"]), rtol=1e-9,
                               atol=1e-12)
    assert res.n_clusters == ref["n_nodes"]


# ----------------------------------------------------------------- errors


def test_errors(exchanges):
    spec = Dyadic("sender", "receiver")
    with pytest.raises(SpecificationError, match="two different columns"):
        Dyadic("sender", "sender")
    with pytest.raises(SpecificationError, match="two column names"):
        Dyadic("sender", 3)
    with pytest.raises(SpecificationError, match="not here"):
        parse_vcov(spec)
    bad = exchanges.assign(receiver=exchanges["receiver"].astype(float))
    bad.loc[3, "receiver"] = np.nan
    with pytest.raises(SpecificationError, match="'receiver' has 1 missing"):
        node_codes(bad, np.arange(300), "sender", "receiver")
    selfish = exchanges.assign(receiver=np.where(exchanges["row"] < 2, exchanges["sender"],
                                                 exchanges["receiver"]))
    with pytest.raises(SpecificationError, match="2 observation.*self-dyad"):
        panel_regression(selfish, "y ~ x", unit="sender", time="row", estimator="pooled",
                         vcov=spec)
    text = exchanges.assign(receiver=exchanges["receiver"].astype(str))
    with pytest.raises(SpecificationError, match="one kind"):
        panel_regression(text, "y ~ x", unit="sender", time="row", estimator="pooled",
                         vcov=spec)
    with pytest.raises(SpecificationError, match="dyadic node column"):
        panel_regression(exchanges, "y ~ x", unit="sender", time="row", estimator="pooled",
                         vcov=Dyadic("sender", "nope"))
    between = panel_regression(exchanges, "y ~ x", unit="sender", time="row",
                               estimator="between")
    with pytest.raises(SpecificationError, match="not available for this estimator"):
        between.with_vcov(spec)


def test_few_nodes_in_a_dense_network_give_no_standard_error():
    """15 firms, 50 pairs, 5 years, within pairs: nearly every two observations share a
    firm, the dyadic variance of x comes out negative, and x gets NaN (not the repair's
    zero) with a note."""
    rng = np.random.default_rng(1)
    s, r = rng.integers(0, 15, 200), rng.integers(0, 15, 200)
    s, r = s[s != r][:60], r[s != r][:60]
    pairs = pd.DataFrame({"s": s, "r": r}).drop_duplicates().reset_index(drop=True)
    pairs["pair"] = np.arange(len(pairs))
    df = pairs.merge(pd.DataFrame({"year": range(5)}), how="cross")
    df["x"] = rng.normal(size=len(df))
    df["y"] = df["x"] + rng.normal(size=len(df))
    res = panel_regression(df, "y ~ x", unit="pair", time="year", vcov=Dyadic("s", "r"))
    assert np.isnan(res.std_errors["x"]) and res.has_note("variance_not_positive")
    assert np.isnan(res.tidy()["p_value"]).all()


def test_string_ids_in_one_namespace(exchanges):
    as_text = exchanges.assign(sender="f" + exchanges["sender"].astype(str),
                               receiver="f" + exchanges["receiver"].astype(str))
    spec = Dyadic("sender", "receiver")
    kw = {"unit": "sender", "time": "row", "estimator": "pooled", "vcov": spec}
    np.testing.assert_allclose(panel_regression(as_text, "y ~ x", **kw).cov,
                               panel_regression(exchanges, "y ~ x", **kw).cov, rtol=1e-12)


# ------------------------------------------------------------- Monte-Carlo


def test_coverage_when_senders_are_receivers():
    """200 firms, each ordered pair exchanging with probability 0.1 (about 4,000
    exchanges, about 20 partners a firm as sender and as receiver); a firm's random
    effect enters the regressor and the error in both roles. Over 2,000 replications
    the dyadic-robust 95% interval covers 93-97%, two-way clustering by sender and
    receiver (which misses i->j against k->i) clearly less."""
    rng = np.random.default_rng(20261207)
    n_firms, reps = 200, 2000
    a, b = np.where(~np.eye(n_firms, dtype=bool))
    keep = rng.random(a.size) < 0.1
    a, b = a[keep], b[keep]
    n = a.size
    data = pd.DataFrame({"sender": a, "receiver": b})
    u, v = rng.normal(size=(reps, n_firms)), rng.normal(size=(reps, n_firms))
    x = u[:, a] + u[:, b] + rng.normal(size=(reps, n))
    y = 0.5 * x + v[:, a] + v[:, b] + rng.normal(size=(reps, n))
    covered = {"dyadic": 0, "two_way": 0}
    specs = {"dyadic": Dyadic("sender", "receiver"), "two_way": Cluster("sender", "receiver")}
    for r in range(reps):
        X = np.column_stack([np.ones(n), x[r]])
        fit = ols(X, y[r], ("Intercept", "x"))
        engine = LinearEngine(X, fit.resid, fit.bread, data, np.arange(n))
        for name, spec in specs.items():
            inf = engine.compute(spec)
            half = stats.t.ppf(0.975, inf.df) * np.sqrt(inf.cov[1, 1])
            covered[name] += abs(fit.beta[1] - 0.5) <= half
    dyadic, two_way = covered["dyadic"] / reps, covered["two_way"] / reps
    assert 0.93 <= dyadic <= 0.97, (dyadic, two_way)
    assert two_way <= 0.90, (dyadic, two_way)
    assert dyadic - two_way >= 0.05, (dyadic, two_way)
