"""The H1 analyses on the bundled example study against its truth.toml (ipnstats.ipn.h1),
and the H1 report section rendered from the stored stage document: readings, claims, and
warnings that reach the reader."""

import ast
import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import covers_truth

import ipnstats
from ipnstats.ipn.claims import claims_to_json
from ipnstats.ipn.h1 import fit_h1
from ipnstats.ipn.h1_findings import h1_checks, h1_claims, h1_findings, pretrend_rejected
from ipnstats.pipeline.store import dumps
from ipnstats.report import Report
from ipnstats.report.h1_section import render_h1


@pytest.fixture(scope="module")
def h1(study):
    return fit_h1(study.firm_year, threshold=study.codebook.disclosure_threshold, n_boot=199,
                  firms=study.tables.get("firms"))


def stored(res) -> dict:
    """The H1 stage document as ``ipnstats run`` stores it, read back from JSON."""
    findings = h1_findings(res)
    doc = {"stage": "h1", "title": "H1", "findings": findings,
           "claims": claims_to_json(h1_claims(res, findings)),
           "checks": claims_to_json(h1_checks(res))}
    return json.loads(dumps(doc))


@pytest.fixture(scope="module")
def doc(h1):
    return stored(h1)


def _covers(row, value):
    return covers_truth(row, value)  # 99.9%: one draw (see conftest.covers_truth)


def test_participation_effect_covers_the_truth(h1, truth):
    target = truth["H1a"]["att_post_identified"]["value"]
    for model in h1.participation["log_revenue"][1:]:  # CS, CS + covariates, Sun-Abraham
        assert _covers(model.tidy().set_index("term").loc["ATT"], target), model.estimator


def test_event_path_and_stages_cover_the_truth(h1, truth):
    path = truth["H1a"]["att_event_time"]["value"]
    est = h1.event.estimates().set_index("event")
    for e in range(0, 7):
        assert covers_truth(est.loc[e], path[e]), e
    for e in range(-4, 0):
        assert covers_truth(est.loc[e], 0), e
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


def test_section_reads_and_says_which_claims_hold(doc):
    text = render_h1(Report("t"), doc).to_typst()
    assert text.count("Reading:") >= 6
    assert "What the data say about H1" in text
    for code in ("H1a", "H1b", "H1c", "H1d", "H1e", "H1f"):
        assert code in text
    assert "Supported" in text
    # Warnings reach the reader: the tables name the unbalanced panel and the
    # always-treated firms, which the Estimation notes appendix writes out.
    assert "unbalanced panel" in text and "firms treated from the start left out" in text
    assert "Estimation notes (see Appendix: Estimation notes)" in text


def test_pretrend_failure_reaches_the_report(study):
    fy = study.firm_year.copy()
    # Joiners trend up before joining: parallel trends fail. The test is of the plumbing
    # (a rejection reaches the notes, the reading's flag and the table), so the violation
    # is one the pre-trend test cannot miss: 0.10 log points a year, about twice the
    # event-time SEs per year of lead (0.03 a year was at the test's 5% line).
    lead = (fy["cohort"] > 0) & (fy["year"] < fy["cohort"])
    fy.loc[lead, "log_revenue"] += 0.10 * (fy.loc[lead, "year"] - fy.loc[lead, "cohort"] + 8)
    res = ipnstats.participation_effect(fy, outcome="log_revenue", n_boot=0)
    assert any(n.startswith("Pre-trend test rejects") for n in res.notes)
    assert pretrend_rejected(res)  # the bool the H1a reading is chosen by
    from ipnstats.tables import regression_table

    table = regression_table([res], keep=["ATT"]).to_text()
    assert "Pre-trend test rejects" in table
    assert np.isfinite(res.params["ATT"])


def test_no_firm_identity_in_the_section(doc, study):
    text = render_h1(Report("t"), doc).to_typst()
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


# -- the stored document and its renderer -----------------------------------------------------

def _plain_json(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def test_findings_are_plain_json_with_a_bool_for_every_wording(h1, doc):
    findings = h1_findings(h1)
    assert _plain_json(findings)
    assert set(findings) == {"rule", "threshold", "covariates", *(f"H1{x}" for x in "abcdef")}
    f = doc["findings"]
    assert isinstance(f["H1a"]["pretrend_rejected"], bool)
    assert isinstance(f["H1a"]["excludes_zero"], bool)
    assert isinstance(f["H1b"]["pretrend"]["rejected"], bool)
    assert isinstance(f["H1c"]["excludes_zero"], bool)
    assert isinstance(f["H1f"]["significant"], bool)
    # the claims are stated from the same numbers the readings quote
    claims = {c["code"]: c for c in doc["claims"]}
    assert claims["H1a"]["p_value"] == f["H1a"]["primary"]["p_value"]
    assert claims["H1b"]["p_value"] == f["H1b"]["p_all"]
    assert claims["H1e"]["p_value"] == f["H1e"]["young"]["p_one_sided"]


def test_the_pretrend_reading_comes_from_the_stored_flag(h1, doc):
    primary = h1.participation["log_revenue"][1]
    noted = any(n.startswith("Pre-trend test rejects") for n in primary.notes)
    assert pretrend_rejected(primary) is noted is False
    assert doc["findings"]["H1a"]["pretrend_rejected"] is False
    assert "do not contradict parallel trends" in render_h1(Report("t"), doc).to_typst()
    flipped = json.loads(json.dumps(doc))
    flipped["findings"]["H1a"]["pretrend_rejected"] = True
    flipped["findings"]["H1b"]["pretrend"]["rejected"] = True
    text = render_h1(Report("t"), flipped).to_typst()
    assert "the pre-trend test rejects parallel trends, so it may be biased" in text
    assert "which casts doubt on parallel trends" in text


def test_rendering_the_stored_document_twice_gives_identical_blocks(h1, doc):
    first, second = render_h1(Report("t"), doc), render_h1(Report("t"), doc)
    assert first.blocks == second.blocks
    # the JSON round trip loses nothing the section shows (figure bytes included)
    findings = h1_findings(h1)
    direct = {"findings": findings, "claims": claims_to_json(h1_claims(h1, findings))}
    assert render_h1(Report("t"), direct).blocks == first.blocks
    kinds = [type(b).__name__ for b in first.blocks]
    assert kinds.count("FigureBlock") == 1 and kinds.count("TableBlock") == 10


def test_the_event_study_figure_is_drawn_from_the_stored_frame(h1, doc):
    from ipnstats.figures import event_study_figure, figure_bytes
    from ipnstats.results.stored import frame_from_json

    stored = frame_from_json(doc["findings"]["H1b"]["event"])
    assert {"band_low", "band_high"} <= set(stored.columns)
    labels = dict(xlabel="Years since joining", ylabel="Effect on log revenue")
    live = figure_bytes(event_study_figure(h1.event.estimates(), **labels), "svg")
    assert figure_bytes(event_study_figure(stored, **labels), "svg") == live


def test_an_analysis_without_its_data_says_why(h1):
    from dataclasses import replace

    from ipnstats.ipn.claims import Unavailable

    reason = "the study has no surveys table (perceived learning)"
    res = replace(h1, mediation=Unavailable(reason))
    doc = stored(res)
    assert doc["findings"]["H1c"] == {"unavailable": reason}
    claim = next(c for c in doc["claims"] if c["code"] == "H1c")
    assert claim["supported"] is None and claim["evidence"] == reason
    text = render_h1(Report("t"), doc).to_typst()
    assert f"Not testable with these data: {reason}." in text
    assert "H1c: learning as the mechanism" in text
    no_revenue = stored(replace(h1, participation={}))
    assert no_revenue["findings"]["H1a"] == {
        "unavailable": "the firm-year panel has no log revenue."}


def test_the_renderer_imports_no_estimator():
    import ipnstats.report.h1_section as section

    tree = ast.parse(Path(section.__file__).read_text())
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    for module in modules:
        assert not module.startswith(("ipnstats.estimators", "ipnstats.inference",
                                      "ipnstats.data")), module
        assert not module.startswith("ipnstats.ipn") or module == "ipnstats.ipn.claims", module


def test_h1e_subgroup_counts_cannot_be_derived_and_small_estimates_are_hidden():
    """2 young joiners of 42: the young count is ``<3``, the older count is hidden too
    (else 42 minus it gives 2), and both estimates go (else the difference gives the
    young one); the routine's own LP finds at least two integers for the hidden count."""
    from ipnstats.ipn.h1_findings import subgroup_rows
    from ipnstats.tables.disclosure import feasible_range

    terms = ["ATT[young_join=1]", "ATT[young_join=0]", "ATT[young_join=1] - ATT[young_join=0]",
             "ATT[small_join=1]", "ATT[small_join=0]", "ATT[small_join=1] - ATT[small_join=0]"]
    tidy = pd.DataFrame({"estimate": [0.3, 0.1, 0.2, 0.15, 0.12, 0.03],
                         "std_error": [0.1] * 6, "p_value": [0.01] * 6}, index=terms)
    n = {terms[0]: 2, terms[1]: 40, terms[3]: 20, terms[4]: 22}
    rows = subgroup_rows(tidy, n, 3).set_index("term")
    assert rows.loc[terms[0], "suppressed"] and rows.loc[terms[1], "withheld"]
    assert rows.loc[[terms[0], terms[1]], ["estimate", "std_error", "p_value"]].isna().all().all()
    # the split's difference contrasts the 2 young joiners with the rest: withheld too
    assert rows.loc[terms[2], ["estimate", "std_error", "p_value"]].isna().all()
    assert rows.loc[terms[2], "withheld"] and rows.loc[terms[5], "estimate"] == 0.03
    assert rows.loc[[terms[3], terms[4]], "n"].tolist() == [20, 22]
    assert not rows.loc[[terms[3], terms[4]], ["suppressed", "withheld"]].any().any()
    # what a reader sees, column young_join: rows (1, 0), total 42 published elsewhere
    values = np.array([[2.0], [40.0]])
    primary = rows.loc[[terms[0], terms[1]], "suppressed"].to_numpy()[:, None]
    hidden = (rows.loc[[terms[0], terms[1]], "n"].isna()).to_numpy()[:, None]
    lo, hi = feasible_range(values, primary, hidden, [True], 3, [], (0, 0))
    assert np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) >= 1
    # and the old table (partner shown) would have been undone
    lo, hi = feasible_range(values, primary, primary, [True], 3, [], (0, 0))
    assert lo == hi == 2


def test_h1e_table_renders_the_hidden_cells_with_a_note():
    from ipnstats.ipn.h1_findings import subgroup_rows
    from ipnstats.report.h1_section import _hidden_note, _joiners

    terms = ["ATT[young_join=1]", "ATT[young_join=0]"]
    tidy = pd.DataFrame({"estimate": [0.3, 0.1], "std_error": [0.1] * 2,
                         "p_value": [0.01] * 2}, index=terms)
    rows = subgroup_rows(tidy, dict(zip(terms, [1, 30], strict=True)), 3)
    cells = [_joiners(n, s, 3) for n, s in zip(rows["n"], rows["suppressed"], strict=True)]
    assert cells == ["<3", "—"]
    assert "fewer than 3 joiners" in _hidden_note(rows, 3)[0]


def test_h1e_interaction_of_a_split_with_a_hidden_subgroup_is_withheld(study):
    """The interaction model's ``member:young_join`` is the young-minus-older contrast:
    with fewer young joiners than the threshold it leaves the stored findings (and so
    every output), and the reading says why; the other split's stays."""
    from ipnstats.ipn.h1_findings import _heterogeneity, hidden_moderators, subgroup_rows
    from ipnstats.ipn.practices import heterogeneity

    het = heterogeneity(study.firm_year, outcome="log_revenue", firms=study.tables["firms"])
    young = het.n_treated["ATT[young_join=1]"]
    res = types.SimpleNamespace(heterogeneity=het, threshold=young + 1)
    rows = subgroup_rows(het.subgroups.tidy().set_index("term"), het.n_treated, young + 1)
    assert hidden_moderators(rows) == ["young_join"]
    found = _heterogeneity(res)
    terms = found["interaction"]["tidy"]["data"][0]
    assert "member:young_join" not in terms and "member:small_join" in terms
    assert found["young"] is None and "disclosure" in found["young_missing"]
