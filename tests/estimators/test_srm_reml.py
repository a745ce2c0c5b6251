"""The Social Relations Model by REML: the per-group Woodbury likelihood against the dense
one, the analytic gradient against differences, and recovery of known components."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats.estimators.srm import social_relations
from ipnstats.estimators.srm_data import check_round_robin, round_robin
from ipnstats.estimators.srm_reml import design, reml_gradient, reml_loglik

# (s_a, s_b, s_ab, s_g, s_gg), the order of reml_loglik's theta
TRUTH = np.array([0.5, 0.3, 0.15, 1.0, 0.3])
TERM = {"actor_variance": 0, "partner_variance": 1, "actor_partner_covariance": 2,
        "relationship_variance": 3, "relationship_covariance": 4}


def _simulate(groups, n, missing, seed, theta=TRUTH):
    """Round-robin groups with correlated person and dyad effects; a share ``missing`` of
    the ordered ratings dropped at random (some dyads lose one direction, some both)."""
    rng = np.random.default_rng(seed)
    saa, sbb, sab, sg, sgg = theta
    person = np.array([[saa, sab], [sab, sbb]])
    dyad = np.array([[sg, sgg], [sgg, sg]])
    rows = []
    for g in range(groups):
        ab = rng.multivariate_normal([0, 0], person, size=n)
        rel = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1, n):
                rel[i, j], rel[j, i] = rng.multivariate_normal([0, 0], dyad)
        rows += [{"g": g, "i": f"{g}-{i}", "j": f"{g}-{j}",
                  "y": 2.0 + g / 10 + ab[i, 0] + ab[j, 1] + rel[i, j]}
                 for i in range(n) for j in range(n) if i != j]
    data = pd.DataFrame(rows)
    data.loc[rng.random(len(data)) < missing, "y"] = np.nan
    return data


def _design(data):
    rows = check_round_robin(data, "y", "i", "j", "g")
    return design([round_robin(r, "y", "i", "j", g) for g, r in rows.groupby("g")])


def _dense_loglik(d, theta):
    """The REML log-likelihood from the full V, built entry by entry."""
    saa, sbb, sab, sg, sgg = theta
    blocks, xs = [], []
    for b in d.blocks:
        same_a = b.actor[:, None] == b.actor[None, :]
        same_b = b.partner[:, None] == b.partner[None, :]
        cross = ((b.actor[:, None] == b.partner[None, :]).astype(float)
                 + (b.partner[:, None] == b.actor[None, :]))
        rev = (b.actor[:, None] == b.partner[None, :]) & (b.partner[:, None] == b.actor[None, :])
        blocks.append(saa * same_a + sbb * same_b + sab * cross + sg * np.eye(len(b.y))
                      + sgg * rev)
        xs.append(len(b.y))
    v = np.zeros((len(d.y), len(d.y)))
    x = np.zeros((len(d.y), len(xs)))
    start = 0
    for g, (blk, m) in enumerate(zip(blocks, xs, strict=True)):
        v[start:start + m, start:start + m] = blk
        x[start:start + m, g] = 1
        start += m
    vinv = np.linalg.inv(v)
    xvx = x.T @ vinv @ x
    beta = np.linalg.solve(xvx, x.T @ vinv @ d.y)
    r = d.y - x @ beta
    n, p = x.shape
    return -0.5 * ((n - p) * np.log(2 * np.pi) + np.linalg.slogdet(v)[1]
                   + np.linalg.slogdet(xvx)[1] + r @ vinv @ r)


@pytest.fixture(scope="module")
def small():
    return _design(_simulate(groups=3, n=6, missing=0.25, seed=11))


def test_loglik_equals_dense_computation(small):
    d = small
    assert any((~b.paired).any() for b in d.blocks)  # some dyads with one direction only
    for theta in (TRUTH, [0.8, 0.2, -0.3, 0.6, -0.4], [0.3, 0.3, 0.0, 1.2, 0.0]):
        assert reml_loglik(d, theta) == pytest.approx(_dense_loglik(d, theta), abs=1e-9)
    assert reml_loglik(d, [0.5, 0.3, 0.15, 0.3, 0.4]) == -np.inf  # |s_gg| > s_g


def test_gradient_equals_differences(small):
    for theta in (TRUTH, np.array([0.8, 0.2, -0.3, 0.6, -0.4])):
        h = 1e-6
        numeric = [(reml_loglik(small, theta + h * e) - reml_loglik(small, theta - h * e))
                   / (2 * h) for e in np.eye(5)]
        assert reml_gradient(small, theta) == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_effects_are_the_blups():
    """Per-group BLUPs equal G Z' V^-1 (y - X beta) from the full matrices."""
    data = _simulate(groups=2, n=5, missing=0.2, seed=5)
    fit = social_relations(data, "y", actor="i", partner="j", group="g", method="reml")
    d = _design(data)
    est = fit.components["estimate"]
    theta = np.array([est[t] for t in sorted(TERM, key=TERM.get)])
    assert fit.loglik == pytest.approx(reml_loglik(d, theta), abs=1e-9)
    for b, (_group, eff) in zip(d.blocks, fit.effects.groupby("group", sort=True), strict=True):
        z = b.Z
        rev = (b.actor[:, None] == b.partner[None, :]) & (b.partner[:, None] == b.actor[None, :])
        sigma = np.array([[theta[0], theta[2]], [theta[2], theta[1]]])
        g = np.kron(np.eye(b.n), sigma)
        v = z @ g @ z.T + theta[3] * np.eye(len(b.y)) + theta[4] * rev
        u = g @ z.T @ np.linalg.solve(v, b.y - eff["mean"].iloc[0])
        assert eff["actor"].to_numpy() == pytest.approx(u[0::2], abs=1e-8)
        assert eff["partner"].to_numpy() == pytest.approx(u[1::2], abs=1e-8)
        vinv1 = np.linalg.solve(v, np.ones(len(b.y)))
        assert eff["mean"].iloc[0] == pytest.approx(vinv1 @ b.y / vinv1.sum(), abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovers_known_components(seed):
    """20 groups of 12, 30% of the ratings missing: each component's 99.9% Wald interval
    covers the truth, the fit is a stationary point, and no likelihood is left."""
    data = _simulate(groups=20, n=12, missing=0.3, seed=seed)
    fit = social_relations(data, "y", actor="i", partner="j", group="g", method="reml")
    assert fit.converged and fit.nobs == data["y"].notna().sum()
    c = fit.components
    z = stats.norm.ppf(0.9995)
    for term, k in TERM.items():
        assert abs(c.loc[term, "estimate"] - TRUTH[k]) < z * c.loc[term, "std_error"], term
    theta = np.array([c.loc[t, "estimate"] for t in sorted(TERM, key=TERM.get)])
    d = _design(data)
    # stationary: the gradient is tiny relative to the curvature (|g| * se << 1)
    se = np.array([c.loc[t, "std_error"] for t in sorted(TERM, key=TERM.get)])
    assert np.all(np.abs(reml_gradient(d, theta)) * se < 1e-3)
    for e in np.eye(5):
        assert reml_loglik(d, theta + 0.1 * se * e) < fit.loglik
        assert reml_loglik(d, theta - 0.1 * se * e) < fit.loglik
