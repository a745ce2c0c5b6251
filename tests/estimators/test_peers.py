"""Peer composition effects (ipnstats.estimators.peers): the exclusion bias of the naive
leave-one-out regression and its Guryan-Kroft-Notowidigdo correction by Monte Carlo, the
randomization test's uniform p-values under the null, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats.core.errors import DataError, SpecificationError
from ipnstats.estimators.peers import (
    leave_one_out_mean,
    peer_design,
    peer_effects,
    peer_randomization_test,
)

BETA, DELTA = 0.3, 1.0  # true peer effect; own characteristic's effect on the outcome


def draw(rng, n_pools=30, groups=5, beta=BETA, delta=DELTA):
    """Pools (cohorts) of 5 groups of 3-7 members each, formed at random within the pool;
    pools differ in mean quality and level; ``y = pool level + delta x + beta * (leave-one-out
    mean of x in the group) + e``."""
    sizes = rng.integers(3, 8, size=(n_pools, groups))
    pool = np.repeat(np.arange(n_pools), sizes.sum(1))
    group = np.concatenate([rng.permutation(np.repeat(np.arange(groups), s)) + k * groups
                            for k, s in enumerate(sizes)])
    x = rng.standard_normal(n_pools)[pool] + rng.standard_normal(pool.size)
    y = (rng.standard_normal(n_pools)[pool] + delta * x + beta * leave_one_out_mean(x, group)
         + rng.standard_normal(pool.size))
    return pd.DataFrame({"pool": pool, "group": group, "x": x, "y": y})


def test_leave_one_out_mean_by_hand():
    x = np.array([1.0, 2.0, 6.0, 10.0, 20.0])
    np.testing.assert_allclose(leave_one_out_mean(x, np.array([0, 0, 0, 1, 1])),
                               [4.0, 3.5, 1.5, 20.0, 10.0])


def test_terms_and_by_hand_regression():
    d = draw(np.random.default_rng(11), n_pools=6)
    res = peer_effects(d, "y", "x", group="group", pool="pool", method="linear_in_means",
                       pool_effects=False)
    peer = leave_one_out_mean(d.x.to_numpy(), d.group.to_numpy())
    pool_n = d.groupby("pool").x.transform("size")
    pool_loo = (d.groupby("pool").x.transform("sum") - d.x) / (pool_n - 1)
    X = np.column_stack([np.ones(len(d)), peer, pool_loo, d.x])
    beta = np.linalg.lstsq(X, d.y.to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(res.params.to_numpy(), beta, rtol=1e-10)
    assert list(res.params.index) == ["Intercept", "peer_mean", "pool_loo_mean", "x"]
    assert res.vcov.columns == ("group",) and res.vcov.type == "cr2"  # the default
    assert res.n_clusters == 30
    assert res.glance()["n_groups"].iloc[0] == 30


def test_monte_carlo_exclusion_bias_and_gkn_coverage():
    """200 replications, pool fixed effects in every fit (the default with pool=): the
    naive leave-one-out estimate is biased downwards (the exclusion bias, about
    -delta / (N - 1) * Var(x) / Var(peer mean) within pools: near -0.17 here), the
    GKN-corrected one is unbiased, and the corrected linear-in-means fit's 95 % interval
    (CR2 by group, the default) covers the truth 93-97 % of the time."""
    rng = np.random.default_rng(20261207)
    naive, fixed, covered = [], [], 0
    for _ in range(200):
        d = draw(rng, n_pools=12, groups=6)
        n = peer_effects(d, "y", "x", group="group", pool="pool", correction=None,
                         vcov="iid")  # estimates only: skip CR2's cost
        f = peer_effects(d, "y", "x", group="group", pool="pool", vcov="iid")
        g = peer_effects(d, "y", "x", group="group", pool="pool", method="linear_in_means")
        g = g.tidy().set_index("term")
        naive.append(n.params["peer_mean"])
        fixed.append(f.params["peer_mean"])
        covered += g.loc["peer_mean", "conf_low"] <= BETA <= g.loc["peer_mean", "conf_high"]
    naive, fixed = np.array(naive), np.array(fixed)
    se_mean = naive.std() / np.sqrt(200)
    assert naive.mean() - BETA < -4 * se_mean  # negative exclusion bias
    assert abs(fixed.mean() - BETA) < 3 * fixed.std() / np.sqrt(200)
    assert 0.93 * 200 <= covered <= 0.97 * 200


def test_balance_regression_of_the_characteristic_on_its_peer_mean():
    """GKN's Table 3 test of random assignment: x on the peer mean of x, with pool effects.
    Naive: about -1 / (N - 1) * Var(x) / Var(peer mean), negative; GKN: zero."""
    d = draw(np.random.default_rng(17), n_pools=300)
    naive = peer_effects(d, "x", "x", group="group", pool="pool", correction=None)
    fixed = peer_effects(d, "x", "x", group="group", pool="pool")
    assert naive.tidy().set_index("term").loc["peer_mean", "conf_high"] < 0
    assert abs(fixed.params["peer_mean"]) < 3 * fixed.tidy().set_index("term").loc[
        "peer_mean", "std_error"]


def test_randomization_p_values_uniform_under_the_null():
    """Under the sharp null (beta = 0, own x still matters) the p-values of 200 data
    sets spread evenly over ten bins (the exact p of 99 re-draws lives on k/100)."""
    rng = np.random.default_rng(7)
    p = np.array([peer_randomization_test(draw(rng, n_pools=8, beta=0.0), "y", "x",
                                          group="group", pool="pool", n_perm=99,
                                          seed=rng).p_value for _ in range(200)])
    counts = np.bincount(np.minimum((p * 10 - 1e-9).astype(int), 9), minlength=10)
    assert stats.chisquare(counts).pvalue > 0.001
    assert stats.kstest(p, "uniform").pvalue > 0.001


def test_randomization_detects_a_peer_effect_and_callable_formation():
    d = draw(np.random.default_rng(3), beta=1.0)
    test = peer_randomization_test(d, "y", "x", group="group", pool="pool", n_perm=199,
                                   seed=4)
    assert test.p_value == pytest.approx(1 / 200)
    assert test.estimate == pytest.approx(
        peer_effects(d, "y", "x", group="group", pool="pool").params["peer_mean"])
    assert test.seed == 4 and test.draws.shape == (199,) and test.formation == "random"

    def chair(data, rng):  # shuffles within pools too: same law as "random"
        return (data.groupby("pool").group.transform(lambda s: rng.permutation(s.to_numpy()))
                .to_numpy())

    same = peer_randomization_test(d, "y", "x", group="group", pool="pool", n_perm=199,
                                   seed=4, formation=chair)
    assert same.p_value == pytest.approx(1 / 200) and same.formation == "chair"
    fixed = peer_randomization_test(d, "y", "x", group="group", pool="pool", n_perm=19,
                                    formation=lambda data, rng: data.group.to_numpy())
    assert fixed.p_value == 1.0  # a deterministic rule re-draws the same groups
    assert len(fixed.notes) == 2 and fixed.has_note("p_value_method")
    assert repr(test).startswith("<PeerRandomizationTest: 1 row(s)")


def test_errors():
    d = draw(np.random.default_rng(5), n_pools=3)
    alone = pd.concat([d, pd.DataFrame({"pool": [0], "group": [999], "x": [0.], "y": [0.]})])
    with pytest.raises(DataError, match="size 1"):
        peer_effects(alone, "y", "x", group="group", pool="pool")
    with pytest.raises(DataError, match="missing or infinite"):
        peer_effects(d.assign(x=d.x.where(d.index != 3)), "y", "x", group="group")
    with pytest.raises(DataError, match="must be numeric"):
        peer_effects(d.assign(x="a"), "y", "x", group="group")
    with pytest.raises(DataError, match="spans several pools"):
        peer_effects(d.assign(pool=np.arange(len(d)) % 3), "y", "x", group="group",
                     pool="pool")
    with pytest.raises(DataError, match="single group"):
        peer_effects(d.assign(group=d.pool), "y", "x", group="group", pool="pool")
    with pytest.raises(DataError, match="appears twice"):
        peer_design(d.assign(firm=0), "x", group="group", unit="firm")
    with pytest.raises(DataError, match="must be numeric"):
        peer_randomization_test(d.assign(y="high"), "y", "x", group="group", n_perm=19)
    with pytest.raises(SpecificationError, match="not in the data"):
        peer_effects(d, "y", "size", group="group")
    with pytest.raises(SpecificationError, match="method"):
        peer_effects(d, "y", "x", group="group", method="lim")
    with pytest.raises(SpecificationError, match="correction"):
        peer_effects(d, "y", "x", group="group", correction="caeyers")
    with pytest.raises(SpecificationError, match="pool_effects"):
        peer_effects(d, "y", "x", group="group", pool_effects=True)
    with pytest.raises(SpecificationError, match="already has"):
        peer_effects(d.assign(peer_mean=1.0), "y", "x", group="group")
    with pytest.raises(SpecificationError, match="n_perm"):
        peer_randomization_test(d, "y", "x", group="group", n_perm=5)
    with pytest.raises(SpecificationError, match="one group label per row"):
        peer_randomization_test(d, "y", "x", group="group", n_perm=19,
                                formation=lambda data, rng: [1, 2])


def test_missing_outcome_rows_still_count_as_peers():
    d = draw(np.random.default_rng(8), n_pools=4)
    res = peer_effects(d.assign(y=d.y.where(d.index % 7 != 0)), "y", "x", group="group",
                       pool="pool")
    assert res.nobs == (d.index % 7 != 0).sum() and res.has_note("missing_dropped")
    assert not res.has_note("peer_exclusion_bias")


def chair(data, rng):
    """A chair's rule: within each pool, firms sorted by x plus noise fill the pool's
    groups (ids ascending, sizes as observed) in order, so similar firms share a group."""
    order = np.lexsort((data.x.to_numpy() + rng.standard_normal(len(data)),
                        data.pool.to_numpy()))
    labels = np.empty(len(data), np.int64)
    labels[order] = np.sort(data.group.to_numpy())
    return labels


def test_randomization_under_the_chairs_rule():
    """Groups sorted by the chair: under the null (beta = 0, own x matters) re-drawing
    with the chair's rule gives uniform p-values, re-drawing as if groups were random
    does not (sorting makes the peer mean track the own x, which the naive statistic
    used here does not control)."""
    rng = np.random.default_rng(31)
    right, wrong = [], []
    for _ in range(100):
        d = draw(rng, n_pools=4, beta=0.0)
        d["group"] = chair(d, rng)
        kw = {"group": "group", "pool": "pool", "n_perm": 49, "seed": rng,
              "correction": None}  # any statistic is exact under its own rule
        right.append(peer_randomization_test(d, "y", "x", formation=chair, **kw).p_value)
        wrong.append(peer_randomization_test(d, "y", "x", **kw).p_value)
    counts = np.bincount(np.minimum((np.array(right) * 5 - 1e-9).astype(int), 4),
                         minlength=5)
    assert stats.chisquare(counts).pvalue > 0.001
    assert stats.kstest(wrong, "uniform").pvalue < 1e-6  # piled up near 0
