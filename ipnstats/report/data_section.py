"""The data and measurement appendices, rendered from the data stage's stored findings
(:func:`ipnstats.data.findings.data_findings`): validation, sample flow, the firm-year
panel, descriptive statistics and correlations, reliability, and the survey scales.
Nothing is computed from the study here; the findings are already
disclosure-controlled.
"""

from __future__ import annotations

import pandas as pd

from ipnstats.figures.membership import membership_plot
from ipnstats.ipn.claims import untestable_text
from ipnstats.report.document import Report
from ipnstats.report.estimation_notes import for_readers
from ipnstats.results.stored import frame_from_json
from ipnstats.tables.descriptives import DescriptivesTable
from ipnstats.tables.format import check_stars
from ipnstats.tables.frame import frame_table

DIGITS = 2  # of the descriptives table


def render_data(report: Report, doc: dict) -> Report:
    """The "Appendix: Data" and "Appendix: Measurement" sections of a stored ``data``
    stage document."""
    f = doc["findings"]
    labels = {s["name"]: s["label"] for s in f["scales"]}
    report = report.add_heading("Appendix: Data")
    report = _validation(report, f["validation"], f["skipped"])
    report = report.add_heading("Sample flow", 2).add_text(
        "Every row of every input file is accounted for: each step shows the rows it "
        "received and the rows it kept.").add_table(_sample_flow(f["sample_flow"], labels))
    report = _panel(report, f["panel"])
    report = report.add_heading("Descriptive statistics and correlations", 2).add_text(
        "Firm-year observations. Survey scales are averaged items (two thirds answered).")
    report = report.add_table(descriptives_from_findings(f["descriptives"]))
    report = _reliability(report, f["reliability"])
    return report.add_heading("Appendix: Measurement").add_text(
        "Survey scales: the items of each scale, the reverse-coded ones, the answer range, "
        "and the reliability of the averaged score.").add_table(
        _measurement(f["scales"], f["reliability"], "surveys" in f["skipped"]))


def _validation(report: Report, v: dict, skipped: list[str]) -> Report:
    rows = ", ".join(f"{t.replace('_', ' ')} {n:,}" for t, n in v["rows_read"].items())
    text = (f"The study folder was validated against the schema: {v['n_errors']:,} error(s) "
            f"and {v['n_warnings']:,} warning(s). Rows read: {rows}.")
    if untestable_text(skipped):
        text += f" Claims that are not testable for lack of data: {untestable_text(skipped)}."
    report = report.add_heading("Validation", 2).add_text(text)
    if v["problems"] is not None:
        report = report.add_table(frame_table(
            _words(frame_from_json(v["problems"]), ("table", "rule"), {}),
            labels={"severity": "Severity", "table": "Table", "rule": "Rule", "rows": "Rows"},
            title="Validation problems by rule", label="validation",
            notes=("Counts of rows that break each rule; the command ipnstats validate lists them "
                   "with file, line and column.",)))
    return report


def _words(frame: pd.DataFrame, columns: tuple[str, ...], labels: dict) -> pd.DataFrame:
    """``frame`` with the text of ``columns`` for readers (labels, no file names)."""
    def words(text):
        return for_readers(text, labels) if isinstance(text, str) else text

    return frame.assign(**{c: frame[c].map(words) for c in columns if c in frame})


#: The reason of a "read" step of the sample flow in the report. The study keeps the file's
#: own name ("Group memberships.csv", "survey/IPN Member Survey_May 14, 2023_10.22.csv"),
#: which the reader text of file names would garble: the appendix that lists every input
#: file by name (its "Input fingerprints" table) is named in the table's note instead.
READ_REASON = "every row read"
READ_NOTE = ("Read: every row of the table's source; the files (or database tables) are "
             "listed by name in the Input fingerprints table.")


def _sample_flow(stored: dict, labels: dict):
    frame = frame_from_json(stored)
    frame = frame.assign(reason=frame["reason"].where(frame["step"] != "read", READ_REASON))
    frame = _words(frame, ("step", "table", "reason"), labels)
    return frame_table(frame, labels={
        "step": "Step", "table": "Table", "reason": "Reason", "rows_in": "Rows in",
        "rows_out": "Rows out", "dropped": "Dropped"}, title="Sample flow", label="sample-flow",
        notes=(READ_NOTE,) if (frame["step"] == "read").any() else ())


def _panel(report: Report, p: dict) -> Report:
    k = p["threshold"]
    text = (f"{p['firm_years']:,} firm-years of {p['firms']:,} firms, "
            f"{p['first_year']}-{p['last_year']}, with {p['member_years']:,} member years. "
            f"Cohort is the first member year; firm counts below {k} are shown as <{k}.")
    cohorts = frame_from_json(p["cohorts"])
    table = frame_table(cohorts, labels={
        "cohort": "Cohort", "firms": "Firms", "firm_years": "Firm-years"},
        title="Firms by cohort", label="cohorts", notes=cohort_notes(cohorts))
    report = report.add_heading("The firm-year panel", 2).add_text(text).add_table(table)
    return report.add_figure(membership_plot(frame_from_json(p["by_year"])),
                             "Firms observed and IPN members, by year.")


#: The note under the cohort table when complementary suppression hid a cell.
HIDDEN_NOTE = "— hidden so that small counts cannot be derived from the totals or other cells."


def cohort_notes(cohorts: pd.DataFrame) -> tuple[str, ...]:
    """The cohort table's notes: :data:`HIDDEN_NOTE` only when some cell reads ``—``."""
    hidden = cohorts.astype(str).eq("—").to_numpy().any()
    return (HIDDEN_NOTE,) if hidden else ()


def descriptives_from_findings(d: dict) -> DescriptivesTable:
    """The descriptives table of stored findings; a count of firms removed for disclosure
    control reads as zero firms, so its cells stay suppressed."""
    variables = d["variables"]

    def square(name: str) -> pd.DataFrame:
        frame = frame_from_json(d[name])
        frame.index = variables
        return frame

    summary = frame_from_json(d["summary"])
    summary["suppressed"] = summary["suppressed"].astype(bool)
    return DescriptivesTable(summary, square("correlations"), square("p_values"),
                             square("n_units").fillna(0), dict(d["alphas"]), d["threshold"],
                             d["unit"], DIGITS, check_stars(True))


def _reliability(report: Report, stored: dict | None) -> Report:
    if stored is None:
        return report.add_heading("Reliability", 2).add_text("The study has no surveys.")
    rel = frame_from_json(stored)
    shown = rel[["label", "n_items", "n", "alpha", "omega", "min_item_rest", "weakest_item"]]
    table = frame_table(shown, labels={
        "label": "Scale", "n_items": "Items", "n": "N", "alpha": "Cronbach's α",
        "omega": "McDonald's ω", "min_item_rest": "Lowest item-rest r",
        "weakest_item": "Weakest item"}, title="Reliability of the survey scales",
        label="reliability", notes=("Complete cases. ω from a one-factor minres solution.",
                                    *_undefined(rel)))
    return report.add_heading("Reliability", 2).add_table(table)


def _undefined(rel: pd.DataFrame) -> tuple[str, ...]:
    """Why a scale's α or ω is missing (e.g. an item with one answer in every row)."""
    if "note" not in rel:
        return ()
    return tuple(f"{r.label}: {r.note}." for r in rel.itertuples()
                 if isinstance(r.note, str) and r.note)


def _measurement(scales: list[dict], reliability: dict | None, no_surveys: bool):
    """Each survey scale: its items, reverse-coded items, answer range and reliability."""
    rel = frame_from_json(reliability).set_index("scale") if reliability is not None else None
    rows = []
    for s in scales:
        r = rel.loc[s["name"]] if rel is not None and s["name"] in rel.index else None
        rows.append({"scale": s["label"], "items": ", ".join(s["items"]),
                     "reverse": ", ".join(s["reverse"]) or "none",
                     "range": f"{s['low']:g}-{s['high']:g}",
                     "alpha": r["alpha"] if r is not None else float("nan"),
                     "omega": r["omega"] if r is not None else float("nan")})
    return frame_table(pd.DataFrame(rows), labels={
        "scale": "Scale", "items": "Items", "reverse": "Reverse-coded", "range": "Answers",
        "alpha": "Cronbach's α", "omega": "McDonald's ω"}, title="Survey scales and items",
        label="measurement", notes=("A score is the mean of the answered items (reverse-coded "
                                    "items flipped) when two thirds are answered.",) + (
            ("The study has no surveys table: the scales are those of codebook.toml; no "
             "answers were read, so no reliability is computed.",)
            if no_surveys else ()))


__all__ = ["descriptives_from_findings", "render_data"]
