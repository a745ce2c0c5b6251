"""The data report: validation summary, sample flow, reliability and panel overview.

Written as text and CSV. Reports print no firm identity and no count of fewer firms
than the codebook's disclosure threshold (such cells read ``<k``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ipnstats.core.csvsafe import write_csv
from ipnstats.data import Study
from ipnstats.data.findings import panel_overview as _panel_overview
from ipnstats.data.schema import TABLES
from ipnstats.ipn.claims import untestable_text

ID_COLUMNS = {c.name for spec in TABLES.values() for c in spec.columns if c.kind == "id"}


def redact_problems(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems with the values of identifier columns hidden."""
    out = problems.copy()
    hide = out["column"].isin(ID_COLUMNS) | (out["rule"] == "duplicate_key")
    out.loc[hide & (out["value"] != ""), "value"] = "<id>"
    return out


def panel_overview(study: Study) -> pd.DataFrame:
    """Firms and firm-years by cohort (first member year), small cells suppressed."""
    return _panel_overview(study.firm_year, study.codebook.disclosure_threshold)


def write_data_report(study: Study, out_dir: str | Path) -> list[Path]:
    """Write ``data_report.txt`` and the CSV tables it shows to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    overview = panel_overview(study)
    problems = redact_problems(study.validation.problems)
    files = {
        "sample_flow.csv": study.sample_flow, "reliability.csv": study.reliability,
        "validation_problems.csv": problems, "panel_overview.csv": overview,
    }
    written = []
    for name, frame in files.items():
        write_csv(frame, out / name, lineterminator="\n")
        written.append(out / name)
    text = _text(study, overview, problems)
    (out / "data_report.txt").write_text(text, encoding="utf-8")
    return [out / "data_report.txt", *written]


def _text(study: Study, overview: pd.DataFrame, problems: pd.DataFrame) -> str:
    v = study.validation
    fy = study.firm_year
    parts = [
        f"ipnstats data report: {study.codebook.name}",
        "=" * 72,
        f"Read from the {study.source}",
        "",
        "1. Validation",
        f"   {v.n_errors:,} error(s), {v.n_warnings:,} warning(s)",
        *[f"   {t:<17} {n:>10,} rows read" for t, n in v.rows_read.items()],
        *(f"   {p.severity}: [{p.rule}] {p.file}"
          + (f" line {p.line}" if pd.notna(p.line) else "") + f" {p.column}: {p.problem}"
          for p in problems.head(30).itertuples()),
        "",
        "   Claims not testable for lack of data: "
        + (untestable_text(study.skipped) or "none"),
        "",
        "2. Sample flow (every input row accounted for)",
        _indent(study.sample_flow.to_string(index=False)),
        "",
        "3. Firm-year panel",
        f"   {len(fy):,} firm-years, {fy['firm_id'].nunique():,} firms, "
        f"years {fy['year'].min()}-{fy['year'].max()}, "
        f"{int(fy['member'].sum()):,} member years",
        _indent(overview.to_string(index=False)),
        "",
        "4. Reliability of the survey scales (complete cases)",
        _indent(study.reliability.round(3).to_string(index=False)
                if len(study.reliability) else "no surveys"),
        "",
        f"Disclosure: no count of fewer than {study.codebook.disclosure_threshold} firms "
        "is shown; no firm is named.",
    ]
    return "\n".join(parts) + "\n"


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
