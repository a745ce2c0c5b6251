"""The pairs cluster bootstrap: against analytic cluster-robust SEs, Stata's conventions,
reproducibility on joblib and Dask, idcluster, failures counted."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

import ipnstats
from ipnstats.inference.resample import bootstrap_replicate, cluster_bootstrap


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(3)
    g, per = 60, 12
    c = np.repeat(np.arange(g), per)
    x = rng.normal(size=g * per) + rng.normal(size=g)[c]
    y = 0.5 * x + rng.normal(size=g)[c] + rng.normal(size=g * per) * (1 + 0.5 * np.abs(x))
    return pd.DataFrame({"c": c, "x": x, "y": y, "t": np.tile(np.arange(per), g)})


def _ols(data):
    return ipnstats.panel_regression(data, "y ~ x", unit="c", time="t", estimator="pooled")


def test_bootstrap_se_is_close_to_the_cluster_robust_se(clustered):
    boot = cluster_bootstrap(clustered, _ols, cluster="c", n_boot=999, seed=1)
    analytic = _ols(clustered).with_vcov(ipnstats.Cluster("c")).tidy().set_index("term")
    t = boot.tidy().set_index("term")
    # CR1 and the pairs bootstrap estimate the same variance; 999 draws: ~4.5% MC error
    assert t.loc["x", "std_error"] == pytest.approx(analytic.loc["x", "std_error"], rel=0.15)
    assert t.loc["x", "estimate"] == analytic.loc["x", "estimate"]
    assert t.loc["x", "conf_low"] < 0.5 < t.loc["x", "conf_high"]
    normal = cluster_bootstrap(clustered, _ols, cluster="c", n_boot=999, seed=1, ci="normal")
    n = normal.tidy().set_index("term").loc["x"]
    assert n["conf_high"] - n["estimate"] == pytest.approx(1.959964 * n["std_error"], rel=1e-6)
    assert n["p_value"] == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(
        abs(n["statistic"]))))


def test_a_replicate_draws_whole_clusters(clustered):
    codes = clustered["c"].to_numpy()
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(61))
    seen = {}

    def record(sample):
        seen["sample"] = sample
        return _ols(sample)

    bootstrap_replicate(clustered, record, (order, starts), ("x",), "id",
                        np.random.SeedSequence(4))
    s = seen["sample"]
    assert len(s) == len(clustered)  # equal cluster sizes
    # every drawn copy is a complete cluster under its own new id
    per_id = s.groupby("id")["c"].agg(["nunique", "size"])
    assert (per_id["nunique"] == 1).all() and (per_id["size"] == 12).all()
    assert s["id"].nunique() == 60 and s["c"].nunique() < 60


def test_idcluster_makes_repeated_firms_distinct_units(clustered):
    fe = partial(ipnstats.panel_regression, formula="y ~ x", unit="c", time="t")
    boot = cluster_bootstrap(clustered, fe, cluster="c", relabel="c", n_boot=200, seed=2)
    assert boot.failed == 0
    analytic = fe(clustered).with_vcov(ipnstats.Cluster("c")).tidy().set_index("term")
    assert boot.tidy().set_index("term").loc["x", "std_error"] == pytest.approx(
        analytic.loc["x", "std_error"], rel=0.25)


def test_same_numbers_on_one_two_workers_and_dask(clustered, dask_cluster):
    _, client = dask_cluster
    one = cluster_bootstrap(clustered, _ols, cluster="c", n_boot=40, seed=9)
    two = cluster_bootstrap(clustered, _ols, cluster="c", n_boot=40, seed=9, n_jobs=2)
    dask = cluster_bootstrap(clustered, _ols, cluster="c", n_boot=40, seed=9, backend="dask",
                             scheduler=client)
    assert one.draws.equals(two.draws) and one.draws.equals(dask.draws)
    assert not one.draws.equals(cluster_bootstrap(clustered, _ols, cluster="c", n_boot=40,
                                                  seed=10).draws)


def _fragile(data):
    if data["c"].nunique() < 39:
        raise np.linalg.LinAlgError("too few distinct clusters")
    return _ols(data)


def test_failed_replicates_are_counted_and_named(clustered):
    boot = cluster_bootstrap(clustered, _fragile, cluster="c", n_boot=60, seed=0)
    assert 0 < boot.failed < 60
    assert boot.draws.isna().any(axis=1).sum() == boot.failed
    assert "could not be fitted" in boot.notes[0] and "too few distinct" in boot.notes[0]
    assert boot.glance().iloc[0]["failed"] == boot.failed


def test_bad_options_are_reported_together(clustered):
    with pytest.raises(ipnstats.SpecificationError) as err:
        cluster_bootstrap(clustered, _ols, cluster="c", n_boot=1, ci="bca", conf_level=2)
    for part in ("n_boot", "ci must be", "conf_level"):
        assert part in str(err.value)
    with pytest.raises(ipnstats.SpecificationError, match="not in the data"):
        cluster_bootstrap(clustered, _ols, cluster="nope")
    with pytest.raises(ipnstats.SpecificationError, match="terms not in the fit"):
        cluster_bootstrap(clustered, _ols, cluster="c", terms=["z"], n_boot=5)
