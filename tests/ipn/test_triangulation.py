"""triangulation (H3c) against pyfixest and linearmodels, and on a known truth."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ipnstats import Cluster, SpecificationError
from ipnstats.ipn.triangulation import TriangulationResult, triangulation

TERMS = ["log(n_sources)", "log(cum_experience)"]


def make_tasks(seed: int = 11, n_firms: int = 60, b_sources: float = -0.3,
               b_experience: float = 0.0) -> pd.DataFrame:
    """Firms with 1-12 tasks; sources rise with experience (so the two correlate)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 13, n_firms)
    tasks = pd.DataFrame({"firm_id": np.repeat([f"f{i:03d}" for i in range(n_firms)], sizes)})
    tasks["seq"] = tasks.groupby("firm_id").cumcount() + 1
    tasks["cum_experience"] = tasks["seq"]
    tasks["n_sources"] = 1 + rng.poisson(0.5 * tasks["seq"].to_numpy())
    tasks["exposure"] = rng.normal(size=len(tasks))
    tasks["exposure_x_sources"] = tasks["exposure"] * np.log(tasks["n_sources"])
    log_out = (np.repeat(rng.normal(3, 1, n_firms), sizes)
               + b_sources * np.log(tasks["n_sources"])
               + b_experience * np.log(tasks["cum_experience"]) + rng.normal(0, 0.3, len(tasks)))
    tasks["outcome"] = np.exp(log_out)
    return tasks


@pytest.fixture(scope="module")
def tasks():
    t = make_tasks()
    t.loc[[5, 40], "outcome"] = np.nan
    return t


@pytest.fixture(scope="module")
def res(tasks):
    return triangulation(tasks)


def _logged(tasks: pd.DataFrame) -> pd.DataFrame:
    return tasks.assign(ly=np.log(tasks["outcome"]), ls=np.log(tasks["n_sources"]),
                        le=np.log(tasks["cum_experience"]))


def _feols(formula: str, data: pd.DataFrame, vcov):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singletons dropped; pandas deprecations inside pyfixest
        return pf.feols(formula, data=data, vcov=vcov)


# --- against peers ---------------------------------------------------------------------------

def test_matches_pyfixest_cluster_by_firm(tasks, res):
    theirs = _feols("ly ~ ls + le | firm_id", _logged(tasks), {"CRV1": "firm_id"})
    np.testing.assert_allclose(res.params[TERMS], theirs.coef(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.std_errors[TERMS], theirs.se(), rtol=1e-6)
    np.testing.assert_allclose(res.cov.to_numpy(), theirs._vcov, rtol=1e-6)
    assert res.nobs == theirs._N == 433  # 437 tasks, 2 missing outcomes, 2 single-task firms
    assert res.df_inference == theirs._df_t == 57
    np.testing.assert_allclose(res.tidy()["p_value"], theirs.pvalue(), rtol=1e-5, atol=1e-12)


def test_comparison_se_by_hand_from_pyfixest_vcov(tasks, res):
    theirs = _feols("ly ~ ls + le | firm_id", _logged(tasks), {"CRV1": "firm_id"})
    b, v = theirs.coef().to_numpy(), theirs._vcov
    se = np.sqrt(v[0, 0] + v[1, 1] - 2 * v[0, 1])
    row = res.comparison().iloc[0]
    assert row["estimate"] == pytest.approx(b[0] - b[1], abs=1e-8)
    assert row["std_error"] == pytest.approx(se, rel=1e-6)
    t = (b[0] - b[1]) / se
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), 57), rel=1e-5)
    assert row["p_one_sided"] == pytest.approx(stats.t.cdf(t, 57), rel=1e-5)
    crit = stats.t.ppf(0.975, 57)
    assert row["conf_low"] == pytest.approx(b[0] - b[1] - crit * se, rel=1e-6)
    # the two-sided test is the Wald test of b_sources = b_experience
    wald = res.wald_test(R=np.array([[1.0, -1.0]]))
    assert wald.p_value == pytest.approx(row["p_value"], rel=1e-10)


def test_iid_hc1_and_covariates_match_pyfixest(tasks, res):
    data = _logged(tasks)
    for ours, vcov in ((res.with_vcov("iid"), "iid"), (res.with_vcov("hc1"), "hetero")):
        theirs = _feols("ly ~ ls + le | firm_id", data, vcov)
        np.testing.assert_allclose(ours.std_errors, theirs.se(), rtol=1e-6)
    covs = ("exposure", "exposure_x_sources")
    ours = triangulation(tasks, covariates=covs)
    theirs = _feols("ly ~ ls + le + exposure + exposure_x_sources | firm_id", data,
                    {"CRV1": "firm_id"})
    assert list(ours.params.index) == [*TERMS, *covs]
    np.testing.assert_allclose(ours.params, theirs.coef(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.std_errors, theirs.se(), rtol=1e-6)


def test_linear_form_matches_pyfixest(tasks):
    ours = triangulation(tasks, form="linear", vcov="hc1")
    theirs = _feols("outcome ~ n_sources + cum_experience | firm_id", tasks, "hetero")
    assert (ours.sources_term, ours.experience_term) == ("n_sources", "cum_experience")
    assert ours.outcome == "outcome"
    np.testing.assert_allclose(ours.params, theirs.coef(), rtol=1e-8)
    np.testing.assert_allclose(ours.std_errors, theirs.se(), rtol=1e-6)


def test_matches_linearmodels(tasks, res):
    lm = pytest.importorskip("linearmodels")
    data = _logged(tasks).dropna(subset=["ly"])
    data = data[data.groupby("firm_id")["ly"].transform("size") > 1].set_index(["firm_id", "seq"])
    model = lm.PanelOLS(data["ly"], data[["ls", "le"]], entity_effects=True)
    iid = model.fit()
    np.testing.assert_allclose(res.params, iid.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.with_vcov("iid").std_errors, iid.std_errors, rtol=1e-6)
    clustered = model.fit(cov_type="clustered", cluster_entity=True, group_debias=True)
    # linearmodels' (n-1)/(n-k) counts the 2 slopes only; Stata/fixest add 1 for the
    # constant the firm effects stand for: (n-1)/(n-3)
    n = res.nobs
    np.testing.assert_allclose(res.std_errors * np.sqrt((n - 3) / (n - 2)),
                               clustered.std_errors, rtol=1e-6)


# --- known truth -----------------------------------------------------------------------------

def test_recovers_known_truth():
    t = make_tasks(seed=5, n_firms=150)
    assert np.corrcoef(np.log(t["n_sources"]), np.log(t["cum_experience"]))[0, 1] > 0.4
    res = triangulation(t)
    z = (res.params - pd.Series({TERMS[0]: -0.3, TERMS[1]: 0.0})) / res.std_errors
    assert (z.abs() < 3).all(), z
    row = res.comparison().iloc[0]
    assert row["direction"] == "triangulation"
    assert row["estimate"] < 0 and row["p_one_sided"] < 0.001
    assert row["conf_high"] < 0


def test_lower_is_better_flips_the_one_sided_test(res):
    lower = res.comparison().iloc[0]
    higher = res.comparison(lower_is_better=False).iloc[0]
    assert lower["p_one_sided"] + higher["p_one_sided"] == pytest.approx(1.0, abs=1e-12)
    assert lower["p_one_sided"] < 1e-6 and higher["p_one_sided"] > 1 - 1e-6
    assert (lower["direction"], higher["direction"]) == ("triangulation", "reinforcement")
    assert lower["alternative"] == "log(n_sources) < log(cum_experience)"
    assert higher["alternative"] == "log(n_sources) > log(cum_experience)"
    assert lower["p_value"] == higher["p_value"]


# --- result ----------------------------------------------------------------------------------

def test_result_fields_notes_and_glance(res):
    assert isinstance(res, TriangulationResult)
    assert (res.sources_term, res.experience_term) == tuple(TERMS)
    assert res.outcome == "log(outcome)" and res.fixed_effects == ("firm_id",)
    assert res.vcov == Cluster("firm_id") and res.n_clusters == 58
    assert res.n_missing == 2 and res.n_single_task_firms == 2
    assert any("2 of 437 tasks have a missing value" in n and "outcome (2)" in n
               for n in res.notes)
    assert any("2 firms have a single complete task" in n for n in res.notes)
    row = res.glance().iloc[0]
    assert row["nobs"] == 433 and row["n_single_task_firms"] == 2
    assert row["form"] == "log_linear" and row["vcov"] == "Clustered (firm_id)"
    assert list(res.comparison().columns) == [
        "term", "estimate", "std_error", "statistic", "p_value", "p_one_sided", "conf_low",
        "conf_high", "alternative", "direction"]
    assert "Triangulation vs reinforcement" in str(res)


def test_with_vcov_keeps_the_type_and_does_not_mutate(res):
    iid = res.with_vcov("iid")
    assert isinstance(iid, TriangulationResult) and iid.sources_term == TERMS[0]
    assert res.vcov == Cluster("firm_id")
    assert iid.comparison()["std_error"].iloc[0] != res.comparison()["std_error"].iloc[0]
    assert iid.df_inference == 433 - 58 - 2


def test_few_clusters_warning():
    few = triangulation(make_tasks(seed=2, n_firms=12))
    assert any("clusters" in n for n in few.inference_notes)



# --- errors ----------------------------------------------------------------------------------

def test_missing_column_is_named(tasks):
    with pytest.raises(SpecificationError, match="'n_source'.*did you mean 'n_sources'"):
        triangulation(tasks, sources="n_source")
    with pytest.raises(SpecificationError, match="unit column 'firm'"):
        triangulation(tasks, unit="firm")


def test_nonpositive_values_under_log_are_an_error(tasks):
    bad = tasks.copy()
    bad.loc[[3, 7, 9], "outcome"] = [0.0, -1.0, 0.0]
    with pytest.raises(SpecificationError,
                       match=r"log of 'outcome', but 3 rows .*3 \(0\), 7 \(-1\), 9 \(0\)"):
        triangulation(bad)
    zero_sources = tasks.assign(n_sources=tasks["n_sources"] - 1)
    with pytest.raises(SpecificationError, match="'n_sources'.*form='linear'"):
        triangulation(zero_sources)
    assert triangulation(zero_sources, form="linear").nobs == 433


def test_non_numeric_and_unidentified(tasks):
    with pytest.raises(SpecificationError, match="'firm_id' is not numeric"):
        triangulation(tasks, covariates=("firm_id",))
    with pytest.raises(SpecificationError, match="form must be one of"):
        triangulation(tasks, form="loglog")
    constant = tasks.assign(n_sources=tasks.groupby("firm_id")["n_sources"].transform("first"))
    with pytest.raises(SpecificationError, match=r"\['n_sources'\] do not vary within"):
        triangulation(constant)
    with pytest.raises(SpecificationError, match="no firm"):
        triangulation(tasks.drop_duplicates("firm_id"))
