"""The H1 analyses on the bundled example study against its truth.toml, and the H1
report section: readings, claims, and warnings that reach the reader."""


import numpy as np
import pytest

import ipnstats
from ipnstats.report import Report
from ipnstats.report.h1_section import fit_h1, h1_section


@pytest.fixture(scope="module")
def h1(study):
    return fit_h1(study.firm_year, threshold=study.codebook.disclosure_threshold, n_boot=199,
                  firms=study.tables.get("firms"))


def _covers(row, value):
    return row["conf_low"] <= value <= row["conf_high"]


def test_participation_effect_covers_the_truth(h1, truth):
    target = truth["H1a"]["att_post_identified"]["value"]
    for model in h1.participation["log_revenue"][1:]:  # CS, CS + covariates, Sun-Abraham
        assert _covers(model.tidy().set_index("term").loc["ATT"], target), model.estimator


def test_event_path_and_stages_cover_the_truth(h1, truth):
    path = truth["H1a"]["att_event_time"]["value"]
    est = h1.event.estimates().set_index("event")
    for e in range(0, 7):
        assert est.loc[e, "conf_low"] <= path[e] <= est.loc[e, "conf_high"], e
    for e in range(-4, 0):
        assert est.loc[e, "conf_low"] <= 0 <= est.loc[e, "conf_high"], e
    stages = h1.stages.tidy().set_index("term")
    for stage in ("novice", "developing", "expert"):
        assert _covers(stages.loc[f"stage::{stage}"], truth["H1b"][f"stage_{stage}"]["value"])


def test_mediation_paths_cover_the_truth(h1, truth):
    tidy = h1.mediation.tidy().set_index("term")
    assert _covers(tidy.loc["a::perceived_learning"], truth["H1c"]["a_path"]["value"])
    assert _covers(tidy.loc["b::perceived_learning"], truth["H1c"]["b_path"]["value"])
    assert _covers(tidy.loc["indirect::perceived_learning"], truth["H1c"]["indirect"]["value"])


def test_practices_heterogeneity_and_hazard_cover_the_truth(h1, truth):
    tidy = h1.practices.tidy().set_index("term")
    for name in ("attendance_rate", "disclosure_rate", "critiques", "benchmark_rank_pct"):
        assert _covers(tidy.loc[name], truth["H1d"][name]["value"]), name
    inter = h1.heterogeneity.interaction.tidy().set_index("term")
    young = [t for t in inter.index if "young_join" in t][0]
    small = [t for t in inter.index if "small_join" in t][0]
    assert _covers(inter.loc[young], truth["H1e"]["young_join"]["value"])
    assert _covers(inter.loc[small], truth["H1e"]["small_join"]["value"])
    logit = h1.hazard.tidy().set_index("term")
    assert _covers(logit.loc["benchmark_rank_pct"], truth["H1f"]["benchmark_rank_pct"]["value"])


def test_section_reads_and_says_which_claims_hold(h1):
    text = h1_section(Report("t"), h1).to_typst()
    assert text.count("Reading:") >= 6
    assert "What the data say about H1" in text
    for code in ("H1a", "H1b", "H1c", "H1d", "H1e", "H1f"):
        assert code in text
    assert "Supported" in text
    # Warnings reach the reader: the unbalanced panel and the always-treated firms.
    assert "unbalanced" in text and "always treated" in text


def test_pretrend_failure_reaches_the_report(study):
    fy = study.firm_year.copy()
    # Joiners trend up before joining: parallel trends fail.
    lead = (fy["cohort"] > 0) & (fy["year"] < fy["cohort"])
    fy.loc[lead, "log_revenue"] += 0.03 * (fy.loc[lead, "year"] - fy.loc[lead, "cohort"] + 8)
    res = ipnstats.participation_effect(fy, outcome="log_revenue", n_boot=0)
    assert any(n.startswith("Pre-trend test rejects") for n in res.notes)
    from ipnstats.tables import regression_table

    table = regression_table([res], keep=["ATT"]).to_text()
    assert "Pre-trend test rejects" in table
    assert np.isfinite(res.params["ATT"])


def test_no_firm_identity_in_the_section(h1, study):
    text = h1_section(Report("t"), h1).to_typst()
    ids = study.firm_year["firm_id"].astype(str).unique()
    assert not [i for i in ids if len(i) > 3 and i in text]


def test_few_clusters_no_controls_and_collinearity_reach_the_tables(study):
    from ipnstats.tables import regression_table

    fy = study.firm_year
    few = fy.assign(cluster=fy["firm_id"].cat.codes % 12)
    cs = ipnstats.participation_effect(few, outcome="log_revenue", n_boot=0,
                                       vcov=ipnstats.Cluster("cluster"))
    no_never = fy[fy["cohort"] > 0]  # no never-members: the last cohort has no controls
    nc = ipnstats.participation_effect(no_never, outcome="log_revenue", n_boot=0)
    ols = ipnstats.panel_regression(fy.assign(age2=fy["age"]), "log_revenue ~ member + age2",
                                    unit="firm_id", time="year")
    text = regression_table([cs, nc, ols], keep=["ATT", "member"]).to_text()
    assert "Only 12 clusters" in text
    assert "No control units for ATT(g,t)" in text
    assert "Dropped as collinear" in text
