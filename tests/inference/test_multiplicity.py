"""Multiple-testing adjustments.

adjust_pvalues against statsmodels' multipletests and R's p.adjust (values worked by
hand); romano_wolf against a hand-computed stepdown, what the theory makes exactly
true (one hypothesis, identical and independent columns, union bounds), and
pyfixest's rwolf on the same wild-bootstrap draws; romano_wolf_bootstrap against
simulated truth (family-wise error rate, power) and its resampling contract.
"""

import gc

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ipnstats.inference.multiplicity import (
    METHODS,
    adjust_pvalues,
    romano_wolf,
    romano_wolf_bootstrap,
)

STATSMODELS = {"holm": "holm", "bonferroni": "bonferroni", "hommel": "hommel",
               "bh": "fdr_bh", "by": "fdr_by"}


# --- adjust_pvalues -----------------------------------------------------------------------

def _random_families(seed: int = 11):
    rng = np.random.default_rng(seed)
    for m in (1, 2, 3, 4, 7, 25):
        for _ in range(20):
            p = rng.uniform(size=m) ** 3  # many small p-values
            if m > 2:
                p[1] = p[0]  # a tie
            yield p


@pytest.mark.parametrize("method", sorted(STATSMODELS))
def test_adjust_matches_statsmodels(method, monkeypatch):
    monkeypatch.setattr(gc, "collect", lambda *args: 0)  # statsmodels' holm calls it: 0.1 s
    for p in _random_families():
        expected = multipletests(p, method=STATSMODELS[method])[1]
        np.testing.assert_allclose(adjust_pvalues(p, method), expected, rtol=0, atol=1e-12)


def test_adjust_matches_r_p_adjust_by_hand():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), method) for each method.
    p = [0.01, 0.04, 0.03, 0.005]
    expected = {
        "holm": [0.03, 0.06, 0.06, 0.02],          # 3*.01, max(.06, 1*.04), 2*.03, 4*.005
        "bonferroni": [0.04, 0.16, 0.12, 0.02],
        "bh": [0.02, 0.04, 0.04, 0.02],            # min over j >= i of 4 p_(j) / j
        "by": list(np.array([0.02, 0.04, 0.04, 0.02]) * (1 + 1 / 2 + 1 / 3 + 1 / 4)),
        # Hommel by closure: the largest Simes p over the subsets holding each hypothesis
        # (e.g. 0.03 with {0.03, 0.04}: min(2 * 0.03 / 1, 2 * 0.04 / 2) = 0.04).
        "hommel": [0.03, 0.04, 0.04, 0.02],
        "none": p,
    }
    for method, values in expected.items():
        np.testing.assert_allclose(adjust_pvalues(p, method), values, rtol=0, atol=1e-15)


@pytest.mark.parametrize("method", METHODS)
def test_adjust_is_monotone_bounded_and_capped(method):
    for p in _random_families(seed=5):
        adj = adjust_pvalues(np.minimum(p * 4, 1.0), method)  # some products exceed 1
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(adj[order]) >= -1e-15)
        assert np.all(adj >= np.minimum(p * 4, 1.0) - 1e-15) and np.all(adj <= 1)


def test_nan_stays_nan_and_leaves_the_family():
    p = [0.01, np.nan, 0.04, np.nan]
    for method in METHODS:
        out = adjust_pvalues(p, method)
        assert np.isnan(out[[1, 3]]).all()
        np.testing.assert_allclose(out[[0, 2]], adjust_pvalues([0.01, 0.04], method))
    np.testing.assert_allclose(adjust_pvalues(p)[[0, 2]], [0.02, 0.04])  # m = 2, not 4
    assert np.isnan(adjust_pvalues([np.nan, np.nan])).all()


def test_series_keeps_index_and_name():
    p = pd.Series([0.04, 0.005, 0.03, 0.01], index=["y4", "y1", "y3", "y2"], name="p_value")
    out = adjust_pvalues(p, "bh")
    assert isinstance(out, pd.Series) and out.name == "p_value"
    assert list(out.index) == ["y4", "y1", "y3", "y2"]
    np.testing.assert_allclose(out.to_numpy(), [0.04, 0.02, 0.04, 0.02])
    assert isinstance(adjust_pvalues([0.1, 0.2]), np.ndarray)


def test_invalid_input_is_named():
    with pytest.raises(ValueError, match="unknown method 'fdr_bh'.*'holm'.*'bh'.*'by'"):
        adjust_pvalues([0.1, 0.2], "fdr_bh")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.2])
    with pytest.raises(ValueError, match="one-dimensional"):
        adjust_pvalues([[0.1, 0.2]])


# --- romano_wolf: a hand-worked stepdown ----------------------------------------------

T_OBS = np.array([2.5, -1.0, 1.8])
# Null draws (B = 9, K = 3). Stepdown order by |t|: H1 (2.5), H3 (1.8), H2 (1.0).
T_BOOT = np.array([
    [0.1, 0.2, 0.3],
    [-2.6, 0.5, 0.4],   # step 1: max |t*| = 2.6 >= 2.5
    [0.3, -1.9, 0.2],   # step 2: max(|c2|, |c3|) = 1.9 >= 1.8; step 3: 1.9 >= 1.0
    [1.0, 0.1, 1.7],
    [0.5, 1.2, -0.4],   # step 3: 1.2 >= 1.0
    [0.2, -0.3, 0.1],
    [-0.7, 0.6, -1.5],
    [3.0, 0.0, 0.0],    # step 1: 3.0 >= 2.5
    [0.4, -1.0, 0.9],   # step 3: a tie, |-1.0| >= 1.0 counts
])


def test_hand_example_step_by_step():
    # step 1 (H1): 2 of 9 draws -> (2 + 1) / 10 = 0.3
    # step 2 (H3): 1 of 9 -> 0.2, raised to 0.3 by the running maximum
    # step 3 (H2): 3 of 9 -> 0.4
    np.testing.assert_allclose(romano_wolf(T_OBS, T_BOOT, centered=False), [0.3, 0.4, 0.3])
    # rwolf's noplusone: 2/9, 1/9 -> 2/9, 3/9
    np.testing.assert_allclose(romano_wolf(T_OBS, T_BOOT, centered=False, plus_one=False),
                               [2 / 9, 3 / 9, 2 / 9])
    # The same draws from an unrestricted bootstrap, i.e. shifted by t, once centred.
    np.testing.assert_allclose(romano_wolf(T_OBS, T_BOOT + T_OBS), [0.3, 0.4, 0.3])


def test_hand_example_one_sided():
    # greater: order by t (H1 2.5, H3 1.8, H2 -1.0), maxima of the signed draws.
    # step 1: only 3.0 >= 2.5 -> 2/10; step 2: max(c2, c3) >= 1.8 never -> 1/10 -> 0.2;
    # step 3: c2 >= -1.0 in 8 draws (all but -1.9; the tie counts) -> 9/10.
    np.testing.assert_allclose(romano_wolf(T_OBS, T_BOOT, alternative="greater",
                                           centered=False), [0.2, 0.9, 0.2])
    np.testing.assert_allclose(romano_wolf(-T_OBS, -T_BOOT, alternative="less",
                                           centered=False), [0.2, 0.9, 0.2])


# --- romano_wolf: what theory makes exactly true ----------------------------------------

def _boot_p(t, draws, alternative="two-sided"):
    """Single-test bootstrap p-values, (count + 1) / (B + 1), written out directly."""
    orient = {"two-sided": np.abs, "greater": lambda x: x, "less": lambda x: -x}[alternative]
    return ((orient(draws) >= orient(t)).sum(axis=0) + 1) / (draws.shape[0] + 1)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_one_hypothesis_is_its_bootstrap_pvalue(alternative):
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((499, 1))
    for t in (-2.3, -0.4, 0.0, 1.1, 2.9):
        got = romano_wolf([t], draws, alternative=alternative, centered=False)
        np.testing.assert_allclose(got, _boot_p(np.array([t]), draws, alternative))


def _correlated_draws(rng, n_draws, k, rho):
    cov = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    return rng.multivariate_normal(np.zeros(k), cov, size=n_draws)


def test_between_single_test_and_union_bounds():
    rng = np.random.default_rng(2)
    for _ in range(30):
        k = int(rng.integers(2, 7))
        scales = rng.uniform(0.5, 2.0, k)  # columns with unequal spreads
        draws = _correlated_draws(rng, 199, k, rng.uniform(0, 0.9)) * scales
        t = rng.normal(0, 2.5, k)
        p_rw = romano_wolf(t, draws, centered=False)
        # Lower bound: the maximum at each step includes the hypothesis's own draw.
        assert np.all(p_rw >= _boot_p(t, draws))
        # Upper bound: count{max_{j in R_s} |t*_j| >= |t_s|} <= sum_{j in R_s}
        # count{|t*_j| >= |t_s|}, then the running maximum along the stepdown order.
        order = np.argsort(-np.abs(t))
        union = [min(1.0, ((np.abs(draws[:, order[s:]]) >= abs(t[order[s]])).sum() + 1)
                     / (draws.shape[0] + 1)) for s in range(k)]
        assert np.all(p_rw[order] <= np.maximum.accumulate(union) + 1e-15)


def test_identical_marginals_bounded_by_holm_of_bootstrap_p():
    # When every column holds the same B values (any dependence between them), the
    # union bound becomes |R_s| * p_boot: Romano-Wolf <= Holm(p_boot) <= Bonferroni.
    rng = np.random.default_rng(3)
    values = np.sort(rng.standard_normal(299))
    for rho in (0.0, 0.5, 0.95):
        ranks = _correlated_draws(rng, 299, 5, rho).argsort(axis=0).argsort(axis=0)
        draws = values[ranks]
        t = rng.normal(0, 2.5, 5)
        p_boot = _boot_p(t, draws)
        p_rw = romano_wolf(t, draws, centered=False)
        assert np.all(p_rw <= adjust_pvalues(p_boot, "holm") + 1e-15)
        assert np.all(p_rw <= np.minimum(5 * p_boot, 1) + 1e-15)


def test_identical_columns_need_no_adjustment():
    # Perfect dependence: the maximum over any set of columns is the common column,
    # so each adjusted p-value is exactly that hypothesis's own bootstrap p-value.
    rng = np.random.default_rng(4)
    draws = np.repeat(rng.standard_normal((999, 1)), 4, axis=1)
    t = np.array([2.2, -0.3, 1.5, -2.6])
    np.testing.assert_array_equal(romano_wolf(t, draws, centered=False), _boot_p(t, draws))


def test_independent_columns_match_holm_sidak():
    # Independent N(0, 1) columns: the step-s maximum exceeds |t_s| with probability
    # 1 - (1 - p_s)^|R_s|, i.e. the Holm-Sidak stepdown of the normal p-values.
    rng = np.random.default_rng(5)
    draws = rng.standard_normal((40_000, 5))
    t = np.array([3.0, -2.4, 2.0, 1.0, -0.3])
    order = np.argsort(-np.abs(t))

    def holm_sidak(p):
        steps = [1 - (1 - p[order[s]]) ** (5 - s) for s in range(5)]
        out = np.empty(5)
        out[order] = np.maximum.accumulate(steps)
        return out

    p_rw = romano_wolf(t, draws, centered=False)
    np.testing.assert_allclose(p_rw, holm_sidak(2 * stats.norm.sf(np.abs(t))), atol=0.01)
    np.testing.assert_allclose(p_rw, holm_sidak(_boot_p(t, draws)), atol=0.01)


def test_monotone_in_abs_t_and_order_free():
    rng = np.random.default_rng(6)
    for _ in range(20):
        t = rng.normal(0, 2, 6)
        draws = _correlated_draws(rng, 299, 6, 0.4)
        p_rw = romano_wolf(t, draws, centered=False)
        assert np.all(np.diff(p_rw[np.argsort(-np.abs(t))]) >= 0)
        perm = rng.permutation(6)
        np.testing.assert_array_equal(romano_wolf(t[perm], draws[:, perm], centered=False),
                                      p_rw[perm])
    tied = romano_wolf([2.0, -2.0, 0.5], _correlated_draws(rng, 199, 3, 0.2), centered=False)
    assert tied[0] == tied[1]


def test_series_in_series_out_aligned_on_names():
    t = pd.Series(T_OBS, index=["y1", "y2", "y3"])
    boot = pd.DataFrame(T_BOOT, columns=["y1", "y2", "y3"])[["y3", "y1", "y2"]]
    out = romano_wolf(t, boot, centered=False)
    assert isinstance(out, pd.Series) and out.name == "p_romano_wolf"
    assert list(out.index) == ["y1", "y2", "y3"]
    np.testing.assert_allclose(out.to_numpy(), [0.3, 0.4, 0.3])


def test_romano_wolf_rejects_bad_input():
    with pytest.raises(ValueError, match="B x K"):
        romano_wolf([1.0, 2.0], np.zeros((9, 3)))
    with pytest.raises(ValueError, match="NaN"):
        romano_wolf([1.0, 2.0], np.full((9, 2), np.nan))
    with pytest.raises(ValueError, match="'two-sided', 'greater', 'less'"):
        romano_wolf([1.0], np.zeros((9, 1)), alternative="two.sided")


def test_matches_pyfixest_rwolf_on_the_same_wild_bootstrap_draws():
    # wildboottest has no Romano-Wolf function; pyfixest's rwolf (wildrwolf's
    # algorithm) runs wildboottest's WCR bootstrap, whose draws follow the null.
    pf = pytest.importorskip("pyfixest")
    data = pf.get_data().dropna()
    rng = np.random.default_rng(5)
    data["Y3"] = 0.3 * data["Y"] + 3 * rng.normal(size=len(data))
    data["Y4"] = rng.normal(size=len(data))
    fit = pf.feols("Y + Y2 + Y3 + Y4 ~ X1 + X2", data=data, vcov={"CRV1": "group_id"})
    theirs = pf.rwolf(fit, "X2", reps=499, seed=12).loc["RW Pr(>|t|)"].to_numpy(float)
    t, draws = [], []
    for model in fit.to_list():
        res, boot = model.wildboottest(param="X2", reps=499, seed=12,
                                       return_bootstrapped_t_stats=True)
        t.append(float(res["t value"]))
        draws.append(np.asarray(boot, float))
    ours = romano_wolf(np.array(t), np.column_stack(draws), centered=False)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert len(set(np.round(theirs, 3))) == 4  # p-values spread out: not a vacuous match


# --- romano_wolf_bootstrap ----------------------------------------------------------------

OUTCOMES = ["y1", "y2", "y3"]
LABELS = pd.Index(OUTCOMES)  # built once: an index per call costs more than the statistic


def _diff_in_means(frame):
    y = np.column_stack([frame[c].to_numpy() for c in OUTCOMES])
    g = frame["treat"].to_numpy() == 1
    a, b = y[g], y[~g]
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return pd.Series(a.mean(axis=0) - b.mean(axis=0), index=LABELS), se


def _trial(rng, n=80, effect=1.0, rho=0.5):
    """Three outcomes with correlated errors; treatment moves only y1."""
    e = _correlated_draws(rng, n, 3, rho)
    treat = np.repeat([0, 1], n // 2)
    y = e + np.outer(treat, [effect, 0.0, 0.0])
    return pd.DataFrame({"treat": treat, "y1": y[:, 0], "y2": y[:, 1], "y3": y[:, 2]})


def test_familywise_error_and_power_in_simulation():
    rng = np.random.default_rng(20240601)
    reps, false_any, true_hits = 200, 0, 0
    for r in range(reps):
        res = romano_wolf_bootstrap(_trial(rng), _diff_in_means, n_boot=99, seed=r)
        false_any += bool((res.p_romano_wolf[1:] <= 0.05).any())
        true_hits += bool(res.p_romano_wolf[0] <= 0.05)
    # FWER of the two true nulls: nominal 0.05, Monte Carlo s.e. 0.015.
    assert false_any / reps <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / reps)
    assert true_hits / reps >= 0.95  # t near 4.5


def test_tidy_glance_and_determinism():
    frame = _trial(np.random.default_rng(8), effect=0.5)
    res = romano_wolf_bootstrap(frame, _diff_in_means, n_boot=199, seed=3)
    tidy = res.tidy()
    assert list(tidy.columns) == ["term", "estimate", "std_error", "statistic", "p_value",
                                  "p_bootstrap", "p_romano_wolf", "p_holm"]
    assert list(tidy["term"]) == OUTCOMES
    est, se = _diff_in_means(frame)
    est = est.to_numpy()
    np.testing.assert_allclose(tidy["statistic"], est / se)
    np.testing.assert_allclose(tidy["p_value"], 2 * stats.norm.sf(np.abs(est / se)))
    np.testing.assert_allclose(tidy["p_holm"], adjust_pvalues(tidy["p_value"].to_numpy()))
    np.testing.assert_allclose(tidy["p_romano_wolf"],
                               romano_wolf(est / se, res.t_boot, centered=False))
    np.testing.assert_allclose(tidy["p_bootstrap"], _boot_p(est / se, res.t_boot))
    assert (tidy["p_romano_wolf"] >= tidy["p_bootstrap"]).all()
    glance = res.glance().iloc[0]
    assert (glance["n_boot"], glance["n_failed"], glance["seed"]) == (199, 0, 3)
    assert (glance["n_hypotheses"], glance["cluster"], glance["nobs"]) == (3, None, 80)
    assert glance["n_clusters"] is None
    again = romano_wolf_bootstrap(frame, _diff_in_means, n_boot=199, seed=3)
    pd.testing.assert_frame_equal(again.tidy(), tidy)
    np.testing.assert_array_equal(again.t_boot, res.t_boot)
    other = romano_wolf_bootstrap(frame, _diff_in_means, n_boot=199,
                                  seed=np.random.default_rng(3))
    assert other.seed is None
    with pytest.raises(ValueError):
        res.t_boot[0, 0] = 1.0  # read-only


def test_one_sided_bootstrap_uses_signed_statistics():
    frame = _trial(np.random.default_rng(9), effect=0.6)
    up = romano_wolf_bootstrap(frame, _diff_in_means, n_boot=199, alternative="greater")
    down = romano_wolf_bootstrap(frame, _diff_in_means, n_boot=199, alternative="less")
    np.testing.assert_allclose(up.p_value, stats.norm.sf(up.statistic))
    np.testing.assert_allclose(up.p_romano_wolf,
                               romano_wolf(up.statistic, up.t_boot, alternative="greater",
                                           centered=False))
    assert up.p_romano_wolf[0] < 0.05 < down.p_romano_wolf[0]


def test_cluster_resampling_draws_whole_clusters():
    rng = np.random.default_rng(10)
    sizes = np.array([3, 8, 5, 1, 12, 6, 4])
    frame = pd.DataFrame({"firm": np.repeat(list("ABCDEFG"), sizes),
                          "x": rng.normal(size=sizes.sum())})
    frame["origin"] = frame["firm"]
    seen = []

    def stat_fn(d):
        seen.append(d)
        return [d["x"].mean()], [d["x"].std(ddof=1) / np.sqrt(d["firm"].nunique())]

    res = romano_wolf_bootstrap(frame, stat_fn, cluster="firm", n_boot=50, seed=1)
    assert (res.cluster, res.n_clusters, res.nobs) == ("firm", 7, 39)
    size_of = dict(zip("ABCDEFG", sizes, strict=True))
    for d in seen[1:]:
        assert d["firm"].nunique() == 7  # a cluster drawn twice counts twice
        for _, copy in d.groupby("firm"):
            assert copy["origin"].nunique() == 1
            assert len(copy) == size_of[copy["origin"].iloc[0]]
    assert len({len(d) for d in seen[1:]}) > 1  # whole clusters of unequal size


def test_non_finite_draws_are_dropped_and_counted():
    calls = iter(range(10_000))

    def flaky(d):
        est, se = _diff_in_means(d)
        return est, (np.zeros(3) if next(calls) in (3, 5) else se)

    res = romano_wolf_bootstrap(_trial(np.random.default_rng(12)), flaky, n_boot=20, seed=0)
    assert (res.n_boot, res.n_failed, res.t_boot.shape) == (18, 2, (18, 3))


def test_bootstrap_rejects_bad_options():
    frame = _trial(np.random.default_rng(13))
    with pytest.raises(ValueError, match="cluster column 'firm'"):
        romano_wolf_bootstrap(frame, _diff_in_means, cluster="firm")
    with pytest.raises(ValueError, match="n_boot"):
        romano_wolf_bootstrap(frame, _diff_in_means, n_boot=0)
    with pytest.raises(ValueError, match="common length"):
        romano_wolf_bootstrap(frame, lambda d: ([1.0, 2.0], [1.0]), n_boot=5)
