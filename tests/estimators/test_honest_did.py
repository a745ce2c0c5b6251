"""Honest DiD (Rambachan & Roth 2023): Delta-RM (C-LF) and Delta-SD (FLCI) robust
intervals, against the HonestDiD vignette's Medicaid numbers, moderndid 0.2.0's
R-validated port, an independent minimisation of the FLCI length, and bad input."""

import matplotlib
import numpy as np
import pytest
from scipy import optimize, stats

from ipnstats import SpecificationError
from ipnstats.estimators.did import event_study, honest_did, sun_abraham
from ipnstats.figures import honest_did_plot
from tests.reference import load

matplotlib.use("Agg")

# The HonestDiD README / vignette (Medicaid expansion, ``ehec``): years < 2016, the 2015
# cohort dropped, TWFE event study on year x (yexp2 == 2014) dummies, 2013 the base,
# SEs clustered by state. Printed: betas 2014 .046 (.009), 2015 .069 (.010);
# createSensitivityResults_relativeMagnitudes (C-LF) for the first post period and
# createSensitivityResults (FLCI), Mvec = 0, .01, .02, .03.
# The numbers as printed (strings: each is compared to the tolerance asked for, widened
# to half a unit of its last printed digit, e.g. "0.101" +/- 5e-4).
RM_VIGNETTE = {0.5: ("0.0240", "0.0672"), 1.0: ("0.0170", "0.0720"),
               1.5: ("0.00824", "0.0797"), 2.0: ("-0.000916", "0.0881")}
SD_VIGNETTE = {0.0: ("0.0259", "0.0607"), 0.01: ("0.0132", "0.0787"),
               0.02: ("0.00286", "0.0907"), 0.03: ("-0.00714", "0.101")}


def _close(value, printed, tol):
    digits = len(printed.split(".")[1])
    assert value == pytest.approx(float(printed), abs=max(tol, 0.5 * 10.0 ** -digits))


@pytest.fixture(scope="module")
def ehec():
    data = pytest.importorskip("moderndid.core.data")
    df = data.load_ehec().to_pandas()
    df = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))].copy()
    df["cohort"] = np.where(df["yexp2"] == 2014, 2014, 0)
    return df


@pytest.fixture(scope="module")
def ehec_twfe(ehec):
    # ipnstats' TWFE event study with the window spanning every year is the vignette's
    # regression: unit and year effects, event dummies e = -6..1 (2013 = -1 the base).
    return event_study(ehec, outcome="dins", unit="stfips", time="year", cohort="cohort",
                       window=(-6, 1), estimator="twfe")


def test_ehec_betas_match_the_vignette(ehec_twfe):
    est = ehec_twfe.estimates().set_index("event")
    assert est.loc[0, "estimate"] == pytest.approx(0.046, abs=5e-4)
    assert est.loc[1, "estimate"] == pytest.approx(0.069, abs=5e-4)
    assert est.loc[0, "std_error"] == pytest.approx(0.009, abs=5e-4)
    assert est.loc[1, "std_error"] == pytest.approx(0.010, abs=5e-4)


def test_ehec_relative_magnitudes(ehec_twfe):
    res = honest_did(ehec_twfe, method="rm", m_values=list(RM_VIGNETTE))
    assert (res.num_pre, res.num_post) == (5, 2)
    tidy = res.tidy()
    assert tidy["method"].eq("C-LF").all()
    for row in tidy.itertuples():
        lo, hi = RM_VIGNETTE[row.m]
        _close(row.conf_low, lo, 1e-3)
        _close(row.conf_high, hi, 1e-3)
    assert res.breakdown == 2.0


def test_ehec_smoothness(ehec_twfe):
    res = honest_did(ehec_twfe, method="sd", m_values=list(SD_VIGNETTE))
    for row in res.tidy().itertuples():
        lo, hi = SD_VIGNETTE[row.m]
        _close(row.conf_low, lo, 1e-4)
        _close(row.conf_high, hi, 1e-4)
    assert res.breakdown == 0.03
    assert res.tidy()["method"].eq("FLCI").all()
    z = stats.norm.ppf(0.975)
    assert res.original == pytest.approx((res.estimate - z * res.std_error,
                                          res.estimate + z * res.std_error))
    glance = res.glance().iloc[0]
    assert glance["breakdown"] == 0.03 and glance["restriction"] == "smoothness"
    assert res.note_codes == ("binned_endpoints",)   # carried from the TWFE event study
    shuffled = honest_did(ehec_twfe, method="sd", m_values=[0.04, 0.03, 0.0, 0.02])
    assert shuffled.breakdown == 0.03                 # the smallest M, whatever the order


def test_vector_input_equals_result_input(ehec_twfe):
    params, cov = ehec_twfe.params, ehec_twfe.cov
    terms = [f"event::{e}" for e in (-6, -5, -4, -3, -2, 0, 1)]
    by_vector = honest_did(params[terms].to_numpy(), cov.loc[terms, terms].to_numpy(),
                           num_pre=5, num_post=2, method="sd", m_values=[0.01])
    by_result = honest_did(ehec_twfe, method="sd", m_values=[0.01])
    assert by_vector.conf_low == pytest.approx(by_result.conf_low, abs=1e-7)
    # num_pre / num_post on a result keep the periods nearest the reference
    short = honest_did(ehec_twfe, num_pre=3, num_post=1, method="sd", m_values=[0.01])
    direct = honest_did(params[terms[2:6]].to_numpy(),
                        cov.loc[terms[2:6], terms[2:6]].to_numpy(), num_pre=3, num_post=1,
                        method="sd", m_values=[0.01])
    assert short.conf_high == pytest.approx(direct.conf_high, abs=1e-7)


def test_sun_abraham_and_cs_results_are_accepted(ehec, ehec_twfe):
    sa = sun_abraham(ehec, outcome="dins", unit="stfips", time="year", cohort="cohort")
    # one treated cohort against never-treated: Sun-Abraham equals the TWFE event study
    a = honest_did(sa, method="sd", m_values=[0.02])
    b = honest_did(ehec_twfe, method="sd", m_values=[0.02])
    assert a.conf_low == pytest.approx(b.conf_low, abs=1e-8)
    cs = event_study(ehec, outcome="dins", unit="stfips", time="year", cohort="cohort",
                     window=(-6, 1), estimator="cs", n_boot=0)
    res = honest_did(cs, method="rm", m_values=[1.0])
    assert res.num_post == 2 and res.num_pre == int((cs.estimates()["event"] < -1).sum())
    assert res.conf_low[0] < res.estimate < res.conf_high[0]


# -- moderndid 0.2.0 (R-validated) as the oracle for Delta-RM -------------------------------
# moderndid's least-favourable critical value solves 1000 LPs per polyhedron, too slow
# for the suite: its intervals are stored by tests/reference/honest_did/moderndid_rm.py.

def _design(seed, num_pre, num_post):
    rng = np.random.default_rng(seed)
    n = num_pre + num_post
    L = rng.normal(size=(n, n)) * 0.01
    sigma = L @ L.T + np.eye(n) * 1e-4
    beta = rng.normal(size=n) * 0.02
    beta[num_pre:] += 0.05
    return beta, sigma


@pytest.mark.parametrize("case", load("honest_did/moderndid_rm")["cases"],
                         ids=lambda c: f"seed{c['seed']}-pre{c['num_pre']}-post{c['num_post']}")
def test_relative_magnitudes_match_moderndid(case):
    beta, sigma = np.array(case["beta"]), np.array(case["sigma"])
    expected_beta, expected_sigma = _design(case["seed"], case["num_pre"], case["num_post"])
    assert np.allclose(beta, expected_beta) and np.allclose(sigma, expected_sigma)
    ours = honest_did(beta, sigma, num_pre=case["num_pre"], num_post=case["num_post"],
                      method="rm", m_values=case["m_values"], l_vec=case["l_vec"])
    np.testing.assert_allclose(ours.conf_low, case["conf_low"], atol=1e-6)
    np.testing.assert_allclose(ours.conf_high, case["conf_high"], atol=1e-6)


# -- Delta-SD: the FLCI is the shortest affine fixed-length interval ---------------------

def _brute_half_length(sigma, num_pre, l_vec, m, alpha=0.05):
    """Minimise h * cv_alpha(bias / h) directly over the pre-period weights (Powell
    from several starts): an independent check of the nested search."""
    T = len(l_vec)
    target = np.arange(1, T + 1) @ l_vec
    const = sum(abs(np.arange(1, s + 1) @ l_vec[T - s:]) for s in range(1, T + 1)) - target

    def half(free):
        w = np.diff(np.concatenate([[0.0], free, [target]]))    # sum(w) = target
        l_pre = np.diff(np.concatenate([[0.0], w]))
        v = np.concatenate([l_pre, l_vec])
        h = np.sqrt(v @ sigma @ v)
        bias = m * (const + np.abs(np.cumsum(w)).sum())
        return h * optimize.brentq(lambda x: stats.norm.cdf(x - bias / h)
                                   - stats.norm.cdf(-x - bias / h) - (1 - alpha), 0, 50)

    starts = [np.zeros(num_pre - 1), np.full(num_pre - 1, target),
              np.linspace(0, target, num_pre + 1)[1:-1]]
    return min(optimize.minimize(half, s, method="Powell",
                                 options={"xtol": 1e-10, "ftol": 1e-12}).fun for s in starts)


@pytest.mark.parametrize(("seed", "num_pre", "num_post", "m"),
                         [(11, 3, 2, 0.01), (12, 3, 1, 0.005), (13, 2, 3, 0.02)])
def test_flci_is_the_shortest_affine_interval(seed, num_pre, num_post, m):
    beta, sigma = _design(seed, num_pre, num_post)
    l_vec = np.full(num_post, 1.0 / num_post)
    res = honest_did(beta, sigma, num_pre=num_pre, num_post=num_post, method="sd",
                     m_values=[m], l_vec=l_vec)
    half = (res.conf_high[0] - res.conf_low[0]) / 2
    assert half == pytest.approx(_brute_half_length(sigma, num_pre, l_vec, m), rel=1e-4)


def test_flci_at_m_zero_and_widening():
    beta, sigma = _design(21, 3, 2)
    res = honest_did(beta, sigma, num_pre=3, num_post=2, method="sd",
                     m_values=[0.0, 0.01, 0.02, 0.04])
    width = np.subtract(res.conf_high, res.conf_low)
    assert np.all(np.diff(width) > 0)
    half0 = width[0] / 2
    # at M = 0 HonestDiD's search still runs; it stops within 1e-6 of the least SD
    assert half0 == pytest.approx(_brute_half_length(sigma, 3, np.array([1.0, 0.0]), 0.0),
                                  rel=1e-5)
    default = honest_did(beta, sigma, num_pre=3, num_post=2, method="sd")
    assert len(default.m_values) == 10 and default.m_values[0] == 0.0


def test_plot_draws_original_and_robust_intervals(ehec_twfe):
    res = honest_did(ehec_twfe, method="sd", m_values=list(SD_VIGNETTE))
    fig = honest_did_plot(res)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "M"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Original", "FLCI"]


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(num_pre=2, num_post=2), "num_pre \\+ num_post"),
    (dict(num_pre=0, num_post=3), "positive integer"),
    (dict(num_pre=2), "give num_pre and num_post"),
    (dict(num_pre=2, num_post=1, method="xx"), "method must be"),
    (dict(num_pre=2, num_post=1, m_values=[-1]), "non-negative"),
    (dict(num_pre=2, num_post=1, l_vec=[1, 2]), "l_vec"),
    (dict(num_pre=2, num_post=1, alpha=1.5), "alpha"),
    (dict(num_pre=1, num_post=2, method="rm"), "at least 2 pre-periods"),
])
def test_specification_errors(kwargs, message):
    with pytest.raises(SpecificationError, match=message):
        honest_did([0.01, 0.0, 0.05], np.eye(3) * 1e-4, **kwargs)


def test_sigma_errors():
    beta = [0.01, 0.0, 0.05]
    with pytest.raises(SpecificationError, match="positive semi-definite"):
        honest_did(beta, np.diag([1e-4, 1e-4, -1e-4]), num_pre=2, num_post=1)
    with pytest.raises(SpecificationError, match="3 x 3"):
        honest_did(beta, np.eye(2), num_pre=2, num_post=1)
    with pytest.raises(SpecificationError, match="give sigma"):
        honest_did(beta, num_pre=2, num_post=1)
    with pytest.raises(SpecificationError, match="symmetric"):
        honest_did(beta, np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 1]]) * 1e-4, num_pre=2,
                   num_post=1)


def test_result_errors(ehec_twfe):
    with pytest.raises(SpecificationError, match="only 5 pre-period"):
        honest_did(ehec_twfe, num_pre=6)
    with pytest.raises(SpecificationError, match="event-study result"):
        honest_did("not a result")
