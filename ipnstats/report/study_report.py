"""The study report: title page, the data section, and one section per hypothesis family.

Built only from a loaded :class:`~ipnstats.data.Study` and the table, figure and
document layers. Prints no firm identity and no statistic from fewer firms than the
codebook's disclosure threshold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from importlib import metadata
from pathlib import Path

import pandas as pd

from ipnstats.data import Study
from ipnstats.ipn.claims import untestable_text
from ipnstats.report.data_report import panel_overview
from ipnstats.report.document import Report
from ipnstats.tables.descriptives import descriptives_table
from ipnstats.tables.frame import frame_table

DESCRIPTIVES = ("log_revenue", "revenue_growth", "profit_margin", "roa", "log_employees",
                "member", "tenure", "attendance_rate", "disclosure_rate", "perceived_learning",
                "trust", "risk_aversion", "loss_aversion")
PACKAGES = ("ipnstats", "numpy", "pandas", "scipy", "statsmodels", "formulaic", "joblib",
            "matplotlib", "typst", "python-docx", "pyarrow")
def data_fingerprint(folder: str | Path) -> str:
    """SHA-256 over the names and bytes of the study folder's files, in name order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_versions() -> list[tuple[str, str]]:
    """``(name, version)`` of the installed packages that shape the numbers."""
    out = []
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return out


def software_versions() -> str:
    """``ipnstats 0.1.0, numpy 2.4.0, ...`` for the packages that shape the numbers."""
    return ", ".join(f"{name} {version}" for name, version in package_versions())


def report_date() -> str:
    """``SOURCE_DATE_EPOCH`` as an ISO date when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return when.date().isoformat()


def study_report(study: Study) -> Report:
    """The report document of a study: data section, then the hypothesis sections."""
    k = study.codebook.disclosure_threshold
    report = Report("Industry Peer Network study report", study.codebook.name,
                    date=report_date(), meta={
                        "Study folder": Path(study.folder).name,
                        "Data fingerprint": f"sha256 {data_fingerprint(study.folder)}",
                        "Software": software_versions(),
                        "Disclosure control": f"no firm named; no statistic from fewer than "
                                              f"{k} firms"})
    report = data_section(report, study)
    report = _h1(report, study)
    report = _h2(report, study)
    return _h3(report, study)


def _h1(report: Report, study: Study) -> Report:
    from ipnstats.ipn.claims import claims_to_json
    from ipnstats.ipn.h1 import fit_h1
    from ipnstats.ipn.h1_findings import h1_claims, h1_findings
    from ipnstats.report.h1_section import render_h1

    results = fit_h1(study.firm_year, threshold=study.codebook.disclosure_threshold,
                     firms=study.tables.get("firms"), absent=study.skipped)
    findings = h1_findings(results)
    return render_h1(report, {"findings": findings,
                              "claims": claims_to_json(h1_claims(results, findings))})


def _h2(report: Report, study: Study) -> Report:
    from ipnstats.ipn.claims import claims_to_json
    from ipnstats.ipn.h2 import fit_h2, h2_claims, h2_findings
    from ipnstats.report.h2_section import render_h2

    results = fit_h2(study.exchanges, threshold=study.codebook.disclosure_threshold,
                     absent=study.skipped)
    return render_h2(report, {"findings": h2_findings(results),
                              "claims": claims_to_json(h2_claims(results))})


def _h3(report: Report, study: Study) -> Report:
    from ipnstats.ipn.claims import claims_to_json
    from ipnstats.ipn.h3 import fit_h3, h3_claims, h3_findings
    from ipnstats.report.h3_section import render_h3

    results = fit_h3(study.exchanges, study.tasks,
                     threshold=study.codebook.disclosure_threshold, absent=study.skipped)
    return render_h3(report, {"findings": h3_findings(results),
                              "claims": claims_to_json(h3_claims(results))})


def data_section(report: Report, study: Study, heading: str = "Data") -> Report:
    """The data section: validation, sample flow, the panel, descriptives, reliability."""
    report = report.add_heading(heading)
    report = _validation(report, study)
    report = report.add_heading("Sample flow", 2).add_text(
        "Every row of every input file is accounted for: each step shows the rows it "
        "received and the rows it kept.").add_table(_sample_flow(study))
    report = _panel(report, study)
    variables = [v for v in DESCRIPTIVES if v in study.firm_year.columns]
    table = descriptives_table(study.firm_year, variables, labels=study.codebook,
                               reliability=study.reliability if len(study.reliability) else None,
                               threshold=study.codebook.disclosure_threshold)
    report = report.add_heading("Descriptive statistics and correlations", 2).add_text(
        "Firm-year observations. Survey scales are averaged items (two thirds answered).")
    report = report.add_table(table)
    return _reliability(report, study)


def _validation(report: Report, study: Study) -> Report:
    v = study.validation
    rows = ", ".join(f"{t} {n:,}" for t, n in v.rows_read.items())
    text = (f"The study folder was validated against the schema: {v.n_errors:,} error(s) "
            f"and {v.n_warnings:,} warning(s). Rows read: {rows}.")
    if untestable_text(study.skipped):
        text += (" Claims that are not testable for lack of data: "
                 f"{untestable_text(study.skipped)}.")
    report = report.add_heading("Validation", 2).add_text(text)
    problems = v.problems
    if len(problems):
        counts = (problems.groupby(["severity", "table", "rule"], observed=True)
                  .size().rename("rows").reset_index())
        report = report.add_table(frame_table(
            counts, labels={"severity": "Severity", "table": "Table", "rule": "Rule",
                            "rows": "Rows"},
            title="Validation problems by rule", label="validation",
            notes=("Counts of rows that break each rule; the command ipnstats validate lists them "
                   "with file, line and column.",)))
    return report


def _sample_flow(study: Study):
    flow = study.sample_flow.copy()
    flow["dropped"] = flow["rows_in"] - flow["rows_out"]
    flow = flow[["step", "table", "rows_in", "rows_out", "dropped", "reason"]]
    return frame_table(flow, labels={"step": "Step", "table": "Table", "reason": "Reason",
                                     "rows_in": "Rows in", "rows_out": "Rows out",
                                     "dropped": "Dropped"},
                       title="Sample flow", label="sample-flow")


def _panel(report: Report, study: Study) -> Report:
    fy = study.firm_year
    k = study.codebook.disclosure_threshold
    text = (f"{len(fy):,} firm-years of {fy['firm_id'].nunique():,} firms, "
            f"{fy['year'].min()}-{fy['year'].max()}, with "
            f"{int(fy['member'].sum()):,} member years. Cohort is the first member year; "
            f"firm counts below {k} are shown as <{k}.")
    overview = panel_overview(study)
    table = frame_table(overview, labels={"cohort": "Cohort", "firms": "Firms",
                                          "firm_years": "Firm-years"},
                        title="Firms by cohort", label="cohorts")
    report = report.add_heading("The firm-year panel", 2).add_text(text).add_table(table)
    return report.add_figure(_membership_figure(fy, k),
                             "Firms observed and IPN members, by year.")


def _membership_figure(fy: pd.DataFrame, k: int):
    from ipnstats.figures import new_figure
    from ipnstats.figures.style import series_style

    counts = fy.groupby("year").agg(firms=("firm_id", "nunique"), members=("member", "sum"))
    counts = counts.where(counts >= k)  # small counts are not drawn
    fig, ax = new_figure(height=2.8)
    for i, (col, label) in enumerate((("firms", "Firms observed"), ("members", "Members"))):
        ax.plot(counts.index, counts[col], label=label, **series_style(i))
    ax.set_xlabel("Year")
    ax.set_ylabel("Firms")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    return fig


def _reliability(report: Report, study: Study) -> Report:
    rel = study.reliability
    if not len(rel):
        return report.add_heading("Reliability", 2).add_text("The study has no surveys.")
    shown = rel[["label", "n_items", "n", "alpha", "omega", "min_item_rest", "weakest_item"]]
    table = frame_table(shown, labels={
        "label": "Scale", "n_items": "Items", "n": "N", "alpha": "Cronbach's α",
        "omega": "McDonald's ω", "min_item_rest": "Lowest item-rest r",
        "weakest_item": "Weakest item"}, title="Reliability of the survey scales",
        label="reliability", notes=("Complete cases. ω from a one-factor minres solution.",
                                    *_undefined(rel)))
    return report.add_heading("Reliability", 2).add_table(table)


def _undefined(rel) -> tuple[str, ...]:
    """Why a scale's α or ω is missing (e.g. an item with one answer in every row)."""
    if "note" not in rel:
        return ()
    return tuple(f"{r.label}: {r.note}." for r in rel.itertuples()
                 if isinstance(r.note, str) and r.note)


def measurement_table(study: Study):
    """Each survey scale: its items, reverse-coded items, answer range and reliability."""
    rel = study.reliability.set_index("scale") if len(study.reliability) else None
    rows = []
    for s in study.codebook.scales:
        r = rel.loc[s.name] if rel is not None and s.name in rel.index else None
        rows.append({"scale": s.label or s.name, "items": ", ".join(s.items),
                     "reverse": ", ".join(s.reverse) or "none",
                     "range": f"{s.low:g}-{s.high:g}",
                     "alpha": r["alpha"] if r is not None else float("nan"),
                     "omega": r["omega"] if r is not None else float("nan")})
    return frame_table(pd.DataFrame(rows), labels={
        "scale": "Scale", "items": "Items", "reverse": "Reverse-coded", "range": "Answers",
        "alpha": "Cronbach's α", "omega": "McDonald's ω"}, title="Survey scales and items",
        label="measurement", notes=("A score is the mean of the answered items (reverse-coded "
                                    "items flipped) when two thirds are answered.",) + (
            ("The study has no surveys table: the scales are those of codebook.toml; no "
             "answers were read, so no reliability is computed.",)
            if "surveys" in study.skipped else ()))


def write_study_report(study: Study, out_dir: str | Path) -> list[Path]:
    """Write ``ipn_report.pdf`` and ``ipn_report.html`` to ``out_dir``."""
    out = Path(out_dir)
    report = study_report(study)
    return [report.to_pdf(out / "ipn_report.pdf"), report.to_html(out / "ipn_report.html")]


__all__ = ["data_fingerprint", "study_report", "write_study_report"]
