"""What the data appendix of the study report shows, computed from a loaded study.

:func:`data_findings` returns JSON-ready findings (plain numbers, strings and frames as
:func:`~ipnstats.results.stored.frame_to_json`): the validation counts and the problems
by rule, the sample flow, the firm-year panel by cohort and the firms and members by
year, the descriptive statistics and correlations, the reliability of the survey scales
and the scales' definitions. The report renders them
(:mod:`ipnstats.report.data_section`) without the study.

Disclosure control happens here, before anything is stored: a count of firms below
the codebook's ``disclosure_threshold`` is kept only as ``"<k"`` (cohorts, with
complementary cells as ``"—"``: :func:`ipnstats.tables.disclosure.suppress_counts`) or not at
all (``None``: the firms and members by year, and every descriptive statistic or
correlation computed from fewer firms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ipnstats.results.stored import frame_to_json
from ipnstats.tables.descriptives import DescriptivesTable, descriptives_table
from ipnstats.tables.disclosure import suppress_counts

if TYPE_CHECKING:
    from ipnstats.data.codebook import Codebook
    from ipnstats.data.study import Study, ValidationReport

#: the firm-year columns of the descriptives table, in order (those present)
DESCRIPTIVES = ("log_revenue", "revenue_growth", "profit_margin", "roa", "log_employees",
                "member", "tenure", "attendance_rate", "disclosure_rate", "perceived_learning",
                "trust", "risk_aversion", "loss_aversion")
SUMMARY_STATISTICS = ("n", "n_units", "mean", "sd", "min", "max")
RELIABILITY_COLUMNS = ("scale", "label", "n_items", "n", "alpha", "omega", "min_item_rest",
                       "weakest_item", "note")


def codebook_labels(codebook: Codebook) -> dict[str, str]:
    """``{column: label}`` of a :class:`~ipnstats.Codebook`: its scales' labels, then its
    variables' labels (as :func:`ipnstats.regression_table` reads a codebook)."""
    scales = {s.name: s.label for s in codebook.scales if s.label}
    return scales | dict(codebook.labels)


def suppress_small(counts: pd.Series, threshold: int) -> pd.Series:
    """Counts of firms as text, those under ``threshold`` (but not 0) shown as ``<k``.

    Examples
    --------
    >>> suppress_small(pd.Series([0, 2, 1500]), 3).tolist()
    ['0', '<3', '1,500']
    """
    return counts.map(lambda n: f"<{threshold}" if 0 < n < threshold else f"{n:,}")


def panel_overview(firm_year: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Firms and firm-years by cohort (first member year), as text: a firm count below
    ``threshold`` reads ``<k``, and complementary cells read ``—`` so that no hidden count
    follows from the totals (the report's text gives the panel's firms and firm-years)
    or from the firm-years beside it (a firm has at most one row per year)."""
    counts = pd.DataFrame({"firms": firm_year.groupby("cohort")["firm_id"].nunique(),
                           "firm_years": firm_year.groupby("cohort").size()})
    years = int(firm_year["year"].nunique()) if len(firm_year) else 1
    shown = suppress_counts(counts, threshold, links={"firm_years": ("firms", max(years, 1))},
                           sensitive=("firms",))
    text = shown.text().reset_index(drop=True)
    label = counts.index.map(lambda c: "never member" if c == 0 else str(c))
    return pd.DataFrame({"cohort": label, "firms": text["firms"].to_numpy(),
                         "firm_years": text["firm_years"].to_numpy()})


def membership_by_year(firm_year: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Firms observed and IPN members by year; a count below ``threshold`` is missing."""
    counts = firm_year.groupby("year").agg(firms=("firm_id", "nunique"),
                                           members=("member", "sum"))
    return counts.where(counts >= threshold).reset_index()


def validation_findings(validation: ValidationReport) -> dict:
    """Error and warning counts, the rows read by table, and the problems counted by
    severity, table and rule (``None`` when there are none)."""
    problems = validation.problems
    counts = None
    if len(problems):
        counts = frame_to_json(problems.groupby(["severity", "table", "rule"], observed=True)
                               .size().rename("rows").reset_index())
    return {"n_errors": int(validation.n_errors), "n_warnings": int(validation.n_warnings),
            "rows_read": {str(t): int(n) for t, n in validation.rows_read.items()},
            "problems": counts}


def sample_flow(flow: pd.DataFrame) -> pd.DataFrame:
    """Each step of the sample flow: rows in, rows out, rows dropped and why."""
    flow = flow.assign(dropped=flow["rows_in"] - flow["rows_out"])
    return flow[["step", "table", "rows_in", "rows_out", "dropped", "reason"]]


def panel_findings(firm_year: pd.DataFrame, threshold: int) -> dict:
    """The size of the firm-year panel, its cohorts and the firms and members by year."""
    return {"firm_years": len(firm_year), "firms": int(firm_year["firm_id"].nunique()),
            "first_year": int(firm_year["year"].min()),
            "last_year": int(firm_year["year"].max()),
            "member_years": int(firm_year["member"].sum()), "threshold": int(threshold),
            "cohorts": frame_to_json(panel_overview(firm_year, threshold)),
            "by_year": frame_to_json(membership_by_year(firm_year, threshold))}


def descriptives_findings(table: DescriptivesTable) -> dict:
    """The numbers of a descriptives table with every cell from fewer than its threshold
    of firms removed (``None``): a variable's statistics, a pair's correlation, p-value
    and count of firms. :func:`ipnstats.report.data_section.descriptives_from_findings`
    rebuilds the table."""
    k = table.threshold
    summary = table.summary.copy()
    small = summary["suppressed"].to_numpy(bool)
    for column in SUMMARY_STATISTICS:
        summary[column] = summary[column].astype(float).where(~small)
    few = table.n_units.to_numpy() < k

    def masked(frame: pd.DataFrame) -> dict:
        return frame_to_json(frame.astype(float).mask(few))

    return {"variables": list(summary["variable"]), "threshold": int(k), "unit": table.unit,
            "summary": frame_to_json(summary), "correlations": masked(table.correlations),
            "p_values": masked(table.p_values), "n_units": masked(table.n_units),
            "alphas": {str(v): float(a) for v, a in table.alphas.items()}}


def reliability_frame(reliability: pd.DataFrame) -> pd.DataFrame:
    """The reliability columns the report shows (with ``note`` where α or ω is missing)."""
    return reliability[[c for c in RELIABILITY_COLUMNS if c in reliability.columns]]


def scale_definitions(codebook: Codebook) -> list[dict]:
    """Each survey scale of the codebook: name, label, items, reverse-coded items, range."""
    return [{"name": s.name, "label": s.label or s.name, "items": list(s.items),
             "reverse": list(s.reverse), "low": float(s.low), "high": float(s.high)}
            for s in codebook.scales]


def data_findings(study: Study) -> dict:
    """Everything the data appendix shows of ``study`` (a loaded
    :class:`~ipnstats.data.Study`), JSON-ready and disclosure-controlled."""
    fy, k = study.firm_year, study.codebook.disclosure_threshold
    rel = study.reliability
    variables = [v for v in DESCRIPTIVES if v in fy.columns]
    table = descriptives_table(fy, variables, unit="firm_id", labels=study.codebook,
                               reliability=rel if len(rel) else None, threshold=k)
    return {"skipped": list(study.skipped), "validation": validation_findings(study.validation),
            "sample_flow": frame_to_json(sample_flow(study.sample_flow)),
            "panel": panel_findings(fy, k), "descriptives": descriptives_findings(table),
            "reliability": frame_to_json(reliability_frame(rel)) if len(rel) else None,
            "scales": scale_definitions(study.codebook)}


__all__ = ["DESCRIPTIVES", "codebook_labels", "data_findings", "descriptives_findings",
           "membership_by_year", "panel_findings", "panel_overview", "reliability_frame",
           "sample_flow", "scale_definitions", "suppress_small", "validation_findings"]
