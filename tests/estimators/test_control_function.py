"""The control-function (two-stage residual inclusion) logit (issue 22): Monte-Carlo truth
recovery and coverage with Murphy-Topel standard errors, the size of the Rivers-Vuong
exogeneity test, the analytic cross-derivative against finite differences, Murphy-Topel
(plain and clustered) against a bootstrap that redoes both stages, and the errors."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from scipy.special import expit

from ipnstats.core.errors import DataError, EstimationError, SpecificationError
from ipnstats.estimators import control_function as cf
from ipnstats.estimators.control_function import CFData, control_function_logit
from ipnstats.estimators.glm import fit_logit
from ipnstats.results.vcov import Cluster


def _simulate(seed: int, n: int = 600, c: float = -2.0, groups: int | None = None
              ) -> pd.DataFrame:
    """``x = z + 0.5 w + v``; ``y = 1[-0.5 + x + 0.5 w + c v + logistic > 0]``: the
    control-function coefficient of ``x`` is 1 (``c = 0``: ``x`` exogenous). With
    ``groups``, ``v`` and the instrument share a cluster component."""
    rng = np.random.default_rng(seed)
    z, w, v = rng.normal(size=(3, n))
    g = None
    if groups:
        g = np.repeat(np.arange(groups), n // groups)
        z = 0.7 * z + 0.7 * rng.normal(size=groups)[g]
        v = 0.6 * v + 0.8 * rng.normal(size=groups)[g]
    x = z + 0.5 * w + v
    y = (rng.logistic(size=n) < -0.5 + x + 0.5 * w + c * v).astype(int)
    df = pd.DataFrame({"y": y, "x": x, "w": w, "z": z})
    return df if g is None else df.assign(g=g)


def _arrays(df: pd.DataFrame) -> CFData:
    """The design of ``y ~ x + w`` with instrument ``z``, without the formula parser."""
    one = np.ones(len(df))
    return CFData(df.y.to_numpy(float), np.column_stack([one, df.x, df.w]),
                  np.column_stack([one, df.w, df.z]), 1, None, ("Intercept", "x", "w"),
                  ("Intercept", "w", "z"), "y", 1)


def test_public_function_equals_the_array_fit():
    df = _simulate(1)
    res = control_function_logit(df, "y ~ x + w", "x", ["z"])
    fit = cf.two_stage(_arrays(df))
    np.testing.assert_allclose(res.params.to_numpy(), np.r_[fit.b, fit.pi], rtol=1e-8)
    np.testing.assert_allclose(res.cov.to_numpy(), cf._murphy_topel(_arrays(df), fit),
                               rtol=1e-8)
    assert list(res.params.index) == ["Intercept", "x", "w", "first_stage_residual",
                                      "first_stage::Intercept", "first_stage::w",
                                      "first_stage::z"]
    glance = res.glance()
    z = res.params["first_stage_residual"] / res.std_errors["first_stage_residual"]
    assert glance.exogeneity_z.item() == pytest.approx(z)
    f = (res.params["first_stage::z"] / res.std_errors["first_stage::z"]) ** 2
    assert glance.first_stage_f.item() == pytest.approx(f)


def test_cross_derivative_equals_finite_differences():
    cd = _arrays(_simulate(2, n=300))
    fit = cf.two_stage(cd)

    def score_sum(pi: np.ndarray) -> np.ndarray:
        v = cd.W[:, 1] - cd.S @ pi
        Ws = np.column_stack([cd.W, v])
        return Ws.T @ (cd.y - expit(Ws @ fit.b))

    numeric = np.column_stack([approx_fprime(fit.pi, lambda p, j=j: score_sum(p)[j], 1e-6)
                               for j in range(fit.b.size)]).T
    np.testing.assert_allclose(cf._cross_derivative(cd, fit), numeric, rtol=1e-4, atol=1e-3)


def test_monte_carlo_truth_and_coverage():
    """400 replications, n = 600: the control-function coefficient of x is unbiased for 1
    and its Murphy-Topel 95% interval covers it 92-98% of the time (c = -2: the uncorrected
    logit standard error covers less); the naive logit is biased."""
    est, se, se_uncorrected, naive = [], [], [], []
    for rep in range(400):
        cd = _arrays(_simulate(100 + rep))
        fit = cf.two_stage(cd)
        est.append(fit.b[1])
        se.append(np.sqrt(cf._murphy_topel(cd, fit)[1, 1]))
        se_uncorrected.append(np.sqrt(fit.bread[1, 1]))
        naive.append(fit_logit(cd.W, cd.y).beta[1])
    est, se = np.array(est), np.array(se)
    assert abs(est.mean() - 1.0) < 0.05  # small-sample bias of the logit MLE included
    coverage = np.mean(np.abs(est - 1.0) < 1.959964 * se)
    assert 0.92 <= coverage <= 0.98, coverage
    assert se.mean() == pytest.approx(est.std(), rel=0.12)
    assert np.mean(se_uncorrected) < 0.9 * se.mean()
    assert np.mean(naive) < 0.8  # attenuated by the omitted -v


def test_rivers_vuong_test_has_its_size():
    rejections = 0
    for rep in range(200):
        cd = _arrays(_simulate(3000 + rep, c=0.0))
        fit = cf.two_stage(cd)
        z = fit.b[-1] / np.sqrt(cf._murphy_topel(cd, fit)[3, 3])
        rejections += abs(z) > 1.959964
    assert 0.02 <= rejections / 200 <= 0.09, rejections


def test_murphy_topel_matches_the_bootstrap():
    """Analytic and bootstrap (both stages redone, 400 resamples: about 3.5% Monte-Carlo
    error in a standard error) agree within 12%, without and with clusters."""
    df = _simulate(4, n=1500)
    mt = control_function_logit(df, "y ~ x + w", "x", ["z"])
    boot = control_function_logit(df, "y ~ x + w", "x", ["z"], se="bootstrap", n_boot=400,
                                  seed=5)
    assert boot.seed == 5 and boot.n_boot == 400
    np.testing.assert_allclose(boot.params, mt.params)
    for term in ("x", "w", "first_stage_residual", "first_stage::z"):
        assert mt.std_errors[term] == pytest.approx(boot.std_errors[term], rel=0.12), term
    hc0 = control_function_logit(df, "y ~ x + w", "x", ["z"], vcov="hc0")
    for term in ("x", "first_stage_residual", "first_stage::z"):
        assert hc0.std_errors[term] == pytest.approx(mt.std_errors[term], rel=0.1), term
    dg = _simulate(6, n=1500, groups=100)
    cl = control_function_logit(dg, "y ~ x + w", "x", ["z"], cluster="g")
    assert cl.vcov == Cluster("g")
    np.testing.assert_allclose(
        control_function_logit(dg, "y ~ x + w", "x", ["z"], vcov=Cluster("g")).cov, cl.cov)
    cl_boot = control_function_logit(dg, "y ~ x + w", "x", ["z"], cluster="g",
                                     se="bootstrap", n_boot=400, seed=7)
    plain = control_function_logit(dg, "y ~ x + w", "x", ["z"])
    assert cl.n_clusters == 100
    for term in ("x", "first_stage_residual", "first_stage::z"):
        assert cl.std_errors[term] == pytest.approx(cl_boot.std_errors[term], rel=0.15), term
    assert cl.std_errors["first_stage::z"] > 1.3 * plain.std_errors["first_stage::z"]


def test_missing_values_are_counted():
    df = _simulate(8)
    df.loc[:4, "z"] = np.nan
    df.loc[3:9, "y"] = np.nan
    res = control_function_logit(df, "y ~ x + w", "x", ["z"])
    assert res.nobs == 600 - 10
    note = next(n for n in res.notes if n.code == "missing_dropped")
    assert "10 of 600" in note and "z (5)" in note and "y (7)" in note


def test_errors():
    df = _simulate(9)
    with pytest.raises(DataError, match="must be 0/1"):
        control_function_logit(df.assign(y=df.y * 2), "y ~ x + w", "x", ["z"])
    with pytest.raises(SpecificationError, match="must be a term"):
        control_function_logit(df, "y ~ w", "x", ["z"])
    with pytest.raises(SpecificationError, match="excluded"):
        control_function_logit(df, "y ~ x + w + z", "x", ["z"])
    with pytest.raises(SpecificationError, match="at least one"):
        control_function_logit(df, "y ~ x + w", "x", [])
    with pytest.raises(SpecificationError, match="not in the data"):
        control_function_logit(df, "y ~ x + w", "x", ["zz"])
    with pytest.raises(SpecificationError, match="not in the data"):
        control_function_logit(df, "y ~ x + nonesuch", "x", ["z"])
    with pytest.raises(DataError, match="continuous"):
        control_function_logit(df.assign(x=(df.x > 0).astype(int)), "y ~ x + w", "x", ["z"])
    with pytest.raises(SpecificationError, match="interacts"):
        control_function_logit(df, "y ~ x + w + x:w", "x", ["z"])
    with pytest.raises(SpecificationError, match="se must be"):
        control_function_logit(df, "y ~ x + w", "x", ["z"], se="robust")
    with pytest.raises(SpecificationError, match="n_boot"):
        control_function_logit(df, "y ~ x + w", "x", ["z"], se="bootstrap", n_boot=10)
    with pytest.raises(SpecificationError, match="seed"):
        control_function_logit(df, "y ~ x + w", "x", ["z"], se="bootstrap", seed=-1)
    with pytest.raises(SpecificationError, match="cluster column"):
        control_function_logit(df, "y ~ x + w", "x", ["z"], cluster="firm")
    with pytest.raises(SpecificationError, match="disagree"):
        control_function_logit(df.assign(g=1), "y ~ x + w", "x", ["z"], cluster="g",
                               vcov="iid")
    with pytest.raises(SpecificationError, match="leave it out"):
        control_function_logit(df, "y ~ x + w", "x", ["z"], se="bootstrap", vcov="hc0")
    with pytest.raises(SpecificationError, match="'iid', 'hc0' or Cluster"):
        control_function_logit(df, "y ~ x + w", "x", ["z"], vcov="hc3")
    with pytest.raises(EstimationError, match="collinear"):
        control_function_logit(df.assign(z2=2 * df.w), "y ~ x + w", "x", ["z2"])


def test_infinite_values_are_a_data_error():
    df = _simulate(10).assign(pos=lambda d: np.exp(d.w))
    df.loc[0, "pos"] = 0.0
    with pytest.raises(DataError, match="infinite"):
        control_function_logit(df, "y ~ x + np.log(pos)", "x", ["z"])
