"""The survey frame of the measurement model: one row per survey, items scored."""

from __future__ import annotations

import pandas as pd

from ipnstats.data.scales import item_matrix
from ipnstats.data.study import Study


def survey_items(study: Study) -> pd.DataFrame | None:
    """One row per survey: firm, date, year, the peer group the firm belonged to that
    year (NaN for a non-member) and every scale item in scored direction (reverse-coded
    items turned around); ``None`` when the study has no surveys table."""
    if "surveys" in study.skipped or "surveys" not in study.tables:
        return None
    surveys = study.tables["surveys"]
    out = pd.DataFrame({"firm_id": surveys["firm_id"].astype(str).to_numpy(),
                        "date": pd.to_datetime(surveys["date"]).to_numpy()},
                       index=surveys.index)
    out["year"] = out["date"].dt.year
    for scale in study.codebook.scales:
        out = out.join(item_matrix(surveys, scale))
    fy = study.firm_year
    groups = fy.loc[fy["member"] == 1, ["firm_id", "year", "group_id"]].astype(
        {"firm_id": str})
    return out.merge(groups, on=["firm_id", "year"], how="left")


__all__ = ["survey_items"]
