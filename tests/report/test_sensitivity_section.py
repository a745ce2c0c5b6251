"""Identification and sensitivity of the primary H1 effect (ipn/identification.py, stored
by the robustness stage) and its rendering (report/identification_section.py), the H2a and
H3a robustness values, and the verdict table's Robustness column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ipnstats.estimators.did import event_study, honest_did
from ipnstats.estimators.sensitivity import sensemakr
from ipnstats.ipn import identification
from ipnstats.ipn.claims import Claim
from ipnstats.ipn.framing import framing_effect
from ipnstats.ipn.identification import (
    KD,
    MBAR,
    R2MAX_FACTOR,
    fit_identification,
    honest_findings,
    robustness_value,
)
from ipnstats.pipeline.store import dumps
from ipnstats.report.claims import verdict_table
from ipnstats.report.document import FigureBlock, Report, TableBlock, Text
from ipnstats.report.identification_section import (
    honest_reading,
    render_identification,
    robustness_column,
    rv_sentence,
    sensemakr_reading,
)
from ipnstats.results.stored import frame_from_json, frame_to_json
from ipnstats.tables.render import to_markdown

PANEL = {"unit": "firm_id", "time": "year", "cohort": "cohort"}


@pytest.fixture(scope="module")
def fitted(study):
    return fit_identification(study.firm_year, outcome="log_revenue",
                              covariates=("age", "log_employees"), n_boot=99, seed=0)


@pytest.fixture(scope="module")
def ident(fitted) -> dict:
    """The findings as the report reads them back from JSON."""
    return json.loads(dumps(fitted[0]))


def markdown(table) -> str:
    """A frame table as the report renders it."""
    block = Report("").add_table(table).blocks[-1]
    return to_markdown(block.table)


def texts(report: Report) -> list[str]:
    return [b.text for b in report.blocks if isinstance(b, Text)]


# -- the stored findings --------------------------------------------------------------------

def test_honest_did_is_stored_for_both_targets_and_restrictions(ident, fitted):
    honest = ident["honest"]
    intervals = frame_from_json(honest["intervals"])
    summary = frame_from_json(honest["summary"])
    assert set(zip(summary["restriction"], summary["target"], strict=True)) == {
        ("rm", "first"), ("rm", "average"), ("sd", "first"), ("sd", "average")}
    rm = intervals[(intervals["restriction"] == "rm") & (intervals["target"] == "first")]
    assert rm["m"].tolist() == list(MBAR)
    # the stored intervals are honest_did's on the stored event study
    event = fitted[1]["identification.event"]
    again = honest_did(event, method="rm", m_values=MBAR[:1])  # one M: the test stays fast
    assert rm["conf_low"].iloc[0] == pytest.approx(again.conf_low[0])
    num_post = honest["num_post"]
    average = honest_did(event, method="sd", l_vec=np.full(num_post, 1 / num_post))
    row = summary.set_index(["restriction", "target"]).loc[("sd", "average")]
    assert row["estimate"] == pytest.approx(average.estimate)
    assert (np.isnan(row["breakdown"]) if average.breakdown is None
            else row["breakdown"] == pytest.approx(average.breakdown))
    # breakdown: the smallest M whose interval includes zero
    for (method, target), s in summary.set_index(["restriction", "target"]).iterrows():
        cut = intervals[(intervals["restriction"] == method) & (intervals["target"] == target)]
        covers = cut[(cut["conf_low"] <= 0) & (cut["conf_high"] >= 0)]["m"]
        assert (np.isnan(s["breakdown"]) if covers.empty
                else s["breakdown"] == pytest.approx(covers.min()))
    # the unit of Mbar: the largest change between consecutive pre-periods (-1 is 0)
    pre = event.params[[f"event::{e}" for e in range(-4, -1)]].to_numpy()
    assert honest["max_pre_change"] == pytest.approx(
        np.abs(np.diff(np.append(pre, 0.0))).max())


def test_sensemakr_and_oster_are_stored(ident, fitted):
    sens = ident["sensemakr"]
    long = fitted[1]["identification.twfe_covariates"]
    # age is absorbed by the firm and year effects; log employees is the benchmark
    assert sens["benchmarks"] == ["log_employees"] and sens["absorbed"] == ["age"]
    direct = sensemakr(long, "treated", benchmark_covariates=["log_employees"], kd=KD)
    assert sens["rv_q"] == pytest.approx(direct.rv_q)
    assert sens["rv_qa"] == pytest.approx(direct.rv_qa) and sens["rv_qa"] < sens["rv_q"]
    assert sens["r2yd_x"] == pytest.approx(direct.r2yd_x)
    bounds = frame_from_json(sens["bounds"])
    assert bounds["kd"].tolist() == list(KD)
    assert bounds["adjusted_estimate"].tolist() == pytest.approx(
        direct.bounds["adjusted_estimate"].tolist())
    assert len(frame_from_json(sens["grid"])) == 41 ** 2
    oster = ident["oster"]
    assert oster["covariates"] == ["log_employees"]
    assert oster["r2max"] == pytest.approx(R2MAX_FACTOR * oster["r2_long"])
    assert np.isfinite(oster["delta_star"]) and np.isfinite(oster["beta_star"])


def test_what_cannot_be_fitted_is_stored_as_unavailable(study, monkeypatch):
    def refuse(event):
        raise ValueError("the event study has 1 pre-period")

    monkeypatch.setattr(identification, "honest_findings", refuse)  # keeps the test fast
    f, results = fit_identification(study.firm_year, outcome="log_revenue",
                                    covariates=("not_a_column",), n_boot=0, seed=0)
    assert f["honest"] == {"unavailable": "the event study has 1 pre-period."}
    assert "unavailable" in f["sensemakr"] and "unavailable" in f["oster"]
    assert "identification.event" in results  # the event study itself ran
    f2, _ = fit_identification(study.firm_year, outcome="log_revenue", covariates=("age",),
                               n_boot=0, seed=0)
    assert "absorbed by the fixed effects: age" in f2["sensemakr"]["unavailable"]
    assert "unavailable" in f2["oster"]
    short = event_study(study.firm_year, outcome="log_revenue", **PANEL, window=(-2, 3),
                        n_boot=0)
    with pytest.raises(ValueError, match="at least 2"):
        honest_findings(short)


# -- the readings follow the numbers ---------------------------------------------------------

def honest_with(ident: dict, breakdown: float | None, low: float = 0.01) -> dict:
    honest = json.loads(json.dumps(ident["honest"]))
    summary = frame_from_json(honest["summary"])
    summary["breakdown"] = np.nan if breakdown is None else breakdown
    summary["conf_low"] = low
    honest["summary"] = frame_to_json(summary)
    return honest


def test_the_honest_reading_follows_the_breakdown(ident):
    change = ident["honest"]["max_pre_change"]
    reading = honest_reading(ident["honest"])
    assert f"is {change:.3f}." in reading
    strong = honest_reading(honest_with(ident, 1.5))
    assert "1.5 times the largest before joining" in strong
    assert f"({1.5 * change:.3f} a year)" in strong
    assert strong.endswith("as large as the largest before it.")
    fragile = honest_reading(honest_with(ident, 0.5))
    assert "even the smallest violation examined, 0.5 times" in fragile
    assert "would overturn H1a" in fragile
    none = honest_reading(honest_with(ident, None))
    assert "stays significant even if the violation after joining changes by up to 2" in none
    weak = honest_reading(honest_with(ident, 0.5, low=-0.01))
    assert "not significant even under parallel trends" in weak


def test_the_sensemakr_reading_follows_the_bounds(ident):
    sens = ident["sensemakr"]
    bounds = frame_from_json(sens["bounds"])
    reading = sensemakr_reading(sens, bounds)
    assert f"{100 * sens['rv_q']:.1f}% of the residual variance" in reading
    assert f"and {100 * sens['rv_qa']:.1f}% to make it insignificant" in reading
    survives = bounds.assign(conf_low=0.001)
    assert "Even confounders 3 times as strong" in sensemakr_reading(sens, survives)
    falls = bounds.assign(conf_low=[0.001, -0.01, -0.02])
    assert "A confounder 2 times as strong as log employees" in sensemakr_reading(sens, falls)


# -- rendering -------------------------------------------------------------------------------

def test_the_part_renders_tables_figures_and_readings(ident):
    report = render_identification(Report(""), ident, "log revenue")
    tables = {b.table.label: b.table for b in report.blocks if isinstance(b, TableBlock)}
    assert set(tables) == {"honest-did", "sensemakr", "balance", "selection_model"}
    assert len([b for b in report.blocks if isinstance(b, FigureBlock)]) == 2
    assert "entropy balancing the largest difference is 0.00" in " ".join(texts(report))
    selection = to_markdown(tables["selection_model"])
    assert "Event study (DiD), year 3 of membership" in selection
    assert "identified by the normality of its errors alone" in selection
    honest = to_markdown(tables["honest-did"])
    assert "M̄ = 0.5" in honest and "M̄ = 2" in honest and "Breakdown" in honest
    md = to_markdown(tables["sensemakr"])
    assert "1x log_employees" not in md and "1x log employees" in md
    said = " ".join(texts(report))
    assert "Reading: before joining" in said and "Oster's delta" in said
    assert "treated" not in said and "rv_q" not in said and "_" not in said


def test_the_part_renders_with_missing_pieces():
    missing = {"honest": {"unavailable": "the event study has 1 pre-period"},
               "sensemakr": {"unavailable": "no covariate is left"},
               "oster": {"unavailable": "no covariate is left"}, "outcome": "log_revenue"}
    report = render_identification(Report(""), missing, "log revenue")
    said = texts(report)
    assert "Not testable with these data: the event study has 1 pre-period." in said
    assert "Not testable with these data: no covariate is left." in said
    assert not [b for b in report.blocks if isinstance(b, (TableBlock, FigureBlock))]
    assert render_identification(Report(""), None, "log revenue").blocks == ()


def test_balance_and_selection_are_withheld_below_the_disclosure_threshold(ident):
    small = {**ident, "threshold": ident["balance"]["n_never"] + 1}
    report = render_identification(Report(""), small, "log revenue")
    labels = {b.table.label for b in report.blocks if isinstance(b, TableBlock)}
    assert labels == {"honest-did", "sensemakr"}
    withheld = [t for t in texts(report) if t.startswith("Not shown")]
    assert len(withheld) == 2 and all(str(small["threshold"]) in t for t in withheld)


def test_unavailable_balance_and_selection_are_one_sentence_each(ident):
    broken = {**ident, "balance": {"balance": {"unavailable": "balance is infeasible"}},
              "selection": {"model": {"unavailable": "the probit separates"}}}
    said = texts(render_identification(Report(""), broken, "log revenue"))
    assert "Not testable with these data: balance is infeasible." in said
    assert "Not testable with these data: the probit separates." in said


# -- H2a and H3a robustness values, and the verdict table --------------------------------------

def test_h2a_robustness_value_and_sentence(study):
    model = framing_effect(study.exchanges, receiver_effects="fixed")
    rv = robustness_value(model, "framing::loss")
    assert rv["rv_q"] == pytest.approx(sensemakr(model, "framing::loss").rv_q)
    sentence = rv_sentence(rv, "receiver fixed-effects model", "loss framing", "the shift")
    assert f"(robustness value RV {rv['rv_q']:.2f})" in sentence
    assert f"{100 * rv['rv_qa']:.1f}% to make it insignificant" in sentence
    assert "unavailable" in robustness_value(object(), "x")
    assert rv_sentence(None, "m", "t", "o") == ""
    assert "not computed (no model)" in rv_sentence({"unavailable": "no model"}, "m", "t", "o")


def test_the_verdict_table_shows_the_robustness_column(ident):
    stored = {"robustness": {"findings": {"identification": ident}},
              "h2": {"findings": {"framing": {"sensitivity": {"rv_q": 0.1301}}}},
              "h3": {"findings": {"senders": {"unavailable": "no tasks"}}}}
    column = robustness_column(stored)
    summary = frame_from_json(ident["honest"]["summary"]).set_index(["restriction", "target"])
    b = summary.loc[("rm", "average"), "breakdown"]
    assert column["H1a"] == ("M̄ > 2" if pd.isna(b) else f"M̄ {b:.3g}")  # short: a column
    assert column["H2a"] == "RV 0.13" and "H3a" not in column
    claims = [Claim(code, "claim", "0.1", 0.01, True) for code in ("H1a", "H1b", "H2a", "H3a")]
    table = verdict_table(claims, "holm", column)
    md = markdown(table)
    assert "Robustness" in md and "RV 0.13" in md and column["H1a"] in md
    assert "breakdown value M̄" in " ".join(table.notes)
    plain = verdict_table(claims, "holm", {})
    assert "Robustness" not in markdown(plain)
    assert robustness_column({}) == {}


def test_the_methods_appendix_describes_the_checks(ident):
    from ipnstats.report.methods import methods_paragraphs

    doc = {"stage": "robustness", "findings": {"identification": ident}, "results": {}}
    said = " ".join(methods_paragraphs(doc))
    assert "Identification and sensitivity" in said and "R²max 1.3 times" in said
    assert "Identification" not in " ".join(methods_paragraphs(
        {"stage": "robustness", "findings": {}, "results": {}}))
