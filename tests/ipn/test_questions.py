"""H2d question_patterns: X² and V against scipy and pingouin, simulated p-values against
the asymptotic law and Fisher's exact test, Poisson QML and clustered SEs against
statsmodels, simulated truth (data/example/truth.toml) and errors."""

import dataclasses
import doctest
import tomllib

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from conftest import EXAMPLE
from scipy import stats

import ipnstats
from ipnstats import Cluster, SpecificationError
from ipnstats.ipn import questions
from ipnstats.ipn.questions import (
    adjusted_residuals,
    chi2_statistic,
    cramers_v,
    question_patterns,
    random_tables,
    simulated_p_value,
)
from ipnstats.results.inference import TIDY_COLUMNS

MEDIUM = np.array([[138, 135, 117, 132], [144, 116, 135, 118], [126, 129, 102, 108]])
SPARSE = np.array([[5, 1], [1, 5]])  # equal margins: X² orders tables as Fisher's test does
SENDERS = ["construction", "hospitality", "manufacturing", "professional_services", "retail",
           "transport"]


@pytest.fixture(scope="module")
def exchanges():
    return ipnstats.load_study(EXAMPLE).exchanges


@pytest.fixture(scope="module")
def res(exchanges):
    return question_patterns(exchanges)


@pytest.fixture(scope="module")
def truth():
    return tomllib.loads((EXAMPLE / "truth.toml").read_text())["H2d"]


def _frame(table: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Exchanges whose sender-type x question-type table is ``table``."""
    rng = np.random.default_rng(seed)
    r, c = np.nonzero(np.ones_like(table))
    reps = table.ravel()
    n = reps.sum()
    return pd.DataFrame({"sender_industry": np.repeat([f"s{i}" for i in r], reps),
                         "question_type": np.repeat([f"q{j}" for j in c], reps),
                         "receiver_id": rng.integers(0, max(4, n // 10), n),
                         "n_questions": 1 + rng.binomial(4, 0.5, n)})


# --- association -----------------------------------------------------------------------------

def test_chi2_matches_scipy(res):
    table = res.association.table.to_numpy()
    ref = stats.chi2_contingency(table, correction=False)
    assert res.association.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.association.df == ref.dof == 20
    assert res.association.p_asymptotic == pytest.approx(ref.pvalue, abs=1e-300)
    assert chi2_statistic(MEDIUM) == pytest.approx(
        stats.chi2_contingency(MEDIUM, correction=False).statistic, rel=1e-12)
    assert res.association.method == "asymptotic" and res.n_sim == 0
    assert res.association.table.to_numpy().sum() == res.nobs


def test_cramers_v_closed_form_scipy_and_pingouin(res, exchanges):
    a = res.association
    n, k = a.table.to_numpy().sum(), min(a.table.shape)
    assert a.cramers_v == pytest.approx(np.sqrt(a.statistic / (n * (k - 1))), rel=1e-12)
    assert a.cramers_v == pytest.approx(
        stats.contingency.association(a.table.to_numpy(), method="cramer"), rel=1e-12)
    pg = pytest.importorskip("pingouin")
    _, _, tests = pg.chi2_independence(exchanges, x="sender_industry", y="question_type",
                                       correction=False)
    pearson = tests.set_index("test").loc["pearson"]
    assert a.cramers_v == pytest.approx(pearson["cramer"], rel=1e-10)
    assert a.statistic == pytest.approx(pearson["chi2"], rel=1e-10)


def test_bergsma_correction_by_hand_and_unbiased_under_independence():
    n, (r, c) = MEDIUM.sum(), MEDIUM.shape
    phi2 = max(0.0, chi2_statistic(MEDIUM) / n - (r - 1) * (c - 1) / (n - 1))
    r_t, c_t = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
    assert cramers_v(MEDIUM, corrected=True) == pytest.approx(
        np.sqrt(phi2 / (min(r_t, c_t) - 1)), rel=1e-12)
    # Under independence V is biased up; Bergsma's correction removes most of the bias
    null = random_tables(np.array([30, 30, 40]), np.array([20, 20, 30, 30]), 4000,
                         np.random.default_rng(1))
    assert cramers_v(null, corrected=True).mean() < cramers_v(null).mean() / 2


def test_shares_and_adjusted_residuals(res):
    a = res.association
    assert np.allclose(a.shares.sum(axis=1), 1)
    t = MEDIUM.astype(float)
    e = stats.contingency.expected_freq(t)
    n, rows, cols = t.sum(), t.sum(1, keepdims=True), t.sum(0, keepdims=True)
    ref = (t - e) / np.sqrt(e * (1 - rows / n) * (1 - cols / n))
    assert np.allclose(adjusted_residuals(MEDIUM), ref, rtol=1e-12)
    # each sender type is asked most about its own question type (truth.toml)
    assert a.residuals.idxmax(axis=1).to_dict() == {
        "construction": "operations", "manufacturing": "operations", "retail": "marketing",
        "hospitality": "hr", "professional_services": "finance", "transport": "strategy"}


def test_random_tables_keep_margins_and_expectation():
    sims = random_tables(MEDIUM.sum(1), MEDIUM.sum(0), 2000, np.random.default_rng(0))
    assert (sims.sum(axis=2) == MEDIUM.sum(1)).all() and (sims.sum(axis=1) == MEDIUM.sum(0)).all()
    expected = stats.contingency.expected_freq(MEDIUM)
    se = sims.std(axis=0) / np.sqrt(len(sims))
    assert (np.abs(sims.mean(axis=0) - expected) < 4.5 * se).all()


def test_simulated_p_agrees_with_asymptotic_on_large_table():
    rng, b = np.random.default_rng(2), 4000
    p_asym = stats.chi2_contingency(MEDIUM, correction=False).pvalue
    p_sim = simulated_p_value(MEDIUM, b, rng)
    assert abs(p_sim - p_asym) < 4 * np.sqrt(p_asym * (1 - p_asym) / b) + 0.005
    fit = question_patterns(_frame(MEDIUM), p_value="simulated", n_sim=b, n_boot=19)
    assert fit.association.method == "simulated" and fit.n_sim == b
    assert abs(fit.association.p_value - p_asym) < 4 * np.sqrt(p_asym * (1 - p_asym) / b) + 0.005


def test_simulated_p_agrees_with_fisher_on_sparse_2x2():
    b = 20000
    p_fisher = stats.fisher_exact(SPARSE).pvalue
    p_sim = simulated_p_value(SPARSE, b, np.random.default_rng(3))
    assert abs(p_sim - p_fisher) < 4 * np.sqrt(p_fisher * (1 - p_fisher) / b)
    # the asymptotic law is far off here, which is why "auto" simulates
    assert abs(stats.chi2.sf(chi2_statistic(SPARSE), 1) - p_fisher) > 0.05
    auto = question_patterns(_frame(SPARSE), n_boot=19, n_sim=b)
    assert auto.association.method == "simulated"
    assert any("below 5" in note for note in auto.notes)
    assert abs(auto.association.p_value - p_fisher) < 4 * np.sqrt(p_fisher * (1 - p_fisher) / b)
    exact = question_patterns(_frame(SPARSE), p_value="exact", n_boot=19)
    assert exact.association.method == "exact"
    assert exact.association.p_value == pytest.approx(p_fisher, rel=1e-12)


# --- number of questions ---------------------------------------------------------------------

def test_poisson_matches_statsmodels_glm_with_cluster_conventions(res, exchanges):
    groups = pd.factorize(exchanges["receiver_id"])[0]
    model = smf.glm("n_questions ~ C(sender_industry)", exchanges, family=sm.families.Poisson())
    default = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-12)
    plain = model.fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False},
                      tol=1e-12)
    assert np.allclose(res.counts.params.to_numpy(), default.params.to_numpy(), rtol=1e-10,
                       atol=1e-12)
    # statsmodels' factor G/(G-1) (n-1)/(n-K) is ssc="statsmodels"
    sm_conv = question_patterns(exchanges, ssc="statsmodels", n_boot=9)
    assert np.allclose(sm_conv.counts.std_errors, default.bse, rtol=1e-10)
    # no factor: Cluster(adjust=False), statsmodels use_correction=False
    unadjusted = res.counts.with_vcov(Cluster("receiver_id", adjust=False))
    assert np.allclose(unadjusted.std_errors, plain.bse, rtol=1e-10)
    # the default is Stata's G/(G-1)
    g = exchanges["receiver_id"].nunique()
    assert np.allclose(res.counts.std_errors, np.sqrt(g / (g - 1)) * plain.bse, rtol=1e-10)
    assert res.counts.n_clusters == g and res.counts.df_inference is None
    phi = default.pearson_chi2 / default.df_resid
    assert res.dispersion == pytest.approx(phi, rel=1e-8)
    assert res.dispersion < 0.5 and any("under-dispersed" in note for note in res.notes)


def test_fixed_effects_poisson_equals_receiver_dummies(exchanges):
    ids = exchanges["receiver_id"].astype(str)
    sub = exchanges[ids.isin(sorted(ids.unique())[:40])].assign(receiver_id=ids)
    fit = question_patterns(sub, n_boot=9).counts_fe
    groups = pd.factorize(sub["receiver_id"])[0]
    model = smf.glm("n_questions ~ C(sender_industry) + C(receiver_id)", sub,
                    family=sm.families.Poisson())
    ref = model.fit(cov_type="cluster", tol=1e-12,
                    cov_kwds={"groups": groups, "use_correction": False})
    names = [f"C(sender_industry)[T.{s}]" for s in SENDERS[1:]]
    assert np.allclose(fit.params.to_numpy(), ref.params[names].to_numpy(), rtol=1e-9,
                       atol=1e-12)
    plain = fit.with_vcov(Cluster("receiver_id", adjust=False)).std_errors
    assert np.allclose(plain.to_numpy(), ref.bse[names].to_numpy(), rtol=1e-9)
    assert fit.fixed_effects == ("receiver_id",)
    # statsmodels' default factor counts the receiver dummies in K; ours leaves them out
    n, k_all, g = len(sub), len(ref.params), groups.max() + 1
    default = np.sqrt(g / (g - 1) * (n - 1) / (n - k_all)) * ref.bse[names].to_numpy()
    ours = question_patterns(sub, n_boot=9, ssc="statsmodels").counts_fe
    assert np.allclose(ours.std_errors * np.sqrt((n - len(names)) / (n - k_all)), default,
                       rtol=1e-9)


def test_fixed_effects_leave_out_receivers_without_questions():
    rng = np.random.default_rng(0)
    data = _frame(MEDIUM).assign(n_questions=lambda d: 1 + rng.poisson(0.8, len(d)))
    silent = data["receiver_id"] < 5
    data.loc[silent, "n_questions"] = 0
    fit = question_patterns(data, n_boot=9).counts_fe
    assert fit.nobs == (~silent).sum() and np.isfinite(fit.std_errors).all()
    assert "never ask a question" in fit.notes[0]
    ref = smf.glm("n_questions ~ C(sender_industry) + C(receiver_id)", data[~silent],
                  family=sm.families.Poisson()).fit(tol=1e-12)
    assert np.allclose(fit.params.to_numpy(), ref.params.iloc[1:3].to_numpy(), rtol=1e-8)


def test_mean_count_se_matches_clustered_ols(res, exchanges):
    groups = pd.factorize(exchanges["receiver_id"])[0]
    ols = smf.ols("n_questions ~ 1", exchanges).fit(cov_type="cluster",
                                                    cov_kwds={"groups": groups})
    assert res.mean.estimate == pytest.approx(exchanges["n_questions"].mean(), rel=1e-14)
    assert res.mean.std_error == pytest.approx(ols.bse.iloc[0], rel=1e-10)
    assert res.mean.df == groups.max()


def test_tost_by_hand():
    m = questions.mean_equivalence(np.array([2.0, 3, 4, 3, 3, 2, 4, 3]),
                                   np.array([0, 0, 1, 1, 2, 2, 3, 3]), 3.0, 0.1, 0.95)
    assert m.p_value == max(m.p_low, m.p_high)
    assert m.p_low == pytest.approx(stats.t.sf((m.estimate - 2.9) / m.std_error, 3))
    assert not m.equivalent and m.conclusion == "not shown equivalent to 3 within ±0.1"


# --- the example study's truth ---------------------------------------------------------------

def test_example_covers_truth(res, truth):
    a = res.association
    assert a.conf_low <= truth["cramers_v"]["value"] <= a.conf_high
    assert a.p_value < 1e-10
    assert res.mean.conf_low <= truth["mean_n_questions"]["value"] <= res.mean.conf_high
    assert res.sender_test.df_num == 5 and res.sender_test.df_denom is None
    assert res.sender_test.p_value > 0.01 and res.sender_test_fe.p_value > 0.01
    assert res.mean.equivalent and res.mean.conclusion == "equivalent to 3 within ±0.5"
    assert res.mean.p_value < 0.05


def test_tidy_glance_and_frozen(res):
    tidy = res.tidy()
    assert tuple(tidy.columns) == TIDY_COLUMNS
    terms = list(tidy["term"])
    assert terms[:4] == ["chi2", "cramers_v", "cramers_v_corrected", "mean_count"]
    assert "count: sender_industry::retail" in terms
    assert "count_fe: sender_industry::retail" in terms
    assert terms[-2:] == ["sender_effects", "sender_effects_fe"]
    glance = res.glance()
    assert len(glance) == 1 and glance.loc[0, "nobs"] == 14220
    assert glance.loc[0, "seed"] == 0 and glance.loc[0, "n_boot"] == 999
    assert glance.loc[0, "chi2_p_value"] == res.association.p_value
    assert glance.loc[0, "wald_p_value"] == res.sender_test.p_value
    assert glance.loc[0, "margin"] == 0.5 and bool(glance.loc[0, "equivalent"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.nobs = 1


def test_seeded_and_vcov_rechosen_without_mutation(exchanges, res):
    again = question_patterns(exchanges, seed=0)
    assert again.association.conf_low == res.association.conf_low
    other = question_patterns(exchanges, seed=np.random.default_rng(5), n_boot=99)
    assert other.seed is None
    two_way = res.counts.with_vcov(Cluster("receiver_id", "sender_id"))
    assert two_way.vcov == Cluster("receiver_id", "sender_id")
    assert res.counts.vcov == Cluster("receiver_id")


def test_docstring_example_runs():
    result = doctest.testmod(questions, extraglobs={"np": np, "pd": pd})
    assert result.failed == 0 and result.attempted > 0


# --- errors ----------------------------------------------------------------------------------

def test_missing_rows_are_counted(exchanges):
    holes = exchanges.copy()
    holes.loc[holes.index[:7], "question_type"] = np.nan
    fit = question_patterns(holes, n_boot=9)
    assert fit.n_missing == 7 and fit.nobs == len(exchanges) - 7
    assert any("7 of 14,220 exchanges" in note for note in fit.notes)


@pytest.mark.parametrize(("change", "kwargs", "match"), [
    ({}, {"question": "question_typ"}, "did you mean 'question_type'"),
    ({"sender_industry": "retail"}, {}, "'sender_industry' has 1 level"),
    ({"question_type": "finance"}, {}, "'question_type' has 1 level"),
    ({"n_questions": -1}, {}, "whole numbers >= 0"),
    ({"n_questions": 2.5}, {}, "whole numbers >= 0"),
    ({"n_questions": "three"}, {}, "must hold whole numbers"),
    ({"receiver_id": "R1"}, {}, "fewer than two receivers"),
    ({}, {"n_sim": 0}, "n_sim must be a whole number >= 1"),
    ({}, {"p_value": "fisher"}, "p_value must be"),
    ({}, {"p_value": "exact"}, "2 x 2"),
    ({}, {"margin": 0}, "margin positive"),
    ({}, {"conf_level": 95}, "conf_level"),
    ({}, {"ssc": "r"}, "ssc must be"),
])
def test_bad_input_errors(exchanges, change, kwargs, match):
    data = exchanges.head(300).copy()
    for col, value in change.items():
        if col == "n_questions" and value in (-1, 2.5):
            data[col] = data[col].astype(float)
            data.loc[data.index[3], col] = value
        else:
            data[col] = value
    with pytest.raises((SpecificationError, ValueError), match=match):
        question_patterns(data, n_boot=9, **kwargs)
