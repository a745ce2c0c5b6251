"""The data stage: its findings (data/findings.py), disclosure-controlled before they
are stored, and the data and measurement appendices rendered from the stored document
alone (report/data_section.py)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

import ipnstats
from ipnstats.data.findings import DESCRIPTIVES, data_findings, membership_by_year, sample_flow
from ipnstats.pipeline.store import dumps
from ipnstats.report.data_section import (
    READ_REASON,
    _sample_flow,
    descriptives_from_findings,
    render_data,
)
from ipnstats.report.document import FigureBlock, Heading, Report, TableBlock, Text
from ipnstats.report.sections import RENDERERS
from ipnstats.results.stored import frame_from_json, frame_to_json
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.render import to_markdown


def stored(findings: dict, threshold: int) -> dict:
    doc = {"stage": "data", "title": "Data and measurement", "findings": findings,
           "claims": [], "checks": [], "results": {}, "methods": [], "seeds": {},
           "disclosure_threshold": threshold, "study_name": "x"}
    return json.loads(dumps(doc))


def leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


@pytest.fixture
def hand(hand_study):
    """The hand-made study: 5 firms, disclosure threshold 3."""
    return ipnstats.load_study(hand_study)


def test_findings_are_json_ready(hand):
    findings = data_findings(hand)
    assert all(v is None or type(v) in (str, int, float, bool) for v in leaves(findings))
    assert json.loads(json.dumps(findings, allow_nan=False)) == findings


def test_no_count_or_statistic_from_fewer_firms_is_stored(hand):
    k = hand.codebook.disclosure_threshold
    fy = hand.firm_year
    findings = data_findings(hand)
    # firms by cohort: small counts as "<k" (never as numbers)
    cohorts = frame_from_json(findings["panel"]["cohorts"])
    firms = fy.groupby("cohort")["firm_id"].nunique()
    assert (firms < k).any()
    assert cohorts["firms"].tolist() == [f"<{k}" if 0 < n < k else f"{n:,}" for n in firms]
    # firms and members by year: a count under k is not stored
    by_year = frame_from_json(findings["panel"]["by_year"])
    live = fy.groupby("year").agg(firms=("firm_id", "nunique"), members=("member", "sum"))
    assert (live["members"] < k).any()
    for column in ("firms", "members"):
        for stored_n, n in zip(by_year[column], live[column], strict=True):
            assert (math.isnan(stored_n) and n < k) or (stored_n == n and n >= k)
    # descriptives: statistics of a variable, and correlations of a pair, from < k firms
    d = findings["descriptives"]
    variables = [v for v in DESCRIPTIVES if v in fy.columns]
    table = descriptives_table(fy, variables, unit="firm_id", labels=hand.codebook,
                               reliability=hand.reliability, threshold=k)
    summary = frame_from_json(d["summary"])
    assert summary["suppressed"].any()
    for _, row in summary[summary["suppressed"]].iterrows():
        assert row[["n", "n_units", "mean", "sd", "min", "max"]].isna().all()
    few = table.n_units.to_numpy() < k
    assert few.any() and (~few).any()
    for name in ("correlations", "p_values", "n_units"):
        stored_frame = frame_from_json(d[name]).to_numpy(float)
        assert pd.isna(stored_frame[few]).all()
    n_units = frame_from_json(d["n_units"]).to_numpy(float)
    assert (n_units[~few] >= k).all()


def test_descriptives_render_as_from_the_live_study(hand):
    k = hand.codebook.disclosure_threshold
    variables = [v for v in DESCRIPTIVES if v in hand.firm_year.columns]
    live = descriptives_table(hand.firm_year, variables, unit="firm_id", labels=hand.codebook,
                              reliability=hand.reliability, threshold=k)
    doc = stored(data_findings(hand), k)
    again = descriptives_from_findings(doc["findings"]["descriptives"])
    assert to_markdown(again.as_table()) == to_markdown(live.as_table())
    assert "Suppressed: computed from fewer than 3 firms" in to_markdown(again.as_table())


def test_appendices_render_from_the_stored_document(study):
    k = study.codebook.disclosure_threshold
    doc = stored(data_findings(study), k)
    report = RENDERERS["data"](Report(""), doc)
    headings = [(b.text, b.level) for b in report.blocks if isinstance(b, Heading)]
    assert headings == [("Appendix: Data", 1), ("Validation", 2), ("Sample flow", 2),
                        ("The firm-year panel", 2),
                        ("Descriptive statistics and correlations", 2), ("Reliability", 2),
                        ("Appendix: Measurement", 1)]
    labels = [b.table.label for b in report.blocks if isinstance(b, TableBlock)]
    assert labels == ["validation", "sample-flow", "cohorts", "descriptives", "reliability",
                      "measurement"]
    assert sum(isinstance(b, FigureBlock) for b in report.blocks) == 1
    texts = [b.text for b in report.blocks if isinstance(b, Text)]
    fy = study.firm_year
    assert (f"{len(fy):,} firm-years of {fy['firm_id'].nunique():,} firms, "
            f"{fy['year'].min()}-{fy['year'].max()}, with {int(fy['member'].sum()):,} member "
            f"years. Cohort is the first member year; firm counts below {k} are shown as "
            f"<{k}.") in texts
    v = study.validation
    assert any(t.startswith(f"The study folder was validated against the schema: "
                            f"{v.n_errors:,} error(s) and {v.n_warnings:,} warning(s).")
               for t in texts)
    assert not any("not testable for lack of data" in t for t in texts)  # nothing missing
    measurement = next(b.table for b in report.blocks if isinstance(b, TableBlock)
                       and b.table.label == "measurement")
    rows = [[c.text for c in r.cells] for r in measurement.rows]
    rel = study.reliability.set_index("scale")
    assert rows == [[s.label or s.name, ", ".join(s.items), ", ".join(s.reverse) or "none",
                     f"{s.low:g}-{s.high:g}", f"{rel.loc[s.name, 'alpha']:.2f}",
                     f"{rel.loc[s.name, 'omega']:.2f}"] for s in study.codebook.scales]
    assert not any("no surveys table" in n for n in measurement.notes)


def test_rendering_twice_gives_the_same_blocks(hand):
    doc = stored(data_findings(hand), hand.codebook.disclosure_threshold)
    first = render_data(Report(""), doc)
    assert first.blocks == render_data(Report(""), json.loads(json.dumps(doc))).blocks


def test_membership_counts_by_year():
    fy = pd.DataFrame({"firm_id": ["a", "b", "c", "a", "b", "c", "d"],
                       "year": [1, 1, 1, 2, 2, 2, 2], "member": [1, 0, 0, 1, 1, 1, 0]})
    counts = membership_by_year(fy, 3)
    assert counts["year"].tolist() == [1, 2]
    assert counts["firms"].tolist() == [3, 4]
    assert math.isnan(counts["members"].iloc[0]) and counts["members"].iloc[1] == 3


def test_sample_flow_read_steps_do_not_garble_the_users_file_names():
    # an operator's export: file names with spaces, dots, underscores and other formats
    files = {"memberships": "Group memberships.csv",
             "surveys": "survey/IPN Member Survey_May 14, 2023_10.22.csv",
             "tasks": "break_even_tasks.dta"}
    flow = pd.DataFrame(
        [("read", table, f"rows read from {name}", 10, 10) for table, name in files.items()]
        + [("firm_year", "memberships", "spell covers fewer than 183 days of every "
            "calendar year (no member year)", 10, 8)],
        columns=["step", "table", "reason", "rows_in", "rows_out"])
    table = _sample_flow(frame_to_json(sample_flow(flow)), {})
    reasons = list(table.frame["reason"])
    assert reasons == [READ_REASON] * 3 + [
        "spell covers fewer than 183 days of every calendar year (no member year)"]
    text = to_markdown(table.as_table())
    assert "Group the memberships file" not in text and "10.the 22 file" not in text
    assert "Input fingerprints" in text  # the note says where the files are named
